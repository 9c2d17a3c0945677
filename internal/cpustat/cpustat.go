// Package cpustat reads CPU time for benchmarks: this process's, and
// that of the PostgreSQL backends serving a benchmark's connections. On a
// shared machine CPU time per operation moves far less than throughput,
// so it is what the benchmarks report to compare two builds.
package cpustat

import (
	"context"
	"database/sql"
	"time"
)

// Process is the user and system CPU time this process has used so far,
// or 0 where it cannot be read.
func Process() time.Duration { return process() }

// Postgres is the user and system CPU time that the PostgreSQL backends of
// the connections named application (their application_name) have used so
// far, read from /proc through db, an administrator's connection. It is 0
// when the server is not on this machine or its processes cannot be read
// (and everywhere but Linux); a backend that ended meanwhile is not
// counted.
func Postgres(ctx context.Context, db *sql.DB, application string) (time.Duration, error) {
	return postgres(ctx, db, application)
}
