package server

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: the servers collect at GCPercent unless GOGC chose a
// target, which is left as the runtime applied it.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		gogc      string
		want, set int
	}{
		{gogc: "", want: GCPercent, set: GCPercent},
		{gogc: "100", want: 100, set: 0},
		{gogc: "off", want: 100, set: 0},
	} {
		debug.SetGCPercent(100)
		set := TuneGC(func(k string) string {
			if k == "GOGC" {
				return tc.gogc
			}
			return ""
		})
		if got := debug.SetGCPercent(100); got != tc.want || set != tc.set {
			t.Errorf("GOGC=%q: target %d (reported %d), want %d (reported %d)", tc.gogc, got, set, tc.want, tc.set)
		}
	}
}
