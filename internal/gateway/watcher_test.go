package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// watched is a Watcher over one file, with a reload that reads the file
// (what it loaded) and records the versions as a build does, after
// reading.
type watched struct {
	t      *testing.T
	w      Watcher
	path   string
	files  Watched
	loads  [][]byte
	during func() // runs while the reload reads, if set
}

func newWatched(t *testing.T, path string) *watched {
	x := &watched{t: t, path: path, files: Watched{}}
	x.files.Add(path)
	return x
}

func (x *watched) reload() error {
	data, err := os.ReadFile(x.path)
	if err != nil {
		return err
	}
	x.loads = append(x.loads, data)
	if x.during != nil {
		x.during()
		x.during = nil
	}
	x.files = Watched{}
	x.files.Add(x.path)
	return nil
}

func (x *watched) poll() bool {
	return x.w.Poll(slog.New(slog.DiscardHandler), "test", x.files, x.reload)
}

// settles reports that a change is applied at the tick after the one
// that first saw it, and nothing happens at the tick after that.
func (x *watched) settles(want []byte) {
	x.t.Helper()
	n := len(x.loads)
	if x.poll() {
		x.t.Fatal("reloaded at the first sight of a change")
	}
	if !x.poll() || len(x.loads) != n+1 || !bytes.Equal(x.loads[n], want) {
		x.t.Fatalf("the change was not applied once it held still: loads %q, want %q", x.loads[n:], want)
	}
	if x.poll() {
		x.t.Fatal("reloaded again with nothing changed")
	}
}

func write(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// A file replaced with one of the same size and modification time is a
// change (atk20 F4: cp -p, rsync -a, install -p and tar keep the time;
// a same-length edit keeps the size): the watcher compares the inode,
// the status-change time and the content, not the modification time
// alone.
func TestWatcherSeesSameSizeAndTime(t *testing.T) {
	old := []byte(`{"SearchString": "/reload7"}`)
	changed := []byte(`{"SearchString": "/reload8"}`)
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		symlink bool // the watched path is a link to a.json
		replace func(t *testing.T, dir, path string)
	}{
		{"renamed over it (rsync -a, cp -p then mv)", false, func(t *testing.T, dir, path string) {
			tmp := filepath.Join(dir, ".acl.json.tmp")
			write(t, tmp, changed, mtime)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"rewritten in place, the time restored (touch -r)", false, func(t *testing.T, dir, path string) {
			write(t, path, changed, mtime)
		}},
		{"a symbolic link swapped to a file of the same size and time", true, func(t *testing.T, dir, path string) {
			write(t, filepath.Join(dir, "b.json"), changed, mtime)
			tmp := filepath.Join(dir, ".link.tmp")
			if err := os.Symlink("b.json", tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "acl.json")
			if tc.symlink {
				write(t, filepath.Join(dir, "a.json"), old, mtime)
				if err := os.Symlink("a.json", path); err != nil {
					t.Fatal(err)
				}
			} else {
				write(t, path, old, mtime)
			}
			x := newWatched(t, path)
			for range 2 {
				if x.poll() {
					t.Fatal("reloaded with nothing changed")
				}
			}
			tc.replace(t, dir, path)
			fi, err := os.Stat(path)
			if err != nil || fi.Size() != int64(len(old)) || !fi.ModTime().Equal(mtime) {
				t.Fatalf("the replacement's size or time differs: %v %v", fi, err)
			}
			x.settles(changed)
		})
	}
}

// A file written in place is applied once it holds still for a tick,
// never half-written (atk20 F8: an IP set cut after its first lines is a
// valid, shorter set; lockgate.yaml cut before a route's web_acl is a
// valid configuration without it). Each step of the writer is a tick.
func TestWatcherWaitsUntilAFileHoldsStill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "blocked.txt")
	full := []byte("203.0.113.0/24\n198.51.100.0/24\n127.0.0.66/32\n")
	if err := os.WriteFile(path, full, 0o600); err != nil {
		t.Fatal(err)
	}
	x := newWatched(t, path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The writer (curl -o, a shell redirection) truncates, then writes as
	// data arrives: each tick sees a longer prefix.
	for i, part := range [][]byte{nil, full[:15], full[15:31], full[31:]} {
		if _, err := f.Write(part); err != nil {
			t.Fatal(err)
		}
		if x.poll() {
			t.Fatalf("step %d: reloaded a file still being written: %q", i, x.loads[len(x.loads)-1])
		}
	}
	if !x.poll() || len(x.loads) != 1 || !bytes.Equal(x.loads[0], full) {
		t.Fatalf("loads %q, want the whole file once", x.loads)
	}

	// Written again while the reload reads it: the build records the
	// newer version, the watcher what it saw before, so the file is read
	// again once it holds still.
	newer := []byte("203.0.113.0/24\n")
	write(t, path, []byte("192.0.2.0/24\n"), time.Now().Add(time.Minute))
	x.during = func() { write(t, path, newer, time.Now().Add(2*time.Minute)) }
	if x.poll() || !x.poll() {
		t.Fatal("the change was not applied once it held still")
	}
	x.settles(newer)
}

// ReadVersion hashes the whole file: same size, time and inode with
// other bytes is another version.
func TestReadVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	write(t, path, []byte("abc"), time.Unix(1, 0))
	a := ReadVersion(path)
	f, _ := os.OpenFile(path, os.O_WRONLY, 0)
	io.WriteString(f, "abd")
	f.Close()
	os.Chtimes(path, time.Unix(1, 0), time.Unix(1, 0))
	b := ReadVersion(path)
	if a.Missing || a.same(b) || a.Ino != b.Ino || a.Size != b.Size || !a.ModTime.Equal(b.ModTime) {
		t.Fatalf("%+v\n%+v", a, b)
	}
	if v := ReadVersion(filepath.Join(dir, "none")); !v.Missing {
		t.Fatal("a missing file has a version")
	}
}
