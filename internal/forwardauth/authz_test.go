package forwardauth

import (
	"context"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/authz/idptest"
	"github.com/lockgate/lockgate/internal/webacl"
)

// policyStore holds the blog's group policy (internal/authz/testdata).
type policyStore map[string]authz.GroupPolicy

func (s policyStore) GroupPolicy(_ context.Context, g string) (authz.GroupPolicy, error) {
	if p, ok := s[g]; ok {
		return p, nil
	}
	return authz.GroupPolicy{}, authz.ErrGroupNotFound
}
func (s policyStore) GroupPolicies(context.Context) ([]authz.GroupPolicy, error) { return nil, nil }
func (s policyStore) PutGroupPolicy(context.Context, authz.GroupPolicy) error    { return nil }
func (s policyStore) DeleteGroupPolicy(context.Context, string) error            { return nil }

// authzService is forward auth with the blog's authorizer (seed 003, third
// post: Cognito tokens, the pet-veterinarian group's policy) on its only
// route, and a token of a veterinarian.
func authzService(t *testing.T) (*Service, string) {
	t.Helper()
	as, tok := petstoreAuthz(t)
	set, _ := webacl.Provision(webacl.Config{}, nil)
	cfg := DefaultConfig()
	cfg.Listen, cfg.TrustedProxies = "127.0.0.1:0", []string{"127.0.0.1"}
	cfg.CopyHeaders = identityHeaders
	cfg.Routes = []Route{{Name: "petstore", Authorizer: "petstore"}}
	s, probs := Provision(cfg, Options{WAF: set, Authorizer: as.Authorizer})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if err := s.Open(nil); err != nil {
		t.Fatal(err)
	}
	return s, tok
}

// identityHeaders are the petstore authorizer's (authz's defaults).
var identityHeaders = []string{"X-Lockgate-Principal", "X-Lockgate-Username", "X-Lockgate-Groups"}

// The veterinarian's identity, as the authorizer sets it.
const (
	vetSub      = "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b"
	vetUsername = "cognitouser"
	vetGroup    = "pet-veterinarian"
)

// petstoreAuthz is the authz section with the blog's authorizer,
// "petstore", and an access token of a veterinarian.
func petstoreAuthz(t *testing.T) (*authz.Service, string) {
	t.Helper()
	idp := idptest.NewCognito("us-east-1", "us-east-1_PetStore1", "petstoreclient0001")
	t.Cleanup(idp.Close)
	ac := authz.DefaultConfig()
	ac.Issuers = []authz.IssuerConfig{{Name: "pool", Cognito: &authz.CognitoPool{Region: "us-east-1", UserPoolID: "us-east-1_PetStore1"}, JWKSURL: idp.JWKSURL(), ClientIDs: []string{"petstoreclient0001"}}}
	ac.Authorizers = []authz.AuthorizerConfig{{Name: "petstore", Issuers: []string{"pool"}, Region: "us-east-1", Account: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"}}
	as, probs := authz.Provision(ac, authz.Options{})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	doc, err := os.ReadFile("../authz/testdata/petstore.json")
	if err != nil {
		t.Fatal(err)
	}
	as.SetStore(policyStore{vetGroup: {Group: vetGroup, Policy: doc}})
	return as, idp.AccessToken(idptest.User{Sub: vetSub, Username: vetUsername, Groups: []string{vetGroup}})
}

func TestAuthorizerBehindProxies(t *testing.T) {
	s, tok := authzService(t)
	h := s.Handler()
	tests := []struct {
		name      string
		ask       ask
		status    int
		body      string
		principal string
	}{
		{"no token: API Gateway's 401", caddyAsk("/caddy", "/petstore/v1/pets", "192.0.2.10", "X-Lockgate-Principal", "admin"), 401, `{"message":"Unauthorized"}`, ""},
		{"allowed: identity headers for the application", caddyAsk("/caddy", "/petstore/v1/pets", "192.0.2.10", "Authorization", "Bearer "+tok), 200, "", "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b"},
		{"a forged principal is replaced", caddyAsk("/caddy", "/petstore/v1/pets", "192.0.2.10", "Authorization", "Bearer "+tok, "X-Lockgate-Principal", "admin"), 200, "", "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b"},
		{"not allowed by the group's policy", caddyAsk("/caddy", "/petstore/v3/admin", "192.0.2.10", "Authorization", "Bearer "+tok), 403, `{"Message":"User is not authorized to access this resource"}`, ""},
		{"nginx: the ARN from X-Original-Uri", nginxAsk("/petstore/v1/pets", "192.0.2.10", "Authorization", "Bearer "+tok), 200, "", "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b"},
		{"a path that is not canonical", nginxAsk("/petstore/v1/../v3/admin", "192.0.2.10", "Authorization", "Bearer "+tok), 403, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.ask.do(t, h)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || tc.body != "" && string(body) != tc.body {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.body)
			}
			if got := resp.Header.Get("X-Lockgate-Principal"); got != tc.principal {
				t.Fatalf("X-Lockgate-Principal %q, want %q", got, tc.principal)
			}
			if tc.status == 200 {
				// Every identity header is answered, empty when unset, so
				// that a proxy copying them replaces the client's copies.
				for _, n := range []string{"X-Lockgate-Principal", "X-Lockgate-Username", "X-Lockgate-Groups"} {
					if _, ok := resp.Header[n]; !ok {
						t.Errorf("%s missing from the allow", n)
					}
				}
			}
		})
	}
}

// Behind Envoy, the client's identity headers are removed on the way
// upstream and the decision's set: never both for one name.
func TestAuthorizerBehindEnvoy(t *testing.T) {
	s, tok := authzService(t)
	// With underscore_headers: allow, x_lockgate_groups is not refused
	// (the default) but removed as a spelling of an identity header.
	st := *s.state.Load()
	st.cfg.UnderscoreHeaders = UnderscoreAllow
	s.state.Store(&st)
	c := extAuthzClient(t, s)
	req := envoyCheck("192.0.2.10", "GET", "/petstore/v1/pets", map[string]string{"authorization": "Bearer " + tok, "x-lockgate-principal": "admin", "x_lockgate_groups": "admins"}, "")
	resp, err := c.Check(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	ok := resp.GetOkResponse()
	if ok == nil {
		t.Fatalf("denied: %v", resp)
	}
	set := map[string]string{}
	for _, h := range ok.GetHeaders() {
		set[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	if set["x-lockgate-principal"] != "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b" || set["x-lockgate-groups"] != "pet-veterinarian" {
		t.Fatalf("headers %v", set)
	}
	if !slices.Contains(ok.GetHeadersToRemove(), "x_lockgate_groups") {
		t.Errorf("the client's x_lockgate_groups is not removed: %v", ok.GetHeadersToRemove())
	}
	for _, n := range ok.GetHeadersToRemove() {
		if _, both := set[n]; both {
			t.Errorf("%s is both set and removed", n)
		}
	}
	req = envoyCheck("192.0.2.10", "GET", "/petstore/v1/pets", nil, "")
	if resp, _ := c.Check(context.Background(), req); resp.GetDeniedResponse().GetStatus().GetCode() != 401 {
		t.Fatalf("no token: %v", resp)
	}
}
