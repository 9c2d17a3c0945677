package lock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenBytes bounds the token the lock-check API parses; a longer one is
// rejected before any work.
const MaxTokenBytes = 8 << 10

// ErrUnauthorized is every token problem. The reason travels in the
// wrapped error for the log; clients see one generic answer.
var ErrUnauthorized = errors.New("unauthorized")

// verifier checks lock-check tokens: HS256 only, key chosen by iss (and
// kid), aud one of the public URLs, sub required, exp required and close
// to iat.
type verifier struct {
	store       keySource
	box         secretOpener
	parser      *jwt.Parser
	audiences   []string
	maxLifetime time.Duration
	leeway      time.Duration
	now         func() time.Time
	ttl         time.Duration

	mu       sync.RWMutex
	cache    map[string]keyEntry // by issuer
	negative int                 // unknown issuers in cache
}

// keySource is what verification reads: the application of an issuer
// and its signing keys.
type keySource interface {
	ApplicationByIssuer(ctx context.Context, issuer string) (Application, error)
	SigningKeys(ctx context.Context, appID string) ([]SigningKey, error)
}

type secretOpener interface {
	Open(sealed, context string) ([]byte, error)
}

type keyEntry struct {
	app     Application
	keys    []verifyKey
	expires time.Time
	unknown bool // no application has this issuer
}

// maxNegative bounds how many unknown issuers are remembered: a stream of
// invented issuers must not grow the cache without end.
const maxNegative = 10_000

type verifyKey struct {
	id     string
	secret []byte
	macs   *macPool // HMAC states keyed with secret, for the fast path
}

func newVerifier(store keySource, box secretOpener, audiences []string, leeway, maxLifetime, ttl time.Duration, now func() time.Time) *verifier {
	return &verifier{
		store: store,
		box:   box,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithLeeway(leeway),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithAudience(audiences...),
			jwt.WithTimeFunc(now),
		),
		audiences:   audiences,
		maxLifetime: maxLifetime,
		leeway:      leeway,
		now:         now,
		ttl:         ttl,
		cache:       make(map[string]keyEntry),
	}
}

// storeError is a failure to read an issuer's application or keys: the
// token was not judged, so it is not refused as unauthorized (401, "token
// rejected") but failed as the server's error (500), still never
// accepted.
type storeError struct{ err error }

func (e storeError) Error() string { return "reading the issuer's keys: " + e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

// unjudged returns err's store failure, if it holds one.
func unjudged(err error) (error, bool) {
	var se storeError
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}

func unauthorized(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthorized, fmt.Sprintf(format, args...))
}

// verify returns the application and username a token speaks for.
func (v *verifier) verify(ctx context.Context, token string) (Application, string, error) {
	return v.verifyWith(ctx, token, true)
}

// verifyWith is verify; fast says whether the HS256 fast path may decide
// (the differential test runs without it).
func (v *verifier) verifyWith(ctx context.Context, token string, fast bool) (Application, string, error) {
	if token == "" {
		return Application{}, "", unauthorized("no token")
	}
	if len(token) > MaxTokenBytes {
		return Application{}, "", unauthorized("token of %d bytes is over %d", len(token), MaxTokenBytes)
	}
	var (
		app     Application
		claims  tokenClaims
		handled bool
		err     error
	)
	if fast {
		app, claims, handled, err = v.fastVerify(ctx, token)
	}
	if !handled {
		app, claims, err = v.parse(ctx, token)
	}
	if err != nil {
		return Application{}, "", err
	}
	if claims.sub == "" {
		return Application{}, "", unauthorized("no sub")
	}
	if !validText(claims.sub, 512) {
		return Application{}, "", unauthorized("sub is over 512 bytes, not UTF-8, or holds NUL")
	}
	// JSON decoding turns invalid UTF-8 and lone surrogates into U+FFFD:
	// a sub holding it was not the text its issuer meant, and canonical
	// forms would merge it with another name.
	if strings.ContainsRune(claims.sub, utf8.RuneError) {
		return Application{}, "", unauthorized("sub holds U+FFFD: invalid UTF-8 or a lone surrogate")
	}
	// A token good for hours is a replayable credential: bound exp by iat,
	// or by now when the token carries no iat. Both to the nanosecond.
	from := v.now().Add(v.leeway)
	if claims.hasIat {
		from = claims.iat
	}
	if claims.exp.Sub(from) > v.maxLifetime {
		return Application{}, "", unauthorized("exp is %s after iat, over %s", claims.exp.Sub(from).Round(time.Second), v.maxLifetime)
	}
	return app, claims.sub, nil
}

