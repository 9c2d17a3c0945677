package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/lockgate/lockgate/internal/lock"
)

// RecordAttempt implements lock.Store: it queues the attempt for the next
// group commit and returns once that commit is done.
func (s *Store) RecordAttempt(ctx context.Context, a lock.Attempt, events []lock.Event) error {
	return s.batch.write(ctx, a, events)
}

// Attempts implements lock.Store.
func (s *Store) Attempts(ctx context.Context, f lock.AttemptFilter) ([]lock.Attempt, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.AppID != "" {
		add("app_id = ?", f.AppID)
	}
	if f.Username != "" {
		add("username = ?", f.Username)
	}
	if len(f.Usernames) > 0 {
		var alts []string
		for _, u := range f.Usernames {
			args = append(args, u)
			alts = append(alts, "$"+strconv.Itoa(len(args)))
		}
		where = append(where, "username IN ("+strings.Join(alts, ", ")+")")
	}
	if f.PersonID != "" {
		// Attempts name the account by its key; those recorded before keys
		// existed, by the name as sent.
		add("(app_id, username) IN (SELECT app_id, username_key FROM accounts WHERE person_id = ? UNION SELECT app_id, username FROM accounts WHERE person_id = ?)", f.PersonID)
	}
	if !f.Since.IsZero() {
		add("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", micros(f.Until))
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	q := `SELECT id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, integration_data, locked FROM attempts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	return queryAll(ctx, s.db, func(r scanner) (lock.Attempt, error) {
		var a lock.Attempt
		var at int64
		var data string
		var locked int
		err := r.Scan(&a.ID, &at, &a.AppID, &a.AccountID, &a.Username, &a.UserIP, &a.UserDevice, &a.UserLocation, &a.IntegrationType, &data, &locked)
		a.At, a.Locked = fromMicros(at), locked != 0
		if data != "" {
			a.IntegrationData = []byte(data)
		}
		return a, err
	}, q, args...)
}

// AddAccountEvent implements lock.Store.
func (s *Store) AddAccountEvent(ctx context.Context, e lock.AccountEvent) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO account_events (id, at, app_id, username, source, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.ID, micros(e.At), e.AppID, e.Username, e.Source, string(e.Detail))
	return s.wrap(err)
}

// AccountEvents implements lock.Store.
func (s *Store) AccountEvents(ctx context.Context, appID, username string, limit int) ([]lock.AccountEvent, error) {
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
	}, `SELECT id, at, app_id, username, source, detail FROM account_events WHERE app_id = $1 AND username = $2 ORDER BY id DESC LIMIT $3`, appID, username, limit)
}
