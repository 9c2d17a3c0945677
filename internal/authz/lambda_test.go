package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/iampolicy"
	"github.com/lockgate/lockgate/internal/authz/idptest"
)

var update = flag.Bool("update", false, "rewrite the golden answers of testdata/lambda")

// lambdaTokens fills an event's token placeholders.
func lambdaTokens(t *testing.T, w *world) *strings.Replacer {
	other := idptest.NewCognito(testRegion, "us-east-1_OtherPool", testClient)
	t.Cleanup(other.Close)
	good := w.idp.AccessToken(w.vet)
	return strings.NewReplacer(
		"{{ACCESS_TOKEN}}", good,
		"{{ID_TOKEN}}", w.idp.IDToken(w.vet),
		"{{FORGED_TOKEN}}", idptest.ForgeWithKid(w.idp.KeyID(), "RS256", idptest.Claims(good)),
		"{{OTHER_POOL_TOKEN}}", other.AccessToken(w.vet),
		"{{NO_GROUP_TOKEN}}", w.idp.AccessToken(ideaUser()),
	)
}

func ideaUser() idptest.User { return idptest.User{Sub: "0d7c5e21-no-groups", Username: "newcomer"} }

// answer is what the Lambda runtime would send back: the response, or
// the error's message.
func answer(t *testing.T, a *Authorizer, raw []byte, simple bool) []byte {
	t.Helper()
	var ev LambdaEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	out, err := a.Lambda(context.Background(), ev, simple)
	var v any = out
	if err != nil {
		v = map[string]string{"errorMessage": err.Error()}
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return append(b, '\n')
}

// The Lambda authorizer's answers for the blog's scenario, as golden
// files (go test -run TestLambdaGolden -update rewrites them).
func TestLambdaGolden(t *testing.T) {
	w := newWorld(t)
	w.az.SetContextClaims([]string{"scope"})
	fill := lambdaTokens(t, w)
	events, _ := filepath.Glob("testdata/lambda/*.event.json")
	if len(events) < 10 {
		t.Fatalf("%d events", len(events))
	}
	for _, ev := range events {
		name := strings.TrimSuffix(filepath.Base(ev), ".event.json")
		t.Run(name, func(t *testing.T) {
			raw, _ := os.ReadFile(ev)
			got := answer(t, w.az, []byte(fill.Replace(string(raw))), strings.HasPrefix(name, "http-simple"))
			golden := strings.TrimSuffix(ev, ".event.json") + ".answer.json"
			if *update {
				os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("answer:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

// API Gateway caches a TOKEN authorizer's answer under the token and
// applies it to every method the token then calls (aws-formats.md: "the
// cached policy is applied to every method of the API — an authorizer
// that returns Allow for just the current methodArn makes other paths
// fail while cached"). One token, two paths: the answer given for the
// first decides the second exactly as a fresh answer, and as the
// gateway, would.
func TestLambdaCacheSafety(t *testing.T) {
	w := newWorld(t)
	tok := w.idp.AccessToken(w.vet)
	arn := "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"
	invoke := func(method, path string) *iampolicy.Policy {
		out, err := w.az.Lambda(context.Background(), LambdaEvent{Type: "TOKEN", AuthorizationToken: "Bearer " + tok, MethodArn: arn + method + path}, false)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := json.Marshal(out.(PolicyResponse).PolicyDocument)
		p, err := iampolicy.Parse(doc)
		if err != nil {
			t.Fatalf("API Gateway would refuse the answer: %v\n%s", err, doc)
		}
		return p
	}
	// What API Gateway does with a cached policy: evaluate it for the
	// method now called, with the request's source address.
	evaluate := func(p *iampolicy.Policy, method, path, ip string) iampolicy.Decision {
		ctx := &iampolicy.Context{}
		ctx.Set("aws:SourceIp", ip)
		return (&iampolicy.Set{Identity: []iampolicy.Named{{Name: "authorizer", Policy: p}}}).Evaluate(&iampolicy.Request{Action: "execute-api:Invoke", Resource: arn + method + path, Context: ctx}).Decision
	}
	cached := invoke("GET", "/petstore/v1/pets") // the first path fills the cache
	for _, tt := range []struct{ method, path, ip string }{
		{"GET", "/petstore/v2/status", "192.0.2.10"},
		{"GET", "/petstore/v2/pets", "192.0.2.10"},
		{"POST", "/petstore/v2/status", "192.0.2.10"},
		{"DELETE", "/petstore/v1/pets/3", "198.51.100.2"},
		{"GET", "/petstore/v1/pets", "203.0.113.9"},
	} {
		fresh := invoke(tt.method, tt.path)
		got, want := evaluate(cached, tt.method, tt.path, tt.ip), evaluate(fresh, tt.method, tt.path, tt.ip)
		gw := w.az.Decide(w.request(tt.method, tt.path, tok), mustAddr(tt.ip)).Outcome
		if got != want || (got == iampolicy.Allowed) != (gw == Allow) {
			t.Errorf("%s %s from %s: cached answer %v, fresh answer %v, gateway %v", tt.method, tt.path, tt.ip, got, want, gw)
		}
	}
	// The pitfall this avoids: a policy for the first method only would
	// refuse GET /petstore/v2/status, which the group allows.
	naive := iampolicy.MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + arn + `GET/petstore/v1/pets"}]}`)
	if evaluate(naive, "GET", "/petstore/v2/status", "192.0.2.10") == iampolicy.Allowed {
		t.Fatal("the naive policy is not what this test thinks it is")
	}
}

// Resource patterns are pinned to the API's region and account; those
// of other regions and accounts are dropped; token variables resolve.
func TestScopeStatements(t *testing.T) {
	arn, _ := parseExecuteAPIARN("arn:aws:execute-api:eu-west-1:111122223333:api1234567/prod/GET/x")
	id := &identity{Subject: "s", Username: "alice", Tags: map[string]string{"team": "blue"}}
	doc := json.RawMessage(`{"Version":"2012-10-17","Statement":[
		{"Sid":"a","Effect":"Allow","Action":["s3:GetObject","execute-api:*"],"Resource":["arn:aws:execute-api:*:*:*/*/GET/users/${aws:username}/*","arn:aws:execute-api:us-east-1:*:*/*/*","arn:aws:execute-api:eu-west-1:999999999999:*"]},
		{"Sid":"b","Effect":"Allow","Action":"s3:*","Resource":"*"},
		{"Sid":"c","Effect":"Deny","NotAction":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}},
		{"Sid":"d","Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/teams/${aws:PrincipalTag/team}"}
	]}`)
	sts, err := scopeStatements("g", doc, arn, id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(sts)
	want := `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":["arn:aws:execute-api:eu-west-1:111122223333:*/*/GET/users/alice/*"],"Sid":"a"},` +
		`{"Action":"execute-api:Invoke","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}},"Effect":"Deny","Resource":["arn:aws:execute-api:eu-west-1:111122223333:api1234567/*"],"Sid":"c"},` +
		`{"Action":"execute-api:Invoke","Effect":"Allow","Resource":["arn:aws:execute-api:eu-west-1:111122223333:*/*/GET/teams/blue"],"Sid":"d"}]`
	if string(got) != want {
		t.Fatalf("\n%s\nwant\n%s", got, want)
	}
}
