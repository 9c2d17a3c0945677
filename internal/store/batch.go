package store

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/lockgate/lockgate/internal/lock"
)

// maxBatch bounds one group commit (rows × 11 columns stays far below both
// databases' parameter limits).
const maxBatch = 256

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store: closed")

// batcher is the group commit of attempts: writers queue their attempt
// and wait; a committer takes everything queued, writes it in one
// transaction with multi-row inserts, commits (one fsync for the batch)
// and then releases every waiter. Under load one commit serves hundreds
// of checks; unloaded, a lone attempt commits at once with no added delay.
type batcher struct {
	s    *Store
	ch   chan *pending
	wg   sync.WaitGroup
	once sync.Once
	mu   sync.RWMutex // held for reading by senders, for writing by close
	shut bool
}

type pending struct {
	a      lock.Attempt
	events []lock.Event
	done   chan error
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

func newBatcher(s *Store, writers int) *batcher {
	b := &batcher{s: s, ch: make(chan *pending, 4*maxBatch)}
	for range writers {
		b.wg.Add(1)
		go b.run()
	}
	return b
}

func (b *batcher) write(ctx context.Context, a lock.Attempt, events []lock.Event) error {
	p := pendingPool.Get().(*pending)
	p.a, p.events = a, events
	b.mu.RLock()
	if b.shut {
		b.mu.RUnlock()
		return ErrClosed
	}
	select {
	case b.ch <- p:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	// Wait for the commit even if ctx ends meanwhile: the result must be
	// read before p is reused, and the attempt may already be committed.
	err := <-p.done
	p.a, p.events = lock.Attempt{}, nil
	pendingPool.Put(p)
	return err
}

func (b *batcher) close() {
	b.once.Do(func() {
		b.mu.Lock()
		b.shut = true
		close(b.ch)
		b.mu.Unlock()
		b.wg.Wait()
	})
}

func (b *batcher) run() {
	defer b.wg.Done()
	batch := make([]*pending, 0, maxBatch)
	for p := range b.ch {
		batch = append(batch[:0], p)
	fill:
		for len(batch) < maxBatch {
			select {
			case q, ok := <-b.ch:
				if !ok {
					break fill
				}
				batch = append(batch, q)
			default:
				break fill
			}
		}
		if err := b.commit(batch); err == nil || len(batch) == 1 {
			for _, q := range batch {
				q.done <- err
			}
			continue
		}
		// One bad row must not fail its neighbours: retry each alone.
		for _, q := range batch {
			q.done <- b.commit([]*pending{q})
		}
	}
}

func (b *batcher) commit(batch []*pending) error {
	// Not the callers' contexts: one caller giving up must not fail the
	// others' writes.
	ctx := context.Background()
	tx, err := b.s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var sb strings.Builder
	sb.WriteString(`INSERT INTO attempts (id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, integration_data, locked) VALUES `)
	args := make([]any, 0, 11*len(batch))
	var events []lock.Event
	for i, p := range batch {
		if i > 0 {
			sb.WriteByte(',')
		}
		writePlaceholders(&sb, len(args), 11)
		a := p.a
		locked := 0
		if a.Locked {
			locked = 1
		}
		args = append(args, a.ID, micros(a.At), a.AppID, a.AccountID, a.Username, a.UserIP, a.UserDevice, a.UserLocation, a.IntegrationType, string(a.IntegrationData), locked)
		events = append(events, p.events...)
	}
	if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
		return b.s.wrap(err)
	}
	if err := insertEvents(ctx, tx, events); err != nil {
		return b.s.wrap(err)
	}
	return b.s.wrap(tx.Commit())
}
