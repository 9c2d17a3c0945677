package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxBatch bounds one group commit; it is a power of two so that on SQLite
// a batch splits into chunks whose statements are prepared once.
const maxBatch = 256

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store: closed")

// batcher is the group commit of attempts: writers queue their attempt
// and wait; a committer takes everything queued, writes it in one
// transaction, commits (one fsync for the batch) and then releases every
// waiter. Under load one commit serves hundreds of checks; unloaded, a
// lone attempt commits at once with no added delay.
type batcher struct {
	s    *Store
	ch   chan *pending
	wg   sync.WaitGroup
	once sync.Once
	mu   sync.RWMutex // held for reading by senders, for writing by close
	shut bool

	lineMu sync.Mutex
	line   *pgLine // PostgreSQL: the writers' connection, see pgLine

	// PostgreSQL: the bounds on the line (lineTimeout, lineOpenTimeout;
	// tests shorten them before the first write). failing: whether the
	// last batch failed because the write path did (PostgreSQL: the line;
	// SQLite: the database, not a row), with none sound since (ping).
	lineTimeout, openTimeout time.Duration
	failing                  atomic.Bool
}

// lineTimeout bounds one batch on the line, its send and its results. A
// healthy commit takes a millisecond or two and a slow disk's fsync a few
// hundred; 5 s is far past both, and short of the 10-30 s a sign-in's
// client usually waits, so that the check answers 500 (fail closed, see
// docs/operations.md) rather than the client timing out. A batch that
// breaks the line is sent once more on a new one (writer.commitPostgres),
// so a check waits at most about 2 × lineTimeout + lineOpenTimeout.
const lineTimeout = 5 * time.Second

// lineOpenTimeout bounds opening a line: connecting (or taking a pooled
// connection) and preparing its statements.
const lineOpenTimeout = 5 * time.Second

type pending struct {
	a      lock.Attempt
	events []lock.Event
	done   chan error
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

func newBatcher(s *Store, writers int) *batcher {
	b := &batcher{s: s, ch: make(chan *pending, 4*maxBatch), lineTimeout: lineTimeout, openTimeout: lineOpenTimeout}
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
	// The queue has room for four full batches, so a send rarely waits:
	// trying it first leaves ctx.Done alone, which on a request's context
	// allocates a channel the first time it is asked for.
	select {
	case b.ch <- p:
		b.mu.RUnlock()
	default:
		select {
		case b.ch <- p:
			b.mu.RUnlock()
		case <-ctx.Done():
			b.mu.RUnlock()
			return ctx.Err()
		}
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
		b.lineMu.Lock()
		if b.line != nil {
			b.line.close()
		}
		b.lineMu.Unlock()
	})
}

// pgLine returns the writers' line, opening a new one when there is none
// or the last one broke.
func (b *batcher) pgLine(ctx context.Context) (*pgLine, error) {
	b.lineMu.Lock()
	defer b.lineMu.Unlock()
	if b.line != nil && !b.line.broken() {
		return b.line, nil
	}
	l, err := openLine(ctx, b.s.db, b.openTimeout)
	if err != nil {
		return nil, err
	}
	b.line = l
	return l, nil
}

// errLine marks a failure of the line itself (it broke, timed out or
// could not be opened) rather than the server's refusal of a batch: no
// row is to blame, so run does not retry the batch's rows one by one.
type errLine struct{ err error }

func (e errLine) Error() string { return e.err.Error() }
func (e errLine) Unwrap() error { return e.err }

