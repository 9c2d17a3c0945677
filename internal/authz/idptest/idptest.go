// Package idptest runs test doubles of the identity providers lockgate's
// authorizer trusts: an Amazon Cognito user pool and a generic OpenID
// Connect issuer. Each serves exactly what the real service serves — the
// JWK set and the discovery document, in their shapes — and mints tokens
// with exactly the header and claims the real service puts in them
// (../shared/reference/aws-formats.md), refusing to mint anything the
// service would not issue. Tests that need a token no IdP issues (a forged
// signature, another algorithm) build it with the Forge helpers, which
// say so in their name.
package idptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// key is one signing key with its key id.
type key struct {
	kid    string
	signer crypto.Signer
	alg    string
}

// provider is what both doubles share: keys, an HTTP server and counts.
type provider struct {
	mu   sync.Mutex
	keys []key
	srv  *httptest.Server
	// hits counts JWK set requests; Stall, when set, is waited on by the
	// JWK set handler before it answers (to hold a refresh in flight).
	hits  atomic.Int64
	stall atomic.Pointer[chan struct{}]
	now   func() time.Time
}

// JWKSHits is how many times the JWK set was fetched.
func (p *provider) JWKSHits() int64 { return p.hits.Load() }

// Stall makes JWK set requests wait until the returned function is
// called: a slow IdP.
func (p *provider) Stall() (release func()) {
	ch := make(chan struct{})
	p.stall.Store(&ch)
	var once sync.Once
	return func() { once.Do(func() { p.stall.Store(nil); close(ch) }) }
}

// Close stops the server.
func (p *provider) Close() { p.srv.Close() }

// SetClock sets the time minted tokens are issued at.
func (p *provider) SetClock(now func() time.Time) { p.now = now }

func (p *provider) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// serveJWKS answers a JWK set request with the public keys only.
func (p *provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p.hits.Add(1)
	if ch := p.stall.Load(); ch != nil {
		select {
		case <-*ch:
		case <-r.Context().Done():
			return
		}
	}
	p.mu.Lock()
	keys := make([]map[string]string, 0, len(p.keys))
	for _, k := range p.keys {
		keys = append(keys, publicJWK(k))
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

// publicJWK is the JWK of a key's public half, with the members the
// providers publish and nothing else.
func publicJWK(k key) map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := k.signer.Public().(type) {
	case *rsa.PublicKey:
		return map[string]string{"alg": k.alg, "e": b64(big.NewInt(int64(pub.E)).Bytes()), "kid": k.kid, "kty": "RSA", "n": b64(pub.N.Bytes()), "use": "sig"}
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		raw, err := pub.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		x, y := raw[1:1+size], raw[1+size:]
		return map[string]string{"alg": k.alg, "crv": pub.Curve.Params().Name, "kid": k.kid, "kty": "EC", "use": "sig", "x": b64(x), "y": b64(y)}
	case ed25519.PublicKey:
		return map[string]string{"alg": k.alg, "crv": "Ed25519", "kid": k.kid, "kty": "OKP", "use": "sig", "x": b64(pub)}
	}
	panic("idptest: unknown key type")
}

func newKey(alg string, n int) key {
	kid := fmt.Sprintf("key-%d-%s", n, randomID(6))
	switch alg {
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return key{kid: kid, signer: k, alg: alg}
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return key{kid: kid, signer: k, alg: alg}
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return key{kid: kid, signer: k, alg: alg}
	}
	panic("idptest: unsupported algorithm " + alg)
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func method(alg string) jwt.SigningMethod {
	switch alg {
	case "RS256":
		return jwt.SigningMethodRS256
	case "ES256":
		return jwt.SigningMethodES256
	case "EdDSA":
		return jwt.SigningMethodEdDSA
	}
	panic("idptest: unsupported algorithm " + alg)
}

// sign signs claims with the newest key; the header holds exactly kid
// and alg (Cognito sends no typ).
func (p *provider) sign(claims jwt.MapClaims, withTyp bool) string {
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	return signWith(k, claims, withTyp)
}

func signWith(k key, claims jwt.MapClaims, withTyp bool) string {
	t := jwt.NewWithClaims(method(k.alg), claims)
	t.Header = map[string]any{"kid": k.kid, "alg": k.alg}
	if withTyp {
		t.Header["typ"] = "JWT"
	}
	s, err := t.SignedString(k.signer)
	if err != nil {
		panic(err)
	}
	return s
}

// SignHeader signs claims with the newest key, adding header to the
// protected header (kid and alg stay the key's): tokens the IdP signed
// with parameters it never uses, such as crit.
func (p *provider) SignHeader(header map[string]any, claims jwt.MapClaims) string {
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	t := jwt.NewWithClaims(method(k.alg), claims)
	t.Header = map[string]any{}
	for h, v := range header {
		t.Header[h] = v
	}
	t.Header["kid"], t.Header["alg"] = k.kid, k.alg
	s, err := t.SignedString(k.signer)
	if err != nil {
		panic(err)
	}
	return s
}

// Rotate adds a new signing key, published beside the old ones; tokens
// are signed with it from now on. It returns the new key's id.
func (p *provider) Rotate() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := newKey(p.keys[0].alg, len(p.keys))
	p.keys = append(p.keys, k)
	return k.kid
}

// Retire stops publishing every key but the newest.
func (p *provider) Retire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = p.keys[len(p.keys)-1:]
}

