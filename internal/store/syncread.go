package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
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

// counterConn reads the account_changes counter as committed now, on a
// connection of its own with the query prepared, through pgx's pgconn:
// the reads run back to back while checks arrive, and through
// database/sql each cost lockgate about 66 µs of CPU and the server 48
// µs (a pool connection taken and given back, a context watched, the
// value converted), through pgconn 36 and 32 (2-core bench, one reader).
// syncReads makes one read at a time; the mutex only orders a read with
// close.
type counterConn struct {
	db     *sql.DB
	mu     sync.Mutex
	conn   *sql.Conn
	closed bool
}

const counterQuery = `SELECT v FROM account_changes WHERE id = 1`

// counterBinary asks for the counter in the binary format: 8 bytes.
var counterBinary = []int16{1}

func (c *counterConn) read(ctx context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, ErrClosed
	}
	if c.conn == nil {
		conn, err := c.db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		c.conn = conn
	}
	var v int64
	broken := true
	err := c.conn.Raw(func(dc any) (err error) {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: postgres connection is a %T, not pgx's", dc)
		}
		pc := sc.Conn()
		defer func() { broken = err != nil && pgBroken(pc.PgConn(), err) }()
		sd, err := pc.Prepare(ctx, "lockgate_read_counter", counterQuery)
		if err != nil {
			return err
		}
		rr := pc.PgConn().ExecStatement(ctx, sd, nil, nil, counterBinary)
		rows := 0
		for rr.NextRow() {
			if f := rr.Values()[0]; len(f) == 8 {
				v = int64(binary.BigEndian.Uint64(f))
				rows++
			}
		}
		if _, err := rr.Close(); err != nil {
			return err
		}
		if rows != 1 {
			return fmt.Errorf("store: the account_changes counter read %d rows, want one of 8 bytes", rows)
		}
		return nil
	})
	if err != nil && broken {
		c.conn.Close() // take a new connection next time
		c.conn = nil
	}
	return v, err
}

func (c *counterConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
