package awsiam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
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
//     it, until no such session can be alive (12 hours);
//   - RM: revocations folded together when the exact R entries do not
//     fit: the people's sessions issued before the latest of their
//     unlocks are denied (some of them sign in once more);
//   - RW: when even RM does not fit, every session of the role issued
//     before that date is denied, as the IAM console's "Revoke active
//     sessions" does: everyone signs in once more.
//
// A lock never fails for lack of room taken by revocations: they are
// folded first. Only more people locked at once than the budget holds
// fail, with that reason. People who are not locked, and were not
// unlocked in the last 12 hours, have no entry: a role with any number of
// people signing in keeps only its locked people, and an unlocked sign-in
// writes nothing.
const SessionPolicyName = "LockgateLockedSessions"

// maxSession bounds how long any role session lives (IAM's maximum
// MaxSessionDuration): revoke entries older than this protect nothing.
const maxSession = 12 * time.Hour

// roleInlineBudget is IAM's quota for all inline policies of a role,
// white space not counted.
const roleInlineBudget = 10240

// Sids of the folded revocations.
const (
	sidFolded    = "RM"
	sidWholeRole = "RW"
)

// sessionEntry is one person's lines in the role policy.
type sessionEntry struct {
	userID   string
	lockedAt time.Time // zero: not locked
	revokeAt time.Time // zero: none
}

// foldedRevoke is the RM or RW statement: sessions issued before before
// are denied to ids (RM) or to everyone on the role (RW, wide).
type foldedRevoke struct {
	ids    []string
	before time.Time
	wide   bool
}

