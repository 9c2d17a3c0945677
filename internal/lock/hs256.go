package lock

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The HS256 fast path. Every lock check verifies a token, and golang-jwt's
// generic route (the header decoded into a map, the claims through
// encoding/json twice, a new HMAC per key) was the largest cost of a check.
// This path reads the shape tokens have in practice directly, with no
// allocation but the subject. Whatever it does not fully understand — an
// escape in a string, a member twice or in another case, a type it does
// not expect, base64 that is not canonical — it leaves to the golang-jwt
// path (fastVerify's handled is false), so it never accepts a token that
// path refuses nor refuses one it accepts. FuzzVerifyDifferential holds
// the two to that.

// tokenClaims is what verification takes from a token's payload.
type tokenClaims struct {
	sub            string
	exp, nbf, iat  time.Time // to the nanosecond
	hasNbf, hasIat bool
}

// hs256Sig is the length of an HS256 signature in unpadded base64url.
var hs256Sig = base64.RawURLEncoding.EncodedLen(sha256.Size)

// strictB64 decodes base64url without padding and with zero trailing bits:
// what it decodes, golang-jwt's lenient decoder decodes the same way.
var strictB64 = base64.RawURLEncoding.Strict()

type fastScratch struct {
	token []byte // the signing input is hashed from here
	buf   []byte // header and claims, decoded
	sig   [sha256.Size]byte
	sum   [sha256.Size]byte
}

var scratchPool = sync.Pool{New: func() any { return new(fastScratch) }}

// macPool keeps HMAC states keyed with one secret: Reset restores the
// keyed state without hashing the key pads again.
type macPool struct {
	pool sync.Pool
}

func newMACPool(secret []byte) *macPool {
	m := &macPool{}
	m.pool.New = func() any { return hmac.New(sha256.New, secret) }
	return m
}

// sum writes the HMAC-SHA256 of msg to dst.
func (m *macPool) sum(dst *[sha256.Size]byte, msg []byte) {
	h := m.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(msg)
	h.Sum(dst[:0])
	m.pool.Put(h)
}

// jwsHeader is what verification reads of a JOSE header.
type jwsHeader struct {
	algHS256 bool // alg is the string "HS256"
	crit     bool // crit is present, whatever its value
	hasKid   bool
	kid      []byte
	kidOK    bool // kid is a non-empty string
}

// payload is what verification reads of the claims; byte slices point
// into the decoded claims.
type payload struct {
	iss, sub      []byte
	exp, nbf, iat time.Time
	seen          uint8 // claim bits: a claim met twice is left to golang-jwt
	audN          int   // aud values (a lone string counts one)
	audFirstEmpty bool
	audMatch      bool // one aud value is an expected audience
}

const (
	seenIss = 1 << iota
	seenSub
	seenAud
	seenExp
	seenNbf
	seenIat
	seenJti
)

// fastVerify verifies token as verify's golang-jwt path does. handled is
// false when the token is not of a shape it reads; then nothing has been
// decided.
func (v *verifier) fastVerify(ctx context.Context, token string) (app Application, c tokenClaims, handled bool, err error) {
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || len(s) != hs256Sig || strings.IndexByte(s, '.') >= 0 {
		return app, c, false, nil
	}
	sc := scratchPool.Get().(*fastScratch)
	defer func() {
		if cap(sc.buf) <= 4<<10 {
			scratchPool.Put(sc)
		}
	}()
	sc.token = append(sc.token[:0], token...)
	raw := sc.token
	input := raw[:len(h)+1+len(p)]
	need := strictB64.DecodedLen(len(h)) + strictB64.DecodedLen(len(p))
	if cap(sc.buf) < need {
		sc.buf = make([]byte, need)
	}
	buf := sc.buf[:need]
	hn, err1 := strictB64.Decode(buf, raw[:len(h)])
	cn, err2 := strictB64.Decode(buf[hn:], raw[len(h)+1:len(input)])
	sn, err3 := strictB64.Decode(sc.sig[:], raw[len(input)+1:])
	if err1 != nil || err2 != nil || err3 != nil || sn != sha256.Size {
		return app, c, false, nil
	}
	hdrJSON, claimsJSON := buf[:hn], buf[hn:hn+cn]
	// encoding/json replaces invalid UTF-8: leave that to it.
	if !utf8.Valid(hdrJSON) || !utf8.Valid(claimsJSON) {
		return app, c, false, nil
	}
	hdr, ok := parseHeader(hdrJSON)
	if !ok {
		return app, c, false, nil
	}
	pl, ok := v.parsePayload(claimsJSON)
	if !ok {
		return app, c, false, nil
	}
	// Header and claims are understood: from here every check decides.
	if !hdr.algHS256 {
		return app, c, true, unauthorized("alg is not HS256")
	}
	if hdr.crit {
		return app, c, true, unauthorized("crit header parameter not supported")
	}
	if hdr.hasKid && !hdr.kidOK {
		return app, c, true, unauthorized("kid is not a non-empty string")
	}
	if len(pl.iss) == 0 {
		return app, c, true, unauthorized("no iss")
	}
	e, err := v.cachedKeys(ctx, pl.iss)
	if err != nil {
		if se, ok := unjudged(err); ok {
			return app, c, true, se
		}
		return app, c, true, unauthorized("%v", err)
	}
	var usable, good bool
	for _, k := range e.keys {
		if hdr.hasKid && string(hdr.kid) != k.id {
			continue
		}
		usable = true
		k.macs.sum(&sc.sum, input)
		if hmac.Equal(sc.sum[:], sc.sig[:]) {
			good = true
			break
		}
	}
	if !usable {
		return app, c, true, unauthorized("no usable key for iss %q kid %q", pl.iss, hdr.kid)
	}
	if !good {
		return app, c, true, unauthorized("signature is invalid")
	}
	// The registered claims as golang-jwt's validator, then checkDates,
	// check them.
	if pl.seen&seenExp == 0 {
		return app, c, true, unauthorized("exp claim is required")
	}
	c = tokenClaims{sub: string(pl.sub), exp: pl.exp, nbf: pl.nbf, iat: pl.iat, hasNbf: pl.seen&seenNbf != 0, hasIat: pl.seen&seenIat != 0}
	if err := v.checkDates(c); err != nil {
		return app, tokenClaims{}, true, err
	}
	if len(v.audiences) > 0 {
		if pl.audN == 0 || pl.audN == 1 && pl.audFirstEmpty {
			return app, c, true, unauthorized("aud claim is required")
		}
		if !pl.audMatch {
			return app, c, true, unauthorized("token has invalid audience")
		}
	}
	return e.app, c, true, nil
}

