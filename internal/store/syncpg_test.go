package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

// openPostgres opens a store in a fresh schema (storetest, which imports
// this package, cannot be used here), its connections named by the
// schema, and returns it with an administrator's connection.
func openPostgres(t testing.TB) (s *Store, admin *sql.DB, name string) {
	t.Helper()
	base := os.Getenv("LOCKGATE_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is not answering at %s (CI=true requires it): %v", base, err)
		}
		t.Skipf("PostgreSQL is not answering at %s: %v", base, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name = "lgtest_sync_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + name + " CASCADE") })
	if s, err = Open(ctx, base+"&search_path="+name+"&application_name="+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, admin, name
}

// TestSyncedReadsTheCounterAfterItIsAsked: Synced compares what the
// listener heard with the counter as committed after the call, alone or
// with a batch of attempts.
func TestSyncedReadsTheCounterAfterItIsAsked(t *testing.T) {
	s, admin, name := openPostgres(t)
	ctx := context.Background()
	s.watch.heard.Store(3) // as if the listener had heard change 3
	for _, tc := range []struct {
		counter  int64
		attempts int
		want     bool
	}{
		{3, 0, true},
		{4, 0, false},
		{3, 5, true},
		{9, 5, false},
		{2, 1, true},
	} {
		if _, err := admin.ExecContext(ctx, fmt.Sprintf("UPDATE %s.account_changes SET v = $1", name), tc.counter); err != nil {
			t.Fatal(err)
		}
		// The attempts are queued first, so that a writer takes the read
		// with them or alone, whichever comes.
		done := make(chan error, tc.attempts)
		for i := range tc.attempts {
			go func() {
				done <- s.RecordAttempt(ctx, lock.Attempt{ID: fmt.Sprintf("att_%d_%d", tc.counter, i), At: time.Now(), AppID: "app_1", Username: "alice"}, nil)
			}()
		}
		got, err := s.Synced(ctx)
		if err != nil || got != tc.want {
			t.Errorf("counter %d, %d attempts: Synced = %v, %v; want %v", tc.counter, tc.attempts, got, err, tc.want)
		}
		for range tc.attempts {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
}

// TestCounterReadAnswersWhenItsBatchFails: the read sent with a batch
// answers its callers even when an attempt of the batch fails (the read
// saw committed values, whatever became of the batch), and the
// connection serves the next batch.
func TestCounterReadAnswersWhenItsBatchFails(t *testing.T) {
	s, admin, name := openPostgres(t)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf("UPDATE %s.account_changes SET v = 17", name)); err != nil {
		t.Fatal(err)
	}
	// The store's own writers stop, so that the read goes with this
	// test's batch.
	s.batch.close()
	b := newBatcher(s, 0) // the test's writer's line
	defer b.close()
	w := &writer{s: s, b: b}
	defer w.reset()
	// A caller waits for a read; the writer's batch takes it.
	got := make(chan error, 1)
	var v int64
	go func() {
		var err error
		v, err = s.watch.counter.get(ctx)
		got <- err
	}()
	for waiting := false; !waiting; {
		<-s.watch.counter.wake // the caller's round is queued
		s.watch.counter.mu.Lock()
		waiting = s.watch.counter.next != nil
		s.watch.counter.mu.Unlock()
		if !waiting {
			t.Fatal("woken with no round waiting")
		}
	}
	a := lock.Attempt{ID: "att_twice", At: time.Now(), AppID: "app_1", Username: "alice"}
	twice := []*pending{{a: a}, {a: a}}
	if err := w.commit(twice); err == nil {
		t.Fatal("a batch with one attempt twice was committed")
	}
	if err := <-got; err != nil || v != 17 {
		t.Fatalf("the read with the failed batch: %d, %v; want 17", v, err)
	}
	if err := w.commit(twice[:1]); err != nil {
		t.Fatalf("the next batch on the same connection: %v", err)
	}
}

// TestSyncedAfterTheServerEndedTheWriters: when the server ends the
// writers' connections (pg_terminate_backend, a restart, a failover), a
// read that finds out fails its callers and the next one reads on a new
// connection. The server's FATAL arrives as a *pgconn.PgError, which must
// not be taken for a statement's error on a sound connection.
func TestSyncedAfterTheServerEndedTheWriters(t *testing.T) {
	s, admin, name := openPostgres(t)
	ctx := context.Background()
	if _, err := s.Synced(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := admin.QueryContext(ctx, `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	ended := 0
	for rows.Next() {
		ended++
	}
	rows.Close()
	if ended == 0 {
		t.Fatal("no connection of the store's to end")
	}
	if _, err := admin.ExecContext(ctx, fmt.Sprintf("UPDATE %s.account_changes SET v = 42", name)); err != nil {
		t.Fatal(err)
	}
	// Each writer may fail one read on the connection that was ended.
	for i := range 3 {
		synced, err := s.Synced(ctx)
		if err != nil {
			continue
		}
		if synced {
			t.Fatalf("read %d: synced with the counter at 42 and nothing heard", i)
		}
		return
	}
	t.Fatal("three reads failed after the connections ended, want a new connection by the third")
}

// TestSyncedWhenAWriterCannotConnect: a writer woken for a counter read
// that fails before it sends the read (here the pool refuses every
// connection) ends the read with its error; the caller must not wait
// forever for a read nobody will make.
func TestSyncedWhenAWriterCannotConnect(t *testing.T) {
	s, _, _ := openPostgres(t)
	if _, err := s.Synced(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.batch.close() // the writers give their connections back
	s.batch = newBatcher(s, s.dialect.writers)
	s.db.Close() // every new connection is refused from now on
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.Synced(ctx)
		late := ctx.Err()
		cancel()
		if err == nil || late != nil {
			t.Fatalf("read %d with no connection to be had: %v, want the pool's error before the deadline", i, err)
		}
	}
}