// KeyID is the id of the key tokens are signed with now.
func (p *provider) KeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[len(p.keys)-1].kid
}

// ForgeWithKid signs claims with a key the IdP never published, under
// the given kid (a published one for a forged signature, a made-up one
// for an unknown key).
func ForgeWithKid(kid, alg string, claims jwt.MapClaims) string {
	forgeMu.Lock()
	k, ok := forgeKeys[alg]
	if !ok {
		k = newKey(alg, 0)
		forgeKeys[alg] = k
	}
	forgeMu.Unlock()
	k.kid = kid
	return signWith(k, claims, false)
}

// The forger's keys, one per algorithm, made once.
var (
	forgeMu   sync.Mutex
	forgeKeys = map[string]key{}
)

// ForgeHS256 signs claims with HMAC under secret: the algorithm-confusion
// attack when secret is the IdP's public key.
func ForgeHS256(kid string, secret []byte, claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header = map[string]any{"kid": kid, "alg": "HS256"}
	s, err := t.SignedString(secret)
	if err != nil {
		panic(err)
	}
	return s
}

// ForgeNone is an unsigned token (alg "none").
func ForgeNone(kid string, claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	t.Header = map[string]any{"kid": kid, "alg": "none"}
	s, err := t.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		panic(err)
	}
	return s
}

// Claims returns a token's claims without verifying it (tests read what
// they minted).
func Claims(token string) jwt.MapClaims {
	c := jwt.MapClaims{}
	jwt.NewParser().ParseUnverified(token, c)
	return c
}

// PublicKeyPEMish returns the RSA public key's modulus bytes, the secret
// an algorithm-confusion attacker would use.
func (p *provider) PublicKeyBytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pub, ok := p.keys[len(p.keys)-1].signer.Public().(*rsa.PublicKey); ok {
		return pub.N.Bytes()
	}
	return nil
}

// checkMembers refuses claims outside the set a provider issues and
// requires the members it always sets.
func checkMembers(kind string, claims jwt.MapClaims, allowed, required []string) {
	for k := range claims {
		if !slices.Contains(allowed, k) && !strings.HasPrefix(k, "custom:") {
			panic(fmt.Sprintf("idptest: a %s does not carry %q", kind, k))
		}
	}
	for _, k := range required {
		if _, ok := claims[k]; !ok {
			panic(fmt.Sprintf("idptest: a %s always carries %q", kind, k))
		}
	}
}
