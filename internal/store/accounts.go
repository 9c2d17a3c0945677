package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

func scanPerson(r scanner) (lock.Person, error) {
	var p lock.Person
	var c int64
	err := r.Scan(&p.ID, &p.Name, &p.Email, &c)
	p.CreatedAt = fromMicros(c)
	return p, err
}

// CreatePerson implements lock.Store.
func (s *Store) CreatePerson(ctx context.Context, p lock.Person) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO persons (id, name, email, created_at) VALUES ($1, $2, $3, $4)`, p.ID, p.Name, p.Email, micros(p.CreatedAt))
	return s.wrap(err)
}

// Person implements lock.Store.
func (s *Store) Person(ctx context.Context, id string) (lock.Person, error) {
	p, err := scanPerson(s.db.QueryRowContext(ctx, `SELECT id, name, email, created_at FROM persons WHERE id = $1`, id))
	return p, s.wrap(err)
}

// Persons implements lock.Store.
func (s *Store) Persons(ctx context.Context) ([]lock.Person, error) {
	return queryAll(ctx, s.db, scanPerson, `SELECT id, name, email, created_at FROM persons ORDER BY id`)
}

// DeletePerson implements lock.Store.
func (s *Store) DeletePerson(ctx context.Context, id string, at time.Time) error {
	// Its accounts lose their owner (ON DELETE SET NULL): every cached
	// account may have changed. Its tokens are revoked at at and kept
	// without a person, instead of going with it (ON DELETE CASCADE).
	return s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET person_id = NULL, revoked_at = CASE WHEN revoked_at = 0 THEN $2 ELSE revoked_at END WHERE person_id = $1`, id, micros(at)); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE owner_kind = 'person' AND owner_id = $1`, id); err != nil {
			return nil, err
		}
		return [][2]string{{"", ""}}, mustAffect(tx.ExecContext(ctx, `DELETE FROM persons WHERE id = $1`, id))
	})
}

const accountCols = `id, app_id, username, username_key, COALESCE(person_id, ''), state, unlock_until, version, created_at, updated_at`

func scanAccount(r scanner) (lock.Account, error) {
	var a lock.Account
	var until, c, u int64
	err := r.Scan(&a.ID, &a.AppID, &a.Username, &a.Key, &a.PersonID, &a.State, &until, &a.Version, &c, &u)
	a.UnlockUntil, a.CreatedAt, a.UpdatedAt = fromMicros(until), fromMicros(c), fromMicros(u)
	return a, err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateAccount implements lock.Store.
func (s *Store) CreateAccount(ctx context.Context, a lock.Account) error {
	key := a.Key
	if key == "" {
		key = a.Username
	}
	return s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		if err := s.sharedApp(ctx, tx, a.AppID, a.Username, key); err != nil {
			return nil, err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, app_id, username, username_key, person_id, state, unlock_until, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.ID, a.AppID, a.Username, key, nullable(a.PersonID), a.State, micros(a.UnlockUntil), a.Version, micros(a.CreatedAt), micros(a.UpdatedAt))
		return [][2]string{{a.AppID, key}}, err
	})
}

// Account implements lock.Store: the account of appID whose canonical
// key is key.
func (s *Store) Account(ctx context.Context, appID, key string) (lock.Account, error) {
	a, err := scanAccount(s.account.QueryRowContext(ctx, appID, key))
	return a, s.wrap(err)
}

// AccountByID implements lock.Store.
func (s *Store) AccountByID(ctx context.Context, id string) (lock.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	return a, s.wrap(err)
}

// Accounts implements lock.Store.
func (s *Store) Accounts(ctx context.Context, appID, personID string) ([]lock.Account, error) {
	return queryAll(ctx, s.db, scanAccount, `SELECT `+accountCols+` FROM accounts WHERE ($1 = '' OR app_id = $1) AND ($2 = '' OR person_id = $2) ORDER BY app_id, username`, appID, personID)
}

// SetAccountOwner implements lock.Store.
func (s *Store) SetAccountOwner(ctx context.Context, accountID, personID string) error {
	return s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		var app, key string
		err := tx.QueryRowContext(ctx, `UPDATE accounts SET person_id = $2 WHERE id = $1 RETURNING app_id, username_key`, accountID, nullable(personID)).Scan(&app, &key)
		return [][2]string{{app, key}}, err
	})
}

// DueRelocks implements lock.Store.
func (s *Store) DueRelocks(ctx context.Context, now time.Time, limit int) ([]lock.Account, error) {
	return queryAll(ctx, s.db, scanAccount, `SELECT `+accountCols+` FROM accounts WHERE unlock_until > 0 AND unlock_until <= $1 ORDER BY unlock_until LIMIT $2`, micros(now), limit)
}

// ApplyLockChanges sets each account to its change's state, appends the
// changes to history and queues the events, all in one transaction. A
// change whose account version moved since it was read fails the whole
// call with ErrConflict.
func (s *Store) ApplyLockChanges(ctx context.Context, changes []lock.AccountChange, events []lock.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.applyLockChanges(ctx, tx, changes, events) })
}

func (s *Store) applyLockChanges(ctx context.Context, tx *sql.Tx, changes []lock.AccountChange, events []lock.Event) error {
	{
		for _, c := range changes {
			a := c.Account
			res, err := tx.ExecContext(ctx, `UPDATE accounts SET state = $3, unlock_until = $4, updated_at = $5, version = version + 1 WHERE id = $1 AND version = $2`,
				a.ID, a.Version, a.State, micros(a.UnlockUntil), micros(a.UpdatedAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return fmt.Errorf("%w: account %s changed meanwhile", lock.ErrConflict, a.ID)
			}
			ch := c.Change
			var until int64
			if ch.UnlockUntil != nil {
				until = micros(*ch.UnlockUntil)
			}
			// seq is the version this change gave the account: the
			// guarded UPDATE above holds the account's row, so seqs follow
			// the order changes commit in, whatever the replicas' clocks.
			if _, err := tx.ExecContext(ctx, `INSERT INTO lock_changes (id, account_id, app_id, username, from_state, to_state, unlock_until, actor, actor_ip, reason, at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				ch.ID, ch.AccountID, ch.AppID, ch.Username, ch.From, ch.To, until, ch.Actor, ch.ActorIP, ch.Reason, micros(ch.At), a.Version+1); err != nil {
				return err
			}
		}
		return s.dialect.insertEvents(ctx, tx, events)
	}
}

