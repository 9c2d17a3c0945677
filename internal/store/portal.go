package store

import (
	"context"
	"errors"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

var (
	_ lock.PortalStore        = (*Store)(nil)
	_ lock.UnlockRequestStore = (*Store)(nil)
)

// --- logins ---

const loginCols = `person_id, login, password_hash, totp_sealed, totp_step, updated_at`

func scanLogin(r scanner) (lock.Login, error) {
	var l lock.Login
	var u int64
	err := r.Scan(&l.PersonID, &l.Name, &l.PasswordHash, &l.TOTPSealed, &l.TOTPStep, &u)
	l.UpdatedAt = fromMicros(u)
	return l, err
}

// PutLogin implements lock.PortalStore: it sets a person's login,
// replacing the one they had; ErrConflict when another person has the
// name.
func (s *Store) PutLogin(ctx context.Context, l lock.Login) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO portal_logins (`+loginCols+`) VALUES ($1, $2, $3, $4, 0, $5)
		ON CONFLICT (person_id) DO UPDATE SET login = excluded.login, password_hash = excluded.password_hash,
		totp_sealed = excluded.totp_sealed, totp_step = 0, updated_at = excluded.updated_at`,
		l.PersonID, l.Name, l.PasswordHash, l.TOTPSealed, micros(l.UpdatedAt))
	return s.wrap(err)
}

// LoginByName implements lock.PortalStore.
func (s *Store) LoginByName(ctx context.Context, name string) (lock.Login, error) {
	l, err := scanLogin(s.db.QueryRowContext(ctx, `SELECT `+loginCols+` FROM portal_logins WHERE login = $1`, name))
	return l, s.wrap(err)
}

// LoginOf implements lock.PortalStore.
func (s *Store) LoginOf(ctx context.Context, personID string) (lock.Login, error) {
	l, err := scanLogin(s.db.QueryRowContext(ctx, `SELECT `+loginCols+` FROM portal_logins WHERE person_id = $1`, personID))
	return l, s.wrap(err)
}

// AcceptTOTPStep implements lock.PortalStore in one conditional update, so
// two sign-ins racing with the same code cannot both pass.
func (s *Store) AcceptTOTPStep(ctx context.Context, personID string, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE portal_logins SET totp_step = $2 WHERE person_id = $1 AND totp_step < $2`, personID, step)
	if err != nil {
		return false, s.wrap(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// --- passkeys ---

const passkeyCols = `id, person_id, name, credential, created_at, last_used_at`

func scanPasskey(r scanner) (lock.Passkey, error) {
	var p lock.Passkey
	var c, u int64
	err := r.Scan(&p.ID, &p.PersonID, &p.Name, &p.Credential, &c, &u)
	p.CreatedAt, p.LastUsedAt = fromMicros(c), fromMicros(u)
	return p, err
}

// AddPasskey implements lock.PortalStore.
func (s *Store) AddPasskey(ctx context.Context, p lock.Passkey) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO portal_passkeys (`+passkeyCols+`) VALUES ($1, $2, $3, $4, $5, 0)`,
		p.ID, p.PersonID, p.Name, p.Credential, micros(p.CreatedAt))
	return s.wrap(err)
}

// Passkey implements lock.PortalStore.
func (s *Store) Passkey(ctx context.Context, id string) (lock.Passkey, error) {
	p, err := scanPasskey(s.db.QueryRowContext(ctx, `SELECT `+passkeyCols+` FROM portal_passkeys WHERE id = $1`, id))
	return p, s.wrap(err)
}

// Passkeys implements lock.PortalStore.
func (s *Store) Passkeys(ctx context.Context, personID string) ([]lock.Passkey, error) {
	ps, err := queryAll(ctx, s.db, scanPasskey, `SELECT `+passkeyCols+` FROM portal_passkeys WHERE person_id = $1 ORDER BY created_at`, personID)
	return ps, s.wrap(err)
}

// UpdatePasskey implements lock.PortalStore (the sign count and flags
// after a sign-in).
func (s *Store) UpdatePasskey(ctx context.Context, id, credential string, at time.Time) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `UPDATE portal_passkeys SET credential = $2, last_used_at = $3 WHERE id = $1`, id, credential, micros(at))))
}

// DeletePasskey implements lock.PortalStore.
func (s *Store) DeletePasskey(ctx context.Context, personID, id string) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `DELETE FROM portal_passkeys WHERE id = $1 AND person_id = $2`, id, personID)))
}

// --- enrolment links ---

const enrolCols = `id, hash, person_id, created_by, created_at, expires_at, used_at`

func scanEnrol(r scanner) (lock.EnrolLink, error) {
	var l lock.EnrolLink
	var c, e, u int64
	err := r.Scan(&l.ID, &l.Hash, &l.PersonID, &l.CreatedBy, &c, &e, &u)
	l.CreatedAt, l.ExpiresAt, l.UsedAt = fromMicros(c), fromMicros(e), fromMicros(u)
	return l, err
}

// CreateEnrolLink implements lock.PortalStore.
func (s *Store) CreateEnrolLink(ctx context.Context, l lock.EnrolLink) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO portal_enrol_links (`+enrolCols+`) VALUES ($1, $2, $3, $4, $5, $6, 0)`,
		l.ID, l.Hash, l.PersonID, l.CreatedBy, micros(l.CreatedAt), micros(l.ExpiresAt))
	return s.wrap(err)
}

