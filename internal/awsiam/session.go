package awsiam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// A role is shared: locking it would lock everyone who uses it. For one
// person's sessions (aws:userid "ROLEID:session-name") the responder
// keeps entries in the role's one inline policy LockgateLockedSessions,
// and nothing else on the role:
//
//   - L<hash>T<ms>: deny everything to the person while locked; the Sid
//     carries the lock's decision time (Unix milliseconds), which orders
//     later decisions;
//   - R<hash>: after an unlock, deny the person's sessions issued before
//     it, until no such session can be alive (12 hours).
//
// People who are not locked, and were not unlocked in the last 12 hours,
// have no entry: a role with any number of people signing in keeps only
// its locked people, and an unlocked sign-in writes nothing.
const SessionPolicyName = "LockgateLockedSessions"

// maxSession bounds how long any role session lives (IAM's maximum
// MaxSessionDuration): revoke entries older than this protect nothing.
const maxSession = 12 * time.Hour

// roleInlineBudget is IAM's quota for all inline policies of a role,
// white space not counted.
const roleInlineBudget = 10240

// sessionEntry is one person's lines in the role policy.
type sessionEntry struct {
	userID   string
	lockedAt time.Time // zero: not locked
	revokeAt time.Time // zero: none
}

func hashID(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return hex.EncodeToString(sum[:6])
}

type stmt struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Action    string         `json:"Action"`
	Resource  string         `json:"Resource"`
	Condition map[string]any `json:"Condition"`
}

