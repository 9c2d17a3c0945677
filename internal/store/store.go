// Package store persists the lock domain in SQLite (the embedded default)
// or PostgreSQL. Both run the same SQL through database/sql; the few
// differences (how to connect, which error means a duplicate, locking for
// migrations) live in dialect values, so one contract suite covers both.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"modernc.org/sqlite"
	_ "modernc.org/sqlite" // registers "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lockgate/lockgate/internal/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store implements lock.Store.
type Store struct {
	db      *sql.DB
	dialect dialect
	batch   *batcher
	// account is the lock check's one read, prepared once.
	account *sql.Stmt
}

var _ lock.Store = (*Store)(nil)

type dialect struct {
	name string
	// isUnique reports a unique-constraint violation.
	isUnique func(error) bool
	// lockMigrations serialises migrations between processes in tx.
	lockMigrations string
	// begin starts a write transaction on a raw connection.
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
	lockMigrations: "SELECT pg_advisory_xact_lock(7274111)",
	// Two writers overlap one batch's commit with the next batch's insert.
	writers: 2,
	begin:   "BEGIN",
}

// Open connects to dsn: a postgres:// or postgresql:// URL, or a SQLite
// file path (optionally as sqlite:PATH or file:PATH). It applies pending
// migrations and refuses a database whose schema is newer than this build.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var (
		db  *sql.DB
		d   dialect
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		d = postgresDialect
		db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
	} else {
		d = sqliteDialect
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
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
			return nil, err
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	s := &Store{db: db, dialect: d}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if s.account, err = db.PrepareContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE app_id = $1 AND username = $2`); err != nil {
		db.Close()
		return nil, err
	}
	s.batch = newBatcher(s, d.writers)
	return s, nil
}

// Dialect names the backend: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// Close finishes queued attempt writes and closes the database.
func (s *Store) Close() error {
	s.batch.close()
	s.account.Close()
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its version", e.Name())
		}
		data, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(data)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must run 1, 2, 3… without gaps", m.name)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest migration this build knows.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

// ErrSchemaTooNew means the database was migrated by a newer lockgate.
var ErrSchemaTooNew = errors.New("database schema is newer than this lockgate")

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.dialect.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.dialect.lockMigrations); err != nil {
			return err
		}
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("%w: the database is at version %d, this build knows up to %d; run a newer lockgate", ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[current:] {
		for _, stmt := range splitSQL(m.sql) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, micros(time.Now())); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// splitSQL splits a migration into statements at semicolons that end a
// line, leaving out comment-only lines.
func splitSQL(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
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

// wrap maps driver errors to the domain's.
func (s *Store) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return lock.ErrNotFound
	case s.dialect.isUnique(err):
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

// --- applications ---

const appCols = `id, name, unknown_account, default_state, locked_message, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanApp(r scanner) (lock.Application, error) {
	var a lock.Application
	var created, updated int64
	err := r.Scan(&a.ID, &a.Name, &a.Settings.UnknownAccount, &a.Settings.DefaultState, &a.Settings.LockedMessage, &created, &updated)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, err
}

func insertIssuers(ctx context.Context, tx *sql.Tx, app lock.Application) error {
	for _, iss := range app.Issuers {
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_issuers (issuer, app_id) VALUES ($1, $2)`, iss, app.ID); err != nil {
			return err
		}
	}
	return nil
}

// CreateApplication implements lock.Store.
func (s *Store) CreateApplication(ctx context.Context, app lock.Application, key lock.SigningKey) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO applications (`+appCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			app.ID, app.Name, app.Settings.UnknownAccount, app.Settings.DefaultState, app.Settings.LockedMessage, micros(app.CreatedAt), micros(app.UpdatedAt))
		if err != nil {
			return err
		}
		if err := insertIssuers(ctx, tx, app); err != nil {
			return err
		}
		return insertKey(ctx, tx, key)
	})
}

