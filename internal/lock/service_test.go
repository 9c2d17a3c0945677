package lock_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

const aud = "https://lockgate.example.com"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	svc   *lock.Service
	clock *clock
	store *store.Store
	box   *secretbox.Box
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newEnvWithStore(t testing.TB, st *store.Store, c *clock, opts ...func(*lock.Options)) *env {
	box, err := secretbox.New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	o := lock.Options{
		Store: st, Box: box, Audiences: []string{aud, "https://alt.example.com"},
		Leeway: 60 * time.Second, MaxTokenLifetime: 10 * time.Minute, KeyCacheTTL: 5 * time.Second,
		Now: c.Now, Logger: slog.New(slog.DiscardHandler),
	}
	for _, f := range opts {
		f(&o)
	}
	svc := lock.New(o)
	return &env{svc: svc, clock: c, store: st, box: box}
}

func newEnv(t testing.TB, backend string) *env {
	t.Helper()
	return newEnvWithStore(t, storetest.Open(t, backend), &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)})
}

// sign builds a JWT by hand so tests control every byte: float dates,
// odd headers, any key.
func sign(key []byte, header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func mustKey(t testing.TB, k lock.NewKey) []byte {
	b, err := base64.StdEncoding.DecodeString(k.Secret)
	if err != nil || len(b) != 32 {
		t.Fatalf("secret %q: %v", k.Secret, err)
	}
	return b
}

func (e *env) claims(iss, sub string) map[string]any {
	now := float64(e.clock.Now().UnixMicro()) / 1e6
	return map[string]any{"iss": iss, "aud": aud, "sub": sub, "iat": now - 60.25, "exp": now + 300.5}
}

func (e *env) app(t testing.TB, name, iss string, opts ...func(*lock.ApplicationInput)) (lock.Application, []byte, string) {
	t.Helper()
	in := lock.ApplicationInput{Name: &name, Issuers: []string{iss}}
	for _, o := range opts {
		o(&in)
	}
	app, k, err := e.svc.CreateApplication(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return app, mustKey(t, k), k.ID
}

func TestTokenRules(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	_, key, kid := e.app(t, "A", "https://a.example")
	_, otherKey, _ := e.app(t, "B", "https://b.example")
	_, revokedKey, _ := e.app(t, "C", "https://c.example")
	appC, _ := e.store.ApplicationByIssuer(ctx, "https://c.example")
	keysC, _ := e.svc.Keys(ctx, appC.ID)
	if _, err := e.svc.RotateKey(ctx, appC.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeKey(ctx, appC.ID, keysC[0].ID); err != nil {
		t.Fatal(err)
	}

	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	with := func(mod func(c map[string]any)) map[string]any {
		c := e.claims("https://a.example", "alice")
		mod(c)
		return c
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs256, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(e.claims("https://a.example", "alice"))).SignedString(rsaKey)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(e.claims("https://a.example", "alice"))).SignedString(jwt.UnsafeAllowNoneSignatureType)
	// An HS256 token whose header says RS256: the classic key-confusion try.
	confused := sign(key, map[string]any{"alg": "RS256"}, e.claims("https://a.example", "alice"))
	now := float64(e.clock.Now().Unix())

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid with float iat and exp, as the seed's Python sends", sign(key, hs, e.claims("https://a.example", "alice")), true},
		{"valid with kid", sign(key, map[string]any{"alg": "HS256", "kid": kid}, e.claims("https://a.example", "alice")), true},
		{"valid second audience", sign(key, hs, with(func(c map[string]any) { c["aud"] = "https://alt.example.com" })), true},
		{"valid aud as array", sign(key, hs, with(func(c map[string]any) { c["aud"] = []string{"x", aud} })), true},
		{"valid without iat, exp near", sign(key, hs, with(func(c map[string]any) { delete(c, "iat") })), true},
		{"expired within leeway", sign(key, hs, with(func(c map[string]any) { c["iat"] = now - 300; c["exp"] = now - 30 })), true},
		{"empty", "", false},
		{"garbage", "not.a.jwt", false},
		{"alg none", none, false},
		{"RS256 signed", rs256, false},
		{"RS256 header over HS256 signature", confused, false},
		{"another application's key", sign(otherKey, hs, e.claims("https://a.example", "alice")), false},
		{"wrong kid", sign(key, map[string]any{"alg": "HS256", "kid": "key_nope"}, e.claims("https://a.example", "alice")), false},
		{"revoked key", sign(revokedKey, hs, e.claims("https://c.example", "alice")), false},
		{"expired", sign(key, hs, with(func(c map[string]any) { c["iat"] = now - 600; c["exp"] = now - 61 })), false},
		{"no exp", sign(key, hs, with(func(c map[string]any) { delete(c, "exp") })), false},
		{"not yet valid", sign(key, hs, with(func(c map[string]any) { c["nbf"] = now + 120 })), false},
		{"issued in the future", sign(key, hs, with(func(c map[string]any) { c["iat"] = now + 120; c["exp"] = now + 300 })), false},
		{"lifetime over 10 minutes", sign(key, hs, with(func(c map[string]any) { c["iat"] = now; c["exp"] = now + 601 })), false},
		{"no iat and exp far", sign(key, hs, with(func(c map[string]any) { delete(c, "iat"); c["exp"] = now + 3600 })), false},
		{"wrong aud", sign(key, hs, with(func(c map[string]any) { c["aud"] = "https://evil.example" })), false},
		{"no aud", sign(key, hs, with(func(c map[string]any) { delete(c, "aud") })), false},
		{"unknown iss", sign(key, hs, with(func(c map[string]any) { c["iss"] = "https://nobody.example" })), false},
		{"no iss", sign(key, hs, with(func(c map[string]any) { delete(c, "iss") })), false},
		{"missing sub", sign(key, hs, with(func(c map[string]any) { delete(c, "sub") })), false},
		{"sub with NUL", sign(key, hs, with(func(c map[string]any) { c["sub"] = "a\x00b" })), false},
		{"exp as string", sign(key, hs, with(func(c map[string]any) { c["exp"] = "tomorrow" })), false},
		// RFC 7519 §2 NumericDate: "A JSON numeric value".
		{"exp as a string of digits", sign(key, hs, with(func(c map[string]any) { c["exp"] = fmt.Sprint(int64(now) + 300) })), false},
		{"nbf as a string of digits", sign(key, hs, with(func(c map[string]any) { c["nbf"] = fmt.Sprint(int64(now) - 10) })), false},
		{"nbf null", sign(key, hs, with(func(c map[string]any) { c["nbf"] = nil })), false},
		// RFC 7515 §4.1.11: a crit the recipient does not understand
		// makes the JWS invalid.
		{"crit", sign(key, map[string]any{"alg": "HS256", "crit": []string{"exp"}}, e.claims("https://a.example", "alice")), false},
		{"kid a number", sign(key, map[string]any{"alg": "HS256", "kid": 1}, e.claims("https://a.example", "alice")), false},
		{"kid empty", sign(key, map[string]any{"alg": "HS256", "kid": ""}, e.claims("https://a.example", "alice")), false},
		// Decoding replaces invalid UTF-8 and lone surrogates by U+FFFD:
		// such a sub names no one and must not merge into another name.
		{"sub with U+FFFD", sign(key, hs, with(func(c map[string]any) { c["sub"] = "al\ufffdice" })), false},
		{"sub with invalid UTF-8", sign(key, hs, with(func(c map[string]any) { c["sub"] = "al\xffice" })), false},
		{"1 MiB token", sign(key, hs, with(func(c map[string]any) { c["pad"] = strings.Repeat("x", 1<<20) })), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.svc.Check(ctx, tt.token, lock.CheckInput{})
			if tt.ok {
				if err != nil || res.AttemptID == "" {
					t.Fatalf("Check = %+v, %v; want accepted", res, err)
				}
				return
			}
			if !errors.Is(err, lock.ErrUnauthorized) {
				t.Fatalf("Check err = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestUnknownAccountPolicies(t *testing.T) {
	ctx := context.Background()
	policy := func(p lock.UnknownAccountPolicy, def lock.State) func(*lock.ApplicationInput) {
		return func(in *lock.ApplicationInput) { in.UnknownAccount, in.DefaultState = &p, &def }
	}
	tests := []struct {
		policy     lock.UnknownAccountPolicy
		def        lock.State
		wantLocked bool
		enrolled   bool
	}{
		{lock.UnknownUnlocked, lock.StateUnlocked, false, false},
		{lock.UnknownLocked, lock.StateUnlocked, true, false},
		{lock.UnknownEnrol, lock.StateUnlocked, false, true},
		{lock.UnknownEnrol, lock.StateLocked, true, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy)+"/"+string(tt.def), func(t *testing.T) {
			e := newEnv(t, "sqlite")
			app, key, _ := e.app(t, "A", "https://a.example", policy(tt.policy, tt.def))
			res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "new-user")), lock.CheckInput{})
			if err != nil || res.Locked != tt.wantLocked {
				t.Fatalf("Check = %+v, %v; want locked=%v", res, err, tt.wantLocked)
			}
			_, err = e.svc.Account(ctx, app.ID, "new-user")
			if enrolled := err == nil; enrolled != tt.enrolled {
				t.Fatalf("enrolled = %v, want %v (%v)", enrolled, tt.enrolled, err)
			}
			if tt.wantLocked && res.Message != app.Settings.LockedMessage {
				t.Fatalf("message %q, want %q", res.Message, app.Settings.LockedMessage)
			}
		})
	}
}

func TestTimedUnlockRelocks(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, b)
			st, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
			e := newEnvWithStore(t, st, c)
			app, key, _ := e.app(t, "A", "https://a.example")
			check := func(e *env) bool {
				t.Helper()
				res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice")), lock.CheckInput{})
				if err != nil {
					t.Fatal(err)
				}
				return res.Locked
			}
			if _, err := e.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "test"}); err != nil {
				t.Fatal(err)
			}
			if !check(e) {
				t.Fatal("not locked after lock")
			}
			if _, err := e.svc.SetLock(ctx, app.ID, "alice", lock.Target{For: 15 * time.Minute}, lock.Actor{Name: "test"}); err != nil {
				t.Fatal(err)
			}
			c.Advance(15*time.Minute - time.Second)
			if check(e) {
				t.Fatal("locked before the unlock ended")
			}
			c.Advance(time.Second)
			if !check(e) {
				t.Fatal("not locked when the unlock ended")
			}
			// Across a restart: unlock again, stop, reopen after the time.
			if _, err := e.svc.SetLock(ctx, app.ID, "alice", lock.Target{For: 10 * time.Minute}, lock.Actor{Name: "test"}); err != nil {
				t.Fatal(err)
			}
			st.Close()
			c.Advance(11 * time.Minute)
			st2, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			e2 := newEnvWithStore(t, st2, c)
			if !check(e2) {
				t.Fatal("not locked after restart past the unlock's end")
			}
			n, err := e2.svc.Relock(ctx)
			if err != nil || n != 1 {
				t.Fatalf("Relock = %d, %v; want 1", n, err)
			}
			acc, _ := e2.svc.Account(ctx, app.ID, "alice")
			if acc.State != lock.StateLocked || !acc.UnlockUntil.IsZero() {
				t.Fatalf("stored state after relock: %+v", acc)
			}
			hist, _ := e2.svc.History(ctx, acc.ID, 10)
			if len(hist) != 4 || hist[0].Actor != "lockgate:timed-relock" || hist[0].To != lock.StateLocked {
				t.Fatalf("history: %+v", hist)
			}
			// The relock ends a timed unlock: unlocked → locked, and each
			// entry starts where the one before it ended.
			if hist[0].From != lock.StateUnlocked {
				t.Fatalf("relock recorded from %q, want unlocked", hist[0].From)
			}
			for i := 0; i+1 < len(hist); i++ {
				if hist[i].From != hist[i+1].To {
					t.Fatalf("history entry %d starts at %q, the one before ended at %q", i, hist[i].From, hist[i+1].To)
				}
			}
			if n, _ := e2.svc.Relock(ctx); n != 0 {
				t.Fatalf("second Relock changed %d accounts", n)
			}
		})
	}
}

