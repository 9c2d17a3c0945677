package lock

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The fast path is held to the golang-jwt path it shortcuts: for every
// token, the same accept or refuse, and when accepted the same application
// and subject.

// keyTable is the keySource of these tests: applications by issuer with
// their keys, the sealed form being the secret itself.
type keyTable map[string]struct {
	app  Application
	keys []SigningKey
}

func (t keyTable) ApplicationByIssuer(_ context.Context, iss string) (Application, error) {
	if e, ok := t[iss]; ok {
		return e.app, nil
	}
	return Application{}, ErrNotFound
}

func (t keyTable) SigningKeys(_ context.Context, appID string) ([]SigningKey, error) {
	for _, e := range t {
		if e.app.ID == appID {
			return e.keys, nil
		}
	}
	return nil, nil
}

type plainBox struct{}

func (plainBox) Open(sealed, _ string) ([]byte, error) { return []byte(sealed), nil }

var (
	diffNow  = time.Unix(1795262400, 0).UTC() // 2026-11-21T12:00:00Z
	keyA1    = []byte("key-a1-0123456789abcdef0123456789")
	keyA2    = []byte("key-a2-0123456789abcdef0123456789")
	keyA0    = []byte("key-a0-revoked-456789abcdef012345")
	keyB     = []byte("key-b-0123456789abcdef01234567890")
	keyStray = []byte("key-nobody-456789abcdef0123456789")
)

func diffVerifier() *verifier {
	keys := keyTable{
		"https://a.example": {
			app: Application{ID: "app_a", Name: "A"},
			keys: []SigningKey{
				{ID: "key_a0", Sealed: string(keyA0), RevokedAt: diffNow.Add(-time.Hour)},
				{ID: "key_a1", Sealed: string(keyA1)},
				{ID: "key_a2", Sealed: string(keyA2)},
			},
		},
		"https://b.example": {
			app:  Application{ID: "app_b", Name: "B"},
			keys: []SigningKey{{ID: "key_b", Sealed: string(keyB)}},
		},
	}
	now := func() time.Time { return diffNow }
	return newVerifier(keys, plainBox{}, []string{"https://lockgate.example.com", "https://alt.example.com"},
		60*time.Second, 10*time.Minute, 5*time.Second, now)
}

