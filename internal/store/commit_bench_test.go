package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/cpustat"
	"github.com/lockgate/lockgate/internal/lock"
)

// BenchmarkSQLiteCommit is one group commit of a fixed number of attempts
// on SQLite, run by the writer alone, one after another: the store's
// part of a lock check without the load generator and the scheduling
// around it, so that its CPU time per attempt compares between builds
// when the machine is shared. cpu-us/row is this process's user and
// system time (fsync included) per attempt.
//
//	go test -run '^$' -bench SQLiteCommit ./internal/store/
func BenchmarkSQLiteCommit(b *testing.B) {
	for _, rows := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			s, err := Open(context.Background(), filepath.Join(b.TempDir(), "lockgate.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			w := &writer{s: s}
			defer w.reset()
			batch := make([]*pending, rows)
			for i := range batch {
				batch[i] = &pending{a: lock.Attempt{At: time.Now(), AppID: "app_0190a1b2c3d4e5f60718293a4b5c6d7e",
					AccountID: "acc_0190a1b2c3d4e5f60718293a4b5c6d7e", Username: "alice", UserIP: "203.0.113.7",
					UserDevice: "Mozilla/5.0", IntegrationType: "awsiamuser", IntegrationData: []byte(`{"k":"v"}`)}}
			}
			n := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpustat.Process()
			for range b.N {
				for _, p := range batch {
					n++
					p.a.ID = fmt.Sprintf("att_%032x", n)
				}
				if err := w.commit(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpustat.Process()-cpu0).Microseconds())/float64(b.N*rows), "cpu-us/row")
		})
	}
}

// BenchmarkPostgresCommit is BenchmarkSQLiteCommit on PostgreSQL: one
// group commit of a fixed number of attempts at a time on the writers'
// line, each committed (synchronous_commit=on) before the next.
// pg-cpu-us/row is the CPU time of the store's PostgreSQL backends per
// attempt (at clock-tick resolution: run thousands of rows), which the
// schema and the statements decide.
//
//	go test -run '^$' -bench PostgresCommit ./internal/store/
func BenchmarkPostgresCommit(b *testing.B) {
	for _, rows := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			s, admin, name := openPostgres(b)
			w := &writer{s: s, b: s.batch}
			batch := make([]*pending, rows)
			for i := range batch {
				batch[i] = &pending{a: lock.Attempt{At: time.Now(), AppID: "app_0190a1b2c3d4e5f60718293a4b5c6d7e",
					AccountID: "acc_0190a1b2c3d4e5f60718293a4b5c6d7e", Username: "alice", UserIP: "203.0.113.7",
					UserDevice: "Mozilla/5.0", IntegrationType: "awsiamuser", IntegrationData: []byte(`{"k":"v"}`)}}
			}
			// IDs shaped as lock's: 48 bits of milliseconds and a 16-bit
			// sequence, then 64 random bits. How long a prefix neighbours
			// share decides what comparing them costs under a collation.
			stamp := uint64(time.Now().UnixMilli()) << 16
			commit := func() {
				for _, p := range batch {
					stamp++
					p.a.ID = fmt.Sprintf("att_%016x%016x", stamp, rand.Uint64())
				}
				if err := w.commit(batch); err != nil {
					b.Fatal(err)
				}
			}
			commit() // opens the line
			pg := func() time.Duration {
				d, err := cpustat.Postgres(context.Background(), admin, name)
				if err != nil {
					b.Fatal(err)
				}
				return d
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, pg0 := cpustat.Process(), pg()
			for range b.N {
				commit()
			}
			b.StopTimer()
			b.ReportMetric(float64((cpustat.Process()-cpu0).Microseconds())/float64(b.N*rows), "cpu-us/row")
			b.ReportMetric(float64((pg()-pg0).Microseconds())/float64(b.N*rows), "pg-cpu-us/row")
		})
	}
}
