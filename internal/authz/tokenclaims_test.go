package authz

import (
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/authz/idptest"
)

// RFC 7515 §4.1.11: "If any of the listed extension Header Parameters
// are not understood and supported by the recipient, then the JWS is
// invalid." lockgate supports no extension: a token naming any in crit
// is refused even when the pool's own key signed it.
func TestCritHeaderRefused(t *testing.T) {
	w := newWorld(t)
	claims := idptest.Claims(w.idp.AccessToken(w.vet))
	for _, tt := range []struct {
		name   string
		header map[string]any
		want   Outcome
	}{
		{"no crit", nil, Allow},
		{"unknown extension", map[string]any{"crit": []string{"exp-x"}, "exp-x": 1}, Unauthorized},
		{"empty list", map[string]any{"crit": []string{}}, Unauthorized},
		{"not a list", map[string]any{"crit": "exp-x"}, Unauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := w.idp.SignHeader(tt.header, claims)
			if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside); d.Outcome != tt.want {
				t.Fatalf("%v (%v), want %v", d.Outcome, d.Err, tt.want)
			}
		})
	}
}

// docs/authz.md: "the groups claim (cognito:groups) is a list of
// strings — a malformed claim is refused, never read as no group". A
// string is not a list (Cognito writes an array even for one group).
func TestGroupsClaimMustBeAList(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		name   string
		groups any
		want   Outcome
	}{
		{"list", []any{"pet-veterinarian"}, Allow},
		{"string", "pet-veterinarian", Unauthorized},
		{"list with a number", []any{"pet-veterinarian", 3}, Unauthorized},
		{"object", map[string]any{"g": "pet-veterinarian"}, Unauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := idptest.Claims(w.idp.AccessToken(w.vet))
			c["cognito:groups"] = tt.groups
			tok := w.idp.SignHeader(nil, c)
			if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside); d.Outcome != tt.want {
				t.Fatalf("%v (%v), want %v", d.Outcome, d.Err, tt.want)
			}
		})
	}
}

// OpenID Connect Discovery 1.0 §2: the issuer is "a case-sensitive URL
// using the https scheme". Keys fetched over plain http from a host that
// is not this machine can be replaced by anyone on the path: refused,
// except on loopback (a test IdP, a local mirror).
func TestKeyURLsMustBeHTTPS(t *testing.T) {
	for _, tt := range []struct {
		oidc, jwks string
		bad        string // the key path of the problem, "" for none
	}{
		{"https://idp.example.com", "", ""},
		{"http://idp.example.com", "", "issuers[0].oidc"},
		{"https://idp.example.com", "http://keys.example.com/jwks.json", "issuers[0].jwks_url"},
		{"http://127.0.0.1:9000", "http://[::1]:9000/jwks.json", ""},
		{"http://localhost:9000", "", ""},
		{"ftp://idp.example.com", "", "issuers[0].oidc"},
	} {
		c := Config{Issuers: []IssuerConfig{{Name: "i", OIDC: tt.oidc, JWKSURL: tt.jwks, Algorithms: []string{"RS256"}, ClientIDs: []string{"c"}}}}
		probs := c.Validate()
		got := ""
		for _, p := range probs {
			got = p.Path
		}
		if got != tt.bad {
			t.Errorf("oidc %s jwks %s: problems %v, want one at %q", tt.oidc, tt.jwks, probs, tt.bad)
		}
		if tt.bad != "" && !strings.Contains(probs.Error(), "https") {
			t.Errorf("the problem does not say what to use: %v", probs)
		}
	}
}
