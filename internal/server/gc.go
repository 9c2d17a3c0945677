package server

import "runtime/debug"

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
// already. It reports the target it set, or 0 when it left the runtime's.
func TuneGC(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		return 0
	}
	debug.SetGCPercent(GCPercent)
	return GCPercent
}
