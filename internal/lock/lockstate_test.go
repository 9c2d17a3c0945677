package lock_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/storetest"
)

// TestUsernamesAsPeopleTypeThem locks "alice" and checks every form the
// issue found answering unlocked, through every path that names an
// account: the lock check, the admin's account lookup, and the
// integration's report (the IAM responder's).
func TestUsernamesAsPeopleTypeThem(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			app, key, _ := e.app(t, "A", "https://a.example")
			if app.Settings.UsernameMatch != lock.MatchCaseless {
				t.Fatalf("default match %q", app.Settings.UsernameMatch)
			}
			alice, err := e.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			if err != nil {
				t.Fatal(err)
			}
			jose, err := e.svc.SetLock(ctx, app.ID, "jos\u00e9", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			if err != nil {
				t.Fatal(err)
			}
			for _, form := range []struct{ name, want string }{
				{"Alice", alice.ID}, {"ALICE", alice.ID}, {" alice", alice.ID}, {"alice\u200b", alice.ID},
				{"ａlice", alice.ID}, {"jose\u0301", jose.ID}, {"JOSÉ", jose.ID},
			} {
				res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", form.name)), lock.CheckInput{})
				if err != nil || !res.Locked {
					t.Errorf("check %q: %+v %v, want locked", form.name, res, err)
				}
				acc, err := e.svc.Account(ctx, app.ID, form.name)
				if err != nil || acc.ID != form.want {
					t.Errorf("admin lookup %q: %s %v, want %s", form.name, acc.ID, err, form.want)
				}
			}
			// The admin locking "ALICE" changes alice, not a new account.
			if acc, _ := e.svc.SetLock(ctx, app.ID, "ALICE ", lock.Target{}, lock.Actor{Name: "t"}); acc.ID != alice.ID || acc.Username != "alice" {
				t.Fatalf("admin unlock of ALICE: %+v", acc)
			}
			// The integration's report and the owner's view name one account.
			if _, err := e.svc.ReportEvent(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "Alice")), "aws-iam", json.RawMessage(`{"x":1}`)); err != nil {
				t.Fatal(err)
			}
			evs, err := e.svc.AccountEvents(ctx, app.ID, "alice", 10)
			if err != nil || len(evs) != 1 {
				t.Fatalf("events of alice: %+v %v", evs, err)
			}
			as, _ := e.svc.Attempts(ctx, lock.AttemptFilter{AppID: app.ID, Username: "ALICE"})
			if len(as) != 5 {
				t.Fatalf("attempts of ALICE: %d, want 5", len(as))
			}
			// Invisible-only names name nobody.
			if _, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "\u200b ")), lock.CheckInput{}); !errors.Is(err, lock.ErrUnauthorized) {
				t.Fatalf("invisible sub: %v", err)
			}
			// An exact application keeps bytes apart.
			exact := lock.MatchExact
			appX, keyX, _ := e.app(t, "X", "https://x.example", func(in *lock.ApplicationInput) { in.UsernameMatch = &exact })
			e.svc.SetLock(ctx, appX.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			if res, _ := e.svc.Check(ctx, sign(keyX, map[string]any{"alg": "HS256"}, e.claims("https://x.example", "Alice")), lock.CheckInput{}); res.Locked {
				t.Fatal("exact application merged Alice into alice")
			}
			// Switching it to caseless with "Alice" and "alice" both present
			// is refused, naming both, and merges nothing.
			e.svc.SetLock(ctx, appX.ID, "Alice", lock.Target{}, lock.Actor{Name: "t"})
			caseless := lock.MatchCaseless
			_, err = e.svc.UpdateApplication(ctx, appX.ID, lock.ApplicationInput{UsernameMatch: &caseless})
			if !errors.Is(err, lock.ErrConflict) {
				t.Fatalf("switch with a collision: %v", err)
			}
			cs, _ := e.svc.UsernameCollisions(ctx, appX.ID)
			if len(cs) != 1 || len(cs[0].Accounts) != 2 || cs[0].Key != "alice" {
				t.Fatalf("collisions: %+v", cs)
			}
		})
	}
}

