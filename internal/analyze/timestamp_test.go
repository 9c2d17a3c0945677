package analyze

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Timestamps outside 1970..9999 are bad records, not windows in 1970 or
// year 10000 (which RFC 3339 cannot write); a --from between two
// milliseconds includes only the later one.
func TestTimestampBounds(t *testing.T) {
	good := record(req{at: 0, ip: "198.51.100.1"})
	ts := strconv.FormatInt(t0.UnixMilli(), 10)
	data := good + "\n" +
		strings.Replace(good, ts, "-1000", 1) + "\n" +
		strings.Replace(good, ts, "253402300800000", 1) + "\n" +
		strings.Replace(good, ts, "253402300799999", 1) + "\n"
	path := writeFile(t, filepath.Join(t.TempDir(), "a.log"), data, false)
	r := analyzeFiles(t, Options{}, path)
	if r.Records != 2 || r.BadRecords != 2 {
		t.Errorf("records %d, bad %d; want 2 and 2", r.Records, r.BadRecords)
	}
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "a.log:2") || !strings.Contains(w, "outside 1970..9999") {
		t.Errorf("warnings %q", w)
	}
	for _, tc := range []struct {
		from time.Time
		want int64
	}{
		{t0, 1},
		{t0.Add(500 * time.Microsecond), 0},
		{t0.Add(-500 * time.Microsecond), 1},
	} {
		p := writeFile(t, filepath.Join(t.TempDir(), "b.log"), good+"\n", false)
		if r := analyzeFiles(t, Options{From: tc.from}, p); r.Records != tc.want {
			t.Errorf("--from %s: %d records, want %d", tc.from.Format(time.RFC3339Nano), r.Records, tc.want)
		}
		if rep := replay(t, ReplayOptions{ACL: aclWith(t, "R", 1000, 300, ""), From: tc.from}, p); rep.Records != tc.want {
			t.Errorf("replay --from %s: %d records, want %d", tc.from.Format(time.RFC3339Nano), rep.Records, tc.want)
		}
	}
}