// cachedKeys is keys for an issuer given as bytes: a cache hit converts
// nothing.
func (v *verifier) cachedKeys(ctx context.Context, iss []byte) (keyEntry, error) {
	v.mu.RLock()
	e, ok := v.cache[string(iss)]
	v.mu.RUnlock()
	if ok && !e.unknown && v.now().Before(e.expires) {
		return e, nil
	}
	return v.keys(ctx, string(iss))
}

// parseHeader reads a JOSE header. As golang-jwt decodes it into a map,
// member names match exactly; other members are ignored, but their values
// are converted (a number out of float64's range fails), so the only ones
// read here are strings, true, false and null.
func parseHeader(b []byte) (jwsHeader, bool) {
	var h jwsHeader
	var seenAlg bool
	var names memberNames
	s := jsonScan{b: b}
	if !s.object() {
		return h, false
	}
	for first := true; ; first = false {
		name, ok := s.nextMember(first)
		if !ok {
			return h, false
		}
		if name == nil {
			break
		}
		if !names.add(name) {
			return h, false
		}
		switch string(name) {
		case "enc", "zip":
			return h, false // a JWE header: checkHeader refuses it
		case "alg":
			if seenAlg {
				return h, false
			}
			seenAlg = true
			if s.peek() == '"' {
				h.algHS256 = string(s.str()) == "HS256"
			} else {
				s.skip(0)
			}
		case "crit":
			if h.crit {
				return h, false
			}
			h.crit = true
			s.skip(0)
		case "kid":
			if h.hasKid {
				return h, false
			}
			h.hasKid = true
			if s.peek() == '"' {
				h.kid = s.str()
				h.kidOK = len(h.kid) > 0
			} else {
				s.skip(0)
			}
		default:
			switch s.peek() {
			case '"':
				s.str()
			case 't', 'f', 'n':
				s.literal()
			default:
				return h, false
			}
		}
		if s.bad {
			return h, false
		}
	}
	return h, s.end()
}

// memberNames are the member names of one object met so far. Names read
// here hold no escapes, so equal bytes are equal names.
type memberNames struct {
	n     int
	names [16][]byte
}

// add reports whether name is new. A name met twice — which checkHeader
// and checkClaims refuse — or an object with more members than it holds
// leaves the token to the golang-jwt path.
func (m *memberNames) add(name []byte) bool {
	if m.n == len(m.names) {
		return false
	}
	for _, n := range m.names[:m.n] {
		if bytes.Equal(n, name) {
			return false
		}
	}
	m.names[m.n] = name
	m.n++
	return true
}

