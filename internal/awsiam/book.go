package awsiam

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/lockgate/lockgate/lockclient"
)

// SessionBook keeps the role sessions each person was seen on, where
// every responder — the Lambda function, lockgate serve — can read them,
// so that a lock pushed by the lock service reaches a role session whose
// sign-in another process handled.
type SessionBook interface {
	// Remember records that t.SessionName signed in through t.Role.
	Remember(ctx context.Context, t Target) error
	// Sessions lists the role sessions person was seen on.
	Sessions(ctx context.Context, person string) ([]Target, error)
}

// SourceRoleSession is the integration-event source under which role
// sessions are recorded in the lock service's store.
const SourceRoleSession = "aws-iam-role-session"

// Source is the integration-event source of the responder's outcomes.
const Source = "aws-iam-responder"

// LockServiceBook keeps role sessions in the lock service's store, as
// integration events of the person's account: POST
// /api/v1/integration-events to record one, GET to read them. Each
// (role, person) is recorded once.
type LockServiceBook struct {
	Client *lockclient.Client
}

// Remember implements SessionBook.
func (b LockServiceBook) Remember(ctx context.Context, t Target) error {
	known, err := b.Sessions(ctx, t.SessionName)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(known, func(k Target) bool { return k.Role == t.Role && k.RoleID == t.RoleID }) {
		return nil
	}
	return b.Client.Report(ctx, t.SessionName, SourceRoleSession, t)
}

// maxSessionsRead bounds how many recorded sessions of one person are
// read: one per role the person signed in through.
const maxSessionsRead = 200

// Sessions implements SessionBook.
func (b LockServiceBook) Sessions(ctx context.Context, person string) ([]Target, error) {
	evs, err := b.Client.Events(ctx, person, SourceRoleSession, maxSessionsRead)
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, e := range evs {
		var t Target
		if err := json.Unmarshal(e.Detail, &t); err != nil || t.Role == "" || t.SessionName != person {
			return nil, fmt.Errorf("awsiam: integration event %s is not a role session: %s", e.ID, e.Detail)
		}
		if !slices.ContainsFunc(out, func(k Target) bool { return k.Role == t.Role && k.RoleID == t.RoleID }) {
			out = append(out, t)
		}
	}
	return out, nil
}
