package server

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: the servers collect at GCPercent unless GOGC chose a
// valid target, which is left as the runtime applied it.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		gogc      string
		want, set int
		invalid   bool
	}{
		{gogc: "", want: GCPercent, set: GCPercent},
		{gogc: "100", want: 100, set: 0},
		{gogc: "off", want: 100, set: 0},
		// The runtime ignores an invalid GOGC: lockgate's target then
		// applies, and the caller warns (atk14k F3).
		{gogc: "bogus", want: GCPercent, set: GCPercent, invalid: true},
		{gogc: "99999999999", want: GCPercent, set: GCPercent, invalid: true},
	} {
		debug.SetGCPercent(100)
		set, invalid := TuneGC(func(k string) string {
			if k == "GOGC" {
				return tc.gogc
			}
			return ""
		})
		if got := debug.SetGCPercent(100); got != tc.want || set != tc.set || invalid != tc.invalid {
			t.Errorf("GOGC=%q: target %d (reported %d, invalid %v), want %d (reported %d, invalid %v)", tc.gogc, got, set, invalid, tc.want, tc.set, tc.invalid)
		}
	}
}
