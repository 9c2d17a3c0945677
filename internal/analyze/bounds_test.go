package analyze

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNumberBounds: the bounds docs/analyzer.md states are the ones
// enforced, at each bound and one past it, by the analysis and by replay
// alike: a timestamp is 0 to 253402300799999 (1970-01-01 to the last
// millisecond of 9999), a requestBodySize is within ±2^62, written as an
// integer or with a fraction or exponent.
func TestNumberBounds(t *testing.T) {
	good := record(req{at: 0, ip: "198.51.100.1"})
	ts := strconv.FormatInt(t0.UnixMilli(), 10)
	withTS := func(v string) string { return strings.Replace(good, `"timestamp":`+ts, `"timestamp":`+v, 1) }
	withBody := func(v string) string { return strings.Replace(good, `{`, `{"requestBodySize":`+v+`,`, 1) }
	tests := []struct {
		name string
		rec  string
		bad  string // the error, empty for a good record
	}{
		{"timestamp 0", withTS("0"), ""},
		{"timestamp -1", withTS("-1"), "timestamp -1 is outside 1970..9999"},
		{"timestamp 9999-12-31T23:59:59.999Z", withTS("253402300799999"), ""},
		{"timestamp 10000-01-01", withTS("253402300800000"), "timestamp 253402300800000 is outside 1970..9999"},
		{"timestamp 2^62+1", withTS("4611686018427387905"), "timestamp out of range"},
		{"requestBodySize 2^62", withBody("4611686018427387904"), ""},
		{"requestBodySize 2^62+1", withBody("4611686018427387905"), "requestBodySize out of range"},
		{"requestBodySize 2^62+5", withBody("4611686018427387909"), "requestBodySize out of range"},
		{"requestBodySize -2^62", withBody("-4611686018427387904"), ""},
		{"requestBodySize -(2^62+1)", withBody("-4611686018427387905"), "requestBodySize out of range"},
		{"requestBodySize 2^63-1", withBody("9223372036854775807"), "requestBodySize out of range"},
		{"requestBodySize 2^62 with an exponent", withBody("4.611686018427387904e18"), ""},
		{"requestBodySize the float after 2^62", withBody("4.6116860184273889e18"), "requestBodySize out of range"},
		{"requestBodySize -2^62 with a fraction", withBody("-4611686018427387904.0"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.rec, "198.51.100.1") || tt.rec == good {
				t.Fatalf("record not rewritten: %s", tt.rec)
			}
			path := writeFile(t, filepath.Join(t.TempDir(), "a.log"), tt.rec+"\n", false)
			want := int64(1)
			if tt.bad != "" {
				want = 0
			}
			r := analyzeFiles(t, Options{}, path)
			if r.Records != want || r.BadRecords != 1-want {
				t.Errorf("analysis: records %d, bad %d; want %d and %d", r.Records, r.BadRecords, want, 1-want)
			}
			if w := strings.Join(r.Warnings, "\n"); tt.bad != "" && !strings.Contains(w, tt.bad) {
				t.Errorf("analysis: warnings %q, want %q", w, tt.bad)
			}
			rep := replay(t, ReplayOptions{ACL: aclWith(t, "R", 1000, 300, "")}, path)
			if rep.Records != want || rep.BadRecords != 1-want {
				t.Errorf("replay: records %d, bad %d; want %d and %d", rep.Records, rep.BadRecords, want, 1-want)
			}
			if w := strings.Join(rep.Warnings, "\n"); tt.bad != "" && !strings.Contains(w, tt.bad) {
				t.Errorf("replay: warnings %q, want %q", w, tt.bad)
			}
		})
	}
}
