package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
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
