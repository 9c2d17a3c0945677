package lock_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/storetest"
)

// TestCacheIgnoresOtherSchemas: two lockgate deployments in one PostgreSQL
// database, each in its own schema (search_path), must not hear each
// other's announcements. LISTEN/NOTIFY channels belong to the database, not
// the schema: when both used one channel, a replica took the other
// deployment's higher counter markers for its own, believed itself synced
// and answered a lock acknowledged by its peer from a stale cache. It was
// seen as a flaky TestCacheNeverAnswersOlderThanAcknowledgedLock while other
// packages' tests ran in their own schemas of the same database.
func TestCacheIgnoresOtherSchemas(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	other := newEnvWithStore(t, openStore(t, storetest.DSN(t, "postgres")), c)
	dsn := storetest.DSN(t, "postgres")
	stA, stB := openStore(t, dsn), openStore(t, dsn)
	hl := watchHeld(t, stB)
	a, b := newEnvWithStore(t, stA, c), newEnvWithStore(t, stB, c)
	hl.waitLive(t)

	// The other deployment moves its counter well past this one's.
	oapp, _, _ := other.app(t, "Other", "https://other.example")
	for i := range 8 {
		if _, err := other.svc.SetLock(ctx, oapp.ID, "bob", lock.Target{Lock: i%2 == 0}, lock.Actor{Name: "t"}); err != nil {
			t.Fatal(err)
		}
	}

	app, key, _ := a.app(t, "A", "https://a.example")
	if _, err := a.svc.SetLock(ctx, app.ID, "alice", lock.Target{}, lock.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	// B's listener has handled everything up to alice's creation (and,
	// before the fix, the other deployment's markers sent before it).
	for app.ID != <-hl.seen {
	}
	check := func(user string) bool {
		t.Helper()
		res, err := b.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, b.claims("https://a.example", user)), lock.CheckInput{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Locked
	}
	for range 3 { // B caches alice unlocked
		if check("alice") {
			t.Fatal("locked before the lock")
		}
	}
	hl.Hold()
	if _, err := a.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	<-hl.held // B's listener has alice's lock and is stuck before its cache
	if !check("alice") {
		t.Fatal("B answered unlocked after A acknowledged the lock: another schema's announcements counted as its own")
	}
}
