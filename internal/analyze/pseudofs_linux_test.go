package analyze

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLinksIntoPseudoFileSystems: a symbolic link in a log directory that
// leads into /proc or /sys is reported as not read and the walk goes on.
// Followed, /proc/self led the walk into the process's own descriptors
// and /proc/kmsg (a "regular empty file") blocks its reader: the run never
// ended (atk16i F8).
func TestLinksIntoPseudoFileSystems(t *testing.T) {
	for _, target := range []string{"/proc/self", "/proc/kmsg", "/sys/kernel"} {
		if _, err := os.Stat(target); err != nil {
			t.Logf("%s: %v (skipped)", target, err)
			continue
		}
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			rec := `{"timestamp":1700000000000,"action":"ALLOW","httpRequest":{"clientIp":"198.51.100.1","country":"US","uri":"/","httpMethod":"GET","headers":[]}}` + "\n"
			if err := os.WriteFile(filepath.Join(dir, "a.log"), []byte(rec), 0o644); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, "link")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			ins, err := Expand(t.Context(), []string{dir}, Sources{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Analyze(t.Context(), ins, Options{})
			if err != nil {
				t.Fatal(err)
			}
			w := strings.Join(r.Warnings, "\n")
			if r.Records != 1 || !strings.Contains(w, link+": not read: a symbolic link to "+target+", on the kernel's ") {
				t.Errorf("%d records, warnings %q", r.Records, w)
			}
		})
	}
}
