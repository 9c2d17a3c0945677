package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

const tokenCols = `id, name, scope, COALESCE(person_id, ''), source, hash, COALESCE(legacy_hash, ''), created_at, last_used_at, expires_at, revoked_at`

func scanToken(r scanner) (lock.Token, error) {
	var t lock.Token
	var c, u, e, rv int64
	err := r.Scan(&t.ID, &t.Name, &t.Scope, &t.PersonID, &t.Source, &t.Hash, &t.LegacyHash, &c, &u, &e, &rv)
	t.CreatedAt, t.LastUsedAt, t.ExpiresAt, t.RevokedAt = fromMicros(c), fromMicros(u), fromMicros(e), fromMicros(rv)
	return t, err
}

// CreateToken implements lock.Store.
func (s *Store) CreateToken(ctx context.Context, t lock.Token) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens (`+strings.ReplaceAll(strings.ReplaceAll(tokenCols, "COALESCE(person_id, '')", "person_id"), "COALESCE(legacy_hash, '')", "legacy_hash")+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		t.ID, t.Name, t.Scope, nullable(t.PersonID), t.Source, t.Hash, nullable(t.LegacyHash), micros(t.CreatedAt), micros(t.LastUsedAt), micros(t.ExpiresAt), micros(t.RevokedAt))
	return s.wrap(err)
}

// Token implements lock.Store.
func (s *Store) Token(ctx context.Context, id string) (lock.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = $1`, id))
	return t, s.wrap(err)
}

// TokenByLegacyHash implements lock.Store.
func (s *Store) TokenByLegacyHash(ctx context.Context, hash string) (lock.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE legacy_hash = $1`, hash))
	return t, s.wrap(err)
}

// Tokens implements lock.Store.
func (s *Store) Tokens(ctx context.Context, f lock.TokenFilter) ([]lock.Token, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.PersonID != "" {
		add("person_id = ?", f.PersonID)
	}
	if f.Scope != "" {
		add("scope = ?", string(f.Scope))
	}
	if f.Source != "" {
		add("source = ?", f.Source)
	}
	if !f.IncludeRevoked {
		where = append(where, "revoked_at = 0")
	}
	q := `SELECT ` + tokenCols + ` FROM tokens`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return queryAll(ctx, s.db, scanToken, q+" ORDER BY id", args...)
}

// RevokeToken implements lock.Store.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0`, id, micros(at))))
}

// RevokeAdminToken implements lock.Store: the check that another usable
// admin token remains and the revocation are one transaction, with the
// admin rows locked (SQLite's write lock; FOR UPDATE on PostgreSQL), so
// two admins revoking each other's token at once cannot both succeed.
// Only a token without expiry, or one that lasts lock.AdminKeeperLifetime
// longer, counts as the other: one that expires in seconds would lock
// every admin out just the same.
func (s *Store) RevokeAdminToken(ctx context.Context, id string, at time.Time) error {
	keeps := micros(at.Add(lock.AdminKeeperLifetime))
	return s.inTx(ctx, func(tx *sql.Tx) error {
		q := `SELECT id, expires_at FROM tokens WHERE scope = 'admin' AND revoked_at = 0 AND (expires_at = 0 OR expires_at > $1) ORDER BY id`
		if s.dialect.name == "postgres" {
			q += ` FOR UPDATE`
		}
		rows, err := tx.QueryContext(ctx, q, micros(at))
		if err != nil {
			return err
		}
		others, found := 0, false
		for rows.Next() {
			var got string
			var exp int64
			if err := rows.Scan(&got, &exp); err != nil {
				rows.Close()
				return err
			}
			if got == id {
				found = true
			} else if exp == 0 || exp >= keeps {
				others++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if found && others == 0 {
			return fmt.Errorf("%w: %s is the last full admin token without an expiry within %s; create another before revoking it", lock.ErrConflict, id, lock.AdminKeeperLifetime)
		}
		return mustAffect(tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0`, id, micros(at)))
	})
}

// TouchToken implements lock.Store.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at = $2 WHERE id = $1 AND last_used_at < $2`, id, micros(at))
	return s.wrap(err)
}

// SetTokenSource implements lock.Store.
func (s *Store) SetTokenSource(ctx context.Context, id, source string) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `UPDATE tokens SET source = $2 WHERE id = $1`, id, source)))
}

// Exclusive implements lock.TokenStore: f runs while no other replica of
// this database and schema runs an Exclusive section of the same name.
// On PostgreSQL that is a session advisory lock, held on a connection of
// its own for f's duration, keyed by the schema's channel and name, so
// two deployments in one database do not wait on each other; SQLite is
// opened by one process only (the data directory's lock), so f just runs.
func (s *Store) Exclusive(ctx context.Context, name string, f func(context.Context) error) error {
	if s.dialect.name != "postgres" {
		return f(ctx)
	}
	h := sha256.Sum256([]byte(s.channel + "\x00" + name))
	key := int64(binary.BigEndian.Uint64(h[:8]))
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.wrap(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return s.wrap(err)
	}
	// Unlocked even when ctx has ended; a connection that cannot unlock
	// is discarded (its session, and the lock, end), never pooled holding
	// every other replica's section.
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return f(ctx)
}