// parse verifies token with golang-jwt: signature, alg, header and the
// registered claims; verifyWith checks the rest.
func (v *verifier) parse(ctx context.Context, token string) (Application, tokenClaims, error) {
	var app Application
	// golang-jwt decodes the header into a map, which forgets duplicates.
	if h, _, ok := strings.Cut(token, "."); ok {
		if b, err := v.parser.DecodeSegment(h); err == nil {
			if err := checkHeader(b); err != nil {
				return Application{}, tokenClaims{}, unauthorized("%v", err)
			}
		}
	}
	claims := strictClaims{}
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		// RFC 7515 §4.1.11: "If any of the listed extension Header
		// Parameters are not understood and supported by the recipient,
		// then the JWS is invalid." lockgate understands none.
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New("crit header parameter not supported")
		}
		kid, hasKid := t.Header["kid"].(string)
		if _, present := t.Header["kid"]; present && (!hasKid || kid == "") {
			return nil, errors.New("kid is not a non-empty string")
		}
		iss, err := t.Claims.GetIssuer()
		if err != nil || iss == "" {
			return nil, errors.New("no iss")
		}
		e, err := v.keys(ctx, iss)
		if err != nil {
			return nil, err
		}
		app = e.app
		set := jwt.VerificationKeySet{}
		for _, k := range e.keys {
			if kid == "" || kid == k.id {
				set.Keys = append(set.Keys, k.secret)
			}
		}
		if len(set.Keys) == 0 {
			return nil, fmt.Errorf("no usable key for iss %q kid %q", iss, kid)
		}
		return set, nil
	})
	if err != nil {
		if se, ok := unjudged(err); ok {
			return Application{}, tokenClaims{}, se
		}
		return Application{}, tokenClaims{}, unauthorized("%v", err)
	}
	// golang-jwt compared the dates truncated to whole seconds: compare
	// them again exactly.
	d := claims.dates
	c := tokenClaims{sub: claims.Subject, exp: d.exp, nbf: d.nbf, iat: d.iat, hasNbf: d.hasNbf, hasIat: d.hasIat}
	if err := v.checkDates(c); err != nil {
		return Application{}, tokenClaims{}, err
	}
	return app, c, nil
}

// checkDates checks exp, nbf and iat against now, with the leeway. exp
// is rounded down to its second (as golang-jwt does, the strict way for
// an expiry); nbf and iat are compared exactly.
func (v *verifier) checkDates(c tokenClaims) error {
	now := v.now()
	switch {
	case !now.Before(c.exp.Truncate(time.Second).Add(v.leeway)):
		return unauthorized("token is expired")
	case c.hasNbf && now.Before(c.nbf.Add(-v.leeway)):
		return unauthorized("token is not valid yet")
	case c.hasIat && now.Before(c.iat.Add(-v.leeway)):
		return unauthorized("token used before issued")
	}
	return nil
}

// keys returns the application of issuer with its usable keys opened,
// from a cache of at most ttl age: key revocation reaches other replicas
// within ttl, and this replica at once (invalidate).
func (v *verifier) keys(ctx context.Context, issuer string) (keyEntry, error) {
	now := v.now()
	v.mu.RLock()
	e, ok := v.cache[issuer]
	v.mu.RUnlock()
	if ok && now.Before(e.expires) {
		if e.unknown {
			return keyEntry{}, fmt.Errorf("unknown iss %q", issuer)
		}
		return e, nil
	}
	app, err := v.store.ApplicationByIssuer(ctx, issuer)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// Remembered for the TTL like keys are: an application
			// created here clears it at once (invalidate), on other
			// replicas within the TTL — until then its tokens are
			// refused, never wrongly accepted.
			v.mu.Lock()
			if v.ttl > 0 && v.negative < maxNegative {
				if _, had := v.cache[issuer]; !had {
					v.negative++
				}
				v.cache[issuer] = keyEntry{unknown: true, expires: now.Add(v.ttl)}
			}
			v.mu.Unlock()
			return keyEntry{}, fmt.Errorf("unknown iss %q", issuer)
		}
		return keyEntry{}, storeError{err}
	}
	sks, err := v.store.SigningKeys(ctx, app.ID)
	if err != nil {
		return keyEntry{}, storeError{err}
	}
	e = keyEntry{app: app, expires: now.Add(v.ttl)}
	for _, k := range sks {
		if !k.RevokedAt.IsZero() {
			continue
		}
		secret, err := v.box.Open(k.Sealed, k.ID)
		if err != nil {
			return keyEntry{}, fmt.Errorf("key %s: %w", k.ID, err)
		}
		e.keys = append(e.keys, verifyKey{id: k.ID, secret: secret, macs: newMACPool(secret)})
	}
	if v.ttl > 0 {
		v.mu.Lock()
		if old, had := v.cache[issuer]; had && old.unknown {
			v.negative--
		}
		v.cache[issuer] = e
		v.mu.Unlock()
	}
	return e, nil
}

// invalidate drops cached keys of every issuer of app.
func (v *verifier) invalidate(issuers ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, iss := range issuers {
		if e, ok := v.cache[iss]; ok && e.unknown {
			v.negative--
		}
		delete(v.cache, iss)
	}
}

// strictClaims are the registered claims, with the checks of checkClaims
// first: NumericDates held to RFC 7519 §2, "A JSON numeric value" (the
// library also takes a JSON string holding digits, and null as absent),
// within range, and kept exact in dates.
type strictClaims struct {
	jwt.RegisteredClaims
	dates tokenDates
}

func (c *strictClaims) UnmarshalJSON(b []byte) error {
	d, err := checkClaims(b)
	if err != nil {
		return err
	}
	c.dates = d
	return json.Unmarshal(b, &c.RegisteredClaims)
}

// DecodeSigningKey decodes an application's key as integrations hold it:
// base64, decoded before signing (the seed's base64.b64decode).
func DecodeSigningKey(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}