// LockHistory implements lock.Store: newest first in the order the
// changes committed (seq); changes from before seq was kept have 0 and
// come last, by ID (their time) as before.
func (s *Store) LockHistory(ctx context.Context, accountID string, limit int) ([]lock.LockChange, error) {
	return queryAll(ctx, s.db, func(r scanner) (lock.LockChange, error) {
		var c lock.LockChange
		var until, at int64
		err := r.Scan(&c.ID, &c.AccountID, &c.AppID, &c.Username, &c.From, &c.To, &until, &c.Actor, &c.ActorIP, &c.Reason, &at)
		if until != 0 {
			u := fromMicros(until)
			c.UnlockUntil = &u
		}
		c.At = fromMicros(at)
		return c, err
	}, `SELECT id, account_id, app_id, username, from_state, to_state, unlock_until, actor, actor_ip, reason, at FROM lock_changes WHERE account_id = $1 ORDER BY seq DESC, id DESC LIMIT $2`, accountID, limit)
}

// ChangeLocks implements lock.Store. On PostgreSQL the accounts are read
// FOR UPDATE, in ID order so that two changes of overlapping sets cannot
// deadlock; SQLite's write transaction (BEGIN IMMEDIATE) already excludes
// every other writer.
func (s *Store) ChangeLocks(ctx context.Context, ids []string, plan func([]lock.Account) ([]lock.AccountChange, []lock.Event, error)) error {
	if len(ids) == 0 {
		return nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	return s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		args := make([]any, len(sorted))
		ph := make([]string, len(sorted))
		for i, id := range sorted {
			args[i], ph[i] = id, "$"+strconv.Itoa(i+1)
		}
		q := `SELECT ` + accountCols + ` FROM accounts WHERE id IN (` + strings.Join(ph, ", ") + `) ORDER BY id`
		if s.dialect.name == "postgres" {
			q += ` FOR UPDATE`
		}
		accs, err := queryAll(ctx, tx, scanAccount, q, args...)
		if err != nil {
			return nil, err
		}
		changes, events, err := plan(accs)
		if err != nil {
			return nil, err
		}
		changed := make([][2]string, len(changes))
		for i, c := range changes {
			changed[i] = [2]string{c.Account.AppID, c.Account.Key}
		}
		return changed, s.applyLockChanges(ctx, tx, changes, events)
	})
}

// DeleteAccount implements lock.Store.
func (s *Store) DeleteAccount(ctx context.Context, a lock.Account) error {
	return s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = $1 AND version = $2`, a.ID, a.Version)
		if err != nil {
			return nil, err
		}
		return [][2]string{{a.AppID, a.Key}}, changedSince(ctx, tx, res, a.ID)
	})
}

// RenameAccount implements lock.Store. The old and the new key are both
// announced: either may be cached (the new one as unknown).
func (s *Store) RenameAccount(ctx context.Context, a, renamed lock.Account) error {
	return s.changedIn(ctx, func(tx *sql.Tx) ([][2]string, error) {
		if err := s.sharedApp(ctx, tx, a.AppID, renamed.Username, renamed.Key); err != nil {
			return nil, err
		}
		// updated_at never goes back (a replica's clock may be behind the
		// last change's): the next lock change is recorded after it.
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET username = $3, username_key = $4, updated_at = CASE WHEN updated_at > $5 THEN updated_at ELSE $5 END, version = version + 1 WHERE id = $1 AND version = $2`,
			a.ID, a.Version, renamed.Username, renamed.Key, micros(renamed.UpdatedAt))
		if err != nil {
			return nil, err
		}
		return [][2]string{{a.AppID, a.Key}, {a.AppID, renamed.Key}}, changedSince(ctx, tx, res, a.ID)
	})
}

// changedSince turns a guarded write that touched no row into
// ErrNotFound (the account is gone) or ErrConflict (it changed since it
// was read).
func changedSince(ctx context.Context, tx *sql.Tx, res sql.Result, id string) error {
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = $1`, id).Scan(&one); err != nil {
		return err // sql.ErrNoRows: not found
	}
	return fmt.Errorf("%w: the account changed meanwhile; read it again", lock.ErrConflict)
}
