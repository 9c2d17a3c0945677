//go:build linux

package store

import (
	"context"
	"os"
	"syscall"
	"testing"
)

// TestSQLiteReadinessFollowsTheWritePath (atk14k F1): on SQLite, once a
// batch failed because the database did (a log that cannot grow, as on a
// full disk), Ping, which /readyz calls, fails until a write commits
// again; a batch refused for one of its rows (a duplicate ID) leaves
// readiness alone. Before, Ping answered ready while every check failed.
func TestSQLiteReadinessFollowsTheWritePath(t *testing.T) {
	ctx := context.Background()
	t.Run("a row refused", func(t *testing.T) {
		s, _ := openSQLite(t)
		if err := record(t, s, "att_1"); err != nil {
			t.Fatal(err)
		}
		if err := record(t, s, "att_1"); err == nil {
			t.Fatal("a duplicate attempt ID was stored")
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping after a row was refused: %v", err)
		}
	})
	t.Run("a failed batch, then a sound database", func(t *testing.T) {
		s, _ := openSQLite(t)
		s.batch.failing.Store(true) // as a batch that met a full disk leaves it
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping once the database takes a write: %v", err)
		}
		if s.batch.failing.Load() {
			t.Fatal("the probe's success did not clear the failure")
		}
	})
	t.Run("the log cannot grow", func(t *testing.T) {
		s, path := openSQLite(t)
		if err := record(t, s, "att_1"); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		// The process may write no file past the log's size: its next
		// commit fails as on a full disk (EFBIG; Go ignores SIGXFSZ).
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		full := syscall.Rlimit{Cur: uint64(fi.Size()), Max: old.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
			t.Fatal(err)
		}
		defer syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
		if err := record(t, s, "att_2"); err == nil {
			t.Fatal("an attempt was acknowledged though the log could not grow")
		}
		if !s.batch.failing.Load() {
			t.Fatal("a batch the database refused did not mark the write path failing")
		}
		if err := s.Ping(ctx); err == nil {
			t.Fatal("ping answered ready while the database refuses writes")
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping once the log can grow again: %v", err)
		}
		if err := record(t, s, "att_3"); err != nil {
			t.Fatalf("an attempt after the disk recovered: %v", err)
		}
	})
}
