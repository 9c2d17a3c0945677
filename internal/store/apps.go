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

// UpdateApplication implements lock.Store. Re-keyed accounts are written
// in two passes through a temporary key, so that two keys swapping places
// never meet the unique index half-way.
func (s *Store) UpdateApplication(ctx context.Context, app lock.Application, rekeyed []lock.Account) error {
	return s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		err := mustAffect(tx.ExecContext(ctx, `UPDATE applications SET name = $2, unknown_account = $3, default_state = $4, locked_message = $5, username_match = $6, updated_at = $7 WHERE id = $1`,
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
}

func (s *Store) issuers(ctx context.Context, apps []lock.Application) error {
	for i := range apps {
		rows, err := s.db.QueryContext(ctx, `SELECT issuer FROM app_issuers WHERE app_id = $1 ORDER BY issuer`, apps[i].ID)
		if err != nil {
			return err
		}
		apps[i].Issuers = []string{}
		for rows.Next() {
			var iss string
			if err := rows.Scan(&iss); err != nil {
				rows.Close()
				return err
			}
			apps[i].Issuers = append(apps[i].Issuers, iss)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
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