// EnrolLinkByHash implements lock.PortalStore.
func (s *Store) EnrolLinkByHash(ctx context.Context, hash string) (lock.EnrolLink, error) {
	l, err := scanEnrol(s.db.QueryRowContext(ctx, `SELECT `+enrolCols+` FROM portal_enrol_links WHERE hash = $1`, hash))
	return l, s.wrap(err)
}

// UseEnrolLink implements lock.PortalStore.
func (s *Store) UseEnrolLink(ctx context.Context, hash string, now time.Time) (lock.EnrolLink, error) {
	l, err := scanEnrol(s.db.QueryRowContext(ctx, `UPDATE portal_enrol_links SET used_at = $2
		WHERE hash = $1 AND used_at = 0 AND expires_at > $2 RETURNING `+enrolCols, hash, micros(now)))
	return l, s.wrap(err)
}

// --- sessions ---

const sessionCols = `id, hash, kind, COALESCE(person_id, ''), COALESCE(token_id, ''), csrf, method, data, ip, user_agent, created_at, last_seen_at, expires_at, revoked_at`

func scanSession(r scanner) (lock.WebSession, error) {
	var w lock.WebSession
	var c, l, e, rv int64
	err := r.Scan(&w.ID, &w.Hash, &w.Kind, &w.PersonID, &w.TokenID, &w.CSRF, &w.Method, &w.Data, &w.IP, &w.UserAgent, &c, &l, &e, &rv)
	w.CreatedAt, w.LastSeenAt, w.ExpiresAt, w.RevokedAt = fromMicros(c), fromMicros(l), fromMicros(e), fromMicros(rv)
	return w, err
}

// CreateWebSession implements lock.PortalStore.
func (s *Store) CreateWebSession(ctx context.Context, w lock.WebSession) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO portal_sessions (id, hash, kind, person_id, token_id, csrf, method, data, ip, user_agent, created_at, last_seen_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0)`,
		w.ID, w.Hash, w.Kind, nullable(w.PersonID), nullable(w.TokenID), w.CSRF, w.Method, w.Data, w.IP, w.UserAgent,
		micros(w.CreatedAt), micros(w.LastSeenAt), micros(w.ExpiresAt))
	return s.wrap(err)
}

// WebSessionByHash implements lock.PortalStore.
func (s *Store) WebSessionByHash(ctx context.Context, hash string) (lock.WebSession, error) {
	w, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM portal_sessions WHERE hash = $1`, hash))
	return w, s.wrap(err)
}

// WebSessions implements lock.PortalStore: the active sessions of a kind,
// a person's when personID is set.
func (s *Store) WebSessions(ctx context.Context, kind, personID string, now time.Time) ([]lock.WebSession, error) {
	q := `SELECT ` + sessionCols + ` FROM portal_sessions WHERE kind = $1 AND revoked_at = 0 AND expires_at > $2`
	args := []any{kind, micros(now)}
	if personID != "" {
		q += ` AND person_id = $3`
		args = append(args, personID)
	}
	ws, err := queryAll(ctx, s.db, scanSession, q+` ORDER BY created_at DESC`, args...)
	return ws, s.wrap(err)
}

// TouchWebSession implements lock.PortalStore.
func (s *Store) TouchWebSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE portal_sessions SET last_seen_at = $2 WHERE id = $1`, id, micros(at))
	return s.wrap(err)
}

// SetWebSessionData implements lock.PortalStore.
func (s *Store) SetWebSessionData(ctx context.Context, id, data string) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `UPDATE portal_sessions SET data = $2 WHERE id = $1`, id, data)))
}

// RevokeWebSession implements lock.PortalStore.
func (s *Store) RevokeWebSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE portal_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0`, id, micros(at))
	return s.wrap(err)
}

// RevokeWebSessionsOf implements lock.PortalStore.
func (s *Store) RevokeWebSessionsOf(ctx context.Context, personID, except string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE portal_sessions SET revoked_at = $3 WHERE person_id = $1 AND id <> $2 AND revoked_at = 0`, personID, except, micros(at))
	return s.wrap(err)
}

// --- ceremonies ---

// PutChallenge implements lock.PortalStore.
func (s *Store) PutChallenge(ctx context.Context, id, data string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO portal_challenges (id, data, expires_at) VALUES ($1, $2, $3)`, id, data, micros(expires))
	return s.wrap(err)
}

