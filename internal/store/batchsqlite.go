package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/lockgate/lockgate/internal/lock"
)

// SQLite's group commit runs on the driver's connection, below
// database/sql: there every Exec converted and checked each of a row's 11
// values, and BEGIN and COMMIT, sent as text, were parsed and compiled
// again for every batch. Here BEGIN IMMEDIATE, COMMIT, ROLLBACK and the
// multi-row inserts are prepared once per connection, and a batch's values
// go to the driver in a slice the writer keeps.

// liteConn is what the SQLite driver's connection provides.
type liteConn interface {
	driver.ConnPrepareContext
	driver.ExecerContext
}

// liteBatch holds a writer's statements, prepared on its connection's
// driver connection, and the values of the batch being written.
type liteBatch struct {
	begin, commit, rollback driver.StmtExecContext
	inserts                 map[int]driver.StmtExecContext // rows per statement → prepared insert
	closers                 []driver.Stmt
	args                    []driver.NamedValue
}

// close finalizes the statements on c's driver connection.
func (b *liteBatch) close(c *sql.Conn) {
	if len(b.closers) > 0 {
		c.Raw(func(any) error {
			for _, st := range b.closers {
				st.Close()
			}
			return nil
		})
	}
	*b = liteBatch{}
}

// prepare compiles q on c once; the statement lives as long as c.
func (b *liteBatch) prepare(ctx context.Context, c liteConn, q string) (driver.StmtExecContext, error) {
	st, err := c.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, st)
	se, ok := st.(driver.StmtExecContext)
	if !ok {
		return nil, fmt.Errorf("store: sqlite statement is a %T, without ExecContext", st)
	}
	return se, nil
}

// insert returns the prepared insert of rows attempts.
func (b *liteBatch) insert(ctx context.Context, c liteConn, rows int) (driver.StmtExecContext, error) {
	if st, ok := b.inserts[rows]; ok {
		return st, nil
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO attempts (id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, integration_data, locked) VALUES `)
	for i := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sqliteDialect.writePlaceholders(&sb, i*11, 11)
	}
	st, err := b.prepare(ctx, c, sb.String())
	if err != nil {
		return nil, err
	}
	if b.inserts == nil {
		b.inserts = map[int]driver.StmtExecContext{}
	}
	b.inserts[rows] = st
	return st, nil
}

// commitSQLite writes the batch's attempts, the unalerted rows of those
// the throttle held back and the batch's outbox events in one transaction
// on w.conn, and returns once it is committed (synchronous=FULL: the WAL
// is synced first); broken says that the connection must be replaced.
func (w *writer) commitSQLite(ctx context.Context, batch []*pending) (broken bool, err error) {
	err = w.conn.Raw(func(dc any) (err error) {
		c, ok := dc.(liteConn)
		if !ok {
			broken = true
			return fmt.Errorf("store: sqlite connection is a %T, without prepared statements", dc)
		}
		b := &w.lite
		if b.begin == nil {
			// IMMEDIATE takes the write lock at once, as _txlock does for
			// BeginTx.
			for _, s := range []struct {
				st *driver.StmtExecContext
				q  string
			}{{&b.begin, "BEGIN IMMEDIATE"}, {&b.commit, "COMMIT"}, {&b.rollback, "ROLLBACK"}} {
				if *s.st, err = b.prepare(ctx, c, s.q); err != nil {
					broken = true
					return err
				}
			}
		}
		if _, err := b.begin.ExecContext(ctx, nil); err != nil {
			broken = true // the connection may be broken
			return err
		}
		defer func() {
			if err != nil {
				if _, rerr := b.rollback.ExecContext(ctx, nil); rerr != nil {
					broken = true
				}
			}
		}()
		if err := w.insertRows(ctx, c, batch); err != nil {
			return err
		}
		var events []lock.Event
		for _, p := range batch {
			events = append(events, p.events...)
		}
		if err := w.s.dialect.insertEvents(ctx, driverExecer{c}, events); err != nil {
			return err
		}
		_, err = b.commit.ExecContext(ctx, nil)
		return err
	})
	return broken, err
}

// insertRows inserts the batch with multi-row INSERTs of power-of-two
// sizes, each prepared once, and the unalerted rows after them.
func (w *writer) insertRows(ctx context.Context, c liteConn, batch []*pending) error {
	b := &w.lite
	var unalerted []lock.Attempt
	// Putting a string in an interface allocates; the rows of a batch
	// often repeat a column's value (one application, its integration
	// type, a user signing in again), and a repeat reuses the boxed
	// value of the row before.
	var prev [8]any
	box := func(col int, v string) any {
		if p, ok := prev[col].(string); ok && p == v {
			return prev[col]
		}
		prev[col] = v
		return prev[col]
	}
	for rest := batch; len(rest) > 0; {
		n := 1
		for n*2 <= len(rest) {
			n *= 2
		}
		args := b.args[:0]
		for _, p := range rest[:n] {
			a := &p.a
			var locked int64
			if a.Locked {
				locked = 1
			}
			data := prev[7]
			if s, ok := data.(string); !ok || s != string(a.IntegrationData) {
				data = string(a.IntegrationData)
				prev[7] = data
			}
			args = append(args,
				driver.NamedValue{Ordinal: len(args) + 1, Value: a.ID},
				driver.NamedValue{Ordinal: len(args) + 2, Value: micros(a.At)},
				driver.NamedValue{Ordinal: len(args) + 3, Value: box(0, a.AppID)},
				driver.NamedValue{Ordinal: len(args) + 4, Value: box(1, a.AccountID)},
				driver.NamedValue{Ordinal: len(args) + 5, Value: box(2, a.Username)},
				driver.NamedValue{Ordinal: len(args) + 6, Value: box(3, a.UserIP)},
				driver.NamedValue{Ordinal: len(args) + 7, Value: box(4, a.UserDevice)},
				driver.NamedValue{Ordinal: len(args) + 8, Value: box(5, a.UserLocation)},
				driver.NamedValue{Ordinal: len(args) + 9, Value: box(6, a.IntegrationType)},
				driver.NamedValue{Ordinal: len(args) + 10, Value: data},
				driver.NamedValue{Ordinal: len(args) + 11, Value: locked},
			)
			if a.Unalerted {
				unalerted = append(unalerted, *a)
			}
		}
		st, err := b.insert(ctx, c, n)
		if err == nil {
			_, err = st.ExecContext(ctx, args)
		}
		// Kept for the next batch without its values, which hold the
		// callers' strings.
		clear(args)
		b.args = args[:0]
		if err != nil {
			return err
		}
		rest = rest[n:]
	}
	return w.s.dialect.insertUnalerted(ctx, driverExecer{c}, unalerted)
}

// driverExecer runs the rarer statements of a batch (unalerted rows,
// outbox events) on the driver's connection, as execer.
type driverExecer struct{ c driver.ExecerContext }

func (d driverExecer) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return d.c.ExecContext(ctx, q, nv)
}
