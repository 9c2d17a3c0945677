package storetest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/cpustat"
)

// PostgresCPU is the CPU time the PostgreSQL backends of the connections
// named application have used so far (cpustat.Postgres), for a benchmark's
// pg-cpu-us/op; 0 when it cannot be read, which the benchmark then leaves
// out.
func PostgresCPU(tb testing.TB, application string) time.Duration {
	db, err := sql.Open("pgx", PostgresBase())
	if err != nil {
		return 0
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := cpustat.Postgres(ctx, db, application)
	if err != nil {
		tb.Logf("pg-cpu-us/op left out: %v", err)
		return 0
	}
	return d
}
