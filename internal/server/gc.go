package server

import (
	"runtime/debug"
	"strconv"
)

// GCPercent is the garbage collector's target lockgate's servers run
// with when the GOGC environment variable sets none: the heap may grow
// to five times what is live before a collection, instead of Go's
// default of twice. A lock check allocates a few kilobytes and keeps
// none of it, and lockgate's live heap is small (caches of accounts,
// keys and rate counters: tens of megabytes), so collecting a fifth as
// often costs little memory and gives the cores back to the checks: on
// the lock-check benchmark it cut CPU per check by about 5% (see
// docs/benchmarks.md). GOGC (and GOMEMLIMIT, which bounds the heap
// whatever the target) are honoured as Go documents them.
const GCPercent = 400

// TuneGC sets the garbage collector's target to GCPercent unless the
// GOGC variable of getenv chose one, which the runtime has applied
// already. A GOGC that is neither "off" nor a number, which the runtime
// ignores (it then collects at 100), counts as unset (atk14k F3). It
// reports the target it set, or 0 when it left the runtime's, and
// whether GOGC was given but invalid, for the caller to warn.
func TuneGC(getenv func(string) string) (set int, invalid bool) {
	switch v := getenv("GOGC"); {
	case v == "":
	case v == "off":
		return 0, false
	default:
		if _, err := strconv.ParseInt(v, 10, 32); err == nil {
			return 0, false
		}
		invalid = true
	}
	debug.SetGCPercent(GCPercent)
	return GCPercent, invalid
}
