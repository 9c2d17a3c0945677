package awsiam

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

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

// UserLedger keeps an IAM user's lock record where no IAM quota can
// refuse it: used when the user's 50 tags are full, so that a lock never
// leaves a deny-all it cannot account for.
type UserLedger interface {
	// RecordUser records rec as the user's latest record.
	RecordUser(ctx context.Context, rec UserRecord) error
	// UserRecord reads the user's latest record; false when none.
	UserRecord(ctx context.Context, user string) (UserRecord, bool, error)
}

// UserRecord is a lock of an IAM user as lockgate applied it.
type UserRecord struct {
	User   string    `json:"user"`
	Locked bool      `json:"locked"`
	At     time.Time `json:"at"`
	Keys   []string  `json:"keys,omitempty"`
	// DenyKept: a deny-all was in place before the lock; the unlock
	// leaves it.
	DenyKept bool `json:"deny_kept,omitempty"`
	// LoginDeleted: the lock deleted the console password.
	LoginDeleted bool `json:"login_deleted,omitempty"`
}

// SourceUserRecord is the integration-event source of user records.
const SourceUserRecord = "aws-iam-user-record"

// RecordUser implements UserLedger.
func (b LockServiceBook) RecordUser(ctx context.Context, rec UserRecord) error {
	return b.Client.Report(ctx, rec.User, SourceUserRecord, rec)
}

// UserRecord implements UserLedger: the newest record is in force.
func (b LockServiceBook) UserRecord(ctx context.Context, user string) (UserRecord, bool, error) {
	evs, err := b.Client.Events(ctx, user, SourceUserRecord, 1)
	if err != nil || len(evs) == 0 {
		return UserRecord{}, false, err
	}
	var rec UserRecord
	if err := json.Unmarshal(evs[0].Detail, &rec); err != nil || rec.User != user {
		return UserRecord{}, false, fmt.Errorf("awsiam: integration event %s is not a record of user %s: %s", evs[0].ID, user, evs[0].Detail)
	}
	return rec, true, nil
}
