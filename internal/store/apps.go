package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

const appCols = `id, name, unknown_account, default_state, locked_message, username_match, created_at, updated_at`

func scanApp(r scanner) (lock.Application, error) {
	var a lock.Application
	var created, updated int64
	err := r.Scan(&a.ID, &a.Name, &a.Settings.UnknownAccount, &a.Settings.DefaultState, &a.Settings.LockedMessage, &a.Settings.UsernameMatch, &created, &updated)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, err
}

func insertIssuers(ctx context.Context, tx *sql.Tx, app lock.Application) error {
	for _, iss := range app.Issuers {
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_issuers (issuer, app_id) VALUES ($1, $2)`, iss, app.ID); err != nil {
			return err
		}
	}
	return nil
}

// CreateApplication implements lock.Store.
func (s *Store) CreateApplication(ctx context.Context, app lock.Application, key lock.SigningKey) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO applications (`+appCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			app.ID, app.Name, app.Settings.UnknownAccount, app.Settings.DefaultState, app.Settings.LockedMessage, app.Settings.UsernameMatch, micros(app.CreatedAt), micros(app.UpdatedAt))
		if err != nil {
			return err
		}
		if err := insertIssuers(ctx, tx, app); err != nil {
			return err
		}
		return insertKey(ctx, tx, key)
	})
}

// UpdateApplication implements lock.Store. The application row is read
// FOR NO KEY UPDATE on PostgreSQL, which waits for, and holds off, the
// FOR SHARE of every account creation and rename of the application
// (sharedApp) — but not the key-share locks of foreign keys, so lock
// checks and lock changes go on. SQLite's write transaction (BEGIN
// IMMEDIATE) excludes every other writer. Re-keyed accounts are written in
// two passes through a temporary key, so that two keys swapping places
// never meet the unique index half-way.
func (s *Store) UpdateApplication(ctx context.Context, id string, change func(lock.Application, func() ([]lock.Account, error)) (lock.Application, []lock.Account, error)) (lock.Application, error) {
	var app lock.Application
	err := s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		q := `SELECT ` + appCols + ` FROM applications WHERE id = $1`
		if s.dialect.name == "postgres" {
			q += ` FOR NO KEY UPDATE`
		}
		cur, err := scanApp(tx.QueryRowContext(ctx, q, id))
		if err != nil {
			return nil, err
		}
		apps := []lock.Application{cur}
		if err := issuers(ctx, tx, apps); err != nil {
			return nil, err
		}
		accounts := func() ([]lock.Account, error) {
			return queryAll(ctx, tx, scanAccount, `SELECT `+accountCols+` FROM accounts WHERE app_id = $1 ORDER BY username`, id)
		}
		var rekeyed []lock.Account
		if app, rekeyed, err = change(apps[0], accounts); err != nil {
			return nil, err
		}
		app.ID = id
		err = mustAffect(tx.ExecContext(ctx, `UPDATE applications SET name = $2, unknown_account = $3, default_state = $4, locked_message = $5, username_match = $6, updated_at = $7 WHERE id = $1`,
			app.ID, app.Name, app.Settings.UnknownAccount, app.Settings.DefaultState, app.Settings.LockedMessage, app.Settings.UsernameMatch, micros(app.UpdatedAt)))
		if err != nil {
			return nil, err
		}
		for _, a := range rekeyed {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET username_key = $2 WHERE id = $1`, a.ID, "\x01rekey:"+a.ID); err != nil {
				return nil, err
			}
		}
		for _, a := range rekeyed {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET username_key = $2 WHERE id = $1 AND app_id = $3`, a.ID, a.Key, app.ID); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_issuers WHERE app_id = $1`, app.ID); err != nil {
			return nil, err
		}
		return [][2]string{{app.ID, ""}}, insertIssuers(ctx, tx, app)
	})
	if err != nil {
		return lock.Application{}, err
	}
	return app, nil
}

// sharedApp checks, inside an account write's transaction, that key is
// username's key under the application's username_match as committed:
// lock.ErrMatchChanged when a switch committed since the key was
// computed. On PostgreSQL the row is read FOR SHARE, so a switch in
// progress (UpdateApplication) finishes first and one not yet begun waits
// for this write, whose account it then sees.
func (s *Store) sharedApp(ctx context.Context, tx *sql.Tx, appID, username, key string) error {
	q := `SELECT username_match FROM applications WHERE id = $1`
	if s.dialect.name == "postgres" {
		q += ` FOR SHARE`
	}
	var m lock.UsernameMatch
	if err := tx.QueryRowContext(ctx, q, appID).Scan(&m); err != nil {
		return err
	}
	if lock.CanonicalUsername(m, username) != key {
		return lock.ErrMatchChanged
	}
	return nil
}

func (s *Store) issuers(ctx context.Context, apps []lock.Application) error {
	return issuers(ctx, s.db, apps)
}

func issuers(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, apps []lock.Application) error {
	for i := range apps {
		iss, err := queryAll(ctx, db, func(r scanner) (string, error) {
			var v string
			return v, r.Scan(&v)
		}, `SELECT issuer FROM app_issuers WHERE app_id = $1 ORDER BY issuer`, apps[i].ID)
		if err != nil {
			return err
		}
		apps[i].Issuers = append([]string{}, iss...)
	}
	return nil
}

func (s *Store) oneApp(ctx context.Context, q string, arg any) (lock.Application, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, q, arg))
	if err != nil {
		return lock.Application{}, s.wrap(err)
	}
	apps := []lock.Application{a}
	if err := s.issuers(ctx, apps); err != nil {
		return lock.Application{}, err
	}
	return apps[0], nil
}

// Application implements lock.Store.
func (s *Store) Application(ctx context.Context, id string) (lock.Application, error) {
	return s.oneApp(ctx, `SELECT `+appCols+` FROM applications WHERE id = $1`, id)
}

// ApplicationByIssuer implements lock.Store.
func (s *Store) ApplicationByIssuer(ctx context.Context, issuer string) (lock.Application, error) {
	return s.oneApp(ctx, `SELECT `+prefixed("a.", appCols)+` FROM applications a JOIN app_issuers i ON i.app_id = a.id WHERE i.issuer = $1`, issuer)
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// Applications implements lock.Store.
func (s *Store) Applications(ctx context.Context) ([]lock.Application, error) {
	apps, err := queryAll(ctx, s.db, scanApp, `SELECT `+appCols+` FROM applications ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return apps, s.issuers(ctx, apps)
}