func renderSessions(entries map[string]*sessionEntry) string {
	ids := make([]string, 0, len(entries))
	for id := range entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var stmts []stmt
	for _, id := range ids {
		e := entries[id]
		h := hashID(id)
		if !e.lockedAt.IsZero() {
			stmts = append(stmts, stmt{Sid: "L" + h + "T" + strconv.FormatInt(e.lockedAt.UnixMilli(), 10), Effect: "Deny", Action: "*", Resource: "*",
				Condition: map[string]any{"StringEquals": map[string]string{"aws:userid": id}}})
		}
		if !e.revokeAt.IsZero() {
			stmts = append(stmts, stmt{Sid: "R" + h, Effect: "Deny", Action: "*", Resource: "*",
				Condition: map[string]any{"StringEquals": map[string]string{"aws:userid": id}, "DateLessThan": map[string]string{"aws:TokenIssueTime": e.revokeAt.UTC().Format(timeFormat)}}})
		}
	}
	if len(stmts) == 0 {
		return ""
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	return strings.TrimSuffix(b.String(), "\n")
}

func parseSessions(doc string) (map[string]*sessionEntry, error) {
	entries := map[string]*sessionEntry{}
	if doc == "" {
		return entries, nil
	}
	var p struct {
		Statement []struct {
			Sid       string                       `json:"Sid"`
			Condition map[string]map[string]string `json:"Condition"`
		} `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("%s is not lockgate's document: %w", SessionPolicyName, err)
	}
	for _, s := range p.Statement {
		id := s.Condition["StringEquals"]["aws:userid"]
		if id == "" {
			continue
		}
		e := entries[id]
		if e == nil {
			e = &sessionEntry{userID: id}
			entries[id] = e
		}
		switch {
		case strings.HasPrefix(s.Sid, "L"):
			// Entries of earlier versions carry no time: locked since the
			// epoch.
			var ms int64 = 1
			if i := strings.LastIndexByte(s.Sid, 'T'); i > 0 {
				if v, err := strconv.ParseInt(s.Sid[i+1:], 10, 64); err == nil && v > 0 {
					ms = v
				}
			}
			e.lockedAt = time.UnixMilli(ms).UTC()
		case strings.HasPrefix(s.Sid, "R"):
			t, err := time.Parse(time.RFC3339Nano, s.Condition["DateLessThan"]["aws:TokenIssueTime"])
			if err != nil {
				return nil, fmt.Errorf("%s: statement %s: %w", SessionPolicyName, s.Sid, err)
			}
			e.revokeAt = t
		}
	}
	return entries, nil
}

func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func (r *Responder) roleID(ctx context.Context, out *Outcome) (string, error) {
	if out.Target.RoleID != "" {
		return out.Target.RoleID, nil
	}
	role, err := r.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: &out.Target.Role})
	if err := out.step("GetRole", out.Target.Role, err); err != nil {
		return "", err
	}
	out.Target.RoleID = aws.ToString(role.Role.RoleId)
	return out.Target.RoleID, nil
}

func (r *Responder) applySession(ctx context.Context, out *Outcome, locked bool, at time.Time) error {
	roleName := out.Target.Role
	roleID, err := r.roleID(ctx, out)
	if err != nil {
		return err
	}
	userID := roleID + ":" + out.Target.SessionName
	// One change at a time per role in this process: the policy is read,
	// changed and written whole.
	unlock := r.lockRole(roleName)
	defer unlock()
	cur, err := r.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &roleName, PolicyName: aws.String(SessionPolicyName)})
	doc := ""
	switch {
	case err == nil:
		// IAM returns policy documents URL-encoded (RFC 3986).
		if doc, err = url.PathUnescape(aws.ToString(cur.PolicyDocument)); err != nil {
			return out.step("GetRolePolicy", SessionPolicyName, err)
		}
	case errorCode(err) == "NoSuchEntity":
	default:
		return out.step("GetRolePolicy", SessionPolicyName, err)
	}
	entries, err := parseSessions(doc)
	if err != nil {
		return out.step("GetRolePolicy", SessionPolicyName, err)
	}
	e := entries[userID]
	if e == nil {
		e = &sessionEntry{userID: userID}
	}
	switch {
	case !e.lockedAt.IsZero() && at.Before(e.lockedAt):
		out.Result, out.Reason = "stale", join(out.Reason, "a newer decision (locked at "+e.lockedAt.Format(timeFormat)+") is in force")
		return nil
	case locked && e.lockedAt.IsZero() && at.Before(e.revokeAt):
		out.Result, out.Reason = "stale", join(out.Reason, "a newer decision (unlocked at "+e.revokeAt.Format(timeFormat)+") is in force")
		return nil
	}
	out.Result = "unlocked"
	if locked {
		out.Result = "locked"
	}
	changed := false
	switch {
	case locked && e.lockedAt.IsZero():
		// Locked: everything is denied, the revoke entry is not needed
		// until the unlock writes it anew.
		e.lockedAt, e.revokeAt, changed = at.Truncate(time.Millisecond), time.Time{}, true
	case locked:
		out.Reason = join(out.Reason, "already locked at "+e.lockedAt.Format(timeFormat))
	case !e.lockedAt.IsZero():
		// Sessions begun before the unlock, while locked included, stay
		// ended.
		e.lockedAt, e.revokeAt, changed = time.Time{}, ceilMilli(at), true
	default:
		out.Reason = join(out.Reason, "not locked; nothing to change")
	}
	if changed {
		entries[userID] = e
	}
	// Revoke entries older than the longest session protect nothing.
	dropped := 0
	now := r.now()
	for id, x := range entries {
		if x.lockedAt.IsZero() && (x.revokeAt.IsZero() || now.Sub(x.revokeAt) > maxSession) {
			delete(entries, id)
			dropped++
		}
	}
	if !changed && dropped == 0 {
		return nil
	}
	newDoc := renderSessions(entries)
	if size := policySize(newDoc); size > roleInlineBudget {
		locked := 0
		for _, x := range entries {
			if !x.lockedAt.IsZero() {
				locked++
			}
		}
		out.Reason = join(out.Reason, fmt.Sprintf("the role's inline policy would hold %d characters, over IAM's 10,240: too many people locked on this role (%d)", size, locked))
		return out.step("PutRolePolicy", SessionPolicyName, errors.New("the role's inline policy budget is full"))
	}
	detail := fmt.Sprintf("%s: %s locked=%v", SessionPolicyName, userID, locked)
	if dropped > 0 {
		detail += fmt.Sprintf(", %d expired revoke entries dropped", dropped)
	}
	if newDoc == "" {
		_, err = r.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &roleName, PolicyName: aws.String(SessionPolicyName)})
		err = out.step("DeleteRolePolicy", detail, err, "NoSuchEntity")
	} else {
		_, err = r.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &roleName, PolicyName: aws.String(SessionPolicyName), PolicyDocument: &newDoc})
		err = out.step("PutRolePolicy", detail, err)
	}
	if err != nil {
		if errorCode(err) == "LimitExceeded" {
			out.Reason = join(out.Reason, "the role's inline policies are over IAM's size quota")
		}
		return err
	}
	out.Changed = changed
	return nil
}

// lockRole serializes the changes to one role's policy in this process.
func (r *Responder) lockRole(role string) (unlock func()) {
	r.mu.Lock()
	if r.roles == nil {
		r.roles = map[string]*roleLock{}
	}
	l := r.roles[role]
	if l == nil {
		l = &roleLock{}
		r.roles[role] = l
	}
	l.users++
	r.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		r.mu.Lock()
		if l.users--; l.users == 0 {
			delete(r.roles, role)
		}
		r.mu.Unlock()
	}
}

type roleLock struct {
	sync.Mutex
	users int
}