func TestLockAllAndEvents(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			a1, k1, _ := e.app(t, "A", "https://a.example")
			a2, _, _ := e.app(t, "B", "https://b.example")
			p, err := e.svc.CreatePerson(ctx, "Ann", "ann@example.com")
			if err != nil {
				t.Fatal(err)
			}
			for _, app := range []lock.Application{a1, a2} {
				if _, err := e.svc.AssignAccount(ctx, app.ID, "ann", p.ID); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := e.svc.AddWebhook(ctx, "person", p.ID, "https://hooks.example/ann"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.svc.AddWebhook(ctx, "application", a1.ID, "https://hooks.example/a1"); err != nil {
				t.Fatal(err)
			}
			accs, err := e.svc.SetLockAll(ctx, p.ID, lock.Target{Lock: true}, lock.Actor{Name: "owner"})
			if err != nil || len(accs) != 2 {
				t.Fatalf("lock all: %v %v", accs, err)
			}
			for _, a := range accs {
				if !e.svc.Status(a).Locked {
					t.Fatalf("not locked: %+v", a)
				}
			}
			// Again: already locked, no new history or events.
			if _, err := e.svc.SetLockAll(ctx, p.ID, lock.Target{Lock: true}, lock.Actor{Name: "owner"}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Check(ctx, sign(k1, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "ann")), lock.CheckInput{UserIP: "8.8.8.8"}); err != nil {
				t.Fatal(err)
			}
			var evs []lock.Event
			dests, err := e.store.DueDestinations(ctx, e.clock.Now(), 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range dests {
				got, err := e.store.ClaimEvents(ctx, d, e.clock.Now(), time.Minute, 100)
				if err != nil {
					t.Fatal(err)
				}
				evs = append(evs, got...)
			}
			// lock.changed: a1 → person + app hook, a2 → person hook;
			// attempt.locked on a1 → person + app hook.
			count := map[string]int{}
			for _, ev := range evs {
				count[ev.Type]++
				var body struct {
					ID   string         `json:"id"`
					Type string         `json:"type"`
					Data map[string]any `json:"data"`
				}
				if err := json.Unmarshal(ev.Body, &body); err != nil || body.Type != ev.Type || body.ID == "" {
					t.Fatalf("event body %s: %v", ev.Body, err)
				}
			}
			if count["lock.changed"] != 3 || count["attempt.locked"] != 2 {
				t.Fatalf("events: %v", count)
			}
			select {
			case <-e.svc.Queued():
			default:
				t.Fatal("dispatcher was not woken")
			}
		})
	}
}

