package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgLine is the connection PostgreSQL's group commit writes on. It speaks
// the extended protocol itself, on the connection pgconn opened and
// handed over (Hijack): a batch is the Bind and Execute messages of the
// statements prepared when the line opened, written by hand into a
// buffer the line keeps, then Sync. Through pgx's pipeline (taken per
// batch with database/sql's Raw, its prepare-cache lookups and result
// readers) the store's part of a check allocated about 530 bytes more and
// cost lockgate a few µs more CPU on the 2-core bench.
//
// Several writers may share a line: each sends its batch without waiting
// for the batches before it, and reads its own results once the earlier
// batches' are read, in the order they were sent. The store runs one
// writer (see postgresDialect.writers).
type pgLine struct {
	conn net.Conn
	fe   *pgproto3.Frontend

	failed atomic.Bool // set once the line is broken

	mu   sync.Mutex    // orders the sends; guards what follows
	wbuf []byte        // the messages of the batch being sent
	last chan struct{} // closed once the batch sent last has been read
	err  error         // why the line is broken, once it is
}

// The statements prepared on a line.
const (
	lineCounter   = "lockgate_line_counter"
	lineAttempts  = "lockgate_line_attempts"
	lineUnalerted = "lockgate_line_unalerted"
	lineEvents    = "lockgate_line_events"
)

// lineKeepAlive makes the kernel notice a peer that went silent on an
// idle line (a dropped route, a NAT entry or a firewall's state lost, a
// failover behind a virtual IP) in about 30 s instead of the hours of
// TCP's defaults; a line with a batch in flight has its deadline.
var lineKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}

// openLine takes a connection from db, prepares the line's statements on
// it and takes it over from the pool, which drops it (pgx reports a
// hijacked connection closed). It gives up after timeout: a server that
// stops answering must not hold the writer, and with it every check.
func openLine(ctx context.Context, db *sql.DB, timeout time.Duration) (*pgLine, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var l *pgLine
	err = c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: postgres connection is a %T, not pgx's", dc)
		}
		pc := sc.Conn().PgConn()
		for _, q := range [4][2]string{
			{lineCounter, counterQuery},
			{lineAttempts, pgInsertAttempts},
			{lineUnalerted, pgInsertUnalerted},
			{lineEvents, pgInsertEvents},
		} {
			if _, err := pc.Prepare(ctx, q[0], q[1], nil); err != nil {
				return err
			}
		}
		hc, err := pc.Hijack()
		if err != nil {
			return err
		}
		// pgconn may have left a deadline from ctx's watch; each batch
		// sets its own.
		hc.Conn.SetDeadline(time.Time{})
		if tc, ok := hc.Conn.(*net.TCPConn); ok {
			tc.SetKeepAliveConfig(lineKeepAlive)
		}
		done := make(chan struct{})
		close(done)
		l = &pgLine{conn: hc.Conn, fe: hc.Frontend, last: done}
		return nil
	})
	return l, err
}

// broken reports whether the line has failed.
func (l *pgLine) broken() bool { return l.failed.Load() }

// fail marks the line broken with err and closes the connection, which
// fails every read still waiting on it and a send blocked in Write.
// l.mu must be held.
func (l *pgLine) fail(err error) {
	if l.err == nil {
		l.err = err
		l.failed.Store(true)
		l.conn.Close()
	}
}

// close ends the session (Terminate) and the connection; the writers
// must be done.
func (l *pgLine) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.conn.Write([]byte{'X', 0, 0, 0, 4})
	}
	l.fail(ErrClosed)
}

// lineBatch is what a writer sends in one implicit transaction.
type lineBatch struct {
	attempts, unalerted, events [][]byte // the arrays; nil when there are no rows
	// probe sends a Sync even with nothing else: readiness's proof that
	// the line answers (batcher.ping).
	probe bool
	// deadline bounds the send and the reads of the results: past it the
	// line fails, so a server that stops answering without closing the
	// connection fails the batch instead of holding it forever.
	deadline time.Time
	// round is a counter read to make first, carried over from a send
	// that broke; keep, when set, receives the round of a send that
	// breaks unanswered instead of failing its checks, so that the
	// resend (writer.commitPostgres) serves them too.
	round *syncRound
	keep  **syncRound
}

// drop hands a carried-over round on, or fails it with err, when the
// batch is not sent: the round's checks must hear either way.
func (b *lineBatch) drop(err error) {
	if b.round == nil {
		return
	}
	if b.keep != nil {
		*b.keep = b.round
	} else {
		b.round.finish(0, err)
	}
	b.round = nil
}

