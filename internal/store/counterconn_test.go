package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"
)

// testPostgres is storetest.PostgresBase, which this package's own tests
// cannot import (storetest imports store).
func testPostgres(t *testing.T) *sql.DB {
	t.Helper()
	base := os.Getenv("LOCKGATE_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is not answering at %s (CI=true requires it): %v", base, err)
		}
		t.Skipf("PostgreSQL is not answering at %s: %v", base, err)
	}
	return db
}

// TestCounterConnReplacesAConnectionTheServerEnded: when the server ends
// the counter's connection (pg_terminate_backend, a restart, a failover),
// the read that finds out fails and the next one reads on a new
// connection. The server's FATAL arrives as a *pgconn.PgError, which must
// not be taken for a statement's error on a sound connection.
func TestCounterConnReplacesAConnectionTheServerEnded(t *testing.T) {
	admin := testPostgres(t)
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	name := "lgtest_counter_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + name + " CASCADE") })
	if _, err := admin.ExecContext(ctx, "CREATE TABLE "+name+".account_changes (id INTEGER PRIMARY KEY, v BIGINT NOT NULL); INSERT INTO "+name+".account_changes VALUES (1, 41)"); err != nil {
		t.Fatal(err)
	}
	base := os.Getenv("LOCKGATE_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base+"&search_path="+name+"&application_name="+name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &counterConn{db: db}
	defer c.close()

	if v, err := c.read(ctx); err != nil || v != 41 {
		t.Fatalf("first read: %d, %v; want 41", v, err)
	}
	if n := endConnections(t, admin, name); n != 1 {
		t.Fatalf("ended %d connections, want the counter's one", n)
	}
	if _, err := admin.ExecContext(ctx, "UPDATE "+name+".account_changes SET v = 42"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.read(ctx); err == nil {
		t.Fatal("the read on the ended connection succeeded")
	}
	if v, err := c.read(ctx); err != nil || v != 42 {
		t.Fatalf("read after the connection ended: %d, %v; want 42 on a new connection", v, err)
	}
}

// endConnections ends the server's connections named application and
// waits until they are gone; it returns how many there were.
func endConnections(t *testing.T, admin *sql.DB, application string) int {
	t.Helper()
	// In the select list, not the WHERE clause: there the server may call
	// pg_terminate_backend before it filters, on every connection.
	rows, err := admin.Query(`SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = $1`, application)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var ok bool
		if err := rows.Scan(&ok); err != nil || !ok {
			t.Fatalf("pg_terminate_backend: %v, %v", ok, err)
		}
		n++
	}
	return n
}