func signRaw(key []byte, header, claims string) string {
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

const (
	hdrHS256 = `{"alg":"HS256","typ":"JWT"}`
	// good is what the seed's Python integration sends: float dates.
	good       = `{"aud":"https://lockgate.example.com","exp":1795262700.5,"iat":1795262339.75,"iss":"https://a.example","sub":"alice"}`
	intDates   = `{"iss":"https://a.example","sub":"bob","aud":["x","https://alt.example.com"],"exp":1795262500,"iat":1795262400,"jti":"j1","nbf":1795262300}`
	expString  = `{"aud":"https://lockgate.example.com","exp":"1795262700","iat":1795262339,"iss":"https://a.example","sub":"alice"}`
	dupSub     = `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"alice","sub":"root"}`
	caseSub    = `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"alice","SUB":"root"}`
	escapedSub = `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"al\u0069ce"}`
	unicodeSub = `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"Ünïcödé"}`
	wrongAud   = `{"aud":["https://evil.example"],"exp":1795262700,"iss":"https://a.example","sub":"alice"}`
	expired    = `{"aud":"https://lockgate.example.com","exp":1795262339,"iss":"https://a.example","sub":"alice"}`
)

// diffSeeds are header and claims pairs: valid tokens and the variants
// that must be refused or left to golang-jwt.
var diffSeeds = [][2]string{
	{hdrHS256, good},
	{`{"alg":"HS256"}`, intDates},
	{`{"alg":"HS256","kid":"key_a1"}`, good},
	{`{"alg":"HS256","kid":"key_a2"}`, good},
	{`{"alg":"HS256","kid":"key_a0"}`, good},
	{`{"alg":"HS256","kid":""}`, good},
	{`{"alg":"HS256","kid":7}`, good},
	{`{"typ":"JWT"}`, good},
	{`{"alg":"none"}`, good},
	{`{"alg":"HS512"}`, good},
	{`{"alg":"RS256"}`, good},
	{`{"alg":"HS256","crit":["exp"]}`, good},
	{`{"alg":"HS256","alg":"none"}`, good},
	{`{"alg":"none","alg":"HS256"}`, good},
	{`{"\u0061lg":"HS256"}`, good},
	{`{"alg":"HS\u0032\u0035\u0036"}`, good},
	{` { "alg" : "HS256" } `, good},
	{`{"alg":"HS256","x":1e400}`, good},
	{`{"alg":"HS256","x":{"y":[1,2]}}`, good},
	{`{"alg":"HS256"}x`, good},
	{`null`, good},
	{hdrHS256, expString},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":null,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, dupSub},
	{hdrHS256, caseSub},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","ſub":"root"}`},
	{hdrHS256, escapedSub},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"\ud800"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"al` + "\xff" + `ice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"al` + "\ufffd" + `ice"}`},
	{hdrHS256, unicodeSub},
	{hdrHS256, wrongAud},
	{hdrHS256, `{"aud":[],"exp":1795262700,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"","exp":1795262700,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":[1],"exp":1795262700,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"exp":1795262700,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, expired},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795263600,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iat":1795262461,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"nbf":1795262460.5,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1e400,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":17952627e2,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700.9999999999,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":-1,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":01795262700,"iss":"https://a.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://nobody.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://b.example","sub":"alice"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":""}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"a\u0000b"}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"alice","jti":5}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"alice","extra":{"deep":[1,2.5e3,true,null,"x"]}}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"alice",}`},
	{hdrHS256, `{"aud":"https://lockgate.example.com","exp":1795262700,"iss":"https://a.example","sub":"alice"} `},
	{hdrHS256, `[{"sub":"alice"}]`},
	{hdrHS256, `null`},
}

// diffToken builds a token from fuzz input: mode's low bits choose the key
// (a key of A, of B, a stray key, or raw as it is), higher bits damage the
// encoding (padding, non-zero trailing bits, a line break).
func diffToken(header, claims []byte, mode byte, raw string) string {
	var key []byte
	switch mode & 3 {
	case 0:
		key = keyA1
	case 1:
		key = keyB
	case 2:
		key = keyStray
	case 3:
		return raw
	}
	tok := signRaw(key, string(header), string(claims))
	if mode&4 != 0 {
		h, rest, _ := strings.Cut(tok, ".")
		tok = h + "=." + rest
	}
	if mode&8 != 0 && len(tok) > 0 {
		// The last character carries 2 bits of the signature and 4 zero
		// bits: make those non-zero.
		last := strings.IndexByte(base64URL, tok[len(tok)-1])
		tok = tok[:len(tok)-1] + string(base64URL[last|1])
	}
	if mode&16 != 0 && len(tok) > 4 {
		tok = tok[:2] + "\n" + tok[2:]
	}
	return tok
}

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func FuzzVerifyDifferential(f *testing.F) {
	for i, s := range diffSeeds {
		f.Add([]byte(s[0]), []byte(s[1]), byte(i%3), "")
	}
	f.Add([]byte(hdrHS256), []byte(good), byte(4), "")
	f.Add([]byte(hdrHS256), []byte(good), byte(8), "")
	f.Add([]byte(hdrHS256), []byte(good), byte(16), "")
	f.Add([]byte(nil), []byte(nil), byte(3), signRaw(keyA1, hdrHS256, good)+"x")
	f.Add([]byte(nil), []byte(nil), byte(3), "a.b.c")
	f.Add([]byte(nil), []byte(nil), byte(3), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	for i, s := range strictTokens {
		f.Add([]byte(s.header), []byte(s.claims), byte(i%2), "")
	}
	v := diffVerifier()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, header, claims []byte, mode byte, raw string) {
		tok := diffToken(header, claims, mode, raw)
		fastApp, fastSub, fastErr := v.verifyWith(ctx, tok, true)
		slowApp, slowSub, slowErr := v.verifyWith(ctx, tok, false)
		if (fastErr == nil) != (slowErr == nil) {
			t.Fatalf("token %q: fast path err %v, golang-jwt err %v", tok, fastErr, slowErr)
		}
		if fastApp.ID != slowApp.ID || fastSub != slowSub {
			t.Fatalf("token %q: fast path (%s, %q), golang-jwt (%s, %q)", tok, fastApp.ID, fastSub, slowApp.ID, slowSub)
		}
	})
}