// commit sends the batch, preceded by the counter read of the round the
// writer takes as it sends (none if no check waits for one, or g is nil), and returns
// once the server has committed it. With an empty batch and no round to
// serve it sends nothing. broken says the line failed and must be
// replaced; after any other error the server rolled the batch back and
// the line is sound. The round, if one was taken, is finished whatever
// happens.
func (l *pgLine) commit(g *syncReads, b lineBatch) (broken bool, err error) {
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		b.drop(err)
		return true, err
	}
	// The round is taken as late as possible, so that it serves every
	// check that asked before the message goes out; the read runs after
	// it is sent, as syncReads requires.
	round := b.round
	if round == nil && g != nil {
		round = g.take()
	}
	if round == nil && b.attempts == nil && !b.probe {
		l.mu.Unlock()
		return false, nil
	}
	defer func() {
		if round != nil && broken && b.keep != nil {
			*b.keep = round
			round = nil
		}
		if round != nil {
			// The read did not answer: its callers get the batch's error.
			rerr := err
			if rerr == nil {
				rerr = errors.New("store: the counter read got no answer")
			}
			round.finish(0, rerr)
		}
	}()
	w := l.wbuf[:0]
	if round != nil {
		// First, and flushed on its own: the checks waiting for it go on
		// while the batch commits.
		w = appendExecute(w, lineCounter, nil, counterBinary)
		w = append(w, 'H', 0, 0, 0, 4) // Flush
	}
	for _, s := range [3]struct {
		name   string
		params [][]byte
	}{{lineAttempts, b.attempts}, {lineUnalerted, b.unalerted}, {lineEvents, b.events}} {
		if s.params != nil {
			w = appendExecute(w, s.name, s.params, nil)
		}
	}
	w = append(w, 'S', 0, 0, 0, 4) // Sync: commit, then ReadyForQuery
	// One deadline for the send and the reads. With several writers on
	// a line a later send moves an earlier batch's read deadline; the
	// store runs one writer, and readiness probes only a failing line.
	l.conn.SetDeadline(b.deadline)
	if _, err := l.conn.Write(w); err != nil {
		l.fail(err)
	}
	if cap(w) <= pgKeepBuffer {
		l.wbuf = w
	} else {
		l.wbuf = nil
	}
	prev, mine := l.last, make(chan struct{})
	l.last = mine
	l.mu.Unlock()
	defer close(mine)
	// The reads take no lock: a send may hold l.mu while its Write waits
	// for the server, which may wait for these results to be read. If the
	// line failed, its connection is closed and the read fails.
	<-prev // the batches sent before are read
	broken, err = l.read(&round)
	if broken {
		l.conn.Close() // first: a send blocked in Write holds l.mu
		l.mu.Lock()
		l.fail(err)
		err = l.err // the first failure: a send's, or this read's
		l.mu.Unlock()
	}
	return broken, err
}

// read reads one batch's results up to its ReadyForQuery: the counter's
// first when *round is not nil (finishing the round and clearing it as
// soon as the value is in), and returns the first error the server
// reported for the batch.
func (l *pgLine) read(round **syncRound) (broken bool, err error) {
	var v int64
	rows := 0
	for {
		msg, rerr := l.fe.Receive()
		if rerr != nil {
			return true, rerr
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if *round != nil && len(m.Values) == 1 && len(m.Values[0]) == 8 {
				v = int64(binary.BigEndian.Uint64(m.Values[0]))
				rows++
			}
		case *pgproto3.CommandComplete:
			if r := *round; r != nil {
				*round = nil
				if rows == 1 {
					r.finish(v, nil)
				} else {
					r.finish(0, fmt.Errorf("store: the account_changes counter read %d rows, want one of 8 bytes", rows))
				}
			}
		case *pgproto3.ErrorResponse:
			e := pgconn.ErrorResponseToPgError(m)
			if err == nil {
				err = e
			}
			if e.Severity == "FATAL" || e.Severity == "PANIC" {
				return true, e // the server ends the connection
			}
			if r := *round; r != nil {
				*round = nil
				r.finish(0, e)
			}
		case *pgproto3.ReadyForQuery:
			return false, err
		}
	}
}

// appendExecute appends Bind and Execute messages running the prepared
// statement name with params, every parameter in the binary format, and
// results in the formats given.
func appendExecute(w []byte, name string, params [][]byte, results []int16) []byte {
	start := len(w)
	w = append(w, 'B', 0, 0, 0, 0)
	w = append(w, 0) // the unnamed portal
	w = append(w, name...)
	w = append(w, 0)
	w = binary.BigEndian.AppendUint16(w, uint16(len(params)))
	for range params {
		w = binary.BigEndian.AppendUint16(w, 1)
	}
	w = binary.BigEndian.AppendUint16(w, uint16(len(params)))
	for _, p := range params {
		w = binary.BigEndian.AppendUint32(w, uint32(len(p)))
		w = append(w, p...)
	}
	w = binary.BigEndian.AppendUint16(w, uint16(len(results)))
	for _, f := range results {
		w = binary.BigEndian.AppendUint16(w, uint16(f))
	}
	binary.BigEndian.PutUint32(w[start+1:], uint32(len(w)-start-1))
	// Execute the unnamed portal, every row.
	return append(w, 'E', 0, 0, 0, 9, 0, 0, 0, 0, 0)
}