// DeleteApplication implements lock.Store.
func (s *Store) DeleteApplication(ctx context.Context, id string) error {
	return s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		// Webhooks have no foreign key (their owner is an app or a person).
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE owner_kind = 'application' AND owner_id = $1`, id); err != nil {
			return nil, err
		}
		return [][2]string{{id, ""}}, mustAffect(tx.ExecContext(ctx, `DELETE FROM applications WHERE id = $1`, id))
	})
}

func insertKey(ctx context.Context, tx *sql.Tx, k lock.SigningKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, app_id, sealed, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.AppID, k.Sealed, micros(k.CreatedAt), micros(k.RevokedAt))
	return err
}

// AddSigningKey implements lock.Store.
func (s *Store) AddSigningKey(ctx context.Context, key lock.SigningKey) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return insertKey(ctx, tx, key) })
}

// RevokeSigningKey implements lock.Store.
func (s *Store) RevokeSigningKey(ctx context.Context, appID, keyID string, at time.Time) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `UPDATE signing_keys SET revoked_at = $3 WHERE app_id = $1 AND id = $2 AND revoked_at = 0`, appID, keyID, micros(at))))
}

// SigningKeys implements lock.Store.
func (s *Store) SigningKeys(ctx context.Context, appID string) ([]lock.SigningKey, error) {
	return queryAll(ctx, s.db, func(r scanner) (lock.SigningKey, error) {
		var k lock.SigningKey
		var c, rv int64
		err := r.Scan(&k.ID, &k.AppID, &k.Sealed, &c, &rv)
		k.CreatedAt, k.RevokedAt = fromMicros(c), fromMicros(rv)
		return k, err
	}, `SELECT id, app_id, sealed, created_at, revoked_at FROM signing_keys WHERE app_id = $1 ORDER BY id`, appID)
}
