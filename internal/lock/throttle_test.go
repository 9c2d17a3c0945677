package lock_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/storetest"
)

// TestLockedSummarySurvivesRestart: attempts whose attempt.locked was
// held back by the throttle are acknowledged; the summary that counts
// them was kept only in memory and never sent after a restart. A new
// Service on the same store sends it when due, once, with the count and
// times of the attempts before the restart.
func TestLockedSummarySurvivesRestart(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			st := storetest.Open(t, b)
			c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
			interval := func(o *lock.Options) { o.LockedEventInterval = time.Minute }
			e := newEnvWithStore(t, st, c, interval)
			ctx := context.Background()
			app, key, _ := e.app(t, "A", "https://a.example")
			p, _ := e.svc.CreatePerson(ctx, "Ann", "")
			if _, err := e.svc.AssignAccount(ctx, app.ID, "alice", p.ID); err != nil {
				t.Fatal(err)
			}
			e.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			hook, _, err := e.svc.AddWebhook(ctx, "person", p.ID, "https://hooks.example/p")
			if err != nil {
				t.Fatal(err)
			}
			type summary struct {
				PersonID string    `json:"person_id"`
				Username string    `json:"username"`
				Count    int       `json:"count"`
				FirstAt  time.Time `json:"first_at"`
				LastAt   time.Time `json:"last_at"`
			}
			queued := func() (map[string]int, []summary) {
				evs, err := st.ClaimEvents(ctx, hook.ID, c.Now(), time.Hour, 1000)
				if err != nil {
					t.Fatal(err)
				}
				n := map[string]int{}
				var sums []summary
				for _, ev := range evs {
					n[ev.Type]++
					if ev.Type == "attempt.locked.summary" {
						var body struct{ Data summary }
						if err := json.Unmarshal(ev.Body, &body); err != nil {
							t.Fatal(err)
						}
						sums = append(sums, body.Data)
					}
				}
				return n, sums
			}
			start := c.Now()
			for range 20 {
				c.Advance(time.Second)
				if _, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "Alice")), lock.CheckInput{}); err != nil {
					t.Fatal(err)
				}
			}
			if n, _ := queued(); n["attempt.locked"] != 1 || len(n) != 1 {
				t.Fatalf("before the restart: %v, want one attempt.locked", n)
			}

			// Restart: the first Service and its memory are gone.
			e = newEnvWithStore(t, st, c, interval)
			c.Advance(30 * time.Second) // 49 s after the first held-back attempt
			if err := e.svc.FlushSummaries(ctx); err != nil {
				t.Fatal(err)
			}
			if n, _ := queued(); len(n) != 0 {
				t.Fatalf("summary before its interval ended: %v", n)
			}
			c.Advance(15 * time.Second)
			if err := e.svc.FlushSummaries(ctx); err != nil {
				t.Fatal(err)
			}
			n, sums := queued()
			want := summary{PersonID: p.ID, Username: "alice", Count: 19, FirstAt: start.Add(2 * time.Second), LastAt: start.Add(20 * time.Second)}
			if n["attempt.locked.summary"] != 1 || sums[0] != want {
				t.Fatalf("after the restart: %v %+v, want one summary %+v", n, sums, want)
			}
			// Sent once: neither this Service nor another restart sends it again.
			c.Advance(2 * time.Minute)
			e.svc.FlushSummaries(ctx)
			newEnvWithStore(t, st, c, interval).svc.FlushSummaries(ctx)
			if n, _ := queued(); len(n) != 0 {
				t.Fatalf("summary sent again: %v", n)
			}
		})
	}
}

// TestLockedSummariesCountEveryAttemptOnce: two replicas check a locked
// account concurrently while both flush summaries and time passes; every
// locked check is reported exactly once, by its attempt.locked or by one
// summary's count: none lost, none counted twice.
func TestLockedSummariesCountEveryAttemptOnce(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			st := storetest.Open(t, b)
			c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
			interval := func(o *lock.Options) { o.LockedEventInterval = 20 * time.Second }
			replicas := []*env{newEnvWithStore(t, st, c, interval), newEnvWithStore(t, st, c, interval)}
			e := replicas[0]
			ctx := context.Background()
			app, key, _ := e.app(t, "A", "https://a.example")
			e.svc.SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			hook, _, err := e.svc.AddWebhook(ctx, "application", app.ID, "https://hooks.example/a")
			if err != nil {
				t.Fatal(err)
			}
			const workers, each = 4, 40
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := replicas[w%2]
					for range each {
						c.Advance(time.Second) // 160 s in all: eight intervals
						if _, err := r.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, r.claims("https://a.example", "alice")), lock.CheckInput{}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			for stop := false; !stop; {
				select {
				case <-done:
					stop = true
				default:
				}
				for _, r := range replicas {
					if err := r.svc.FlushSummaries(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			c.Advance(time.Minute)
			for _, r := range replicas {
				r.svc.FlushSummaries(ctx)
			}
			evs, err := st.ClaimEvents(ctx, hook.ID, c.Now(), time.Hour, 10000)
			if err != nil {
				t.Fatal(err)
			}
			singles, summed := 0, 0
			for _, ev := range evs {
				switch ev.Type {
				case "attempt.locked":
					singles++
				case "attempt.locked.summary":
					var body struct{ Data struct{ Count int } }
					json.Unmarshal(ev.Body, &body)
					summed += body.Data.Count
				}
			}
			if singles+summed != workers*each || singles == 0 || summed == 0 {
				t.Fatalf("%d attempt.locked + %d in summaries, want %d in all", singles, summed, workers*each)
			}
		})
	}
}
