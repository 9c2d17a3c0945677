// Package storetest opens real stores for tests: SQLite in a temporary
// directory and PostgreSQL at 127.0.0.1:5432 (database test) in a schema
// of its own. Without PostgreSQL a test skips with a message saying what
// to start, except under CI=true, where it fails.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/lockgate/lockgate/internal/store"
)

// PostgresBase is the server tests use; LOCKGATE_TEST_POSTGRES overrides.
func PostgresBase() string {
	if v := os.Getenv("LOCKGATE_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Backends lists the backends every contract test runs on.
var Backends = []string{"sqlite", "postgres"}

// Open returns a fresh, migrated store of the named backend, closed at the
// end of the test.
func Open(t testing.TB, backend string) *store.Store {
	t.Helper()
	dsn := DSN(t, backend)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DSN returns a data source for a fresh, empty database of the backend.
func DSN(t testing.TB, backend string) string {
	t.Helper()
	switch backend {
	case "sqlite":
		return filepath.Join(t.TempDir(), "lockgate.db")
	case "postgres":
		return PostgresSchema(t)
	}
	t.Fatalf("unknown backend %q", backend)
	return ""
}

// PostgresSchema creates an empty schema and returns a URL whose
// search_path selects it; the schema is dropped after the test.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresBase()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is not answering at %s (CI=true requires it): %v", base, err)
		}
		t.Skipf("PostgreSQL is not answering at %s: start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (%v)", base, err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "lgtest_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	return base + "&search_path=" + schema
}