// TestLockedEventsThrottled: a locked account checked again and again
// sends its first attempt.locked at once and one summary per interval.
func TestLockedEventsThrottled(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := newEnvWithStore(t, storetest.Open(t, "sqlite"), c, func(o *lock.Options) { o.LockedEventInterval = time.Minute })
	ctx := context.Background()
	app, key, _ := e.app(t, "A", "https://a.example")
	e.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"})
	hook, _, err := e.svc.AddWebhook(ctx, "application", app.ID, "https://hooks.example/a")
	if err != nil {
		t.Fatal(err)
	}
	queued := func() map[string]int {
		evs, err := e.store.ClaimEvents(ctx, hook.ID, c.Now(), time.Hour, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, ev := range evs {
			n[ev.Type]++
			if ev.Type == "attempt.locked.summary" {
				var body struct {
					Data struct {
						Count int `json:"count"`
					} `json:"data"`
				}
				json.Unmarshal(ev.Body, &body)
				n["count"] += body.Data.Count
			}
		}
		return n
	}
	tok := func() string {
		return sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice"))
	}
	for range 20 {
		c.Advance(time.Second)
		if _, err := e.svc.Check(ctx, tok(), lock.CheckInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := queued(); n["attempt.locked"] != 1 || n["attempt.locked.summary"] != 0 {
		t.Fatalf("after 20 checks: %v, want one attempt.locked", n)
	}
	e.svc.FlushSummaries(ctx)
	if n := queued(); len(n) != 0 {
		t.Fatalf("summary before the interval ended: %v", n)
	}
	c.Advance(time.Minute)
	e.svc.FlushSummaries(ctx)
	if n := queued(); n["attempt.locked.summary"] != 1 || n["count"] != 19 {
		t.Fatalf("after the interval: %v, want one summary of 19", n)
	}
	// Quiet for an interval: the next attempt is sent at once again.
	c.Advance(2 * time.Minute)
	e.svc.FlushSummaries(ctx)
	e.svc.Check(ctx, tok(), lock.CheckInput{})
	if n := queued(); n["attempt.locked"] != 1 {
		t.Fatalf("after a quiet interval: %v", n)
	}
}

// TestContendedLockChanges: 320 mixed lock operations from 32 goroutines
// on the same accounts (the red team's PostgreSQL run lost 21 to 409)
// all succeed: conflicts are retried with jittered backoff.
func TestContendedLockChanges(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			app, _, _ := e.app(t, "A", "https://a.example")
			p, _ := e.svc.CreatePerson(ctx, "Ann", "")
			for i := range 4 {
				e.svc.AssignAccount(ctx, app.ID, fmt.Sprintf("u%d", i), p.ID)
			}
			var failed atomic.Int32
			var wg sync.WaitGroup
			for g := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 10 {
						var err error
						switch (g + i) % 4 {
						case 0:
							_, err = e.svc.SetLock(ctx, app.ID, fmt.Sprintf("u%d", i%4), lock.Target{Lock: true}, lock.Actor{Name: "t"})
						case 1:
							_, err = e.svc.SetLock(ctx, app.ID, fmt.Sprintf("U%d", i%4), lock.Target{}, lock.Actor{Name: "t"})
						case 2:
							_, err = e.svc.SetLockAll(ctx, p.ID, lock.Target{Lock: true}, lock.Actor{Name: "t"})
						case 3:
							_, err = e.svc.SetLockAll(ctx, p.ID, lock.Target{For: time.Minute}, lock.Actor{Name: "t"})
						}
						if err != nil {
							failed.Add(1)
							t.Log(err)
						}
					}
				}()
			}
			wg.Wait()
			if n := failed.Load(); n > 0 {
				t.Fatalf("%d of 320 operations failed", n)
			}
		})
	}
}

// TestConflictBackoffIsJittered checks the waits between retries through
// an injected sleep: growing, jittered, and ending in ErrConflict.
func TestConflictBackoffIsJittered(t *testing.T) {
	var waits []time.Duration
	real := storetest.Open(t, "sqlite")
	st := &conflictingStore{Store: real}
	c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := newEnvWithStore(t, real, c, func(o *lock.Options) {
		o.Store = st
		o.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	})
	ctx := context.Background()
	app, _, _ := e.app(t, "A", "https://a.example")
	_, err := e.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"})
	if !errors.Is(err, lock.ErrConflict) {
		t.Fatalf("always conflicting: %v", err)
	}
	if len(waits) != 7 || st.tries != 8 {
		t.Fatalf("%d waits over %d tries, want 7 over 8", len(waits), st.tries)
	}
	for i, w := range waits {
		if w <= 0 || w > 101*time.Millisecond {
			t.Fatalf("wait %d: %s", i, w)
		}
	}
}

// conflictingStore fails every lock change as a concurrent writer would.
type conflictingStore struct {
	lock.Store
	tries int
}

func (s *conflictingStore) ChangeLocks(context.Context, []string, func([]lock.Account) ([]lock.AccountChange, []lock.Event, error)) error {
	s.tries++
	return fmt.Errorf("%w: changed meanwhile", lock.ErrConflict)
}
