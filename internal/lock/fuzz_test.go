package lock_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/lockgate/lockgate/internal/lock"
)

// FuzzCheckToken feeds arbitrary tokens and bodies to the lock check. No
// input may panic; a token is accepted only when it verifies with the
// application's key (the fuzzer cannot forge an HMAC, so every mutation of
// the signed part must be rejected), and any failure is ErrUnauthorized.
func FuzzCheckToken(f *testing.F) {
	e := newEnv(f, "sqlite")
	_, key, _ := e.app(f, "A", "https://a.example")
	good := sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice"))
	f.Add(good, []byte(`{"userIP":"8.8.8.8","integrationData":{"a":1}}`))
	f.Add(good+"x", []byte(`{}`))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", []byte(`{"userIP":"::1"}`))
	f.Add("a.b.c", []byte(`{"userIP":"999.1.1.1","userDevice":"\u0000"}`))
	f.Fuzz(func(t *testing.T, token string, body []byte) {
		var in lock.CheckInput
		if json.Unmarshal(body, &in) != nil {
			in = lock.CheckInput{}
		}
		res, err := e.svc.Check(context.Background(), token, in)
		if err != nil {
			if !errors.Is(err, lock.ErrUnauthorized) {
				t.Fatalf("Check(%q) = %v, want ErrUnauthorized", token, err)
			}
			return
		}
		if token != good || res.AttemptID == "" {
			t.Fatalf("accepted a token that is not the signed one: %q", token)
		}
	})
}
