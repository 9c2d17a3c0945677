//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

// TestWALSyncerFindsTheLog: each round syncs the log now at the path, and
// the one it had open before when the file was replaced; a missing log
// fails the round without syncing, and the next round finds it again; a
// failed sync fails its round and every later one.
func TestWALSyncerFindsTheLog(t *testing.T) {
	eio := &os.PathError{Op: "fsync", Path: "x", Err: syscall.EIO}
	type step struct {
		name   string
		change func(t *testing.T, path string) // before the round
		fail   error                           // the sync's answer
		synced []string                        // the files synced, by their content
		err    error                           // the round's error (errors.Is), nil for none
		errAny bool                            // the round fails, not with err
	}
	write := func(content string) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	replace := func(content string) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			// Another inode at the path, as when the last connection's
			// close deletes the log and a new one makes it again.
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			write(content)(t, path)
		}
	}
	remove := func(t *testing.T, path string) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"the same log is synced through one descriptor", []step{
			{name: "first", synced: []string{"A"}},
			{name: "second", synced: []string{"A"}},
		}},
		{"a log truncated in place is the same file", []step{
			{name: "first", synced: []string{"A"}},
			{name: "truncated", change: write("A2"), synced: []string{"A2"}},
		}},
		{"a replaced log syncs the old and the new file", []step{
			{name: "first", synced: []string{"A"}},
			{name: "replaced", change: replace("B"), synced: []string{"A", "B"}},
			{name: "after", synced: []string{"B"}},
		}},
		{"a missing log fails the round, not later ones", []step{
			{name: "first", synced: []string{"A"}},
			{name: "missing", change: remove, errAny: true},
			{name: "back", change: write("B"), synced: []string{"A", "B"}},
		}},
		{"a failed sync fails its round and every later one", []step{
			{name: "first", synced: []string{"A"}},
			{name: "fails", fail: eio, synced: []string{"A"}, err: errWALSync},
			{name: "after", synced: nil, err: errWALSync},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lockgate.db-wal")
			write("A")(t, path)
			var synced []string
			var fail error
			y := newWALSyncer(path, func(f *os.File) error {
				// The content read through the synced descriptor names
				// the file it is open on.
				b := make([]byte, 8)
				n, _ := f.ReadAt(b, 0)
				synced = append(synced, string(b[:n]))
				return fail
			})
			defer y.closeFile()
			defer y.stop()
			for _, s := range tc.steps {
				if s.change != nil {
					s.change(t, path)
				}
				synced, fail = nil, s.fail
				p := &pending{done: make(chan error, 1)}
				y.acquire()
				y.add([]*pending{p})
				err := <-p.done
				switch {
				case s.err != nil && !errors.Is(err, s.err), s.errAny && err == nil, s.err == nil && !s.errAny && err != nil:
					t.Fatalf("%s: the round's error is %v, want %v (any: %v)", s.name, err, s.err, s.errAny)
				}
				if fmt.Sprint(synced) != fmt.Sprint(s.synced) {
					t.Fatalf("%s: synced %q, want %q", s.name, synced, s.synced)
				}
			}
		})
	}
}

// openHooked opens a SQLite store whose walSyncer calls sync.
func openHooked(t *testing.T, sync func(*os.File) error) *Store {
	t.Helper()
	s, err := open(context.Background(), filepath.Join(t.TempDir(), "lockgate.db"), sync)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func attempt(i int) lock.Attempt {
	return lock.Attempt{ID: fmt.Sprintf("att_%d", i), At: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), AppID: "app_1", Username: "alice"}
}

// TestAnswersWaitForTheLogSync: an attempt is committed (readers see it)
// before the log is synced, but its check is answered only after a sync
// that began after the commit has returned.
func TestAnswersWaitForTheLogSync(t *testing.T) {
	ctx := context.Background()
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	s := openHooked(t, func(f *os.File) error {
		if first {
			first = false
			close(entered)
			<-release
		}
		return f.Sync()
	})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before s.Close
	const n = 20
	answered := make(chan error, n)
	for i := range n {
		go func() { answered <- s.RecordAttempt(ctx, attempt(i), nil) }()
	}
	select {
	case <-entered:
	case err := <-answered:
		t.Fatalf("a check was answered (%v) before the log was synced", err)
	}
	// Wait, by reading, until every attempt is committed: the writer goes
	// on committing while the first sync is held.
	for {
		var c int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM attempts`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		if c == n {
			break
		}
	}
	select {
	case err := <-answered:
		t.Fatalf("a check was answered (%v) while the log's sync was held", err)
	default:
	}
	once.Do(func() { close(release) })
	for range n {
		if err := <-answered; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLogSyncErrorFailsTheWaiters: a failed sync of the log fails its
// checks, and the store refuses attempts after it (fail closed) without
// trying the log again.
func TestLogSyncErrorFailsTheWaiters(t *testing.T) {
	ctx := context.Background()
	calls := 0
	s := openHooked(t, func(*os.File) error {
		calls++
		return syscall.EIO
	})
	for i, want := range []int{1, 1} {
		err := s.RecordAttempt(ctx, attempt(i), nil)
		if !errors.Is(err, errWALSync) {
			t.Fatalf("attempt %d: %v, want the log's sync error", i, err)
		}
		if calls != want {
			t.Fatalf("attempt %d: %d syncs, want %d", i, calls, want)
		}
	}
}

// TestOnlyTheWriterSkipsTheSync: the group commit's connection commits
// with synchronous=NORMAL, every other one (lock changes, administration)
// with FULL, before and after the writer replaces its connection.
func TestOnlyTheWriterSkipsTheSync(t *testing.T) {
	ctx := context.Background()
	s := openHooked(t, syncFile)
	pooled := func(when string) {
		t.Helper()
		// The pool's other connections: at most 8 are open, the writer
		// holds one.
		for range 7 {
			c, err := s.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var mode int
			if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != 2 {
				t.Fatalf("%s: a pooled connection runs with synchronous=%d, want 2 (FULL)", when, mode)
			}
		}
	}
	if err := s.RecordAttempt(ctx, attempt(1), nil); err != nil {
		t.Fatal(err)
	}
	pooled("beside the writer")
	// The writer's own connection runs with NORMAL.
	w := &writer{s: s}
	if err := w.commit([]*pending{{a: attempt(2)}}); err != nil {
		t.Fatal(err)
	}
	var mode int
	if err := w.conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 1 {
		t.Fatalf("the writer's connection runs with synchronous=%d, want 1 (NORMAL)", mode)
	}
	// A writer that gives up its connection must not hand NORMAL to the
	// pool.
	w.reset()
	pooled("after a writer's reset")
}