// claimNames are the members golang-jwt's RegisteredClaims decodes, which
// encoding/json matches without regard to case.
var claimNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// parsePayload reads the claims. Members named like a registered claim in
// another case, or with non-ASCII names (encoding/json folds some to
// ASCII letters), are left to golang-jwt; other members are skipped as
// its struct decoding skips them.
func (v *verifier) parsePayload(b []byte) (payload, bool) {
	var p payload
	var names memberNames
	s := jsonScan{b: b}
	if !s.object() {
		return p, false
	}
	for first := true; ; first = false {
		name, ok := s.nextMember(first)
		if !ok {
			return p, false
		}
		if name == nil {
			break
		}
		if !names.add(name) {
			return p, false
		}
		bit := uint8(0)
		for i, n := range claimNames {
			if string(name) == n {
				bit = 1 << i
				break
			}
		}
		if bit == 0 {
			for _, c := range name {
				if c >= utf8.RuneSelf {
					return p, false
				}
			}
			for _, n := range claimNames {
				if bytes.EqualFold(name, []byte(n)) {
					return p, false
				}
			}
			s.skip(0)
			if s.bad {
				return p, false
			}
			continue
		}
		if p.seen&bit != 0 {
			return p, false
		}
		p.seen |= bit
		var ok2 bool
		switch bit {
		case seenIss:
			p.iss, ok2 = s.strValue()
		case seenSub:
			p.sub, ok2 = s.strValue()
		case seenJti:
			_, ok2 = s.strValue()
		case seenAud:
			ok2 = v.readAud(&s, &p)
		case seenExp:
			p.exp, ok2 = s.numericDate()
		case seenNbf:
			p.nbf, ok2 = s.numericDate()
		case seenIat:
			p.iat, ok2 = s.numericDate()
		}
		if !ok2 || s.bad {
			return p, false
		}
	}
	return p, s.end()
}

// readAud reads aud as ClaimStrings does: one string, or an array of
// strings.
func (v *verifier) readAud(s *jsonScan, p *payload) bool {
	add := func(a []byte) {
		if p.audN == 0 {
			p.audFirstEmpty = len(a) == 0
		}
		p.audN++
		if slices.ContainsFunc(v.audiences, func(x string) bool { return x == string(a) }) {
			p.audMatch = true
		}
	}
	switch s.peek() {
	case '"':
		add(s.str())
		return !s.bad
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			a, ok := s.strValue()
			if !ok {
				return false
			}
			add(a)
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	}
	return false
}

// jsonScan reads the JSON of a token. It accepts a subset of JSON: strings
// without escapes or control characters, numbers, literals, and nesting
// to a small depth. Anything else sets bad and the token is left to
// golang-jwt, which reads all of JSON.
type jsonScan struct {
	b   []byte
	i   int
	bad bool
}

const maxScanDepth = 16

// peek returns the next byte after whitespace, 0 at the end.
func (s *jsonScan) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

func (s *jsonScan) object() bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	return true
}

// nextMember reads up to a member's value: the name, then the colon. At
// the closing brace it returns a nil name.
func (s *jsonScan) nextMember(first bool) ([]byte, bool) {
	c := s.peek()
	if c == '}' && first {
		s.i++
		return nil, true
	}
	if !first {
		switch c {
		case '}':
			s.i++
			return nil, true
		case ',':
			s.i++
			c = s.peek()
		default:
			return nil, false
		}
	}
	if c != '"' {
		return nil, false
	}
	name := s.str()
	if s.bad || s.peek() != ':' {
		return nil, false
	}
	s.i++
	return name, true // not nil, even when empty
}

// end reports whether only whitespace is left.
func (s *jsonScan) end() bool {
	return !s.bad && s.peek() == 0 && s.i == len(s.b)
}

// str reads a string starting at the quote.
func (s *jsonScan) str() []byte {
	if s.peek() != '"' {
		s.bad = true
		return nil
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j:j]
		case c == '\\' || c < 0x20:
			s.bad = true
			return nil
		}
	}
	s.bad = true
	return nil
}

// strValue reads a value that must be a string.
func (s *jsonScan) strValue() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	v := s.str()
	return v, !s.bad
}

func (s *jsonScan) literal() {
	rest := s.b[s.i:]
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(rest, []byte(lit)) {
			s.i += len(lit)
			return
		}
	}
	s.bad = true
}

// number reads a number as JSON's grammar has it.
func (s *jsonScan) number() []byte {
	start := s.i
	b := s.b
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		s.bad = true
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.bad = true
			return nil
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.bad = true
			return nil
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	s.i = i
	return b[start:i]
}

// numericDate reads a NumericDate as checkClaims does. Values outside
// its range are left to the golang-jwt path, which refuses them.
func (s *jsonScan) numericDate() (time.Time, bool) {
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		return time.Time{}, false
	}
	n := s.number()
	if s.bad {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || !(f >= 0 && f < maxNumericDate) {
		return time.Time{}, false
	}
	return dateTime(f), true
}

// skip reads any value.
func (s *jsonScan) skip(depth int) {
	if depth > maxScanDepth {
		s.bad = true
		return
	}
	switch c := s.peek(); {
	case c == '"':
		s.str()
	case c == 't' || c == 'f' || c == 'n':
		s.literal()
	case c == '-' || c >= '0' && c <= '9':
		s.number()
	case c == '{':
		s.i++
		for first := true; !s.bad; first = false {
			name, ok := s.nextMember(first)
			if !ok {
				s.bad = true
				return
			}
			if name == nil {
				return
			}
			s.skip(depth + 1)
		}
	case c == '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return
		}
		for !s.bad {
			s.skip(depth + 1)
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return
			default:
				s.bad = true
			}
		}
	default:
		s.bad = true
	}
}
