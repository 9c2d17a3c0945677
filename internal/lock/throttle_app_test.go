package lock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/storetest"
)

// TestLockedEventsCappedPerApplication: an application that answers
// unknown names locked got one attempt.locked per new name, so an end user
// typing random names flooded its receivers (atk14f F5: 20 names, 20
// events in 20 ms). The application's cap sends the first few at once and
// counts the rest in one summary of the application's per interval; every
// locked check is still counted once; an owned account's alert is not
// held back by the flood.
func TestLockedEventsCappedPerApplication(t *testing.T) {
	const perApp = 3
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			st := storetest.Open(t, b)
			c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
			e := newEnvWithStore(t, st, c, func(o *lock.Options) {
				o.LockedEventInterval = time.Minute
				o.LockedEventsPerApp = perApp
			})
			ctx := context.Background()
			locked := lock.UnknownLocked
			app, key, _ := e.app(t, "U", "https://u.example", func(in *lock.ApplicationInput) { in.UnknownAccount = &locked })
			p, _ := e.svc.CreatePerson(ctx, "Ann", "")
			if _, err := e.svc.AssignAccount(ctx, app.ID, "ann", p.ID); err != nil {
				t.Fatal(err)
			}
			e.svc.SetLock(ctx, app.ID, "ann", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			hook, _, err := e.svc.AddWebhook(ctx, "application", app.ID, "https://hooks.example/u")
			if err != nil {
				t.Fatal(err)
			}
			check := func(sub string) {
				t.Helper()
				c.Advance(time.Millisecond)
				res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims("https://u.example", sub)), lock.CheckInput{})
				if err != nil || !res.Locked {
					t.Fatalf("check %q: %+v %v", sub, res, err)
				}
			}
			type data struct {
				Username string `json:"username"`
				Count    int    `json:"count"`
				Scope    string `json:"scope"`
				Attempt  struct {
					Username string `json:"username"`
				} `json:"attempt"`
			}
			claimed := map[string]bool{}
			queued := func() (singles []string, sums []data) {
				t.Helper()
				evs, err := st.ClaimEvents(ctx, hook.ID, c.Now().Add(time.Hour), time.Hour, 10000)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					if claimed[ev.ID] {
						continue
					}
					claimed[ev.ID] = true
					var body struct{ Data data }
					if err := json.Unmarshal(ev.Body, &body); err != nil {
						t.Fatal(err)
					}
					switch ev.Type {
					case "attempt.locked":
						singles = append(singles, body.Data.Attempt.Username)
					case "attempt.locked.summary":
						sums = append(sums, body.Data)
					}
				}
				return singles, sums
			}
			queued() // the lock.changed of ann

			// Interval 1: 20 new names, then ann (owned): 3 + ann at once.
			for i := range 20 {
				check(fmt.Sprint("rnd", i))
			}
			check("ann")
			singles, sums := queued()
			if len(singles) != perApp+1 || len(sums) != 0 || singles[perApp] != "ann" {
				t.Fatalf("at once: attempt.locked for %v and %d summaries; want %d unknown names and ann", singles, len(sums), perApp)
			}
			total, counted := 20, perApp
			// Interval 1 ends: one summary of the application's counts
			// the 17 held back.
			c.Advance(time.Minute)
			if err := e.svc.FlushSummaries(ctx); err != nil {
				t.Fatal(err)
			}
			for range 3 { // the folded group is due at the next flush
				e.svc.FlushSummaries(ctx)
			}
			singles, sums = queued()
			if len(singles) != 0 || len(sums) != 1 || sums[0].Scope != "application" || sums[0].Username != "" || sums[0].Count != 20-perApp {
				t.Fatalf("after the interval: %v %+v, want one application summary counting %d", singles, sums, 20-perApp)
			}
			counted += sums[0].Count

			// Intervals 2-4: the same 20 names over and over, flushing
			// as the relocker does. The cap's window starts at the first
			// event after the last one ended, so the summaries sent as an
			// interval ends spend the next window's: at most perApp
			// events for the names per window, and one summary of the
			// application's, over the 3 intervals and the flush after.
			events, appSums := 0, 0
			for range 3 {
				for round := range 3 {
					for i := range 20 {
						check(fmt.Sprint("rnd", (i+round*7)%20))
						total++
					}
					e.svc.FlushSummaries(ctx)
				}
				c.Advance(time.Minute)
				e.svc.FlushSummaries(ctx)
				singles, sums = queued()
				for _, s := range sums {
					counted += s.Count
					if s.Scope == "application" {
						appSums++
					} else {
						events++
					}
				}
				counted += len(singles)
				events += len(singles)
			}
			if events > 4*perApp || appSums > 4 {
				t.Fatalf("over 3 intervals of 60 checks each: %d attempt.locked and account summaries, %d application summaries; want at most %d and 4", events, appSums, 4*perApp)
			}
			// Every locked check of the unknown names is counted once.
			for range 5 {
				c.Advance(time.Minute)
				e.svc.FlushSummaries(ctx)
			}
			singles, sums = queued()
			counted += len(singles)
			for _, s := range sums {
				counted += s.Count
			}
			if counted != total {
				t.Fatalf("%d locked checks of unknown names counted, want %d", counted, total)
			}
		})
	}
}