func TestIntegrationDataBounded(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	app, key, _ := e.app(t, "A", "https://a.example")
	tok := func() string {
		return sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice"))
	}
	small := json.RawMessage(`{"city":"Paris"}`)
	big := json.RawMessage(`"` + strings.Repeat("x", 17<<10) + `"`)
	for _, d := range []json.RawMessage{small, big} {
		if _, err := e.svc.Check(ctx, tok(), lock.CheckInput{IntegrationData: d, UserDevice: "bad\x00utf8\xff"}); err != nil {
			t.Fatal(err)
		}
	}
	as, _ := e.svc.Attempts(ctx, lock.AttemptFilter{AppID: app.ID})
	if len(as) != 2 || string(as[1].IntegrationData) != string(small) {
		t.Fatalf("attempts: %+v", as)
	}
	if !strings.Contains(string(as[0].IntegrationData), `"lockgate_truncated":true`) {
		t.Fatalf("oversize data kept: %.80s", as[0].IntegrationData)
	}
	if strings.ContainsRune(as[0].UserDevice, 0) {
		t.Fatalf("NUL stored in %q", as[0].UserDevice)
	}
}

func TestKeyCacheSeesRevocationAtOnce(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	app, key, kid := e.app(t, "A", "https://a.example")
	tok := sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice"))
	if _, err := e.svc.Check(ctx, tok, lock.CheckInput{}); err != nil {
		t.Fatal(err)
	}
	nk, err := e.svc.RotateKey(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Check(ctx, tok, lock.CheckInput{}); err != nil {
		t.Fatalf("old key stopped working at rotation: %v", err)
	}
	newTok := sign(mustKey(t, nk), map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice"))
	if _, err := e.svc.Check(ctx, newTok, lock.CheckInput{}); err != nil {
		t.Fatalf("new key: %v", err)
	}
	if err := e.svc.RevokeKey(ctx, app.ID, kid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Check(ctx, tok, lock.CheckInput{}); !errors.Is(err, lock.ErrUnauthorized) {
		t.Fatalf("revoked key still accepted: %v", err)
	}
	if _, err := e.svc.Check(ctx, newTok, lock.CheckInput{}); err != nil {
		t.Fatalf("new key after revoking the old: %v", err)
	}
}
