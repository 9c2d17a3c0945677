// Package store persists the lock domain in SQLite (the embedded default)
// or PostgreSQL. Both run the same SQL through database/sql; the few
// differences (how to connect, which error means a duplicate, locking for
// migrations) live in dialect values, so one contract suite covers both.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"modernc.org/sqlite"
	_ "modernc.org/sqlite" // registers "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lockgate/lockgate/internal/lock"
)

// Store implements lock.Store and the webhook dispatcher's outbox.
type Store struct {
	db      *sql.DB
	writeDB *sql.DB // SQLite: the group commit's one connection, see Open
	dialect dialect
	batch   *batcher
	// account is the lock check's one read, prepared once.
	account *sql.Stmt
	// collisions is the username migration's report, when this Open ran it.
	collisions []UsernameCollision
	dsn        string
	watch      watch
	channel    string // PostgreSQL: where account changes are announced (channelFor)
	// lockFile holds the SQLite database's exclusive lock (see lockFile).
	lockFile *os.File
}

// ErrInUse is returned by Open when another process has the SQLite
// database open.
var ErrInUse = errors.New("store: database in use")

var _ lock.Store = (*Store)(nil)

type dialect struct {
	name string
	// isUnique reports a unique-constraint violation.
	isUnique func(error) bool
	// isConflict reports a failure a retry can overcome.
	isConflict func(error) bool
	// lockMigrations serialises migrations between processes in tx.
	lockMigrations string
	// begin starts the group commit's transaction on its connection
	// (SQLite; PostgreSQL's batch is one implicit transaction).
	begin string
	// positional writes bare ? placeholders in generated multi-row
	// inserts: modernc resolves each named $N by a search, which costs
	// more than the insert itself in a 2,816-parameter statement.
	positional bool
	writers    int // group-commit writer goroutines
}

var sqliteDialect = dialect{
	name: "sqlite",
	isUnique: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	// SQLite has one writer; a second batch writer would only wait.
	writers: 1,
	// IMMEDIATE takes the write lock at once, as _txlock does for BeginTx.
	begin:      "BEGIN IMMEDIATE",
	positional: true,
}

var postgresDialect = dialect{
	name: "postgres",
	isUnique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	// A serialisation failure or a deadlock is a concurrent change: the
	// caller retries it.
	isConflict: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
	},
	lockMigrations: "SELECT pg_advisory_xact_lock(7274111)",
	// One writer: each batch holds every attempt queued while the one
	// before it committed. Two writers (on two connections, or sharing
	// the line) overlapped one batch's commit with the next batch's
	// insert but cut smaller batches (1,400 against 850 per 20,000
	// checks), and each commit costs the server a WAL flush: on the
	// 2-core bench one writer on its line took about a third less CPU
	// per check, lockgate's and the server's (docs/benchmarks.md,
	// issue 14, perf14p).
	writers: 1,
}

