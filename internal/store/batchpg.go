package store

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL receives a batch as one array per column and inserts it with
// one prepared statement that unnests them, whatever the batch's size.
// Through database/sql each of a row's 11 values was converted, boxed and
// encoded on its own (2.7 KB per row); here the arrays are encoded by
// hand in PostgreSQL's binary array format into buffers the writer keeps,
// so a row allocates nothing.
//
// The batch's statements (Synced's counter read when a check waits for
// one, see syncReads; the attempts, then unalerted rows and outbox events
// when it has any) go to the server in one message with one Sync, and no
// BEGIN or COMMIT: statements up to a Sync run as one implicit
// transaction, committed (its WAL flushed, synchronous_commit=on) before
// the server answers ReadyForQuery, and rolled back whole if any of them
// fails. That is one round trip per batch instead of three; BEGIN and
// COMMIT as statements of their own cost the server about 120 µs of CPU
// per batch on the 2-core bench, as much as a dozen rows.
//
// The arrays are unnested in the select list, where the set-returning
// calls advance in step (ProjectSet), not in FROM: there each of the 11
// calls filled a tuplestore of its own before the first row was built
// (FunctionScan), which cost the server about 5 µs of CPU per row, a
// sixth of an attempt's insert with its three indexes. The arrays of one
// statement always have the same length, so no row is padded with NULLs.
const (
	pgInsertAttempts = `INSERT INTO attempts (id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, integration_data, locked) ` +
		`SELECT unnest($1::text[]), unnest($2::bigint[]), unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), unnest($6::text[]), unnest($7::text[]), unnest($8::text[]), unnest($9::text[]), unnest($10::text[]), unnest($11::integer[])`
	pgInsertUnalerted = `INSERT INTO unalerted_attempts (attempt_id, app_id, username, account_id, at) ` +
		`SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::text[]), unnest($4::text[]), unnest($5::bigint[])`
	pgInsertEvents = `INSERT INTO outbox (id, webhook_id, event_type, body, created_at, next_attempt_at) ` +
		`SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::text[]), unnest($4::text[]), unnest($5::bigint[]), unnest($5::bigint[])`
)

// Element types of the arrays, from PostgreSQL's pg_type.
const (
	oidInt4 = 23
	oidInt8 = 20
	oidText = 25
)

// pgKeepBuffer bounds each parameter buffer a writer keeps between
// commits: a full batch of usual attempts fits, a batch of unusually large
// ones does not pin its memory.
const pgKeepBuffer = 256 << 10

// pgBatch holds a writer's parameter buffers, reused from commit to commit.
type pgBatch struct {
	attempts  [11][]byte
	unalerted [5][]byte
	events    [5][]byte
}