// UpdateApplication implements lock.Store.
func (s *Store) UpdateApplication(ctx context.Context, app lock.Application) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `UPDATE applications SET name = $2, unknown_account = $3, default_state = $4, locked_message = $5, updated_at = $6 WHERE id = $1`,
			app.ID, app.Name, app.Settings.UnknownAccount, app.Settings.DefaultState, app.Settings.LockedMessage, micros(app.UpdatedAt)))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_issuers WHERE app_id = $1`, app.ID); err != nil {
			return err
		}
		return insertIssuers(ctx, tx, app)
	})
}

func (s *Store) issuers(ctx context.Context, apps []lock.Application) error {
	for i := range apps {
		rows, err := s.db.QueryContext(ctx, `SELECT issuer FROM app_issuers WHERE app_id = $1 ORDER BY issuer`, apps[i].ID)
		if err != nil {
			return err
		}
		apps[i].Issuers = []string{}
		for rows.Next() {
			var iss string
			if err := rows.Scan(&iss); err != nil {
				rows.Close()
				return err
			}
			apps[i].Issuers = append(apps[i].Issuers, iss)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) oneApp(ctx context.Context, q string, arg any) (lock.Application, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, q, arg))
	if err != nil {
		return lock.Application{}, s.wrap(err)
	}
	apps := []lock.Application{a}
	if err := s.issuers(ctx, apps); err != nil {
		return lock.Application{}, err
	}
	return apps[0], nil
}

// Application implements lock.Store.
func (s *Store) Application(ctx context.Context, id string) (lock.Application, error) {
	return s.oneApp(ctx, `SELECT `+appCols+` FROM applications WHERE id = $1`, id)
}

// ApplicationByIssuer implements lock.Store.
func (s *Store) ApplicationByIssuer(ctx context.Context, issuer string) (lock.Application, error) {
	return s.oneApp(ctx, `SELECT `+prefixed("a.", appCols)+` FROM applications a JOIN app_issuers i ON i.app_id = a.id WHERE i.issuer = $1`, issuer)
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// Applications implements lock.Store.
func (s *Store) Applications(ctx context.Context) ([]lock.Application, error) {
	apps, err := queryAll(ctx, s.db, scanApp, `SELECT `+appCols+` FROM applications ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return apps, s.issuers(ctx, apps)
}

// DeleteApplication implements lock.Store.
func (s *Store) DeleteApplication(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Webhooks have no foreign key (their owner is an app or a person).
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE owner_kind = 'application' AND owner_id = $1`, id); err != nil {
			return err
		}
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM applications WHERE id = $1`, id))
	})
}

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

// --- signing keys ---

func insertKey(ctx context.Context, tx *sql.Tx, k lock.SigningKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, app_id, sealed, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.AppID, k.Sealed, micros(k.CreatedAt), micros(k.RevokedAt))
	return err
}

// AddSigningKey implements lock.Store.
func (s *Store) AddSigningKey(ctx context.Context, key lock.SigningKey) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return insertKey(ctx, tx, key) })
}

// RevokeSigningKey implements lock.Store.
func (s *Store) RevokeSigningKey(ctx context.Context, appID, keyID string, at time.Time) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `UPDATE signing_keys SET revoked_at = $3 WHERE app_id = $1 AND id = $2 AND revoked_at = 0`, appID, keyID, micros(at))))
}

// SigningKeys implements lock.Store.
func (s *Store) SigningKeys(ctx context.Context, appID string) ([]lock.SigningKey, error) {
	return queryAll(ctx, s.db, func(r scanner) (lock.SigningKey, error) {
		var k lock.SigningKey
		var c, rv int64
		err := r.Scan(&k.ID, &k.AppID, &k.Sealed, &c, &rv)
		k.CreatedAt, k.RevokedAt = fromMicros(c), fromMicros(rv)
		return k, err
	}, `SELECT id, app_id, sealed, created_at, revoked_at FROM signing_keys WHERE app_id = $1 ORDER BY id`, appID)
}

// --- persons ---

func scanPerson(r scanner) (lock.Person, error) {
	var p lock.Person
	var c int64
	err := r.Scan(&p.ID, &p.Name, &p.Email, &c)
	p.CreatedAt = fromMicros(c)
	return p, err
}

