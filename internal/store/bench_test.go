package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/cpustat"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

// BenchmarkRecordAttempt measures group-committed attempt writes from 64
// concurrent callers, as the lock check makes them; in the unalerted
// variant every attempt is a throttled locked one, so its batch also
// writes the unalerted rows.
//
//	go test -run '^$' -bench RecordAttempt ./internal/store/
func BenchmarkRecordAttempt(b *testing.B) {
	for _, backend := range storetest.Backends {
		for _, unalerted := range []bool{false, true} {
			name := backend
			if unalerted {
				name += "-unalerted"
			}
			b.Run(name, func(b *testing.B) {
				s := storetest.Open(b, backend)
				var n atomic.Int64
				b.SetParallelism(32)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						a := lock.Attempt{ID: fmt.Sprintf("att_%012d", i), At: time.Now(), AppID: "app_1", AccountID: "acc_1", Username: "alice",
							UserIP: "203.0.113.7", UserDevice: "Mozilla/5.0", IntegrationType: "awsiamuser", IntegrationData: []byte(`{"k":"v"}`),
							Locked: unalerted, Unalerted: unalerted}
						if err := s.RecordAttempt(context.Background(), a, nil); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// BenchmarkAccountRead is the lock check's one database read.
func BenchmarkAccountRead(b *testing.B) {
	for _, backend := range storetest.Backends {
		b.Run(backend, func(b *testing.B) {
			s := storetest.Open(b, backend)
			ctx := context.Background()
			t0 := time.Now()
			s.CreateApplication(ctx, lock.Application{ID: "app_1", Name: "a", Issuers: []string{"https://a"}, CreatedAt: t0, UpdatedAt: t0}, lock.SigningKey{ID: "k", AppID: "app_1", Sealed: "x", CreatedAt: t0})
			s.CreateAccount(ctx, lock.Account{ID: "acc_1", AppID: "app_1", Username: "alice", State: lock.StateLocked, Version: 1, CreatedAt: t0, UpdatedAt: t0})
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Account(ctx, "app_1", "alice"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkCheckWrites is the store's part of a lock check on its own:
// 64 concurrent callers each ask Synced (on PostgreSQL a counter read,
// shared) and record an attempt (group-committed), without HTTP or token
// work, so that a change to either shows beside less noise. It reports
// this process's CPU per check and, for a local PostgreSQL, the server's.
//
//	go test -run '^$' -bench CheckWrites -benchtime 20000x ./internal/store/
func BenchmarkCheckWrites(b *testing.B) {
	for _, backend := range storetest.Backends {
		b.Run(backend, func(b *testing.B) {
			name := fmt.Sprintf("lockgate_bench_%d", time.Now().UnixNano())
			dsn := storetest.DSN(b, backend)
			if backend == "postgres" {
				dsn += "&application_name=" + name
			}
			s, err := store.Open(context.Background(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n atomic.Int64
			var db0 time.Duration
			if backend == "postgres" {
				db0 = storetest.PostgresCPU(b, name)
			}
			b.SetParallelism(32)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpustat.Process()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := s.Synced(ctx); err != nil {
						b.Error(err)
						return
					}
					i := n.Add(1)
					a := lock.Attempt{ID: fmt.Sprintf("att_%012d", i), At: time.Now(), AppID: "app_1", AccountID: "acc_1", Username: "alice",
						UserIP: "203.0.113.7", UserDevice: "Mozilla/5.0", IntegrationType: "awsiamuser", IntegrationData: []byte(`{"k":"v"}`)}
					if err := s.RecordAttempt(ctx, a, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cpu := cpustat.Process() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
			if backend == "postgres" {
				if used := storetest.PostgresCPU(b, name) - db0; used > 0 {
					b.ReportMetric(float64(used.Microseconds())/float64(b.N), "pg-cpu-us/op")
				}
			}
		})
	}
}