// TestFastPathDecides keeps the fast path from being a stub that leaves
// every token to golang-jwt: the shapes integrations send are decided by
// it, as golang-jwt decides them; the odd ones are left to golang-jwt.
func TestFastPathDecides(t *testing.T) {
	v := diffVerifier()
	ctx := context.Background()
	tests := []struct {
		name            string
		token           string
		handled, accept bool
		sub             string
	}{
		{"float dates", signRaw(keyA1, hdrHS256, good), true, true, "alice"},
		{"integer dates, aud array, jti, nbf", signRaw(keyA2, `{"alg":"HS256"}`, intDates), true, true, "bob"},
		{"kid of the signing key", signRaw(keyA1, `{"alg":"HS256","kid":"key_a1"}`, good), true, true, "alice"},
		{"kid of another key", signRaw(keyA1, `{"alg":"HS256","kid":"key_a2"}`, good), true, false, ""},
		{"revoked key", signRaw(keyA0, hdrHS256, good), true, false, ""},
		{"wrong key", signRaw(keyB, hdrHS256, good), true, false, ""},
		{"alg none", signRaw(keyA1, `{"alg":"none"}`, good), true, false, ""},
		{"alg HS512", signRaw(keyA1, `{"alg":"HS512"}`, good), true, false, ""},
		{"crit", signRaw(keyA1, `{"alg":"HS256","crit":["exp"]}`, good), true, false, ""},
		{"kid empty", signRaw(keyA1, `{"alg":"HS256","kid":""}`, good), true, false, ""},
		{"expired", signRaw(keyA1, hdrHS256, expired), true, false, ""},
		{"wrong audience", signRaw(keyA1, hdrHS256, wrongAud), true, false, ""},
		{"Unicode sub", signRaw(keyA1, hdrHS256, unicodeSub), true, true, "Ünïcödé"},
		{"escape in header", signRaw(keyA1, `{"\u0061lg":"HS256"}`, good), false, true, "alice"},
		{"escape in sub", signRaw(keyA1, hdrHS256, escapedSub), false, true, "alice"},
		// encoding/json would keep the last of duplicate members, and
		// match member names without regard to case: checkHeader and
		// checkClaims refuse both.
		{"duplicate alg", signRaw(keyA1, `{"alg":"none","alg":"HS256"}`, good), false, false, ""},
		{"duplicate sub", signRaw(keyA1, hdrHS256, dupSub), false, false, ""},
		{"sub in another case", signRaw(keyA1, hdrHS256, caseSub), false, false, ""},
		{"exp a string", signRaw(keyA1, hdrHS256, expString), false, false, ""},
		{"number in an unknown header member", signRaw(keyA1, `{"alg":"HS256","x":1e400}`, good), false, false, ""},
		{"non-canonical signature", diffToken([]byte(hdrHS256), []byte(good), 8, ""), false, true, "alice"},
		{"padded header", diffToken([]byte(hdrHS256), []byte(good), 4, ""), false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, c, handled, err := v.fastVerify(ctx, tt.token)
			if handled != tt.handled {
				t.Fatalf("handled = %v, want %v", handled, tt.handled)
			}
			_, sub, vErr := v.verify(ctx, tt.token)
			if (vErr == nil) != tt.accept || sub != tt.sub {
				t.Fatalf("verify = %q, %v; want accepted %v, sub %q", sub, vErr, tt.accept, tt.sub)
			}
			if handled && (err == nil) != tt.accept {
				t.Fatalf("fastVerify err = %v, want accepted %v", err, tt.accept)
			}
			if handled && tt.accept && (app.ID != "app_a" || c.sub != tt.sub) {
				t.Fatalf("fastVerify = %s, %q", app.ID, c.sub)
			}
		})
	}
}

// BenchmarkVerify measures token verification alone, on each path.
func BenchmarkVerify(b *testing.B) {
	v := diffVerifier()
	ctx := context.Background()
	tok := signRaw(keyA1, hdrHS256, good)
	for _, fast := range []bool{false, true} {
		name := "golang-jwt"
		if fast {
			name = "fast"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := v.verifyWith(ctx, tok, fast); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// failingKeys is a store that cannot be read.
type failingKeys struct{}

func (failingKeys) ApplicationByIssuer(context.Context, string) (Application, error) {
	return Application{}, errors.New("too many clients already")
}

func (failingKeys) SigningKeys(context.Context, string) ([]SigningKey, error) { return nil, nil }

// A token whose issuer's keys cannot be read is not judged: it fails as
// the server's error (500), never as "token rejected" (401, which sent
// operators looking for a bad token while the database was full; found
// under load by perf14e), and is never accepted — on the fast path and
// on golang-jwt's alike.
func TestStoreFailureIsNotUnauthorized(t *testing.T) {
	v := newVerifier(failingKeys{}, plainBox{}, []string{"https://lockgate.example.com"},
		60*time.Second, 10*time.Minute, 5*time.Second, func() time.Time { return diffNow })
	token := signRaw(keyA1, `{"alg":"HS256","typ":"JWT"}`,
		fmt.Sprintf(`{"iss":"https://a.example","sub":"u","aud":"https://lockgate.example.com","iat":%d,"exp":%d}`, diffNow.Unix(), diffNow.Add(time.Minute).Unix()))
	for _, fast := range []bool{true, false} {
		_, _, err := v.verifyWith(context.Background(), token, fast)
		if err == nil || errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "too many clients") {
			t.Errorf("fast=%v: %v, want the store's error, not unauthorized", fast, err)
		}
	}
}