// CreatePerson implements lock.Store.
func (s *Store) CreatePerson(ctx context.Context, p lock.Person) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO persons (id, name, email, created_at) VALUES ($1, $2, $3, $4)`, p.ID, p.Name, p.Email, micros(p.CreatedAt))
	return s.wrap(err)
}

// Person implements lock.Store.
func (s *Store) Person(ctx context.Context, id string) (lock.Person, error) {
	p, err := scanPerson(s.db.QueryRowContext(ctx, `SELECT id, name, email, created_at FROM persons WHERE id = $1`, id))
	return p, s.wrap(err)
}

// Persons implements lock.Store.
func (s *Store) Persons(ctx context.Context) ([]lock.Person, error) {
	return queryAll(ctx, s.db, scanPerson, `SELECT id, name, email, created_at FROM persons ORDER BY id`)
}

// DeletePerson implements lock.Store.
func (s *Store) DeletePerson(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE owner_kind = 'person' AND owner_id = $1`, id); err != nil {
			return err
		}
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM persons WHERE id = $1`, id))
	})
}

// --- accounts ---

const accountCols = `id, app_id, username, COALESCE(person_id, ''), state, unlock_until, version, created_at, updated_at`

func scanAccount(r scanner) (lock.Account, error) {
	var a lock.Account
	var until, c, u int64
	err := r.Scan(&a.ID, &a.AppID, &a.Username, &a.PersonID, &a.State, &until, &a.Version, &c, &u)
	a.UnlockUntil, a.CreatedAt, a.UpdatedAt = fromMicros(until), fromMicros(c), fromMicros(u)
	return a, err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateAccount implements lock.Store.
func (s *Store) CreateAccount(ctx context.Context, a lock.Account) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO accounts (id, app_id, username, person_id, state, unlock_until, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.AppID, a.Username, nullable(a.PersonID), a.State, micros(a.UnlockUntil), a.Version, micros(a.CreatedAt), micros(a.UpdatedAt))
	return s.wrap(err)
}

// Account implements lock.Store.
func (s *Store) Account(ctx context.Context, appID, username string) (lock.Account, error) {
	a, err := scanAccount(s.account.QueryRowContext(ctx, appID, username))
	return a, s.wrap(err)
}

// AccountByID implements lock.Store.
func (s *Store) AccountByID(ctx context.Context, id string) (lock.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	return a, s.wrap(err)
}

// Accounts implements lock.Store.
func (s *Store) Accounts(ctx context.Context, appID, personID string) ([]lock.Account, error) {
	return queryAll(ctx, s.db, scanAccount, `SELECT `+accountCols+` FROM accounts WHERE ($1 = '' OR app_id = $1) AND ($2 = '' OR person_id = $2) ORDER BY app_id, username`, appID, personID)
}

// SetAccountOwner implements lock.Store.
func (s *Store) SetAccountOwner(ctx context.Context, accountID, personID string) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `UPDATE accounts SET person_id = $2 WHERE id = $1`, accountID, nullable(personID))))
}

// DueRelocks implements lock.Store.
func (s *Store) DueRelocks(ctx context.Context, now time.Time, limit int) ([]lock.Account, error) {
	return queryAll(ctx, s.db, scanAccount, `SELECT `+accountCols+` FROM accounts WHERE unlock_until > 0 AND unlock_until <= $1 ORDER BY unlock_until LIMIT $2`, micros(now), limit)
}

// ApplyLockChanges implements lock.Store.
func (s *Store) ApplyLockChanges(ctx context.Context, changes []lock.AccountChange, events []lock.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range changes {
			a := c.Account
			res, err := tx.ExecContext(ctx, `UPDATE accounts SET state = $3, unlock_until = $4, updated_at = $5, version = version + 1 WHERE id = $1 AND version = $2`,
				a.ID, a.Version, a.State, micros(a.UnlockUntil), micros(a.UpdatedAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return fmt.Errorf("%w: account %s changed meanwhile", lock.ErrConflict, a.ID)
			}
			ch := c.Change
			var until int64
			if ch.UnlockUntil != nil {
				until = micros(*ch.UnlockUntil)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO lock_changes (id, account_id, app_id, username, from_state, to_state, unlock_until, actor, actor_ip, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				ch.ID, ch.AccountID, ch.AppID, ch.Username, ch.From, ch.To, until, ch.Actor, ch.ActorIP, ch.Reason, micros(ch.At)); err != nil {
				return err
			}
		}
		return s.dialect.insertEvents(ctx, tx, events)
	})
}

// LockHistory implements lock.Store.
func (s *Store) LockHistory(ctx context.Context, accountID string, limit int) ([]lock.LockChange, error) {
	return queryAll(ctx, s.db, func(r scanner) (lock.LockChange, error) {
		var c lock.LockChange
		var until, at int64
		err := r.Scan(&c.ID, &c.AccountID, &c.AppID, &c.Username, &c.From, &c.To, &until, &c.Actor, &c.ActorIP, &c.Reason, &at)
		if until != 0 {
			u := fromMicros(until)
			c.UnlockUntil = &u
		}
		c.At = fromMicros(at)
		return c, err
	}, `SELECT id, account_id, app_id, username, from_state, to_state, unlock_until, actor, actor_ip, reason, at FROM lock_changes WHERE account_id = $1 ORDER BY id DESC LIMIT $2`, accountID, limit)
}

// --- attempts ---

// RecordAttempt implements lock.Store: it queues the attempt for the next
// group commit and returns once that commit is done.
func (s *Store) RecordAttempt(ctx context.Context, a lock.Attempt, events []lock.Event) error {
	return s.batch.write(ctx, a, events)
}

// Attempts implements lock.Store.
func (s *Store) Attempts(ctx context.Context, f lock.AttemptFilter) ([]lock.Attempt, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.AppID != "" {
		add("app_id = ?", f.AppID)
	}
	if f.Username != "" {
		add("username = ?", f.Username)
	}
	if f.PersonID != "" {
		add("(app_id, username) IN (SELECT app_id, username FROM accounts WHERE person_id = ?)", f.PersonID)
	}
	if !f.Since.IsZero() {
		add("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", micros(f.Until))
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	q := `SELECT id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, integration_data, locked FROM attempts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	return queryAll(ctx, s.db, func(r scanner) (lock.Attempt, error) {
		var a lock.Attempt
		var at int64
		var data string
		var locked int
		err := r.Scan(&a.ID, &at, &a.AppID, &a.AccountID, &a.Username, &a.UserIP, &a.UserDevice, &a.UserLocation, &a.IntegrationType, &data, &locked)
		a.At, a.Locked = fromMicros(at), locked != 0
		if data != "" {
			a.IntegrationData = []byte(data)
		}
		return a, err
	}, q, args...)
}

