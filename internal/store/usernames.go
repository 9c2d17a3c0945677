package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/lockgate/lockgate/internal/lock"
)

// UsernameCollision is an application that kept exact username matching
// at migration because some of its accounts would have become one.
type UsernameCollision struct {
	AppID      string           `json:"app_id"`
	Collisions []lock.Collision `json:"collisions"`
}

// collisionsMeta is the meta row the migration's report is kept in.
const collisionsMeta = "username_collisions"

// canonicaliseUsernames is migration 4's Go step: it gives every account
// its caseless key, except in applications where two accounts would get
// the same one. Those keep exact matching (each account its own name as
// key), and the report says which accounts collide: an admin resolves
// them, then switches the application to caseless. Nothing is merged.
// Account events are re-keyed the same way.
func canonicaliseUsernames(ctx context.Context, tx *sql.Tx, s *Store) error {
	accs, err := queryAll(ctx, tx, func(r scanner) (lock.Account, error) {
		var a lock.Account
		err := r.Scan(&a.ID, &a.AppID, &a.Username)
		return a, err
	}, `SELECT id, app_id, username FROM accounts ORDER BY app_id, id`)
	if err != nil {
		return err
	}
	byApp := map[string][]lock.Account{}
	var apps []string
	for _, a := range accs {
		if len(byApp[a.AppID]) == 0 {
			apps = append(apps, a.AppID)
		}
		byApp[a.AppID] = append(byApp[a.AppID], a)
	}
	var report []UsernameCollision
	for _, app := range apps {
		m := lock.MatchCaseless
		if cs := lock.Collisions(lock.MatchCaseless, byApp[app]); len(cs) > 0 {
			m = lock.MatchExact
			report = append(report, UsernameCollision{AppID: app, Collisions: cs})
			if _, err := tx.ExecContext(ctx, `UPDATE applications SET username_match = $2 WHERE id = $1`, app, string(m)); err != nil {
				return err
			}
		}
		for _, a := range byApp[app] {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET username_key = $2 WHERE id = $1`, a.ID, lock.CanonicalUsername(m, a.Username)); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE UNIQUE INDEX accounts_key ON accounts(app_id, username_key)`); err != nil {
		return err
	}
	// Account events name the account as the integration sent it.
	type ev struct{ id, app, name string }
	evs, err := queryAll(ctx, tx, func(r scanner) (ev, error) {
		var e ev
		err := r.Scan(&e.id, &e.app, &e.name)
		return e, err
	}, `SELECT e.id, e.app_id, e.username FROM account_events e JOIN applications a ON a.id = e.app_id WHERE a.username_match = 'caseless'`)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if k := lock.CanonicalUsername(lock.MatchCaseless, e.name); k != e.name {
			if _, err := tx.ExecContext(ctx, `UPDATE account_events SET username = $2 WHERE id = $1`, e.id, k); err != nil {
				return err
			}
		}
	}
	if len(report) == 0 {
		return nil
	}
	data, err := json.Marshal(report)
	if err != nil {
		return err
	}
	s.collisions = report
	_, err = tx.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ($1, $2)`, collisionsMeta, string(data))
	return err
}

// MigrationCollisions returns the applications the username migration
// kept on exact matching, when this Open ran it (nil otherwise). The
// report stays in the meta table as "username_collisions".
func (s *Store) MigrationCollisions() []UsernameCollision { return s.collisions }