// sessionPolicy is the whole of LockgateLockedSessions.
type sessionPolicy struct {
	entries map[string]*sessionEntry
	folded  *foldedRevoke // nil: none
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

// render writes the policy; roleID names the role's sessions for RW.
func (p *sessionPolicy) render(roleID string) string {
	ids := make([]string, 0, len(p.entries))
	for id := range p.entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var stmts []stmt
	for _, id := range ids {
		e := p.entries[id]
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
	if f := p.folded; f != nil {
		before := map[string]string{"aws:TokenIssueTime": f.before.UTC().Format(timeFormat)}
		if f.wide {
			stmts = append(stmts, stmt{Sid: sidWholeRole, Effect: "Deny", Action: "*", Resource: "*",
				Condition: map[string]any{"StringLike": map[string]string{"aws:userid": roleID + ":*"}, "DateLessThan": before}})
		} else {
			stmts = append(stmts, stmt{Sid: sidFolded, Effect: "Deny", Action: "*", Resource: "*",
				Condition: map[string]any{"StringEquals": map[string][]string{"aws:userid": f.ids}, "DateLessThan": before}})
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

// fit renders the policy within budget characters: the exact revocations
// are folded, oldest first, into RM, and RM into RW, before a lock could
// be refused. It reports how many were folded; an error only when the
// locks alone do not fit.
func (p *sessionPolicy) fit(roleID string, budget int) (string, int, error) {
	doc := p.render(roleID)
	if policySize(doc) <= budget {
		return doc, 0, nil
	}
	var rs []*sessionEntry
	for _, e := range p.entries {
		if !e.revokeAt.IsZero() {
			rs = append(rs, e)
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		if !rs[i].revokeAt.Equal(rs[j].revokeAt) {
			return rs[i].revokeAt.Before(rs[j].revokeAt)
		}
		return rs[i].userID < rs[j].userID
	})
	folded := 0
	for _, e := range rs {
		p.fold(e)
		folded++
		if doc = p.render(roleID); policySize(doc) <= budget {
			return doc, folded, nil
		}
	}
	if p.folded != nil && !p.folded.wide {
		p.folded.wide, p.folded.ids = true, nil
		if doc = p.render(roleID); policySize(doc) <= budget {
			return doc, folded, nil
		}
	}
	return doc, folded, errBudget
}

var errBudget = errors.New("the role's inline policy budget is full")

// fold moves e's exact revocation into the folded statement.
func (p *sessionPolicy) fold(e *sessionEntry) {
	if p.folded == nil {
		p.folded = &foldedRevoke{}
	}
	f := p.folded
	if e.revokeAt.After(f.before) {
		f.before = e.revokeAt
	}
	if !f.wide && !slices.Contains(f.ids, e.userID) {
		f.ids = append(f.ids, e.userID)
		sort.Strings(f.ids)
	}
	e.revokeAt = time.Time{}
	if e.lockedAt.IsZero() {
		delete(p.entries, e.userID)
	}
}

// stringOrList reads a condition value IAM allows as a string or a list.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

func parseSessions(doc string) (*sessionPolicy, error) {
	p := &sessionPolicy{entries: map[string]*sessionEntry{}}
	if doc == "" {
		return p, nil
	}
	var d struct {
		Statement []struct {
			Sid       string                             `json:"Sid"`
			Condition map[string]map[string]stringOrList `json:"Condition"`
		} `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("%s is not lockgate's document: %w", SessionPolicyName, err)
	}
	for _, s := range d.Statement {
		if s.Sid == sidFolded || s.Sid == sidWholeRole {
			before := s.Condition["DateLessThan"]["aws:TokenIssueTime"]
			if len(before) != 1 {
				return nil, fmt.Errorf("%s: statement %s: no aws:TokenIssueTime", SessionPolicyName, s.Sid)
			}
			t, err := time.Parse(time.RFC3339Nano, before[0])
			if err != nil {
				return nil, fmt.Errorf("%s: statement %s: %w", SessionPolicyName, s.Sid, err)
			}
			f := &foldedRevoke{before: t.UTC(), wide: s.Sid == sidWholeRole}
			if !f.wide {
				f.ids = slices.Compact(slices.Sorted(slices.Values(s.Condition["StringEquals"]["aws:userid"])))
				if len(f.ids) == 0 {
					continue
				}
			}
			p.folded = f
			continue
		}
		ids := s.Condition["StringEquals"]["aws:userid"]
		if len(ids) != 1 || ids[0] == "" {
			continue
		}
		id := ids[0]
		e := p.entries[id]
		if e == nil {
			e = &sessionEntry{userID: id}
			p.entries[id] = e
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
			before := s.Condition["DateLessThan"]["aws:TokenIssueTime"]
			if len(before) != 1 {
				return nil, fmt.Errorf("%s: statement %s: no aws:TokenIssueTime", SessionPolicyName, s.Sid)
			}
			t, err := time.Parse(time.RFC3339Nano, before[0])
			if err != nil {
				return nil, fmt.Errorf("%s: statement %s: %w", SessionPolicyName, s.Sid, err)
			}
			e.revokeAt = t
		}
	}
	for id, e := range p.entries {
		if e.lockedAt.IsZero() && e.revokeAt.IsZero() {
			delete(p.entries, id)
		}
	}
	return p, nil
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
	pol, err := parseSessions(doc)
	if err != nil {
		return out.step("GetRolePolicy", SessionPolicyName, err)
	}
	entries := pol.entries
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
	if pol.folded != nil && now.Sub(pol.folded.before) > maxSession {
		pol.folded = nil
		dropped++
	}
	if !changed && dropped == 0 {
		return nil
	}
	newDoc, folded, err := pol.fit(roleID, roleInlineBudget)
	if err != nil {
		out.Reason = join(out.Reason, fmt.Sprintf("the role's inline policy would hold %d characters, over IAM's 10,240: too many people locked on this role (%d)", policySize(newDoc), pol.locked()))
		return out.step("PutRolePolicy", SessionPolicyName, err)
	}
	detail := fmt.Sprintf("%s: %s locked=%v", SessionPolicyName, userID, locked)
	if dropped > 0 {
		detail += fmt.Sprintf(", %d expired revoke entries dropped", dropped)
	}
	if folded > 0 {
		detail += fmt.Sprintf(", %d revoke entries folded to fit IAM's 10,240 characters", folded)
	}
	err = r.putSessions(ctx, out, roleName, newDoc, detail)
	if errorCode(err) == "LimitExceeded" {
		// The role's own inline policies take part of the budget: write
		// the most compact form, every revocation folded, so that the
		// lock still fits if anything can.
		if compact, _, _ := pol.fit(roleID, 0); compact != newDoc {
			err = r.putSessions(ctx, out, roleName, compact, fmt.Sprintf("%s, every revoke entry folded: the role's other inline policies take part of IAM's 10,240 characters", detail))
		}
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

// putSessions writes (or, when empty, deletes) the role policy.
func (r *Responder) putSessions(ctx context.Context, out *Outcome, roleName, doc, detail string) error {
	if doc == "" {
		_, err := r.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &roleName, PolicyName: aws.String(SessionPolicyName)})
		return out.step("DeleteRolePolicy", detail, err, "NoSuchEntity")
	}
	_, err := r.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &roleName, PolicyName: aws.String(SessionPolicyName), PolicyDocument: &doc})
	return out.step("PutRolePolicy", detail, err)
}

func (p *sessionPolicy) locked() int {
	n := 0
	for _, x := range p.entries {
		if !x.lockedAt.IsZero() {
			n++
		}
	}
	return n
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
