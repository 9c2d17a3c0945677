package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

func scanWebhook(r scanner) (lock.Webhook, error) {
	var w lock.Webhook
	var c int64
	err := r.Scan(&w.ID, &w.OwnerKind, &w.OwnerID, &w.URL, &w.Sealed, &c)
	w.CreatedAt = fromMicros(c)
	return w, err
}

// CreateWebhook implements lock.Store.
func (s *Store) CreateWebhook(ctx context.Context, w lock.Webhook) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhooks (id, owner_kind, owner_id, url, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		w.ID, w.OwnerKind, w.OwnerID, w.URL, w.Sealed, micros(w.CreatedAt))
	return s.wrap(err)
}

// Webhooks implements lock.Store.
func (s *Store) Webhooks(ctx context.Context, ownerKind, ownerID string) ([]lock.Webhook, error) {
	return queryAll(ctx, s.db, scanWebhook, `SELECT id, owner_kind, owner_id, url, sealed, created_at FROM webhooks WHERE owner_kind = $1 AND owner_id = $2 ORDER BY id`, ownerKind, ownerID)
}

// Webhook implements lock.Store.
func (s *Store) Webhook(ctx context.Context, id string) (lock.Webhook, error) {
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT id, owner_kind, owner_id, url, sealed, created_at FROM webhooks WHERE id = $1`, id))
	return w, s.wrap(err)
}

// DeleteWebhook implements lock.Store.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET dead = 1, last_error = 'webhook deleted' WHERE webhook_id = $1 AND delivered_at = 0`, id); err != nil {
			return err
		}
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = $1`, id))
	})
}

type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// insertEvents writes events in one multi-row statement.
func (d dialect) insertEvents(ctx context.Context, tx execer, events []lock.Event) error {
	if len(events) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO outbox (id, webhook_id, event_type, body, created_at, next_attempt_at) VALUES `)
	args := make([]any, 0, 6*len(events))
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		d.writePlaceholders(&b, len(args), 6)
		args = append(args, e.ID, e.WebhookID, e.Type, string(e.Body), micros(e.CreatedAt), micros(e.CreatedAt))
	}
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}

// writePlaceholders writes "($from+1, …, $from+n)", or "(?, …, ?)".
func (d dialect) writePlaceholders(b *strings.Builder, from, n int) {
	b.WriteByte('(')
	for j := 1; j <= n; j++ {
		if j > 1 {
			b.WriteString(", ")
		}
		if d.positional {
			b.WriteByte('?')
			continue
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + j))
	}
	b.WriteByte(')')
}

// QueueEvents implements lock.Store: events with no change of their own
// (summaries).
func (s *Store) QueueEvents(ctx context.Context, events []lock.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.dialect.insertEvents(ctx, tx, events) })
}

// DueDestinations returns the webhooks that have events due at now and
// not leased, at most limit of them.
func (s *Store) DueDestinations(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return queryAll(ctx, s.db, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT DISTINCT webhook_id FROM outbox WHERE delivered_at = 0 AND dead = 0 AND next_attempt_at <= $1 AND lease_until <= $1 LIMIT $2`, micros(now), limit)
}

// ClaimEvents leases up to limit of one webhook's events that are due at
// now, oldest first, so that one replica delivers each. The UPDATE's own
// WHERE says everything that makes an event claimable: on PostgreSQL a
// replica that waited for another's row lock re-checks only that WHERE
// on the row as the other left it (delivered, failed with a later
// retry, dead, or leased), not the subquery's, which chose the rows from
// an earlier snapshot.
func (s *Store) ClaimEvents(ctx context.Context, webhookID string, now time.Time, lease time.Duration, limit int) ([]lock.Event, error) {
	var out []lock.Event
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, func(r scanner) (lock.Event, error) {
			var e lock.Event
			var body string
			var c int64
			err := r.Scan(&e.ID, &e.WebhookID, &e.Type, &body, &c, &e.Attempts)
			e.Body, e.CreatedAt = []byte(body), fromMicros(c)
			return e, err
		}, `UPDATE outbox SET lease_until = $2
			WHERE delivered_at = 0 AND dead = 0 AND next_attempt_at <= $1 AND lease_until <= $1 AND id IN (
			SELECT id FROM outbox WHERE webhook_id = $4 AND delivered_at = 0 AND dead = 0 AND next_attempt_at <= $1 AND lease_until <= $1
			ORDER BY next_attempt_at, id LIMIT $3)
			RETURNING id, webhook_id, event_type, body, created_at, attempts`, micros(now), micros(now.Add(lease)), limit, webhookID)
		return err
	})
	return out, err
}

// EventDelivered implements lock.Store.
func (s *Store) EventDelivered(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET delivered_at = $2, attempts = attempts + 1, lease_until = 0, last_error = '' WHERE id = $1`, id, micros(at))
	return s.wrap(err)
}

// EventReleased implements webhook.Outbox: the lease on an event whose
// attempt was cut short by a shutdown ends now, so it is sent again at
// the next start (or by another replica) without waiting for the lease,
// and without counting an attempt.
func (s *Store) EventReleased(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET lease_until = 0 WHERE id = $1 AND delivered_at = 0`, id)
	return s.wrap(err)
}

// EventFailed implements lock.Store.
func (s *Store) EventFailed(ctx context.Context, id string, next time.Time, lastErr string, dead bool) error {
	d := 0
	if dead {
		d = 1
	}
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, lease_until = 0, last_error = $3, dead = $4 WHERE id = $1`, id, micros(next), lastErr, d)
	return s.wrap(err)
}
