package lock_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/storetest"
)

// checkHistory fails unless hist (newest first) is one chain of changes
// ending in the account's state, each recorded strictly after the one
// before it.
func checkHistory(t *testing.T, hist []lock.LockChange, state lock.State) {
	t.Helper()
	if len(hist) == 0 {
		t.Fatal("no history")
	}
	if hist[0].To != state {
		t.Errorf("the newest entry ends in %q, the account is %q", hist[0].To, state)
	}
	for i := 0; i+1 < len(hist); i++ {
		if hist[i].From != hist[i+1].To {
			t.Errorf("entry %d starts at %q, the one before it ended at %q", i, hist[i].From, hist[i+1].To)
		}
		if !hist[i].At.After(hist[i+1].At) {
			t.Errorf("entry %d (%s → %s) is at %s, not after the one before it (%s → %s at %s)",
				i, hist[i].From, hist[i].To, hist[i].At.Format(time.RFC3339Nano), hist[i+1].From, hist[i+1].To, hist[i+1].At.Format(time.RFC3339Nano))
		}
	}
}

// TestHistoryOrderAcrossClocks: two replicas whose clocks differ by an
// hour change one account in turn. The history must list the changes in
// the order they took effect, with times that do not go back, whichever
// replica's clock is ahead (atk14f F7: the entries were ordered and timed
// by the clock of the replica that made them).
func TestHistoryOrderAcrossClocks(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, backend)
			st1 := openStore(t, dsn)
			st2 := st1 // SQLite: one process holds the file
			if backend == "postgres" {
				st2 = openStore(t, dsn)
			}
			start := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
			ahead := newEnvWithStore(t, st1, &clock{t: start.Add(time.Hour)})
			behind := newEnvWithStore(t, st2, &clock{t: start})
			app, _, _ := ahead.app(t, "A", "https://a.example")
			steps := []struct {
				e *env
				t lock.Target
			}{
				{ahead, lock.Target{Lock: true}},
				{behind, lock.Target{}},
				{behind, lock.Target{Lock: true}},
				{ahead, lock.Target{For: time.Minute}},
				{behind, lock.Target{Lock: true}},
			}
			var acc lock.Account
			for i, s := range steps {
				var err error
				acc, err = s.e.svc.SetLock(ctx, app.ID, "alice", s.t, lock.Actor{Name: fmt.Sprint("step ", i)})
				if err != nil {
					t.Fatal(err)
				}
				s.e.clock.Advance(time.Second)
			}
			for _, e := range []*env{ahead, behind} {
				hist, err := e.svc.History(ctx, acc.ID, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(hist) != len(steps) {
					t.Fatalf("%d entries, want %d: %+v", len(hist), len(steps), hist)
				}
				for i, h := range hist {
					if want := fmt.Sprint("step ", len(steps)-1-i); h.Actor != want {
						t.Errorf("entry %d is %s's change, want %s's", i, h.Actor, want)
					}
				}
				checkHistory(t, hist, acc.State)
			}
		})
	}
}

// TestHistoryOrderConcurrent: changes of one account racing on one
// replica (each reads the clock before it waits for the account) form one
// chain whose times never go back.
func TestHistoryOrderConcurrent(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			e := newEnvWithStore(t, storetest.Open(t, backend), &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)})
			app, _, _ := e.app(t, "A", "https://a.example")
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 10 {
						tg := lock.Target{Lock: (g+i)%2 == 0}
						if _, err := e.svc.SetLock(ctx, app.ID, "alice", tg, lock.Actor{Name: "t"}); err != nil {
							t.Error(err)
							return
						}
						e.clock.Advance(time.Microsecond)
					}
				})
			}
			wg.Wait()
			acc, err := e.svc.Account(ctx, app.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			hist, err := e.svc.History(ctx, acc.ID, 1000)
			if err != nil {
				t.Fatal(err)
			}
			checkHistory(t, hist, acc.State)
		})
	}
}
