package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/lockgate/lockgate/internal/lock"
)

// Two PostgreSQL replicas must not both send an event (atk14f F6: 8–12%
// of deliveries were sent twice, tens of milliseconds apart). The race:
// replica B's claim chooses its rows from a snapshot taken while replica
// A's "delivered" (or "failed, retry later") update holds the row; once
// A commits, PostgreSQL re-checks only the UPDATE's own WHERE on the new
// row version, so that WHERE must say everything that makes an event
// claimable, not only that its lease has ended. The interleaving is made
// exact: the test holds the row lock itself and waits until the claim is
// seen waiting for it (pg_locks), without sleeping.
func TestClaimRechecksAfterAnotherReplicasUpdate(t *testing.T) {
	for _, tc := range []struct {
		name, update string
	}{
		{"delivered meanwhile", `UPDATE outbox SET delivered_at = 1, attempts = attempts + 1, lease_until = 0 WHERE id = 'out_1'`},
		{"failed meanwhile, retry later", `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = 9000000000000000, lease_until = 0 WHERE id = 'out_1'`},
		{"dead meanwhile", `UPDATE outbox SET dead = 1, lease_until = 0 WHERE id = 'out_1'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, db := openWithRaw(t, "postgres")
			if err := s.RecordAttempt(ctx, lock.Attempt{ID: "att_1", At: t0}, []lock.Event{{ID: "out_1", WebhookID: "whk_1", Type: "t", Body: []byte(`{}`), CreatedAt: t0}}); err != nil {
				t.Fatal(err)
			}
			// Replica A: the update, uncommitted, holding the row.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, tc.update); err != nil {
				t.Fatal(err)
			}
			var xid string
			if err := tx.QueryRowContext(ctx, `SELECT pg_current_xact_id()::xid::text`).Scan(&xid); err != nil {
				t.Fatal(err)
			}
			// Replica B claims: it blocks on A's row lock.
			type claim struct {
				evs []lock.Event
				err error
			}
			done := make(chan claim, 1)
			go func() {
				evs, err := s.ClaimEvents(ctx, "whk_1", t0.Add(time.Minute), time.Minute, 10)
				done <- claim{evs, err}
			}()
			waitForLockWait(t, db, xid)
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			c := <-done
			if c.err != nil {
				t.Fatal(c.err)
			}
			if len(c.evs) != 0 {
				t.Fatalf("claimed %d event(s) another replica had just %s", len(c.evs), tc.name)
			}
		})
	}
}

// waitForLockWait returns once some session waits for the transaction
// xid to end (the claim, blocked on its row lock), polling the server's
// own view of its locks.
func waitForLockWait(t *testing.T, db *sql.DB, xid string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var n int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = $1`, xid).Scan(&n)
		if err != nil {
			t.Fatalf("waiting for the claim to block: %v", err)
		}
		if n > 0 {
			return
		}
	}
}