// commitPostgres writes the batch's attempts, the unalerted rows of those
// the throttle held back and the batch's outbox events in one implicit
// transaction on the writers' line, and returns once it is committed.
func (w *writer) commitPostgres(ctx context.Context, batch []*pending) error {
	a, u, e := &w.pg.attempts, &w.pg.unalerted, &w.pg.events
	var unalerted, events int
	for _, p := range batch {
		if p.a.Unalerted {
			unalerted++
		}
		events += len(p.events)
	}
	for i, oid := range [11]uint32{oidText, oidInt8, oidText, oidText, oidText, oidText, oidText, oidText, oidText, oidText, oidInt4} {
		a[i] = appendArrayHeader(a[i][:0], oid, len(batch))
	}
	for i, oid := range [5]uint32{oidText, oidText, oidText, oidText, oidInt8} {
		u[i] = appendArrayHeader(u[i][:0], oid, unalerted)
	}
	for i, oid := range [5]uint32{oidText, oidText, oidText, oidText, oidInt8} {
		e[i] = appendArrayHeader(e[i][:0], oid, events)
	}
	for _, p := range batch {
		r := &p.a
		var locked int32
		if r.Locked {
			locked = 1
		}
		a[0] = appendText(a[0], r.ID)
		a[1] = appendInt8(a[1], micros(r.At))
		a[2] = appendText(a[2], r.AppID)
		a[3] = appendText(a[3], r.AccountID)
		a[4] = appendText(a[4], r.Username)
		a[5] = appendText(a[5], r.UserIP)
		a[6] = appendText(a[6], r.UserDevice)
		a[7] = appendText(a[7], r.UserLocation)
		a[8] = appendText(a[8], r.IntegrationType)
		a[9] = appendText(a[9], r.IntegrationData)
		a[10] = appendInt4(a[10], locked)
		if r.Unalerted {
			u[0] = appendText(u[0], r.ID)
			u[1] = appendText(u[1], r.AppID)
			u[2] = appendText(u[2], r.Username)
			u[3] = appendText(u[3], r.AccountID)
			u[4] = appendInt8(u[4], micros(r.At))
		}
		for _, ev := range p.events {
			e[0] = appendText(e[0], ev.ID)
			e[1] = appendText(e[1], ev.WebhookID)
			e[2] = appendText(e[2], ev.Type)
			e[3] = appendText(e[3], ev.Body)
			e[4] = appendInt8(e[4], micros(ev.CreatedAt))
		}
	}
	defer w.pg.trim()
	var lb lineBatch
	if len(batch) > 0 {
		lb.attempts = a[:]
	}
	if unalerted > 0 {
		lb.unalerted = u[:]
	}
	if events > 0 {
		lb.events = e[:]
	}
	var round *syncRound // a counter read the first send took and could not answer
	lb.keep = &round
	broken, err := w.b.send(ctx, &w.s.watch.counter, lb)
	if !broken {
		return err
	}
	// The line broke: most often the server ended the connection while
	// it was idle (pg_terminate_backend, idle_session_timeout, a proxy's
	// idle cut, a restart), and the batch never reached it. Send it once
	// more on a new line, never more than once.
	//
	// It may have reached the server and committed before the line
	// broke (a timeout, a connection cut after the commit). The resend
	// is then refused: attempts' ids are fresh and their primary key is
	// attempts_pkey, so it fails with unique_violation on it, and since
	// a batch is one transaction (one Sync), one of its rows being there
	// proves the whole batch committed. Its checks then answer as
	// committed, which they are. If the first send's transaction is still
	// open on the server, the resend's insert waits on it and learns its
	// outcome, or fails at its deadline (and its checks 500).
	// The counter read, if the first send took one, goes with it: the
	// checks waiting for it must not fail for a line that is replaced.
	lb.round, lb.keep = round, nil
	broken, err = w.b.send(ctx, &w.s.watch.counter, lb)
	if committedBefore(err) {
		return nil
	}
	if broken {
		return errLine{err}
	}
	return err
}

// committedBefore reports the resend of a batch refused because its
// attempts are already stored.
func committedBefore(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505" && e.ConstraintName == "attempts_pkey"
}

// trim drops buffers grown past pgKeepBuffer.
func (b *pgBatch) trim() {
	for i := range b.attempts {
		if cap(b.attempts[i]) > pgKeepBuffer {
			b.attempts[i] = nil
		}
	}
	for i := range b.unalerted {
		if cap(b.unalerted[i]) > pgKeepBuffer {
			b.unalerted[i] = nil
		}
	}
	for i := range b.events {
		if cap(b.events[i]) > pgKeepBuffer {
			b.events[i] = nil
		}
	}
}

// appendArrayHeader starts a one-dimensional array of n elements of type
// oid, none of them NULL, in the binary format of PostgreSQL's array_recv.
func appendArrayHeader(b []byte, oid uint32, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, 1) // dimensions
	b = binary.BigEndian.AppendUint32(b, 0) // flags: no NULLs
	b = binary.BigEndian.AppendUint32(b, oid)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return binary.BigEndian.AppendUint32(b, 1) // lower bound
}

// appendText appends a text element: its length, then its bytes, which
// the server checks are valid in its encoding as it does for any text.
func appendText[T ~string | ~[]byte](b []byte, s T) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}
