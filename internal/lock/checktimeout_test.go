package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

// stalledKeys is a store whose issuer lookups wait until their context
// ends, as a read on a database that stopped answering does.
type stalledKeys struct{ *store.Store }

func (stalledKeys) ApplicationByIssuer(ctx context.Context, _ string) (lock.Application, error) {
	<-ctx.Done()
	return lock.Application{}, ctx.Err()
}

// TestCheckReadsAreBounded: a check whose reads do not answer fails after
// CheckTimeout (the handler answers 500) even when its caller would wait
// for ever; an independent attack saw one wait on "reading the issuer's
// keys" until the client went away.
func TestCheckReadsAreBounded(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	_, key, _ := newEnvWithStore(t, st, c).app(t, "shop", "https://a.example")
	e := newEnvWithStore(t, st, c, func(o *lock.Options) {
		o.Store = stalledKeys{st}
		o.CheckTimeout = 50 * time.Millisecond
	})
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Check(context.Background(), sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice")), lock.CheckInput{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, lock.ErrUnauthorized) {
			t.Fatalf("check with stalled reads: %v, want the deadline's error (500), not unauthorized", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("check with stalled reads: no answer after 30 s with a 50 ms CheckTimeout")
	}
}
