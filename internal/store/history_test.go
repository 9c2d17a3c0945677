package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
)

// TestLockHistoryCommitOrder: the history lists an account's changes in
// the order they committed, not by their IDs or times, which replicas
// make from their own clocks (atk14f F7: across two PostgreSQL replicas
// the listing broke the from/to chain 26 times in 100 entries).
func TestLockHistoryCommitOrder(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mkApp(t, s, "app_1", "https://a.example")
		acc := lock.Account{ID: "acc_1", AppID: "app_1", Username: "ann", State: lock.StateUnlocked, CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		// Each change is made by a replica whose clock is behind the one
		// before it: IDs and times go down while the commits go on.
		ids := []string{"chg_9", "chg_5", "chg_1"}
		for i, id := range ids {
			at := t0.Add(time.Duration(len(ids)-i) * time.Hour)
			err := s.ChangeLocks(ctx, []string{acc.ID}, func(cur []lock.Account) ([]lock.AccountChange, []lock.Event, error) {
				next := cur[0]
				next.State = map[lock.State]lock.State{lock.StateLocked: lock.StateUnlocked, lock.StateUnlocked: lock.StateLocked}[cur[0].State]
				next.UpdatedAt = at
				ch := lock.LockChange{ID: id, AccountID: acc.ID, AppID: "app_1", Username: "ann", From: cur[0].State, To: next.State, Actor: "admin", At: at}
				return []lock.AccountChange{{Account: next, Change: ch}}, nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		hist, err := s.LockHistory(ctx, acc.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hist {
			got = append(got, h.ID)
		}
		if want := []string{"chg_1", "chg_5", "chg_9"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("history lists %v, want the last committed first: %v", got, want)
		}
	})
}

// TestRenameKeepsUpdatedAt: a rename by a replica whose clock is behind
// does not move the account's updated_at back, so the next lock change,
// recorded after it, is also after every earlier change.
func TestRenameKeepsUpdatedAt(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mkApp(t, s, "app_1", "https://a.example")
		acc := lock.Account{ID: "acc_1", AppID: "app_1", Username: "ann", Key: "ann", State: lock.StateUnlocked, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
		if err := s.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		renamed := acc
		renamed.Username, renamed.Key, renamed.UpdatedAt = "anne", "anne", t0
		if err := s.RenameAccount(ctx, acc, renamed); err != nil {
			t.Fatal(err)
		}
		got, err := s.AccountByID(ctx, acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Username != "anne" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("after a rename dated before the last update: %q updated at %s, want %s", got.Username, got.UpdatedAt, t0.Add(time.Hour))
		}
	})
}