// --- webhooks and the outbox ---

func scanWebhook(r scanner) (lock.Webhook, error) {
	var w lock.Webhook
	var c int64
	err := r.Scan(&w.ID, &w.OwnerKind, &w.OwnerID, &w.URL, &w.Sealed, &c)
	w.CreatedAt = fromMicros(c)
	return w, err
}

// CreateWebhook implements lock.Store.
func (s *Store) CreateWebhook(ctx context.Context, w lock.Webhook) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhooks (id, owner_kind, owner_id, url, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		w.ID, w.OwnerKind, w.OwnerID, w.URL, w.Sealed, micros(w.CreatedAt))
	return s.wrap(err)
}

// Webhooks implements lock.Store.
func (s *Store) Webhooks(ctx context.Context, ownerKind, ownerID string) ([]lock.Webhook, error) {
	return queryAll(ctx, s.db, scanWebhook, `SELECT id, owner_kind, owner_id, url, sealed, created_at FROM webhooks WHERE owner_kind = $1 AND owner_id = $2 ORDER BY id`, ownerKind, ownerID)
}

// Webhook implements lock.Store.
func (s *Store) Webhook(ctx context.Context, id string) (lock.Webhook, error) {
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT id, owner_kind, owner_id, url, sealed, created_at FROM webhooks WHERE id = $1`, id))
	return w, s.wrap(err)
}

// DeleteWebhook implements lock.Store.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET dead = 1, last_error = 'webhook deleted' WHERE webhook_id = $1 AND delivered_at = 0`, id); err != nil {
			return err
		}
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = $1`, id))
	})
}

type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// insertEvents writes events in one multi-row statement.
func (d dialect) insertEvents(ctx context.Context, tx execer, events []lock.Event) error {
	if len(events) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO outbox (id, webhook_id, event_type, body, created_at, next_attempt_at) VALUES `)
	args := make([]any, 0, 6*len(events))
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		d.writePlaceholders(&b, len(args), 6)
		args = append(args, e.ID, e.WebhookID, e.Type, string(e.Body), micros(e.CreatedAt), micros(e.CreatedAt))
	}
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}

