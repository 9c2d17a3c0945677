package authz

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lockgate/lockgate/iampolicy"
	"github.com/lockgate/lockgate/internal/authz/idptest"
)

const testAPI = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

// lambdaPolicy is the policy the Lambda authorizer hands API Gateway for
// a token, parsed as API Gateway would evaluate it.
func lambdaPolicy(t *testing.T, w *world, tok string) (*iampolicy.Policy, error) {
	t.Helper()
	out, err := w.az.Lambda(context.Background(), LambdaEvent{Type: "TOKEN", AuthorizationToken: "Bearer " + tok, MethodArn: testAPI + "GET/x"}, false)
	if err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(out.(PolicyResponse).PolicyDocument)
	p, err := iampolicy.Parse(doc)
	if err != nil {
		t.Fatalf("API Gateway would refuse the answer: %v\n%s", err, doc)
	}
	return p, nil
}

// apiGateway evaluates a returned policy as API Gateway does: its own
// request keys only (no aws:username for a Lambda-authorized caller).
func apiGateway(p *iampolicy.Policy, method, path string) iampolicy.Decision {
	ctx := &iampolicy.Context{}
	ctx.Set("aws:SourceIp", "192.0.2.10")
	return p.Evaluate(&iampolicy.Request{Action: "execute-api:Invoke", Resource: testAPI + method + path, Context: ctx})
}

