//go:build unix

package analyze

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTreeDeeperThanPathMax: a log directory whose tree goes deeper than
// the longest path the system accepts (PATH_MAX, 4,096 bytes on Linux,
// 1,024 on the BSDs) is read as far as paths reach; the part beyond is
// reported as not read, never passed over in silence nor fatal to the
// rest, and --strict refuses it (atk16i F4c).
func TestTreeDeeperThanPathMax(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "top.log"), lines(burst(3, 0, time.Second, "192.0.2.1", "/")...), false)
	// A path cannot name the deep end: build it one directory at a
	// time, each opened relative to the last (openat), as a sync of
	// someone else's tree could.
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("d", 200)
	depth := 0
	for total := len(dir); total <= 8192; total += len(name) + 1 {
		if err := root.Mkdir(name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := root.OpenRoot(name)
		root.Close()
		if err != nil {
			t.Fatal(err)
		}
		root, depth = next, depth+1
	}
	f, err := root.Create("deep.log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(lines(burst(5, 0, time.Second, "192.0.2.2", "/")...)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	root.Close()

	ins, err := Expand(t.Context(), []string{dir}, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(t.Context(), ins, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 3 {
		t.Errorf("%d records, want the 3 of top.log", r.Records)
	}
	got := strings.Join(r.Warnings, "\n")
	if !strings.Contains(got, "not read: file name too long") {
		t.Errorf("warnings %q: want the part beyond PATH_MAX reported as not read (depth %d)", got, depth)
	}
	if _, err := Analyze(t.Context(), ins, Options{Strict: true}); err == nil || !strings.Contains(err.Error(), "file name too long") {
		t.Errorf("--strict: err %v, want the unread part refused", err)
	}
	// t.TempDir's cleanup cannot remove what no path names either.
	t.Cleanup(func() { removeDeep(t, dir, name, depth) })
}

// removeDeep removes the chain of depth directories named name below dir
// from the bottom up, each step relative to an open parent.
func removeDeep(t *testing.T, dir, name string, depth int) {
	roots := []*os.Root{}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Error(err)
		return
	}
	for range depth {
		roots = append(roots, root)
		if root, err = root.OpenRoot(name); err != nil {
			t.Error(err)
			return
		}
	}
	root.Remove("deep.log")
	root.Close()
	for i := len(roots) - 1; i >= 0; i-- {
		if err := roots[i].Remove(name); err != nil {
			t.Error(err)
		}
		roots[i].Close()
	}
}
