package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
	"github.com/lockgate/lockgate/internal/webhook"
)

// TestDeliveryRetriesAndSurvivesRestart queues events through the lock
// service, fails the first deliveries, restarts the store in between, and
// checks that every event arrives signed.
func TestDeliveryRetriesAndSurvivesRestart(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			var (
				mu       sync.Mutex
				received = map[string]int{}
				calls    atomic.Int32
				secret   []byte
				clockMu  sync.Mutex
				clock    = time.Now()
			)
			now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
			advance := func(d time.Duration) { clockMu.Lock(); clock = clock.Add(d); clockMu.Unlock() }
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if calls.Add(1) <= 2 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, now(), time.Minute); err != nil {
					t.Errorf("delivery %s: %v", r.Header.Get(webhook.HeaderDelivery), err)
				}
				var ev struct{ ID, Type string }
				json.Unmarshal(body, &ev)
				if ev.Type != r.Header.Get(webhook.HeaderEvent) {
					t.Errorf("event header %q, body type %q", r.Header.Get(webhook.HeaderEvent), ev.Type)
				}
				received[ev.ID]++
			}))
			defer recv.Close()

			dsn := storetest.DSN(t, b)
			st, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			box, _ := secretbox.New(make([]byte, 32))
			svc := lock.New(lock.Options{Store: st, Box: box, Audiences: []string{"https://x"}, MaxTokenLifetime: time.Minute})
			name := "A"
			app, _, err := svc.CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://a.example"}})
			if err != nil {
				t.Fatal(err)
			}
			_, sec, err := svc.AddWebhook(ctx, "application", app.ID, recv.URL)
			if err != nil {
				t.Fatal(err)
			}
			secret = []byte(sec)
			for _, u := range []string{"u1", "u2", "u3"} {
				if _, err := svc.SetLock(ctx, app.ID, u, lock.Target{Lock: true}, lock.Actor{Name: "t"}); err != nil {
					t.Fatal(err)
				}
			}
			advance(time.Since(now()) + time.Millisecond) // to after the events were queued
			d := &webhook.Dispatcher{Store: st, Secrets: box, Now: now, MaxBackoff: time.Minute, Logger: slog.New(slog.DiscardHandler)}
			if n, err := d.RunOnce(ctx); err != nil || n != 3 {
				t.Fatalf("first run: %d %v", n, err)
			}
			// Restart: the failed events are still owed.
			st.Close()
			st, err = store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			d.Store = st
			if n, _ := d.RunOnce(ctx); n != 0 {
				t.Fatalf("retried before the backoff: %d", n)
			}
			advance(2 * time.Minute)
			if n, err := d.RunOnce(ctx); err != nil || n < 1 {
				t.Fatalf("retry run: %d %v", n, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(received) != 3 {
				t.Fatalf("received %d distinct events, want 3: %v", len(received), received)
			}
		})
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer recv.Close()
	st := storetest.Open(t, "sqlite")
	box, _ := secretbox.New(make([]byte, 32))
	svc := lock.New(lock.Options{Store: st, Box: box, Audiences: []string{"https://x"}, MaxTokenLifetime: time.Minute})
	name := "A"
	app, _, _ := svc.CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://a.example"}})
	svc.AddWebhook(ctx, "application", app.ID, recv.URL)
	svc.SetLock(ctx, app.ID, "u", lock.Target{Lock: true}, lock.Actor{Name: "t"})
	clock := time.Now()
	d := &webhook.Dispatcher{Store: st, Secrets: box, Now: func() time.Time { return clock }, MaxAttempts: 3, MaxBackoff: time.Second, Logger: slog.New(slog.DiscardHandler)}
	for i := range 3 {
		if n, _ := d.RunOnce(ctx); n != 1 {
			t.Fatalf("attempt %d: claimed %d", i+1, n)
		}
		clock = clock.Add(2 * time.Second)
	}
	if n, _ := d.RunOnce(ctx); n != 0 {
		t.Fatalf("claimed after giving up: %d", n)
	}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		n        int
		min, max time.Duration
	}{
		{1, 800 * time.Millisecond, 1200 * time.Millisecond},
		{4, 6400 * time.Millisecond, 9600 * time.Millisecond},
		{40, 48 * time.Minute, 72 * time.Minute},
	} {
		for range 50 {
			if d := webhook.Backoff(tt.n, time.Hour); d < tt.min || d > tt.max {
				t.Fatalf("Backoff(%d) = %s, want %s..%s", tt.n, d, tt.min, tt.max)
			}
		}
	}
}
