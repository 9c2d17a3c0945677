package store

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

// openSQLite opens a store in a new directory and returns it with its path.
func openSQLite(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lockgate.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func attemptBatch(first, n int) []*pending {
	batch := make([]*pending, n)
	for i := range batch {
		batch[i] = &pending{a: lock.Attempt{ID: fmt.Sprintf("att_%08d", first+i), At: time.Now(), AppID: "app_1",
			AccountID: "acc_1", Username: "alice", UserIP: "203.0.113.7", UserDevice: "Mozilla/5.0",
			IntegrationType: "awsiamuser", IntegrationData: []byte(`{"k":"v"}`)}}
	}
	return batch
}

// TestWALWritesGathered: a group commit writes its log frames with one
// write (two per frame before), however many rows it has. Not parallel:
// walWrites counts every store's writes.
func TestWALWritesGathered(t *testing.T) {
	s, _ := openSQLite(t)
	w := &writer{s: s}
	defer w.reset()
	// The first commit after Open (which empties the log) writes the
	// log's header and syncs it before the frames: a write of its own.
	if err := w.commit(attemptBatch(0, 1)); err != nil {
		t.Fatal(err)
	}
	next := 1
	for _, rows := range []int{1, 16, 64, 256} {
		batch := attemptBatch(next, rows)
		next += rows
		before := walWrites.Load()
		if err := w.commit(batch); err != nil {
			t.Fatal(err)
		}
		if got := walWrites.Load() - before; got != 1 {
			t.Errorf("%d rows: %d writes to the log, want 1", rows, got)
		}
	}
}

// copyFile copies src to dst, as a crash leaves src: what was written.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWALOnDiskAtCommit: once a commit returns, its frames are in the log
// file: copies of the database and its log, taken while the store still
// has them open (as a crash would leave them), open with SQLite's own VFS
// and hold every committed row. The writer's connection does not
// checkpoint, which would copy the frames to the database file and hide a
// missing write.
//
// The second case is why the writer's connection does not spill: a
// transaction larger than its page cache that rolls back would leave its
// spilled frames in the buffer, and the connection's next read wrote them
// over the frames another connection had committed since.
func TestWALOnDiskAtCommit(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, s *Store, w *writer) int // returns the rows of attempts written
	}{
		{"group commits", func(t *testing.T, s *Store, w *writer) int {
			n := 0
			for _, rows := range []int{1, 7, 64, 256, 3} {
				if err := w.commit(attemptBatch(n, rows)); err != nil {
					t.Fatal(err)
				}
				n += rows
			}
			return n
		}},
		{"rollback larger than the cache", func(t *testing.T, s *Store, w *writer) int {
			ctx := context.Background()
			exec := func(c interface {
				ExecContext(context.Context, string, ...any) (sql.Result, error)
			}, q string, args ...any) {
				t.Helper()
				if _, err := c.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(w.conn, `PRAGMA cache_size = 4`)
			exec(w.conn, `BEGIN IMMEDIATE`)
			for i := range 500 {
				exec(w.conn, `INSERT INTO attempts (id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, integration_data, locked) VALUES ($1, 0, 'app_1', 'acc_1', 'alice', '', '', '', 'generic', $2, 0)`,
					fmt.Sprintf("att_x%08d", i), strings.Repeat("x", 300))
			}
			exec(w.conn, `ROLLBACK`)
			// Another connection commits where the rolled-back frames were.
			const rows = 50
			for i := range rows {
				exec(s.db, `INSERT INTO attempts (id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, integration_data, locked) VALUES ($1, 0, 'app_1', 'acc_1', 'alice', '', '', '', 'generic', '', 0)`,
					fmt.Sprintf("att_%08d", i))
			}
			// The writer's connection reads the log again.
			var n int
			if err := w.conn.QueryRowContext(ctx, `SELECT count(*) FROM attempts`).Scan(&n); err != nil || n != rows {
				t.Fatalf("the writer's connection counts %d attempts (%v), want %d", n, err, rows)
			}
			return rows
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := openSQLite(t)
			w := &writer{s: s}
			defer w.reset()
			var err error
			if w.conn, err = s.writeDB.Conn(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := w.conn.ExecContext(context.Background(), `PRAGMA wal_autocheckpoint = 0`); err != nil {
				t.Fatal(err)
			}
			rows := tt.write(t, s, w)
			dir := t.TempDir()
			for _, suffix := range []string{"", "-wal"} {
				copyFile(t, path+suffix, filepath.Join(dir, "copy.db"+suffix))
			}
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "copy.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var check string
			if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check: %q %v", check, err)
			}
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM attempts`).Scan(&n); err != nil || n != rows {
				t.Fatalf("%d attempts in the copy (%v), want %d", n, err, rows)
			}
		})
	}
}

// TestWriterConnChecked: the group commit refuses a connection that would
// make gathering its log writes unsound, and the store's own passes.
func TestWriterConnChecked(t *testing.T) {
	tests := []struct {
		name   string
		pragma string
		ok     bool
	}{
		{"as opened", "", true},
		{"synchronous NORMAL", `PRAGMA synchronous = NORMAL`, false},
		{"spilling", `PRAGMA cache_spill = 1`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openSQLite(t)
			ctx := context.Background()
			c, err := s.writeDB.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tt.pragma != "" {
				if _, err := c.ExecContext(ctx, tt.pragma); err != nil {
					t.Fatal(err)
				}
			}
			if err := checkWriterConn(ctx, c); (err == nil) != tt.ok {
				t.Fatalf("checkWriterConn: %v, want ok %v", err, tt.ok)
			}
		})
	}
}
