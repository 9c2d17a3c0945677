package authz

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockgate/lockgate/internal/authz/idptest"
)

// The blog's scenario (seed 003, third post), decided in process: the
// petstore policy of pet-veterinarian over the execute-api ARNs of
// a1b2c3d4e5/prod.
func TestPetstoreDecisions(t *testing.T) {
	w := newWorld(t)
	tok := w.idp.AccessToken(w.vet)
	other := idptest.NewCognito(testRegion, "us-east-1_OtherPool", testClient)
	defer other.Close()
	for _, tt := range []struct {
		name, method, path, token string
		from                      string
		want                      Outcome
		page, sentence            string
	}{
		{"no token", "GET", "/petstore/v1/pets", "", "192.0.2.10", Unauthorized,
			"seed 003 (Test the custom authorizer setup)", "The request is denied with the message Unauthorized."},
		{"GET v1 pets", "GET", "/petstore/v1/pets", tok, "192.0.2.10", Allow,
			"seed 003", "For version v1, the user can make requests to any verb and any path, which is expressed by an asterisk (*)."},
		{"DELETE v1 pets/1", "DELETE", "/petstore/v1/pets/1", tok, "198.51.100.7", Allow,
			"seed 003", "For version v1, the user can make requests to any verb and any path, which is expressed by an asterisk (*)."},
		{"GET v2 status", "GET", "/petstore/v2/status", tok, "192.0.2.10", Allow,
			"seed 003", "For v2, the user is only allowed to make a GET request for path /status."},
		{"GET v2 pets", "GET", "/petstore/v2/pets", tok, "192.0.2.10", ImplicitDeny,
			"seed 003", "which means requests to endpoint /GET/petstore/v2/pets should be denied."},
		{"POST v2 status", "POST", "/petstore/v2/status", tok, "192.0.2.10", ImplicitDeny,
			"seed 003", "For v2, the user is only allowed to make a GET request for path /status."},
		{"outside the IP range", "GET", "/petstore/v1/pets", tok, "203.0.113.9", ImplicitDeny,
			"IAM JSON policy elements: Condition operators (IP address)", "The IpAddress condition operator ... restricts access based on comparing a key to an IPv4 or IPv6 address or range of IP addresses."},
		{"root of the API", "GET", "/", tok, "192.0.2.10", ImplicitDeny,
			"aws-formats.md", "the root resource ends in /GET/."},
		{"another pool's token", "GET", "/petstore/v1/pets", other.AccessToken(w.vet), "192.0.2.10", Unauthorized,
			"Verifying JSON web tokens (Amazon Cognito)", "You must ensure that your application is receiving the same token that Amazon Cognito issued."},
		{"an ID token where access tokens are required", "GET", "/petstore/v1/pets", w.idp.IDToken(w.vet), "192.0.2.10", Unauthorized,
			"Client and audience validation for Amazon Cognito", "Amazon Cognito ID tokens have an aud claim that contains the app client ID. Access tokens have a client_id claim that also contains the app client ID."},
		{"another app client", "GET", "/petstore/v1/pets", w.idp.AccessToken(w.vet, idptest.ClientID("someotherclient")), "192.0.2.10", Unauthorized,
			"Client and audience validation for Amazon Cognito", "Access tokens have a client_id claim that also contains the app client ID."},
		{"Bearer scheme", "GET", "/petstore/v1/pets", "Bearer " + tok, "192.0.2.10", Allow,
			"RFC 6750 §2.1", "Authorization: Bearer mF_9.B5f-4.1JqM"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := w.az.Decide(w.request(tt.method, tt.path, tt.token), mustAddr(tt.from))
			if d.Outcome != tt.want {
				t.Fatalf("%s %s from %s: %v (%v), want %v\n%s: %q", tt.method, tt.path, tt.from, d.Outcome, d.Err, tt.want, tt.page, tt.sentence)
			}
		})
	}
}

