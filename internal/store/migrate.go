package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
	// after runs in the migration's transaction once its SQL has: the
	// steps SQL cannot express the same way on both databases.
	after func(ctx context.Context, tx *sql.Tx, s *Store) error
}

// goSteps are the Go parts of migrations, by version.
var goSteps = map[int]func(ctx context.Context, tx *sql.Tx, s *Store) error{
	4: canonicaliseUsernames,
}

// dialects are the names a migration file may carry before ".sql" to run
// on that database only: 0012_x.postgres.sql runs on PostgreSQL, and on
// SQLite version 12 is recorded with nothing to run, so that both keep
// one numbering and a database never meets a version it "lacks". A
// version may have a file for each dialect, or one file for both.
var dialects = []string{"sqlite", "postgres"}

// migrations returns the migrations of the named dialect in version order.
func migrations(dialect string) ([]migration, error) {
	return migrationsIn(migrationFiles, dialect)
}

func migrationsIn(fsys fs.FS, dialect string) ([]migration, error) {
	ents, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	files := map[int][]string{} // by version
	for _, e := range ents {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil || v < 1 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must start with its version and end in .sql", e.Name())
		}
		files[v] = append(files[v], e.Name())
	}
	var ms []migration
	for v, names := range files {
		m := migration{version: v} // another database's step: recorded, not run
		seen := map[string]string{}
		for _, name := range names {
			d := fileDialect(name)
			if d != "" && !slices.Contains(dialects, d) {
				return nil, fmt.Errorf("migration %s: %q is not a dialect (%s)", name, d, strings.Join(dialects, ", "))
			}
			for other, prev := range seen {
				if other == d || other == "" || d == "" {
					return nil, fmt.Errorf("migrations %s and %s have the same version", prev, name)
				}
			}
			seen[d] = name
			if d == "" || d == dialect {
				data, err := fs.ReadFile(fsys, "migrations/"+name)
				if err != nil {
					return nil, err
				}
				m.name, m.sql, m.after = name, string(data), goSteps[v]
			}
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms, nil
}

// fileDialect returns the dialect a migration file is for, "" for both.
func fileDialect(name string) string {
	base := strings.TrimSuffix(name, ".sql")
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return base[i+1:]
	}
	return ""
}

// scrubAfter are the migrations after which a SQLite database is
// rewritten (VACUUM) and its write-ahead log emptied: SQLite leaves what
// a migration deleted in free pages, readable in the file and in every
// copy of it. Migration 4 dropped the configured admin token's unsalted
// SHA-256 (admin_tokens), which brute force reverses at SHA-256 speed for
// a chosen token that is still valid; migration 10 is the first a
// database migrated by a build that did not scrub meets, and scrubs it.
// PostgreSQL needs nothing: DROP TABLE removes the table's files at
// commit, leaving no dead tuples to VACUUM.
var scrubAfter = map[int]bool{4: true, 10: true}

// SchemaVersion is the newest migration this build knows.
func SchemaVersion() int {
	ms, _ := migrations("")
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// ErrSchemaTooNew means the database was migrated by a newer lockgate.
var ErrSchemaTooNew = errors.New("database schema is newer than this lockgate")

// migrate applies every migration the database has not recorded, in
// version order. Versions are recorded one by one, so a migration that
// lands on main after a later-numbered one (branches merge in any order)
// is still applied.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.dialect.name)
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
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("%w: the database has migration %d, which this build does not know (it knows up to %d); run a newer lockgate", ErrSchemaTooNew, v, SchemaVersion())
		}
	}
	scrub := false
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		scrub = scrub || scrubAfter[m.version]
		for _, stmt := range splitSQL(m.sql) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if m.after != nil {
			if err := m.after(ctx, tx, s); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, micros(time.Now())); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if scrub && s.dialect.name == "sqlite" {
		// VACUUM cannot run in a transaction; the checkpoint then writes
		// the rewritten pages over the old ones and truncates the log
		// that still holds them.
		for _, q := range []string{`VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("store: after migrating, %s: %w", q, err)
			}
		}
	}
	return nil
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
