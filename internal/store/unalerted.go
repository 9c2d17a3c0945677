package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/lockgate/lockgate/internal/lock"
)

// insertUnalerted records, in the attempts' transaction, those whose
// attempt.locked the throttle held back.
func (d dialect) insertUnalerted(ctx context.Context, tx execer, as []lock.Attempt) error {
	if len(as) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO unalerted_attempts (attempt_id, app_id, username, account_id, at) VALUES `)
	args := make([]any, 0, 5*len(as))
	for i, a := range as {
		if i > 0 {
			b.WriteByte(',')
		}
		d.writePlaceholders(&b, len(args), 5)
		args = append(args, a.ID, a.AppID, a.Username, a.AccountID, micros(a.At))
	}
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}

// UnalertedAccounts implements lock.AttemptStore.
func (s *Store) UnalertedAccounts(ctx context.Context) ([]lock.Unalerted, error) {
	return queryAll(ctx, s.db, func(r scanner) (lock.Unalerted, error) {
		var u lock.Unalerted
		var first, last int64
		err := r.Scan(&u.AppID, &u.Username, &u.AccountID, &u.Count, &first, &last)
		u.First, u.Last = fromMicros(first), fromMicros(last)
		return u, err
	}, `SELECT app_id, username, MAX(account_id), COUNT(*), MIN(at), MAX(at) FROM unalerted_attempts GROUP BY app_id, username ORDER BY MIN(at)`)
}

// SummariseUnalerted implements lock.AttemptStore: the rows are deleted
// and counted by one statement, so a row committed meanwhile is either
// counted here or left for the next summary, never both or neither.
func (s *Store) SummariseUnalerted(ctx context.Context, appID, username string, build func(lock.Unalerted) ([]lock.Event, error)) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		u := lock.Unalerted{AppID: appID, Username: username}
		rows, err := tx.QueryContext(ctx, `DELETE FROM unalerted_attempts WHERE app_id = $1 AND username = $2 RETURNING account_id, at`, appID, username)
		if err != nil {
			return err
		}
		for rows.Next() {
			var acc string
			var at int64
			if err := rows.Scan(&acc, &at); err != nil {
				rows.Close()
				return err
			}
			t := fromMicros(at)
			if u.Count == 0 || t.Before(u.First) {
				u.First = t
			}
			if u.Count == 0 || t.After(u.Last) {
				u.Last = t
			}
			u.AccountID = max(u.AccountID, acc)
			u.Count++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if u.Count == 0 {
			return nil
		}
		events, err := build(u)
		if err != nil {
			return err
		}
		return s.dialect.insertEvents(ctx, tx, events)
	})
}

// FoldUnalerted implements lock.AttemptStore: one statement, so each row
// is in one group or the other, never both.
func (s *Store) FoldUnalerted(ctx context.Context, appID, username string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE unalerted_attempts SET username = '' WHERE app_id = $1 AND username = $2`, appID, username)
	return s.wrap(err)
}
