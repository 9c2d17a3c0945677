//go:build unix

package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSymbolicLinks: links are followed, named or met in a directory,
// each file is read once however many paths lead to it, a loop of links
// ends, and what cannot be read (a link to nothing, a named pipe) is
// reported, an error with --strict, never passed over in silence.
func TestSymbolicLinks(t *testing.T) {
	logOf := func(ip string, n int) string {
		var rs []req
		for i := range n {
			rs = append(rs, req{at: time.Duration(i) * time.Second, ip: ip})
		}
		return lines(rs...)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	other := filepath.Join(root, "archive") // outside the tree, reached through a link
	writeFile(t, filepath.Join(dir, "a.log"), logOf("192.0.2.1", 3), false)
	writeFile(t, filepath.Join(other, "2026", "b.log"), logOf("192.0.2.2", 5), false)
	clean := filepath.Join(root, "clean") // links that all lead somewhere
	writeFile(t, filepath.Join(clean, "c.log"), logOf("192.0.2.3", 7), false)
	symlink := func(target, link string) {
		t.Helper()
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	symlink("../archive", filepath.Join(dir, "archive"))       // a directory elsewhere
	symlink("a.log", filepath.Join(dir, "latest.log"))         // a second name for a file
	symlink(".", filepath.Join(dir, "loop"))                   // a loop
	symlink("..", filepath.Join(other, "2026", "up"))          // a loop through the other tree
	symlink("missing.log", filepath.Join(dir, "dangling.log")) // leads nowhere
	symlink("self", filepath.Join(dir, "self"))                // neither
	symlink("../clean", filepath.Join(clean, "again"))         // a loop in a tree without problems
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink("logs", filepath.Join(root, "link-to-logs"))
	symlink("clean", filepath.Join(root, "link-to-clean"))
	symlink("logs/a.log", filepath.Join(root, "link-to-a.log"))
	notRead := []string{
		filepath.Join(dir, "dangling.log") + ": not read: a symbolic link to missing.log: no such file or directory",
		filepath.Join(dir, "pipe") + ": not read: not a regular file (a named pipe); name it to read it",
		filepath.Join(dir, "self") + ": not read: a symbolic link to self: too many levels of symbolic links",
	}
	tests := []struct {
		name    string
		args    []string
		inputs  []string // relative to root
		records int64
		notRead []string
	}{
		{"a directory holding links", []string{dir}, []string{"logs/a.log", "logs/archive/2026/b.log", "logs/dangling.log", "logs/pipe", "logs/self"}, 8, notRead},
		{"a link to a directory, named without a slash", []string{filepath.Join(root, "link-to-logs")},
			[]string{"link-to-logs/a.log", "link-to-logs/archive/2026/b.log", "link-to-logs/dangling.log", "link-to-logs/pipe", "link-to-logs/self"}, 8, nil},
		{"a link to a directory, named with a slash", []string{filepath.Join(root, "link-to-clean") + "/"}, []string{"link-to-clean/c.log"}, 7, nil},
		{"a link to a file", []string{filepath.Join(root, "link-to-a.log")}, []string{"link-to-a.log"}, 3, nil},
		{"a file named three ways is read once", []string{filepath.Join(root, "link-to-a.log"), filepath.Join(dir, "a.log"), filepath.Join(clean, "c.log"), clean},
			[]string{"link-to-a.log", "clean/c.log"}, 10, nil},
		{"a directory and a directory inside it", []string{other, filepath.Join(other, "2026"), filepath.Join(dir, "archive")}, []string{"archive/2026/b.log"}, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ins, err := Expand(t.Context(), tt.args, Sources{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, in := range ins {
				names = append(names, strings.TrimPrefix(in.Name, root+"/"))
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.inputs) {
				t.Errorf("inputs %q, want %q", names, tt.inputs)
			}
			r, err := Analyze(t.Context(), ins, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Records != tt.records {
				t.Errorf("%d records, want %d", r.Records, tt.records)
			}
			skipped := 0
			for _, in := range ins {
				if in.skip != "" {
					skipped++
					if !strings.Contains(strings.Join(r.Warnings, "\n"), in.Name+": not read: ") {
						t.Errorf("warnings %q do not name %s", r.Warnings, in.Name)
					}
				}
			}
			for _, w := range tt.notRead {
				if !strings.Contains(strings.Join(r.Warnings, "\n"), w) {
					t.Errorf("warnings %q, want %q", r.Warnings, w)
				}
			}
			if skipped == 0 {
				return
			}
			if _, err := Analyze(t.Context(), ins, Options{Strict: true}); err == nil || !strings.Contains(err.Error(), "damaged input (--strict): ") || !strings.Contains(err.Error(), ": not read: ") {
				t.Errorf("strict: %v", err)
			}
			rep, err := Replay(t.Context(), ins, ReplayOptions{ACL: aclWith(t, "Blanket", 100, 60, "")})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rep.Warnings, "\n"); rep.Records != tt.records || strings.Count(got, ": not read: ") != skipped {
				t.Errorf("replay: %d records, warnings %q", rep.Records, got)
			}
		})
	}
	// A directory with nothing to read but what cannot be read.
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	symlink("nowhere", filepath.Join(empty, "x.log"))
	if _, err := Expand(t.Context(), []string{empty}, Sources{}); err == nil || err.Error() != empty+": no files; not read: "+filepath.Join(empty, "x.log")+" (not read: a symbolic link to nowhere: no such file or directory)" {
		t.Errorf("a directory of a dangling link: %v", err)
	}
}