// Open connects to dsn: a postgres:// or postgresql:// URL, or a SQLite
// file path (optionally as sqlite:PATH or file:PATH). It applies pending
// migrations and refuses a database whose schema is newer than this build.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var (
		db *sql.DB
		// SQLite: the group commit's (walVFS); PostgreSQL's writers
		// use db.
		writeDB *sql.DB
		d       dialect
		lf      *os.File // SQLite: held for the store's life
		err     error
	)
	path, isSQLite := SQLiteFile(dsn)
	if !isSQLite {
		d = postgresDialect
		db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
	} else {
		d = sqliteDialect
		// Attempt data and token hashes: only lockgate's user reads them,
		// whatever the directory and files were before.
		if err := secureFiles(path); err != nil {
			return nil, err
		}
		if lf, err = lockFile(path + ".lock"); err != nil {
			return nil, err
		}
		// WAL lets readers run beside the writer; synchronous(FULL) makes
		// a commit durable before it returns, so an acknowledged attempt
		// survives a crash; _txlock=immediate takes the write lock at
		// BEGIN so two writers never deadlock upgrading.
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			lf.Close()
			return nil, err
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		// The group commit's connection gathers its log writes
		// (walvfs.go), which is sound only if every frame it writes is
		// part of a commit, synced before the commit returns: no pages
		// spilled to the log before the commit (cache_spill off; a batch
		// dirties a few hundred KiB at most), synchronous(FULL) as above.
		if err := registerWALVFS(); err != nil {
			db.Close()
			lf.Close()
			return nil, err
		}
		q.Add("_pragma", "cache_spill(0)")
		q.Set("vfs", walVFSName)
		if writeDB, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode()); err != nil {
			db.Close()
			lf.Close()
			return nil, err
		}
		writeDB.SetMaxOpenConns(1)
		writeDB.SetMaxIdleConns(1)
	}
	s := &Store{db: db, writeDB: writeDB, dialect: d, dsn: dsn, lockFile: lf}
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		lf.Close()
		return nil, err
	}
	if d.name == "postgres" {
		var database, schema string
		if err := db.QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&database, &schema); err != nil {
			s.closeDBs()
			return nil, err
		}
		s.channel = channelFor(database, schema)
		// Synced's counter reads go with the group commit (syncReads).
		s.watch.counter.wake = make(chan struct{}, 1)
	}
	if s.account, err = db.PrepareContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE app_id = $1 AND username_key = $2`); err != nil {
		s.closeDBs()
		lf.Close()
		return nil, err
	}
	s.batch = newBatcher(s, d.writers)
	if d.name == "sqlite" {
		// SQLite made the -wal and -shm files as it opened; they hold the
		// same data as the database. Modes only: see chmodFiles.
		if err := chmodFiles(path); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// SQLiteFile returns the database file a SQLite dsn names (a path,
// sqlite:PATH or file:PATH), or false for a PostgreSQL URL.
func SQLiteFile(dsn string) (string, bool) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "", false
	}
	return strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:"), true
}

// Dialect names the backend: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// Close finishes queued attempt writes and closes the database.
func (s *Store) Close() error {
	s.stopWatching()
	s.batch.close()
	s.account.Close()
	err := s.closeDBs()
	if s.lockFile != nil {
		s.lockFile.Close()
	}
	return err
}

// closeDBs closes the store's connection pools.
func (s *Store) closeDBs() error {
	err := s.db.Close()
	if s.writeDB != nil {
		if werr := s.writeDB.Close(); err == nil {
			err = werr
		}
	}
	return err
}

// Ping checks that the database answers, and on PostgreSQL that the
// attempt writer's line does (batcher.ping): a pool connection can work
// while the writer's cannot, and every check waits on the writer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return err
	}
	if s.dialect.name == "postgres" {
		return s.batch.ping(ctx)
	}
	if !s.batch.failing.Load() {
		return nil
	}
	if err := s.probeSQLite(ctx); err != nil {
		return fmt.Errorf("store: the attempt writer's last batch failed, and the database still refuses a write: %w", err)
	}
	s.batch.failing.Store(false)
	return nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

type scanner interface{ Scan(...any) error }

func queryAll[T any](ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// wrap maps driver errors to the domain's.
func (s *Store) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return lock.ErrNotFound
	case s.dialect.isUnique(err):
		return fmt.Errorf("%w: %v", lock.ErrConflict, err)
	case s.dialect.isConflict != nil && s.dialect.isConflict(err):
		return fmt.Errorf("%w: %v", lock.ErrConflict, err)
	}
	return err
}

func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return s.wrap(err)
	}
	return s.wrap(tx.Commit())
}

func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return lock.ErrNotFound
	}
	return nil
}

// Meta returns a value of the meta table, or lock.ErrNotFound.
func (s *Store) Meta(ctx context.Context, name string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = $1`, name).Scan(&v)
	return v, s.wrap(err)
}

// InitMeta sets name to value unless it is set, and returns the value
// that is stored: the first writer wins when replicas start together.
func (s *Store) InitMeta(ctx context.Context, name, value string) (string, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, name, value); err != nil {
		return "", err
	}
	return s.Meta(ctx, name)
}
