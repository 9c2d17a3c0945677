package idptest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// OIDC is a double of an OpenID Connect issuer (Okta, Entra ID, Keycloak,
// Auth0…): its discovery document at /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0 §4) naming its jwks_uri, and ID tokens
// signed with one algorithm.
type OIDC struct {
	provider
	Audience string
}

// NewOIDC starts an issuer signing with alg (RS256, ES256 or EdDSA).
func NewOIDC(alg, audience string) *OIDC {
	o := &OIDC{Audience: audience}
	o.keys = []key{newKey(alg, 0)}
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", o.serveJWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": o.Issuer(), "jwks_uri": o.Issuer() + "/jwks",
			"authorization_endpoint": o.Issuer() + "/authorize", "token_endpoint": o.Issuer() + "/token",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{alg},
		})
	})
	o.srv = httptest.NewServer(mux)
	return o
}

// Issuer is the issuer's URL, its iss.
func (o *OIDC) Issuer() string { return o.srv.URL }

// Token is an ID token for sub with the given groups claim and extra
// claims; nbf is set (OIDC providers commonly do).
func (o *OIDC) Token(sub string, groupsClaim string, groups []string, lifetime time.Duration, extra jwt.MapClaims) string {
	now := o.clock()
	claims := jwt.MapClaims{"iss": o.Issuer(), "sub": sub, "aud": o.Audience, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(lifetime).Unix()}
	if groupsClaim != "" {
		claims[groupsClaim] = groups
	}
	for k, v := range extra {
		claims[k] = v
	}
	return o.sign(claims, true)
}