// API Gateway's answers, byte for byte (aws-formats.md, "Responses API
// Gateway sends").
func TestAnswersAreAPIGateways(t *testing.T) {
	for _, tt := range []struct {
		d      Decision
		status int
		body   string
		header string
	}{
		{Decision{Outcome: Unauthorized}, 401, `{"message":"Unauthorized"}`, ""},
		{Decision{Outcome: ImplicitDeny}, 403, `{"Message":"User is not authorized to access this resource"}`, ""},
		{Decision{Outcome: ExplicitDeny}, 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`, ""},
		{Decision{Outcome: Failed}, 500, `{"message":null}`, "AuthorizerConfigurationException"},
		{Decision{Outcome: Locked, Message: `This account is "locked".`}, 403, `{"Message":"This account is \"locked\"."}`, ""},
	} {
		rec := httptest.NewRecorder()
		tt.d.Write(rec)
		if rec.Code != tt.status || rec.Body.String() != tt.body || rec.Header().Get("x-amzn-ErrorType") != tt.header {
			t.Errorf("%v: %d %s %q", tt.d.Outcome, rec.Code, rec.Body, rec.Header().Get("x-amzn-ErrorType"))
		}
	}
}

// A user in several groups gets the union of their policies; an explicit
// Deny in any of them wins ("Policy evaluation logic": an explicit deny
// in any policy overrides any allows).
func TestGroupsUnionAndExplicitDeny(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.store.PutGroupPolicy(ctx, GroupPolicy{Group: "v2-readers", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/petstore/v2/*"}]}`)})
	w.store.PutGroupPolicy(ctx, GroupPolicy{Group: "no-deletes", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/DELETE/*"}]}`)})
	both := w.idp.AccessToken(idptest.User{Sub: "s1", Username: "u1", Groups: []string{"pet-veterinarian", "v2-readers"}})
	denied := w.idp.AccessToken(idptest.User{Sub: "s2", Username: "u2", Groups: []string{"pet-veterinarian", "no-deletes"}})
	none := w.idp.AccessToken(idptest.User{Sub: "s3", Username: "u3"})
	unknown := w.idp.AccessToken(idptest.User{Sub: "s4", Username: "u4", Groups: []string{"nobody-maps-this"}})
	for _, tt := range []struct {
		token, method, path string
		want                Outcome
	}{
		{both, "GET", "/petstore/v2/pets", Allow}, // from v2-readers
		{both, "GET", "/petstore/v1/pets", Allow}, // from pet-veterinarian
		{both, "POST", "/petstore/v2/pets", ImplicitDeny},
		{denied, "GET", "/petstore/v1/pets", Allow},
		{denied, "DELETE", "/petstore/v1/pets/1", ExplicitDeny}, // allowed by one group, denied by the other
		// ARNs match case-sensitively: a lower-case method would slip
		// past the Deny for DELETE, so it is refused outright.
		{denied, "delete", "/petstore/v1/pets/1", BadRequest},
		{denied, "Delete", "/petstore/v1/pets/1", BadRequest},
		{both, "get", "/petstore/v2/pets", BadRequest},
		{none, "GET", "/petstore/v1/pets", ImplicitDeny},
		{unknown, "GET", "/petstore/v1/pets", ImplicitDeny},
	} {
		if d := w.az.Decide(w.request(tt.method, tt.path, tt.token), inside); d.Outcome != tt.want {
			t.Errorf("%v %s %s: %v, want %v (%v)", idptest.Claims(tt.token)["cognito:groups"], tt.method, tt.path, d.Outcome, tt.want, d.Err)
		}
	}
}

// The cache keeps a token's compiled policies, never a decision: an
// allow for one path is not reused for another, nor for another source
// address or time.
func TestCacheNeverReusesADecision(t *testing.T) {
	w := newWorld(t)
	tok := w.idp.AccessToken(w.vet)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside); d.Outcome != Allow {
		t.Fatal(d.Outcome, d.Err)
	}
	reads := w.store.reads
	for _, tt := range []struct {
		method, path string
		want         Outcome
	}{{"GET", "/petstore/v2/pets", ImplicitDeny}, {"POST", "/petstore/v2/status", ImplicitDeny}, {"GET", "/petstore/v2/status", Allow}, {"GET", "/petstore/v1/pets", Allow}} {
		if d := w.az.Decide(w.request(tt.method, tt.path, tok), inside); d.Outcome != tt.want {
			t.Errorf("%s %s after an allowed request: %v, want %v", tt.method, tt.path, d.Outcome, tt.want)
		}
	}
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), outside); d.Outcome != ImplicitDeny {
		t.Errorf("the same path from outside the range: %v", d.Outcome)
	}
	if w.store.reads != reads {
		t.Errorf("the store was read again for a cached token (%d → %d reads)", reads, w.store.reads)
	}
	if n := w.az.cache.len(); n != 1 {
		t.Errorf("%d cache entries for one token", n)
	}
	// Keyed by a hash: the token itself is not kept.
	for k := range w.az.cache.m {
		if strings.Contains(string(k[:]), tok[:20]) {
			t.Fatal("the cache key holds the token")
		}
	}
}

// The entry ends with the token's exp or the TTL, whichever is first.
func TestCacheEndsAtExpOrTTL(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tok := w.idp.AccessToken(w.vet) // valid 1h; TTL 300s
	w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside)
	w.store.PutGroupPolicy(ctx, GroupPolicy{Group: "pet-veterinarian", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)})
	w.clock.Add(299 * time.Second)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside); d.Outcome != Allow {
		t.Fatalf("within the TTL (the store changed behind lockgate's back): %v", d.Outcome)
	}
	w.clock.Add(2 * time.Second)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside); d.Outcome != ExplicitDeny {
		t.Fatalf("after the TTL the policy is read again: %v", d.Outcome)
	}
	// A token expiring before the TTL is refused at exp (+ clock skew).
	short := w.idp.AccessToken(w.vet, idptest.Lifetime(5*time.Minute))
	w.store.PutGroupPolicy(ctx, GroupPolicy{Group: "pet-veterinarian", Policy: json.RawMessage(mustRead(t, "testdata/petstore.json"))})
	w.svc.groups.changed()
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", short), inside); d.Outcome != Allow {
		t.Fatal(d.Outcome, d.Err)
	}
	w.clock.Add(5*time.Minute + DefaultClockSkew + time.Second)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", short), inside); d.Outcome != Unauthorized {
		t.Fatalf("an expired token: %v", d.Outcome)
	}
}

// A broken stored policy answers 500, as API Gateway does for an
// authorizer's bad output; a failing store too, and is not cached.
func TestBrokenPolicyAndFailingStore(t *testing.T) {
	w := newWorld(t)
	w.store.PutGroupPolicy(context.Background(), GroupPolicy{Group: "pet-veterinarian", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"execute-api:Invoke","Resource":"*"}]}`)})
	tok := w.idp.AccessToken(w.vet)
	d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside)
	var bp *BrokenPolicyError
	if d.Outcome != Failed || !errors.As(d.Err, &bp) {
		t.Fatalf("%v %v", d.Outcome, d.Err)
	}
	w2 := newWorld(t)
	w2.svc.SetStore(&failing{})
	if d := w2.az.Decide(w2.request("GET", "/petstore/v1/pets", w2.idp.AccessToken(w2.vet)), inside); d.Outcome != Failed {
		t.Fatalf("failing store: %v", d.Outcome)
	}
	if w2.az.cache.len() != 0 {
		t.Fatal("a store failure was cached")
	}
}

type failing struct{ memStore }

func (*failing) GroupPolicy(context.Context, string) (GroupPolicy, error) {
	return GroupPolicy{}, errors.New("connection refused")
}

// Condition keys: aws:username, aws:userid, aws:PrincipalTag from a
// claim, aws:CurrentTime/aws:EpochTime, the client's country; policy
// variables resolve from them.
func TestConditionKeys(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.store.PutGroupPolicy(ctx, GroupPolicy{Group: "own", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/users/${aws:username}/*"},
		{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/teams/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}},
		{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*","Condition":{"StringNotEquals":{"lockgate:SourceCountry":"US"}}},
		{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/users/*/night","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2000-01-01T00:00:00Z"},"NumericGreaterThan":{"aws:EpochTime":"946684800"}}}
	]}`)})
	tok := w.idp.AccessToken(idptest.User{Sub: "sub-1", Username: "alice", Groups: []string{"own"}})
	for _, tt := range []struct {
		path string
		want Outcome
	}{
		{"/users/alice/orders", Allow},
		{"/users/bob/orders", ImplicitDeny},
		{"/teams/blue", ImplicitDeny}, // the access token carries no custom:team claim: the tag is absent
		{"/users/alice/night", ExplicitDeny},
	} {
		if d := w.az.Decide(w.request("GET", tt.path, tok), inside); d.Outcome != tt.want {
			t.Errorf("%s: %v, want %v (%v)", tt.path, d.Outcome, tt.want, d.Err)
		}
	}
	if d := w.az.Decide(w.request("GET", "/users/alice/orders", tok), outside); d.Outcome != ExplicitDeny {
		t.Errorf("from another country: %v", d.Outcome)
	}
	// PrincipalTag from a claim an OIDC token carries.
	ctxKeys := w.az.context(&identity{Subject: "s", Username: "alice", Tags: map[string]string{"team": "blue"}, tagKeys: [][2]string{{"aws:principaltag/team", "blue"}}}, inside, w.clock.Now(), true)
	for k, want := range map[string]string{"aws:PrincipalTag/team": "blue", "aws:username": "alice", "aws:userid": "s", "aws:SourceIp": "192.0.2.10", "aws:SecureTransport": "true", CountryKey: "US"} {
		if v, _ := ctxKeys.Get(k); len(v) != 1 || v[0] != want {
			t.Errorf("%s = %v, want %s", k, v, want)
		}
	}
}

// Groups are what policies hang on, Deny included: a groups claim that
// is not a list of strings is refused, never read as "no groups".
func TestMalformedGroupsClaimIsRefused(t *testing.T) {
	w := newWorld(t)
	claims := idptest.Claims(w.idp.AccessToken(w.vet))
	claims["cognito:groups"] = []any{"pet-veterinarian", 7}
	id, err := w.az.identity(claims, w.az.v.issuers[0])
	if err == nil {
		t.Fatalf("identity %+v from a malformed groups claim", id)
	}
	claims["cognito:groups"] = map[string]any{"a": 1}
	if _, err := w.az.identity(claims, w.az.v.issuers[0]); err == nil {
		t.Fatal("an object as groups claim")
	}
	_ = jwt.MapClaims{}
}

func TestCanonicalPath(t *testing.T) {
	for _, tt := range []struct {
		target string
		ok     bool
	}{
		{"/petstore/v1/pets", true},
		{"/petstore/v1/pets/", true},
		{"/", true},
		{"/petstore/v1/../v2/pets", false},
		{"/petstore/v1/./pets", false},
		{"/petstore//v1/pets", false},
		{"//", false},
		{"/petstore/v1/%2e%2e/v2/pets", false},
		{"/petstore/v1%2f..%2fv2/pets", false},
		{"/petstore/v1/..;/v2/pets", false},
		{"/petstore/v1/pets%5c..%5c..%5cv2", false},
		{"/petstore/v1/pets%00", false},
		{"/petstore/v1/a;b/pets", true},
	} {
		r := httptest.NewRequest("GET", "http://h"+tt.target, nil)
		if _, ok := canonicalPath(r); ok != tt.ok {
			t.Errorf("%s: %v, want %v", tt.target, ok, tt.ok)
		}
	}
}

func TestIdentityHeaders(t *testing.T) {
	w := newWorld(t)
	tok := w.idp.AccessToken(idptest.User{Sub: "sub-9", Username: "ann", Groups: []string{"pet-veterinarian", "a,b%c"}})
	r := w.request("GET", "/petstore/v1/pets", tok)
	r.Header.Set("X-Lockgate-Principal", "admin")
	r.Header["x_lockgate_groups"] = []string{"admins"}
	r.Header["X-LOCKGATE-USERNAME"] = []string{"root"}
	rec := httptest.NewRecorder()
	if !w.az.Authorize(rec, r, inside) {
		t.Fatal(rec.Body)
	}
	want := http.Header{"X-Lockgate-Principal": {"sub-9"}, "X-Lockgate-Username": {"ann"}, "X-Lockgate-Groups": {"pet-veterinarian,a%2Cb%25c"}, "X-Lockgate-Scope": {"openid email"}, "Authorization": {tok}}
	if len(r.Header) != len(want) {
		t.Fatalf("headers %v, want %v", r.Header, want)
	}
	for k, v := range want {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v[0] {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
