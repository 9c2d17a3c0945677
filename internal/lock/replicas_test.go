package lock_test

import (
	"context"
	"sync"
	"testing"

	"github.com/lockgate/lockgate/internal/store"
)

// openStore opens dsn for the rest of the test.
func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// heldListener watches a replica's store ahead of its account cache
// (register it before the replica's service): the app IDs it hears go to
// seen until Hold; after Hold, the LISTEN connection stops inside it, before
// the cache hears of the change, and held says so. It lets go when the test
// ends, before the store closes.
type heldListener struct {
	mu      sync.Mutex
	hold    bool
	seen    chan string
	held    chan struct{}
	release chan struct{}
	live    chan bool
}

func watchHeld(t *testing.T, st *store.Store) *heldListener {
	h := &heldListener{seen: make(chan string, 1000), held: make(chan struct{}, 100), release: make(chan struct{}), live: make(chan bool, 10)}
	t.Cleanup(func() { close(h.release) })
	st.WatchAccounts(func(app, key string) {
		h.mu.Lock()
		hold := h.hold
		h.mu.Unlock()
		if hold {
			h.held <- struct{}{}
			<-h.release
			return
		}
		select {
		case h.seen <- app:
		default:
		}
	}, func(ok bool) { h.live <- ok })
	return h
}

// waitLive waits until the replica listens.
func (h *heldListener) waitLive(t *testing.T) {
	t.Helper()
	if ok := <-h.live; !ok {
		t.Fatal("the replica is not listening")
	}
}

// Hold makes the next announcement stop the listener.
func (h *heldListener) Hold() {
	h.mu.Lock()
	h.hold = true
	h.mu.Unlock()
}