// send sends lb on the line, opening one if needed, with the batch's
// deadline, and records in failing whether the line works. broken says
// the line failed (or none could be opened); the batch was then perhaps
// committed, perhaps not.
func (b *batcher) send(ctx context.Context, g *syncReads, lb lineBatch) (broken bool, err error) {
	l, err := b.pgLine(ctx)
	if err != nil {
		b.failing.Store(true)
		lb.drop(err)
		return true, err
	}
	lb.deadline = time.Now().Add(b.lineTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(lb.deadline) {
		lb.deadline = d
	}
	broken, err = l.commit(g, lb)
	b.failing.Store(broken)
	return broken, err
}

// ping reports whether the write path works. While the last batch found
// the line failing it sends a probe (a Sync alone) on the line, opening
// a new one if need be: a replica that readiness took out of rotation
// has no checks to prove the line works again, so the probe does.
func (b *batcher) ping(ctx context.Context) error {
	if !b.failing.Load() {
		return nil
	}
	if _, err := b.send(ctx, nil, lineBatch{probe: true}); err != nil {
		return fmt.Errorf("store: the attempt writer's line fails: %w", err)
	}
	return nil
}

func (b *batcher) run() {
	defer b.wg.Done()
	w := &writer{s: b.s, b: b}
	defer w.reset()
	batch := make([]*pending, 0, maxBatch)
	// On PostgreSQL a writer also makes Synced's counter reads: with the
	// batch it sends anyway, or alone when a check waits and nothing is
	// queued (syncReads). On SQLite wake is nil and never ready.
	wake := b.s.watch.counter.wake
	for {
		batch = batch[:0]
		select {
		case p, ok := <-b.ch:
			if !ok {
				return
			}
			batch = append(batch, p)
		case <-wake:
		}
		// Let the handlers that are already runnable queue their attempts
		// before the batch is cut: a yield costs well under a microsecond,
		// a commit (WAL write and fsync) hundreds of microseconds of CPU on
		// the 2-core bench, so fuller batches mean less CPU per check. On
		// that bench this doubled the rows per commit under load (about 7
		// to about 15). A lone attempt still commits at once. Yielding
		// again while the batch grows gained nothing measurable.
		runtime.Gosched()
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
		err := w.commit(batch)
		if err != nil && wake != nil {
			b.failRound(err)
		}
		var le errLine
		if err == nil || len(batch) == 1 || errors.As(err, &le) {
			for _, q := range batch {
				q.done <- err
			}
			continue
		}
		// One bad row must not fail its neighbours: retry each alone.
		for _, q := range batch {
			q.done <- w.commit([]*pending{q})
		}
	}
}

// failRound ends with err the counter read that is waiting for a writer,
// if any. A writer woken for it may fail before it takes the round (no
// connection from the pool, a prepare on a connection the server ended):
// its wake token is spent, and callers joining a waiting round send no
// other, so without this every later check waited forever (an
// independent attack wedged a replica with a few pg_terminate_backend
// calls under load). The callers get the error, as a batch's do; the next
// check starts a new round.
func (b *batcher) failRound(err error) {
	if r := b.s.watch.counter.take(); r != nil {
		r.finish(0, err)
	}
}

// writer commits batches with statements prepared once, so a commit
// parses no SQL. On SQLite it owns one connection and drives the
// transaction with plain BEGIN and COMMIT statements because database/sql
// re-prepares a connection's statements inside a *sql.Tx; on PostgreSQL
// the writers share one line (pgLine).
type writer struct {
	s    *Store
	b    *batcher
	conn *sql.Conn // SQLite
	lite liteBatch // SQLite: the statements prepared on the driver's connection
	pg   pgBatch   // PostgreSQL: the batch's arrays
}

func (w *writer) reset() {
	if w.conn != nil {
		w.lite.close(w.conn)
		w.conn.Close()
	}
	w.conn = nil
}

// checkWriterConn refuses a group-commit connection on which gathering
// the log's writes would be unsound (walvfs.go): one that commits without
// syncing the log, or spills pages to it before committing.
func checkWriterConn(ctx context.Context, c *sql.Conn) error {
	var sync, spill int
	if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		return err
	}
	if err := c.QueryRowContext(ctx, `PRAGMA cache_spill`).Scan(&spill); err != nil {
		return err
	}
	if sync < 2 || spill != 0 {
		return fmt.Errorf("store: the attempt writer's connection has synchronous=%d and cache_spill=%d, want FULL (2) or EXTRA (3) and 0", sync, spill)
	}
	return nil
}

func (w *writer) commit(batch []*pending) (err error) {
	// Not the callers' contexts: one caller giving up must not fail the
	// others' writes.
	ctx := context.Background()
	if w.s.dialect.name == "postgres" {
		return w.s.wrap(w.commitPostgres(ctx, batch))
	}
	if w.conn == nil {
		if w.conn, err = w.s.writeDB.Conn(ctx); err != nil {
			return err
		}
		if err := checkWriterConn(ctx, w.conn); err != nil {
			w.reset()
			return err
		}
	}
	broken, err := w.commitSQLite(ctx, batch)
	if broken {
		w.reset() // the connection may be broken; take a new one next time
	}
	w.s.batch.failing.Store(err != nil && !rowError(err))
	return w.s.wrap(err)
}

// rowError says whether a SQLite batch failed because of a row (a
// constraint), not the database: a disk full, an I/O error or a damaged
// file fail every batch, and readiness must say so (atk14k F1: /readyz
// answered 200 while every check answered 500).
func rowError(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// probeSQLite proves SQLite's write path works: a write transaction
// that stores the time in write_probe's one row, committed (a WAL frame
// and its fsync) as an attempt's batch is. It runs only while the last
// batch failed (ping): a replica out of rotation has no checks to prove
// the database writable again.
func (s *Store) probeSQLite(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO write_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, micros(time.Now()))
	return err
}