// writePlaceholders writes "($from+1, …, $from+n)", or "(?, …, ?)".
func (d dialect) writePlaceholders(b *strings.Builder, from, n int) {
	b.WriteByte('(')
	for j := 1; j <= n; j++ {
		if j > 1 {
			b.WriteString(", ")
		}
		if d.positional {
			b.WriteByte('?')
			continue
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + j))
	}
	b.WriteByte(')')
}

// ClaimEvents implements lock.Store.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]lock.Event, error) {
	var out []lock.Event
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, func(r scanner) (lock.Event, error) {
			var e lock.Event
			var body string
			var c int64
			err := r.Scan(&e.ID, &e.WebhookID, &e.Type, &body, &c, &e.Attempts)
			e.Body, e.CreatedAt = []byte(body), fromMicros(c)
			return e, err
		}, `UPDATE outbox SET lease_until = $2 WHERE id IN (
			SELECT id FROM outbox WHERE delivered_at = 0 AND dead = 0 AND next_attempt_at <= $1 AND lease_until <= $1
			ORDER BY next_attempt_at LIMIT $3)
			RETURNING id, webhook_id, event_type, body, created_at, attempts`, micros(now), micros(now.Add(lease)), limit)
		return err
	})
	return out, err
}

// EventDelivered implements lock.Store.
func (s *Store) EventDelivered(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET delivered_at = $2, attempts = attempts + 1, lease_until = 0, last_error = '' WHERE id = $1`, id, micros(at))
	return s.wrap(err)
}

// EventFailed implements lock.Store.
func (s *Store) EventFailed(ctx context.Context, id string, next time.Time, lastErr string, dead bool) error {
	d := 0
	if dead {
		d = 1
	}
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, lease_until = 0, last_error = $3, dead = $4 WHERE id = $1`, id, micros(next), lastErr, d)
	return s.wrap(err)
}

// --- tokens ---

// AddAdminToken implements lock.Store.
func (s *Store) AddAdminToken(ctx context.Context, hash, name string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO admin_tokens (hash, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, hash, name, micros(at))
	return s.wrap(err)
}

// AdminTokenExists implements lock.Store.
func (s *Store) AdminTokenExists(ctx context.Context, hash string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_tokens WHERE hash = $1`, hash).Scan(&n)
	return n > 0, err
}

// AdminTokenCount implements lock.Store.
func (s *Store) AdminTokenCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_tokens`).Scan(&n)
	return n, err
}

// AddPersonToken implements lock.Store.
func (s *Store) AddPersonToken(ctx context.Context, hash, personID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO person_tokens (hash, person_id, created_at) VALUES ($1, $2, $3)`, hash, personID, micros(at))
	return s.wrap(err)
}

// PersonByToken implements lock.Store.
func (s *Store) PersonByToken(ctx context.Context, hash string) (lock.Person, error) {
	p, err := scanPerson(s.db.QueryRowContext(ctx, `SELECT p.id, p.name, p.email, p.created_at FROM persons p JOIN person_tokens t ON t.person_id = p.id WHERE t.hash = $1`, hash))
	return p, s.wrap(err)
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

// AddAccountEvent implements lock.Store.
func (s *Store) AddAccountEvent(ctx context.Context, e lock.AccountEvent) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO account_events (id, at, app_id, username, source, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.ID, micros(e.At), e.AppID, e.Username, e.Source, string(e.Detail))
	return s.wrap(err)
}

// AccountEvents implements lock.Store.
func (s *Store) AccountEvents(ctx context.Context, appID, username string, limit int) ([]lock.AccountEvent, error) {
	return queryAll(ctx, s.db, func(r scanner) (lock.AccountEvent, error) {
		var e lock.AccountEvent
		var at int64
		var detail string
		err := r.Scan(&e.ID, &at, &e.AppID, &e.Username, &e.Source, &detail)
		e.At, e.Detail = fromMicros(at), []byte(detail)
		return e, err
	}, `SELECT id, at, app_id, username, source, detail FROM account_events WHERE app_id = $1 AND username = $2 ORDER BY id DESC LIMIT $3`, appID, username, limit)
}