// TakeChallenge implements lock.PortalStore: one DELETE … RETURNING, so
// of two uses of the same ceremony only one gets it.
func (s *Store) TakeChallenge(ctx context.Context, id string, now time.Time) (string, error) {
	var data string
	var exp int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM portal_challenges WHERE id = $1 RETURNING data, expires_at`, id).Scan(&data, &exp)
	if err != nil {
		return "", s.wrap(err)
	}
	if !now.Before(fromMicros(exp)) {
		return "", lock.ErrNotFound
	}
	return data, nil
}

// Expire implements lock.PortalStore. Revoked and expired sessions are
// kept a day, so that a person's list can say what ended.
func (s *Store) Expire(ctx context.Context, now time.Time) error {
	_, err1 := s.db.ExecContext(ctx, `DELETE FROM portal_challenges WHERE expires_at <= $1`, micros(now))
	_, err2 := s.db.ExecContext(ctx, `DELETE FROM portal_sessions WHERE expires_at <= $1 OR (revoked_at > 0 AND revoked_at <= $1)`, micros(now.Add(-24*time.Hour)))
	return s.wrap(errors.Join(err1, err2))
}

// --- alerts ---

// PutAlertEmail implements lock.PortalStore. A new address starts from
// the attempts made after it is set.
func (s *Store) PutAlertEmail(ctx context.Context, a lock.AlertEmail) error {
	en := 0
	if a.Enabled {
		en = 1
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO alert_emails (person_id, address, enabled, mailed_upto, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (person_id) DO UPDATE SET address = excluded.address, enabled = excluded.enabled, updated_at = excluded.updated_at,
		mailed_upto = CASE WHEN alert_emails.mailed_upto < excluded.mailed_upto THEN excluded.mailed_upto ELSE alert_emails.mailed_upto END`,
		a.PersonID, a.Address, en, a.Cursor, micros(a.UpdatedAt))
	return s.wrap(err)
}

func scanAlert(r scanner) (lock.AlertEmail, error) {
	var a lock.AlertEmail
	var en int
	var u int64
	err := r.Scan(&a.PersonID, &a.Address, &en, &a.Cursor, &u)
	a.Enabled, a.UpdatedAt = en != 0, fromMicros(u)
	return a, err
}

// AlertEmail implements lock.PortalStore.
func (s *Store) AlertEmail(ctx context.Context, personID string) (lock.AlertEmail, error) {
	a, err := scanAlert(s.db.QueryRowContext(ctx, `SELECT person_id, address, enabled, mailed_upto, updated_at FROM alert_emails WHERE person_id = $1`, personID))
	return a, s.wrap(err)
}

// EnabledAlertEmails implements lock.PortalStore.
func (s *Store) EnabledAlertEmails(ctx context.Context) ([]lock.AlertEmail, error) {
	as, err := queryAll(ctx, s.db, scanAlert, `SELECT person_id, address, enabled, mailed_upto, updated_at FROM alert_emails WHERE enabled = 1 ORDER BY person_id`)
	return as, s.wrap(err)
}

