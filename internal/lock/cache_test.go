package lock_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

// TestAccountCacheFollowsLocksAcrossReplicas: two replicas share one
// PostgreSQL database and cache accounts. A lock made on one is answered
// by the other as soon as its LISTEN connection hears of it — and a
// replica's own change at once.
func TestAccountCacheFollowsLocksAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, "postgres")
	c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	stA, stB := openStore(t, dsn), openStore(t, dsn)
	heard := make(chan string, 100)
	live := make(chan bool, 10)
	stB.WatchAccounts(func(app, key string) { heard <- key }, func(ok bool) { live <- ok })
	a, b := newEnvWithStore(t, stA, c), newEnvWithStore(t, stB, c)
	if ok := <-live; !ok {
		t.Fatal("replica B is not listening")
	}
	app, key, _ := a.app(t, "A", "https://a.example")
	check := func(e *env) bool {
		t.Helper()
		res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice")), lock.CheckInput{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Locked
	}
	a.svc.SetLock(ctx, app.ID, "alice", lock.Target{}, lock.Actor{Name: "t"})
	drain(heard)
	for range 3 { // B now holds alice, unlocked, in its cache
		if check(b) {
			t.Fatal("locked before the lock")
		}
	}
	if _, err := a.svc.SetLock(ctx, app.ID, "ALICE", lock.Target{Lock: true}, lock.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	if !check(a) {
		t.Fatal("replica A answers its own lock late")
	}
	select {
	case k := <-heard:
		if k != "alice" {
			t.Fatalf("B heard of %q", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("B heard of no change within 5s")
	}
	if !check(b) {
		t.Fatal("replica B answers unlocked after hearing of the lock")
	}
}

// TestAccountCacheSQLite: on the embedded database every change is made
// by this process and seen by its next check.
func TestAccountCacheSQLite(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	app, key, _ := e.app(t, "A", "https://a.example")
	p, _ := e.svc.CreatePerson(ctx, "Ann", "")
	tok := func() string { return sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "bob")) }
	for i, step := range []struct {
		do   func()
		want bool
	}{
		{func() {}, false}, // unknown: cached as absent
		{func() { e.svc.SetLock(ctx, app.ID, "bob", lock.Target{Lock: true}, lock.Actor{Name: "t"}) }, true},
		{func() { e.svc.SetLock(ctx, app.ID, "bob", lock.Target{For: time.Minute}, lock.Actor{Name: "t"}) }, false},
		{func() { e.clock.Advance(time.Minute) }, true}, // the unlock ended: no change needed to see it
		{func() { e.svc.SetLockAll(ctx, p.ID, lock.Target{}, lock.Actor{Name: "t"}) }, true},
		{func() {
			e.svc.AssignAccount(ctx, app.ID, "bob", p.ID)
			e.svc.SetLockAll(ctx, p.ID, lock.Target{}, lock.Actor{Name: "t"})
		}, false},
	} {
		step.do()
		res, err := e.svc.Check(ctx, tok(), lock.CheckInput{})
		if err != nil || res.Locked != step.want {
			t.Fatalf("step %d: %+v %v, want locked=%v", i, res, err, step.want)
		}
	}
}

func drain(c chan string) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// countingKeys counts issuer lookups.
type countingKeys struct {
	*store.Store
	lookups int
}

func (c *countingKeys) ApplicationByIssuer(ctx context.Context, iss string) (lock.Application, error) {
	c.lookups++
	return c.Store.ApplicationByIssuer(ctx, iss)
}

// TestUnknownIssuerRemembered: tokens of an issuer no application has
// cost one lookup per key-cache TTL, and an application created for it
// here is usable at once.
func TestUnknownIssuerRemembered(t *testing.T) {
	real := storetest.Open(t, "sqlite")
	st := &countingKeys{Store: real}
	c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := newEnvWithStore(t, real, c, func(o *lock.Options) { o.Store = st })
	ctx := context.Background()
	_, key, _ := e.app(t, "A", "https://a.example")
	st.lookups = 0
	forged := sign(key, map[string]any{"alg": "HS256"}, e.claims("https://nobody.example", "alice"))
	for range 5 {
		if _, err := e.svc.Check(ctx, forged, lock.CheckInput{}); err == nil {
			t.Fatal("unknown issuer accepted")
		}
	}
	if st.lookups != 1 {
		t.Fatalf("%d lookups for 5 tokens of an unknown issuer, want 1", st.lookups)
	}
	name := "N"
	app, nk, err := e.svc.CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://nobody.example"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(mustKey(t, nk), map[string]any{"alg": "HS256"}, e.claims("https://nobody.example", "alice"))
	if _, err := e.svc.Check(ctx, tok, lock.CheckInput{}); err != nil {
		t.Fatalf("issuer of a new application (%s) still unknown: %v", app.ID, err)
	}
}
