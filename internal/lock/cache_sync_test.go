package lock_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/storetest"
)

// TestCacheNeverAnswersOlderThanAcknowledgedLock: a lock (or a settings
// change) acknowledged by replica A is answered by replica B's very next
// check, even while B's LISTEN connection has not yet delivered the
// invalidation. The test holds B's listener inside a callback that runs
// before the cache's, so the invalidation is certainly late: before the
// fix B answered locked:false from its cache.
func TestCacheNeverAnswersOlderThanAcknowledgedLock(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, "postgres")
	c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	stA, stB := openStore(t, dsn), openStore(t, dsn)
	hl := watchHeld(t, stB)
	a, b := newEnvWithStore(t, stA, c), newEnvWithStore(t, stB, c)
	hl.waitLive(t)
	app, key, _ := a.app(t, "A", "https://a.example")
	check := func(e *env, user string) bool {
		t.Helper()
		res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", user)), lock.CheckInput{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Locked
	}
	if _, err := a.svc.SetLock(ctx, app.ID, "alice", lock.Target{}, lock.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	for range 3 { // B caches alice unlocked and the settings
		if check(b, "alice") || check(b, "nobody") {
			t.Fatal("locked before the lock")
		}
	}
	hl.Hold()
	if _, err := a.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	<-hl.held // B's listener has the notification and is stuck before its cache
	for i := range 3 {
		if !check(b, "alice") {
			t.Fatalf("check %d on B answered unlocked after A acknowledged the lock", i)
		}
	}
	locked := lock.UnknownLocked
	if _, err := a.svc.UpdateApplication(ctx, app.ID, lock.ApplicationInput{UnknownAccount: &locked}); err != nil {
		t.Fatal(err)
	}
	if !check(b, "nobody") {
		t.Fatal("B answered an unknown name unlocked after A set unknown_account: locked")
	}
}

// TestUsernameMatchReachesOtherReplicaAtOnce: replica B canonicalised a
// checked name by the settings of its key cache (up to key_cache_ttl
// old), so after A switched the application to caseless, B kept
// answering "ALICE" by exact matching — as unknown, unlocked. The clock
// stands still: without the fix, B's key cache never expires here.
func TestUsernameMatchReachesOtherReplicaAtOnce(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, "postgres")
	c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	a, b := newEnvWithStore(t, openStore(t, dsn), c), newEnvWithStore(t, openStore(t, dsn), c)
	app, key, _ := a.app(t, "A", "https://a.example")
	check := func(e *env, user string) bool {
		t.Helper()
		res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", user)), lock.CheckInput{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Locked
	}
	exact, caseless := lock.MatchExact, lock.MatchCaseless
	if _, err := a.svc.UpdateApplication(ctx, app.ID, lock.ApplicationInput{UsernameMatch: &exact}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	for range 3 { // B's key cache holds the application with exact matching
		if check(b, "ALICE") {
			t.Fatal("ALICE locked under exact matching")
		}
	}
	if _, err := a.svc.UpdateApplication(ctx, app.ID, lock.ApplicationInput{UsernameMatch: &caseless}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !check(b, "ALICE") {
			t.Fatalf("check %d on B answered ALICE by exact matching after A switched to caseless", i)
		}
	}
	if _, err := a.svc.UpdateApplication(ctx, app.ID, lock.ApplicationInput{UsernameMatch: &exact}); err != nil {
		t.Fatal(err)
	}
	if check(b, "ALICE") {
		t.Fatal("B answered ALICE by caseless matching after A switched back to exact")
	}
}