// SetAlertCursor implements lock.PortalStore.
func (s *Store) SetAlertCursor(ctx context.Context, personID, cursor string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alert_emails SET mailed_upto = $2 WHERE person_id = $1 AND mailed_upto < $2`, personID, cursor)
	return s.wrap(err)
}

// --- the console's views ---

// AllWebhooks implements lock.PortalStore: every webhook with a summary of
// its outbox.
func (s *Store) AllWebhooks(ctx context.Context) ([]lock.WebhookStatus, error) {
	ws, err := queryAll(ctx, s.db, func(r scanner) (lock.WebhookStatus, error) {
		var w lock.WebhookStatus
		var c, last int64
		err := r.Scan(&w.ID, &w.OwnerKind, &w.OwnerID, &w.URL, &c, &w.Pending, &w.Delivered, &w.Dead, &last, &w.LastError)
		w.CreatedAt, w.LastSuccess = fromMicros(c), fromMicros(last)
		return w, err
	}, `SELECT w.id, w.owner_kind, w.owner_id, w.url, w.created_at,
		COALESCE(SUM(CASE WHEN o.delivered_at = 0 AND o.dead = 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN o.delivered_at > 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN o.dead = 1 THEN 1 ELSE 0 END), 0),
		COALESCE(MAX(o.delivered_at), 0),
		COALESCE((SELECT last_error FROM outbox e WHERE e.webhook_id = w.id AND e.last_error <> '' ORDER BY e.id DESC LIMIT 1), '')
		FROM webhooks w LEFT JOIN outbox o ON o.webhook_id = w.id
		GROUP BY w.id, w.owner_kind, w.owner_id, w.url, w.created_at ORDER BY w.id`)
	return ws, s.wrap(err)
}

// --- unlock requests ---

// Attempt implements lock.UnlockRequestStore.
func (s *Store) Attempt(ctx context.Context, id string) (lock.Attempt, error) {
	var a lock.Attempt
	var at int64
	var locked int
	err := s.db.QueryRowContext(ctx, `SELECT id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, locked FROM attempts WHERE id = $1`, id).
		Scan(&a.ID, &at, &a.AppID, &a.AccountID, &a.Username, &a.UserIP, &a.UserDevice, &a.UserLocation, &a.IntegrationType, &locked)
	a.At, a.Locked = fromMicros(at), locked != 0
	return a, s.wrap(err)
}

const requestCols = `id, account_id, person_id, app_id, username, attempt_id, user_ip, user_device, user_location, state, created_at, expires_at, decided_at, decided_by, notified_at`

func scanRequest(r scanner) (lock.UnlockRequest, error) {
	var u lock.UnlockRequest
	var c, e, d, n int64
	err := r.Scan(&u.ID, &u.AccountID, &u.PersonID, &u.AppID, &u.Username, &u.AttemptID, &u.UserIP, &u.UserDevice, &u.UserLocation, &u.State, &c, &e, &d, &u.DecidedBy, &n)
	u.CreatedAt, u.ExpiresAt, u.DecidedAt, u.NotifiedAt = fromMicros(c), fromMicros(e), fromMicros(d), fromMicros(n)
	return u, err
}

// CreateUnlockRequest implements lock.UnlockRequestStore.
func (s *Store) CreateUnlockRequest(ctx context.Context, r lock.UnlockRequest) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO unlock_requests (`+requestCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, '', 0)`,
		r.ID, r.AccountID, r.PersonID, r.AppID, r.Username, r.AttemptID, r.UserIP, r.UserDevice, r.UserLocation, r.State, micros(r.CreatedAt), micros(r.ExpiresAt))
	return s.wrap(err)
}

// UnlockRequest implements lock.UnlockRequestStore.
func (s *Store) UnlockRequest(ctx context.Context, id string) (lock.UnlockRequest, error) {
	r, err := scanRequest(s.db.QueryRowContext(ctx, `SELECT `+requestCols+` FROM unlock_requests WHERE id = $1`, id))
	return r, s.wrap(err)
}

// PendingUnlockRequest implements lock.UnlockRequestStore.
func (s *Store) PendingUnlockRequest(ctx context.Context, accountID string, now time.Time) (lock.UnlockRequest, error) {
	r, err := scanRequest(s.db.QueryRowContext(ctx, `SELECT `+requestCols+` FROM unlock_requests
		WHERE account_id = $1 AND state = 'pending' AND expires_at > $2 ORDER BY id DESC LIMIT 1`, accountID, micros(now)))
	return r, s.wrap(err)
}

// UnlockRequests implements lock.UnlockRequestStore.
func (s *Store) UnlockRequests(ctx context.Context, personID string, limit int) ([]lock.UnlockRequest, error) {
	rs, err := queryAll(ctx, s.db, scanRequest, `SELECT `+requestCols+` FROM unlock_requests WHERE person_id = $1 ORDER BY id DESC LIMIT $2`, personID, limit)
	return rs, s.wrap(err)
}

// DecideUnlockRequest implements lock.UnlockRequestStore.
func (s *Store) DecideUnlockRequest(ctx context.Context, id, state, by string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE unlock_requests SET state = $2, decided_by = $3, decided_at = $4
		WHERE id = $1 AND state = 'pending' AND expires_at > $4`, id, state, by, micros(now))
	if err := mustAffect(res, err); errors.Is(err, lock.ErrNotFound) {
		return lock.ErrConflict
	} else if err != nil {
		return s.wrap(err)
	}
	return nil
}

// UnnotifiedUnlockRequests implements lock.UnlockRequestStore.
func (s *Store) UnnotifiedUnlockRequests(ctx context.Context, now time.Time, limit int) ([]lock.UnlockRequest, error) {
	rs, err := queryAll(ctx, s.db, scanRequest, `SELECT `+requestCols+` FROM unlock_requests
		WHERE state = 'pending' AND notified_at = 0 AND expires_at > $1 ORDER BY id LIMIT $2`, micros(now), limit)
	return rs, s.wrap(err)
}

// MarkUnlockRequestNotified implements lock.UnlockRequestStore.
func (s *Store) MarkUnlockRequestNotified(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE unlock_requests SET notified_at = $2 WHERE id = $1`, id, micros(at))
	return s.wrap(err)
}
