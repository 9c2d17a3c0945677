package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
)

// keySet is an issuer's public keys as keyfunc reads them. It fetches the
// JWK set itself, because keyfunc's own HTTP storage waits on a rate
// limiter when a token names an unknown kid: a stream of tokens with
// made-up kids would then hold requests for up to its wait bound. Here an
// unknown kid causes at most one fetch per refreshUnknown interval, made
// by the request that found the key missing; every other request with an
// unknown kid is refused at once, never waiting for the IdP. Only before
// the first keys ever arrive do requests wait for the fetch in flight
// (bounded by the HTTP timeout), so that a cold start does not refuse
// good tokens.
type keySet struct {
	*jwkset.MemoryJWKSet
	// locate returns the JWK set URL (OIDC: through discovery); nil for
	// keys read from a file.
	locate         func(ctx context.Context) (string, error)
	client         *http.Client
	algs           []string
	refreshUnknown time.Duration
	maxAge         time.Duration
	now            func() time.Time
	onError        func(error)

	mu       sync.Mutex
	lastTry  time.Time     // the last fetch started, for any reason
	loaded   time.Time     // the last fetch that succeeded
	inflight chan struct{} // closed when the fetch in flight ends
}

// maxJWKSBytes bounds a JWK set document; coldRetry spaces fetches
// while no keys were ever loaded.
const (
	maxJWKSBytes = 1 << 20
	coldRetry    = 5 * time.Second
)

// KeyRead returns the key kid names, fetching the set again when kid is
// unknown (at most once per interval) or the keys are older than maxAge.
func (k *keySet) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	if k.locate != nil {
		k.mu.Lock()
		stale := k.loaded.IsZero() || k.now().Sub(k.loaded) >= k.maxAge
		k.mu.Unlock()
		if stale {
			k.refresh(ctx)
		}
	}
	jwk, err := k.MemoryJWKSet.KeyRead(ctx, kid)
	if errors.Is(err, jwkset.ErrKeyNotFound) && k.locate != nil && k.refresh(ctx) {
		jwk, err = k.MemoryJWKSet.KeyRead(ctx, kid)
	}
	return jwk, err
}

// refresh fetches the set unless another caller is fetching it (then it
// waits only while no keys were ever loaded) or a fetch started less than
// refreshUnknown ago (5 s while no keys were ever loaded). It reports
// whether it fetched new keys.
func (k *keySet) refresh(ctx context.Context) bool {
	k.mu.Lock()
	now := k.now()
	if ch := k.inflight; ch != nil {
		never := k.loaded.IsZero()
		k.mu.Unlock()
		if never {
			select {
			case <-ch:
			case <-ctx.Done():
			}
		}
		return false
	}
	// Whatever the reason, fetches are spaced by the interval (shorter
	// while no keys were ever had, so that a cold start recovers soon
	// from an IdP that was down).
	interval := k.refreshUnknown
	if k.loaded.IsZero() {
		interval = min(interval, coldRetry)
	}
	if !k.lastTry.IsZero() && now.Sub(k.lastTry) < interval {
		k.mu.Unlock()
		return false
	}
	ch := make(chan struct{})
	k.inflight, k.lastTry = ch, now
	k.mu.Unlock()

	keys, err := k.fetch(ctx)
	if err == nil {
		err = k.MemoryJWKSet.KeyReplaceAll(ctx, keys)
	}
	k.mu.Lock()
	if err == nil {
		k.loaded = k.now()
	}
	k.inflight = nil
	close(ch)
	k.mu.Unlock()
	if err != nil && k.onError != nil {
		k.onError(err)
	}
	return err == nil
}

// fetch downloads and checks the JWK set.
func (k *keySet) fetch(ctx context.Context) ([]jwkset.JWK, error) {
	u, err := k.locate(ctx)
	if err != nil {
		return nil, err
	}
	data, err := getJSON(ctx, k.client, u)
	if err != nil {
		return nil, err
	}
	return parseJWKS(data, k.algs, u)
}

// getJSON GETs a JSON document of at most maxJWKSBytes.
func getJSON(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", u, resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && mt != "application/jwk-set+json" {
		return nil, fmt.Errorf("%s answered %q, not JSON", u, resp.Header.Get("Content-Type"))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("%s: the document is over %d bytes", u, maxJWKSBytes)
	}
	return data, nil
}

// parseJWKS reads a JWK set (RFC 7517 §5), keeping the signature keys
// usable with algs. A set with no such key is an error: it would refuse
// every token, and the keys held before are better.
func parseJWKS(data []byte, algs []string, where string) ([]jwkset.JWK, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%s: not a JWK set: %v", where, err)
	}
	var out []jwkset.JWK
	var skipped []string
	for i, raw := range set.Keys {
		jwk, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d]: %v", i, err))
			continue
		}
		m := jwk.Marshal()
		if m.USE != "" && m.USE != jwkset.UseSig || m.KID == "" {
			continue
		}
		if a := m.ALG.String(); a != "" && !slices.Contains(algs, a) {
			continue
		}
		if !keyFits(m.KTY, algs) {
			continue
		}
		out = append(out, jwk)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no signature key with a kid for %v %v", where, algs, skipped)
	}
	return out, nil
}

// keyFits reports whether a key type can verify one of algs.
func keyFits(kty jwkset.KTY, algs []string) bool {
	for _, a := range algs {
		switch {
		case a == "RS256" && kty == jwkset.KtyRSA, a == "ES256" && kty == jwkset.KtyEC, a == "EdDSA" && kty == jwkset.KtyOKP:
			return true
		}
	}
	return false
}

// discover reads an OpenID Connect discovery document and returns its
// jwks_uri. The document's issuer must be exactly the one configured
// (OpenID Connect Discovery 1.0 §4.3), or tokens of another issuer could
// be verified with its keys.
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	u := trimSlash(issuer) + "/.well-known/openid-configuration"
	data, err := getJSON(ctx, client, u)
	if err != nil {
		return "", err
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("%s: %v", u, err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("%s: the document's issuer %q is not %q", u, doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("%s: no jwks_uri", u)
	}
	if msg := keyURLProblem(doc.JWKSURI); msg != "" {
		return "", fmt.Errorf("%s: jwks_uri %q %s", u, doc.JWKSURI, msg)
	}
	return doc.JWKSURI, nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