func putGroup(t *testing.T, w *world, name, doc string) {
	t.Helper()
	if _, err := CompilePolicy([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	w.store.PutGroupPolicy(context.Background(), GroupPolicy{Group: name, Policy: json.RawMessage(doc)})
}

// IAM policy elements: Variables and tags, "Special characters": "For
// example, inserting an * asterisk in the string would be interpreted as
// a wildcard, matching any characters, instead of as a literal *." API
// Gateway evaluates the returned policy itself, so a username with * or ?
// is written with ${*} / ${?} (and $ with ${$}) — otherwise the user
// named "*" gets every user's /users/<anyone>/….
func TestLambdaVariableValuesStayLiteral(t *testing.T) {
	w := newWorld(t)
	putGroup(t, w, "uservar", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke",
		"Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/users/${aws:username}/*"}]}`)
	for _, tt := range []struct {
		username, own, other string
	}{
		{"*", "/users/*/y", "/users/bob/y"},
		{"?", "/users/?/y", "/users/b/y"},
		{"a*", "/users/a*/y", "/users/alice/y"},
		{"${aws:userid}", "/users/${aws:userid}/y", "/users/sub-x/y"},
		{"bob", "/users/bob/y", "/users/bobby/y"},
	} {
		t.Run(tt.username, func(t *testing.T) {
			tok := w.idp.AccessToken(idptest.User{Sub: "sub-x", Username: tt.username, Groups: []string{"uservar"}})
			p, err := lambdaPolicy(t, w, tok)
			if err != nil {
				t.Fatal(err)
			}
			if d := apiGateway(p, "GET", tt.own); d != iampolicy.Allowed {
				t.Errorf("own path %s: %v", tt.own, d)
			}
			if d := apiGateway(p, "GET", tt.other); d == iampolicy.Allowed {
				t.Errorf("another user's path %s is allowed to %q", tt.other, tt.username)
			}
			// The gateway reads the value literally too.
			if d := w.az.Decide(w.request("GET", tt.other, tok), inside); d.Outcome == Allow {
				t.Errorf("gateway allows %s", tt.other)
			}
		})
	}
}

// AWS global condition context keys, aws:username: "This key is always
// included in the request context for IAM users. Anonymous requests and
// requests that are made using the AWS account root user or IAM roles
// don't include this key." API Gateway has no aws:username (nor userid,
// PrincipalTag) for a Lambda-authorized caller, so a Deny conditioned on
// it would never apply there. The authorizer decides such conditions
// itself; a Deny on a key nobody can evaluate makes the answer an error.
func TestLambdaConditionsOnTokenKeys(t *testing.T) {
	w := newWorld(t)
	putGroup(t, w, "getall", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/*"}]}`)
	putGroup(t, w, "denyru", `{"Version":"2012-10-17","Statement":[{"Sid":"NoMallory","Effect":"Deny","Action":"execute-api:Invoke","Resource":"*",
		"Condition":{"StringEquals":{"aws:username":"mallory"}}}]}`)
	putGroup(t, w, "ownsub", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/POST/*",
		"Condition":{"StringLike":{"aws:userid":"sub-a*"},"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}`)
	putGroup(t, w, "countrydeny", `{"Version":"2012-10-17","Statement":[{"Sid":"OnlyUS","Effect":"Deny","Action":"execute-api:Invoke","Resource":"*",
		"Condition":{"StringNotEquals":{"lockgate:SourceCountry":"US"}}}]}`)
	putGroup(t, w, "countryallow", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*",
		"Condition":{"StringNotEquals":{"lockgate:SourceCountry":"FR"}}}]}`)
	for _, tt := range []struct {
		name, sub, username string
		groups              []string
		method              string
		want                iampolicy.Decision
		wantErr             bool
	}{
		{"Deny on aws:username applies to mallory", "sub-m", "mallory", []string{"getall", "denyru"}, "GET", iampolicy.ExplicitDeny, false},
		{"Deny on aws:username leaves bob alone", "sub-b", "bob", []string{"getall", "denyru"}, "GET", iampolicy.Allowed, false},
		{"Allow on aws:userid holds, the SourceIp part stays", "sub-abc", "ann", []string{"ownsub"}, "POST", iampolicy.Allowed, false},
		{"Allow on aws:userid fails", "sub-zzz", "zed", []string{"ownsub"}, "POST", iampolicy.ExplicitDeny, false}, // nothing applies: the answer denies the API
		{"Deny on lockgate:SourceCountry is refused", "sub-c", "carl", []string{"getall", "countrydeny"}, "", 0, true},
		{"Allow on lockgate:SourceCountry is left out", "sub-d", "dora", []string{"countryallow"}, "GET", iampolicy.ExplicitDeny, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := w.idp.AccessToken(idptest.User{Sub: tt.sub, Username: tt.username, Groups: tt.groups})
			p, err := lambdaPolicy(t, w, tok)
			if tt.wantErr {
				var ce *conditionError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "lockgate:SourceCountry") || errors.Is(err, ErrLambdaUnauthorized) {
					t.Fatalf("err = %v, want a configuration error naming the key", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := apiGateway(p, tt.method, "/things/1"); d != tt.want {
				t.Fatalf("API Gateway decides %v, want %v", d, tt.want)
			}
		})
	}
}

// HTTP API simple responses are decided in the function: a path an
// upstream would read as another is refused as the gateway refuses it
// (docs/authz.md: "the path is canonical (no .., ., ..;, //, %2F, %5C,
// controls)").
func TestLambdaSimpleRefusesNonCanonicalPaths(t *testing.T) {
	w := newWorld(t)
	tok := w.idp.AccessToken(w.vet)
	for _, tt := range []struct {
		path, raw string
		want      bool
	}{
		{"/petstore/v1/pets", "/petstore/v1/pets", true},
		{"/petstore/v1/../v2/pets", "/petstore/v1/../v2/pets", false},
		{"/petstore/v1/%2e%2e/v2/pets", "/petstore/v1/%2e%2e/v2/pets", false},
		{"/petstore/v1/pets", "/petstore/v1/%2e%2e/v2/pets", false},
		{"/petstore/v1/./pets", "", false},
		{"/petstore/v1//pets", "", false},
		{"/petstore/v1/a%2Fb", "/petstore/v1/a%2Fb", false},
		{"/petstore/v1/..;/v2/pets", "", false},
	} {
		ev := LambdaEvent{Version: "2.0", Type: "REQUEST", RouteArn: testAPI + "GET" + tt.path, IdentitySource: json.RawMessage(`["Bearer ` + tok + `"]`), RawPath: tt.raw}
		ev.RequestContext.Stage = "prod"
		ev.RequestContext.HTTP.Method = "GET"
		ev.RequestContext.HTTP.Path = tt.path
		ev.RequestContext.HTTP.SourceIP = "192.0.2.10"
		out, err := w.az.Lambda(context.Background(), ev, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(SimpleResponse).IsAuthorized; got != tt.want {
			t.Errorf("path %q raw %q: isAuthorized %v, want %v", tt.path, tt.raw, got, tt.want)
		}
	}
}

// The context's groups are encoded as the gateway's X-Lockgate-Groups
// header is: a comma inside a group name is %2C, so a backend splitting
// on commas never sees a group the user is not in.
func TestLambdaContextGroupsEscaped(t *testing.T) {
	w := newWorld(t)
	tok := w.idp.AccessToken(idptest.User{Sub: "s", Username: "u", Groups: []string{"pet-veterinarian", "a,b", "50%"}})
	out, err := w.az.Lambda(context.Background(), LambdaEvent{Type: "TOKEN", AuthorizationToken: tok, MethodArn: testAPI + "GET/x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(PolicyResponse).Context["groups"]; got != "pet-veterinarian,a%2Cb,50%25" {
		t.Fatalf("groups %q", got)
	}
}

// fenceLocks locks users outside their allowed addresses, as geo-fences
// do: the lock check must be asked with the request's client address.
type fenceLocks map[string]netip.Prefix

func (f fenceLocks) Locked(_ context.Context, _, username string, client netip.Addr) (bool, string, error) {
	p, ok := f[username]
	if ok && !p.Contains(client) {
		return true, "outside your fence", nil
	}
	return false, "", nil
}

// The gateway's lock check is asked about the client's address, so that
// geo-fences apply there as in the lock-check API (issue 17: "a lock
// check whose userIP resolves outside them answers locked: true").
func TestLockCheckGetsTheClientAddress(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.Authorizers[0].LockCheck.Application = "app_1" })
	w.svc.SetLocks(fenceLocks{"cognitouser": netip.MustParsePrefix("192.0.2.0/25")})
	tok := w.idp.AccessToken(w.vet)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), mustAddr("192.0.2.10")); d.Outcome != Allow {
		t.Fatalf("inside the fence: %v %v", d.Outcome, d.Err)
	}
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), mustAddr("192.0.2.200")); d.Outcome != Locked || d.Message != "outside your fence" {
		t.Fatalf("outside the fence: %v %q", d.Outcome, d.Message)
	}
}

// Whatever a username holds, the resolved Resource API Gateway evaluates
// matches that user's own path and no other: the value is literal.
func FuzzResolvedUsernameIsLiteral(f *testing.F) {
	for _, s := range []string{"*", "?", "a*", "${aws:userid}", "${*}", "$", "bob", "}{$", "x/y", "${", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, username string) {
		if username == "" || !utf8.ValidString(username) || strings.IndexFunc(username, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return // controls: not what this property is about (ARNs never carry them)
		}
		id := &identity{Subject: "sub", Username: username}
		res := resolveVars(testAPI+"GET/users/${aws:username}/*", id)
		quoted, _ := json.Marshal(res)
		p, err := iampolicy.Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":` + string(quoted) + `}}`))
		if err != nil {
			t.Fatalf("resolved %q does not parse: %v", res, err)
		}
		if d := apiGateway(p, "GET", "/users/"+username+"/x"); d != iampolicy.Allowed {
			t.Fatalf("own path refused: %q → %q", username, res)
		}
		if other := "zz" + username; apiGateway(p, "GET", "/users/"+other+"/x") == iampolicy.Allowed {
			t.Fatalf("%q's resource %q allows %q", username, res, other)
		}
	})
}
