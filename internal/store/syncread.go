package store

import (
	"context"
	"sync"
	"time"
)

// syncReads coalesces the counter reads behind Synced, which every lock
// check on PostgreSQL makes: one read serves every check that asked while
// the previous one ran, instead of a round trip each.
//
// A check may use only a read that began after it asked: a change
// acknowledged before the check began is then in what the read sees.
// So a caller joins the next read to begin, never one in flight.
type syncReads struct {
	read    func(context.Context) (int64, error)
	mu      sync.Mutex
	running bool       // a read is in flight
	next    *syncRound // the read that begins when it ends; nil if none asked
}

type syncRound struct {
	done chan struct{}
	v    int64
	err  error
}

// syncReadTimeout bounds one coalesced read: it runs for many callers, so
// no one caller's context governs it (each stops waiting at its own).
const syncReadTimeout = 10 * time.Second

// get returns the value of a read that began after get was called.
func (g *syncReads) get(ctx context.Context) (int64, error) {
	g.mu.Lock()
	r := g.next
	if r == nil {
		r = &syncRound{done: make(chan struct{})}
		g.next = r
	}
	if !g.running {
		g.running, g.next = true, nil
		go g.run(r)
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.v, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run performs r, then each round that was asked for meanwhile.
func (g *syncReads) run(r *syncRound) {
	for r != nil {
		ctx, cancel := context.WithTimeout(context.Background(), syncReadTimeout)
		r.v, r.err = g.read(ctx)
		cancel()
		close(r.done)
		g.mu.Lock()
		r, g.next = g.next, nil
		g.running = r != nil
		g.mu.Unlock()
	}
}
