package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/lockgate/lockgate/internal/authz"
)

// GroupPolicies is the store as the authorizer's group policy store.
func (s *Store) GroupPolicies() authz.Store { return groupPolicies{s} }

// groupPolicies implements authz.Store on the authz_groups table.
type groupPolicies struct{ s *Store }

func (g groupPolicies) GroupPolicy(ctx context.Context, group string) (authz.GroupPolicy, error) {
	var p authz.GroupPolicy
	var doc string
	var at int64
	err := g.s.db.QueryRowContext(ctx, `SELECT name, policy, updated_at FROM authz_groups WHERE name = $1`, group).Scan(&p.Group, &doc, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, authz.ErrGroupNotFound
	}
	p.Policy, p.UpdatedAt = json.RawMessage(doc), fromMicros(at)
	return p, err
}

func (g groupPolicies) GroupPolicies(ctx context.Context) ([]authz.GroupPolicy, error) {
	rows, err := g.s.db.QueryContext(ctx, `SELECT name, policy, updated_at FROM authz_groups ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []authz.GroupPolicy{}
	for rows.Next() {
		var p authz.GroupPolicy
		var doc string
		var at int64
		if err := rows.Scan(&p.Group, &doc, &at); err != nil {
			return nil, err
		}
		p.Policy, p.UpdatedAt = json.RawMessage(doc), fromMicros(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (g groupPolicies) PutGroupPolicy(ctx context.Context, p authz.GroupPolicy) error {
	_, err := g.s.db.ExecContext(ctx, `INSERT INTO authz_groups (name, policy, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at`, p.Group, string(p.Policy), micros(p.UpdatedAt))
	return err
}

func (g groupPolicies) DeleteGroupPolicy(ctx context.Context, group string) error {
	res, err := g.s.db.ExecContext(ctx, `DELETE FROM authz_groups WHERE name = $1`, group)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return authz.ErrGroupNotFound
	}
	return nil
}
