package idptest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Cognito is a double of an Amazon Cognito user pool's public endpoints:
//
//	GET /{userPoolId}/.well-known/jwks.json             the pool's RS256 keys
//	GET /{userPoolId}/.well-known/openid-configuration  its discovery document
//
// and of the tokens it issues. Its issuer is the real pool's
// (https://cognito-idp.{region}.amazonaws.com/{userPoolId}); only the
// host serving the keys is local.
type Cognito struct {
	provider
	Region   string
	PoolID   string
	ClientID string
}

// Cognito's UserPoolId pattern (CreateUserPool's response model) and its
// region prefix.
var poolIDPattern = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)

// NewCognito starts a user pool double. The pool id must be one Cognito
// could give: {region}_{id}.
func NewCognito(region, poolID, clientID string) *Cognito {
	if !poolIDPattern.MatchString(poolID) || len(poolID) > 55 || !strings.HasPrefix(poolID, region+"_") {
		panic(fmt.Sprintf("idptest: %q is not a user pool id of %s", poolID, region))
	}
	c := &Cognito{Region: region, PoolID: poolID, ClientID: clientID}
	c.keys = []key{newKey("RS256", 0)} // Cognito signs with RS256 only
	mux := http.NewServeMux()
	mux.HandleFunc("/"+poolID+"/.well-known/jwks.json", c.serveJWKS)
	mux.HandleFunc("GET /"+poolID+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q,"id_token_signing_alg_values_supported":["RS256"],"subject_types_supported":["public"],"response_types_supported":["code","token"],"authorization_endpoint":"https://example.auth.%s.amazoncognito.com/oauth2/authorize","token_endpoint":"https://example.auth.%s.amazoncognito.com/oauth2/token"}`,
			c.Issuer(), c.JWKSURL(), region, region)
	})
	c.srv = httptest.NewServer(mux)
	return c
}

// Issuer is the pool's iss.
func (c *Cognito) Issuer() string {
	return "https://cognito-idp." + c.Region + ".amazonaws.com/" + c.PoolID
}

// JWKSURL is where this double serves the pool's keys (Cognito's own is
// Issuer() + "/.well-known/jwks.json").
func (c *Cognito) JWKSURL() string { return c.srv.URL + "/" + c.PoolID + "/.well-known/jwks.json" }

// User is a user of the pool.
type User struct {
	Sub      string
	Username string
	Groups   []string
	// Attributes are the user's attributes, put in ID tokens (email,
	// custom:tenant…).
	Attributes map[string]any
}

// TokenOption changes one token.
type TokenOption func(*tokenOpts)

type tokenOpts struct {
	clientID string
	issued   time.Time
	lifetime time.Duration
	scope    string
}

// ClientID issues the token to another app client.
func ClientID(id string) TokenOption { return func(o *tokenOpts) { o.clientID = id } }

// IssuedAt sets iat and auth_time.
func IssuedAt(t time.Time) TokenOption { return func(o *tokenOpts) { o.issued = t } }

// Lifetime sets exp − iat (Cognito: 5 minutes to 1 day; 1 hour by default).
func Lifetime(d time.Duration) TokenOption { return func(o *tokenOpts) { o.lifetime = d } }

func (c *Cognito) opts(options []TokenOption) tokenOpts {
	o := tokenOpts{clientID: c.ClientID, issued: c.clock(), lifetime: time.Hour, scope: "openid email"}
	for _, f := range options {
		f(&o)
	}
	if o.lifetime < 5*time.Minute || o.lifetime > 24*time.Hour {
		panic("idptest: Cognito token validity is 5 minutes to 1 day")
	}
	return o
}

// The claims Cognito puts in each kind of token (aws-formats.md).
var (
	accessClaims = []string{"sub", "cognito:groups", "token_use", "scope", "auth_time", "iss", "exp", "iat", "jti", "origin_jti", "client_id", "username"}
	idClaims     = []string{"sub", "aud", "cognito:groups", "token_use", "cognito:username", "auth_time", "iss", "exp", "iat", "jti", "origin_jti",
		"email", "email_verified", "phone_number", "phone_number_verified", "name", "given_name", "family_name"}
)

// AccessToken is the access token Cognito issues to u: no aud, the app
// client in client_id, token_use "access".
func (c *Cognito) AccessToken(u User, options ...TokenOption) string {
	o := c.opts(options)
	claims := jwt.MapClaims{
		"sub": u.Sub, "token_use": "access", "scope": o.scope, "auth_time": o.issued.Unix(),
		"iss": c.Issuer(), "exp": o.issued.Add(o.lifetime).Unix(), "iat": o.issued.Unix(),
		"jti": randomID(16), "origin_jti": randomID(16), "client_id": o.clientID, "username": u.Username,
	}
	if len(u.Groups) > 0 { // Cognito leaves the claim out for a user in no group
		claims["cognito:groups"] = u.Groups
	}
	checkMembers("Cognito access token", claims, accessClaims, []string{"sub", "token_use", "iss", "exp", "iat", "client_id", "username"})
	return c.sign(claims, false)
}

// IDToken is the ID token Cognito issues to u: aud is the app client,
// token_use "id", the user name in cognito:username.
func (c *Cognito) IDToken(u User, options ...TokenOption) string {
	o := c.opts(options)
	claims := jwt.MapClaims{
		"sub": u.Sub, "aud": o.clientID, "token_use": "id", "cognito:username": u.Username, "auth_time": o.issued.Unix(),
		"iss": c.Issuer(), "exp": o.issued.Add(o.lifetime).Unix(), "iat": o.issued.Unix(), "jti": randomID(16), "origin_jti": randomID(16),
	}
	if len(u.Groups) > 0 {
		claims["cognito:groups"] = u.Groups
	}
	for k, v := range u.Attributes {
		claims[k] = v
	}
	checkMembers("Cognito ID token", claims, idClaims, []string{"sub", "aud", "token_use", "cognito:username", "iss", "exp", "iat"})
	return c.sign(claims, false)
}
