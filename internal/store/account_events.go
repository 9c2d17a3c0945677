package store

import (
	"context"

	"github.com/lockgate/lockgate/internal/lock"
)

// AccountEventsBySource implements lock.Store.
func (s *Store) AccountEventsBySource(ctx context.Context, appID, username, source string, limit int) ([]lock.AccountEvent, error) {
	return queryAll(ctx, s.db, func(r scanner) (lock.AccountEvent, error) {
		var e lock.AccountEvent
		var at int64
		var detail string
		err := r.Scan(&e.ID, &at, &e.AppID, &e.Username, &e.Source, &detail)
		if detail == "" {
			// Rows written empty before the write was fixed: an empty
			// json.RawMessage fails the whole list's encoding.
			detail = "null"
		}
		e.At, e.Detail = fromMicros(at), []byte(detail)
		return e, err
	}, `SELECT id, at, app_id, username, source, detail FROM account_events WHERE app_id = $1 AND username = $2 AND source = $3 ORDER BY id DESC LIMIT $4`, appID, username, source, limit)
}
