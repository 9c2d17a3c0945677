package authz

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// ErrUnauthorized is every reason a token is refused: API Gateway answers
// them all alike, 401 {"message":"Unauthorized"}. The wrapped error says
// which, for logs.
var ErrUnauthorized = errors.New("unauthorized")

// maxTokenBytes bounds a token; Cognito's are around 1 KiB, and headers
// are bounded by the server anyway.
const maxTokenBytes = 16 << 10

// issuer verifies the tokens of one issuer.
type issuer struct {
	name     string
	iss      string
	cognito  bool
	tokenUse string
	clients  []string
	username string
	keys     *keySet
	kf       keyfunc.Keyfunc
	parser   *jwt.Parser
}

// newIssuer builds an issuer from its configuration (defaults applied);
// keys read from jwks_file are loaded here, others on first use.
func newIssuer(c IssuerConfig, client *http.Client, now func() time.Time, onError func(string, error)) (*issuer, error) {
	is := &issuer{name: c.Name, cognito: c.Cognito != nil, tokenUse: c.TokenUse, clients: c.ClientIDs, username: c.UsernameClaim}
	ks := &keySet{MemoryJWKSet: jwkset.NewMemoryStorage(), client: client, algs: c.Algorithms,
		refreshUnknown: c.RefreshUnknownKID.Std(), maxAge: c.KeysMaxAge.Std(), now: now,
		onError: func(err error) { onError(c.Name, err) }}
	switch {
	case c.Cognito != nil:
		is.iss = c.Cognito.Issuer()
		u := is.iss + "/.well-known/jwks.json"
		if c.JWKSURL != "" {
			u = c.JWKSURL
		}
		ks.locate = func(context.Context) (string, error) { return u, nil }
	default:
		is.iss = c.OIDC
		if c.JWKSURL != "" {
			u := c.JWKSURL
			ks.locate = func(context.Context) (string, error) { return u, nil }
		} else {
			ks.locate = cachedDiscovery(client, c.OIDC)
		}
	}
	if c.JWKSFile != "" {
		data, err := os.ReadFile(string(c.JWKSFile))
		if err != nil {
			return nil, err
		}
		keys, err := parseJWKS(data, c.Algorithms, string(c.JWKSFile))
		if err != nil {
			return nil, err
		}
		ks.KeyReplaceAll(context.Background(), keys)
		ks.locate = nil
	}
	is.keys = ks
	kf, err := keyfunc.New(keyfunc.Options{Storage: ks, UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
	if err != nil {
		return nil, err
	}
	is.kf = kf
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(c.Algorithms), // pinned: alg none, HS256 with the public key and the rest never reach a key
		jwt.WithIssuer(is.iss),
		jwt.WithLeeway(c.ClockSkew.Std()),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
	}
	if !is.cognito || is.tokenUse == "id" {
		opts = append(opts, jwt.WithAudience(c.ClientIDs...))
	}
	is.parser = jwt.NewParser(opts...)
	return is, nil
}

// cachedDiscovery finds the JWK set URL through the discovery document
// once it answers, then keeps it.
func cachedDiscovery(client *http.Client, issuerURL string) func(context.Context) (string, error) {
	var found string
	return func(ctx context.Context) (string, error) {
		// Called with keySet's fetch serialised: no lock needed.
		if found != "" {
			return found, nil
		}
		u, err := discover(ctx, client, issuerURL)
		if err == nil {
			found = u
		}
		return u, err
	}
}

// keyfunc insists on a kid: every issuer lockgate trusts sets one, and a
// token without it would be tried against every key.
func (is *issuer) keyfunc(ctx context.Context) jwt.Keyfunc {
	kf := is.kf.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		if kid, ok := t.Header["kid"].(string); !ok || kid == "" {
			return nil, errors.New("the token names no key (kid)")
		}
		if crit, ok := t.Header["crit"]; ok {
			// RFC 7515 §4.1.11: "If any of the listed extension Header
			// Parameters are not understood and supported by the
			// recipient, then the JWS is invalid." lockgate understands
			// no extension, so any crit (and a malformed one) is refused.
			return nil, fmt.Errorf("the token's crit header %v names extensions lockgate does not support", crit)
		}
		return kf(t)
	}
}

// verify checks a token of this issuer: signature with a pinned
// algorithm, iss, exp, nbf, iat, and for Cognito token_use and client_id
// (access) or aud (id); for OIDC aud.
func (is *issuer) verify(ctx context.Context, token string, claims jwt.MapClaims) error {
	if _, err := is.parser.ParseWithClaims(token, claims, is.keyfunc(ctx)); err != nil {
		return err
	}
	if is.cognito {
		if use, _ := claims["token_use"].(string); use != is.tokenUse {
			return fmt.Errorf("token_use is %q, this authorizer takes %s tokens", use, is.tokenUse)
		}
		if is.tokenUse == "access" {
			if id, _ := claims["client_id"].(string); !slices.Contains(is.clients, id) {
				return fmt.Errorf("client_id %q is not an accepted app client", id)
			}
		}
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return errors.New("the token has no sub")
	}
	return nil
}

// verifier picks the issuer of a token among those an authorizer trusts.
type verifier struct {
	issuers []*issuer
}

// verify returns the verified claims of token and its issuer, or an
// error wrapping ErrUnauthorized.
func (v *verifier) verify(ctx context.Context, token string) (jwt.MapClaims, *issuer, error) {
	if token == "" {
		return nil, nil, fmt.Errorf("%w: no token", ErrUnauthorized)
	}
	if len(token) > maxTokenBytes || strings.Count(token, ".") != 2 {
		return nil, nil, fmt.Errorf("%w: not a JWS compact token", ErrUnauthorized)
	}
	// The iss claim, read before verification, only chooses whose keys
	// verify the token; that issuer's parser then checks iss again.
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	iss, _ := claims["iss"].(string)
	for _, is := range v.issuers {
		if is.iss == iss {
			claims = jwt.MapClaims{}
			if err := is.verify(ctx, token, claims); err != nil {
				return nil, nil, fmt.Errorf("%w: issuer %s: %v", ErrUnauthorized, is.name, err)
			}
			return claims, is, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: issuer %q is not trusted here", ErrUnauthorized, iss)
}

// bearer takes the token from an Authorization header value: "Bearer
// TOKEN", or the bare token as the blog's clients send it.
func bearer(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return h
}
