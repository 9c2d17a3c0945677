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
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// A role is shared: locking it would lock everyone who uses it. For one
// person's session (aws:userid "ROLEID:session-name") the responder keeps
// entries in one inline role policy:
//
//   - L<hash>: Deny everything to that person while locked;
//   - R<hash>: Deny that person's sessions issued before the lock, kept
//     after an unlock (as for users) until no such session can be alive.

// sessionEntry is one person's lines in the role policy.
type sessionEntry struct {
	userID   string
	locked   bool
	revokeAt time.Time // zero: none
}

// roleInlineBudget is IAM's quota for all inline policies of a role,
// white space not counted.
const roleInlineBudget = 10240

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
		if e.locked {
			stmts = append(stmts, stmt{Sid: "L" + h, Effect: "Deny", Action: "*", Resource: "*",
				Condition: map[string]any{"StringEquals": map[string]string{"aws:userid": id}}})
		}
		if !e.revokeAt.IsZero() {
			stmts = append(stmts, stmt{Sid: "R" + h, Effect: "Deny", Action: "*", Resource: "*",
				Condition: map[string]any{"StringEquals": map[string]string{"aws:userid": id}, "DateLessThan": map[string]string{"aws:TokenIssueTime": e.revokeAt.UTC().Format(time.RFC3339)}}})
		}
	}
	if len(stmts) == 0 {
		return ""
	}
	data, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	return string(data)
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
			e.locked = true
		case strings.HasPrefix(s.Sid, "R"):
			t, err := time.Parse(time.RFC3339, s.Condition["DateLessThan"]["aws:TokenIssueTime"])
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

// roleTag is where a session's last decision time is kept on the role.
func roleTag(userID string) string { return "lockgate:" + hashID(userID) }

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
		out.Result = "failed"
		return err
	}
	userID := roleID + ":" + out.Target.SessionName
	// Decision order is kept in a role tag per person.
	tags := map[string]string{}
	p := iam.NewListRoleTagsPaginator(r.IAM, &iam.ListRoleTagsInput{RoleName: &roleName})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			out.Result = "failed"
			return out.step("ListRoleTags", roleName, err)
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	if prev, err := time.Parse(time.RFC3339Nano, tags[roleTag(userID)]); err == nil && at.Before(prev) {
		out.Result, out.Reason = "stale", "a newer decision ("+tags[roleTag(userID)]+") was already applied"
		return nil
	}
	cur, err := r.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &roleName, PolicyName: aws.String(SessionPolicyName)})
	doc := ""
	switch {
	case err == nil:
		// IAM returns policy documents URL-encoded.
		if doc, err = url.QueryUnescape(aws.ToString(cur.PolicyDocument)); err != nil {
			out.Result = "failed"
			return out.step("GetRolePolicy", SessionPolicyName, err)
		}
	case errorCode(err) == "NoSuchEntity":
	default:
		out.Result = "failed"
		return out.step("GetRolePolicy", SessionPolicyName, err)
	}
	entries, err := parseSessions(doc)
	if err != nil {
		out.Result = "failed"
		return out.step("GetRolePolicy", SessionPolicyName, err)
	}
	e := entries[userID]
	if e == nil {
		e = &sessionEntry{userID: userID}
		entries[userID] = e
	}
	if locked {
		e.locked = true
		e.revokeAt = at.Truncate(time.Second).Add(time.Second) // covers sessions issued up to now
	} else {
		e.locked = false
	}
	// Revoke entries older than the longest session protect nothing.
	for id, x := range entries {
		if !x.locked && (x.revokeAt.IsZero() || at.Sub(x.revokeAt) > maxSession) {
			delete(entries, id)
		}
	}
	newDoc := renderSessions(entries)
	if policySize(newDoc) > roleInlineBudget {
		out.Result = "failed"
		return out.step("PutRolePolicy", SessionPolicyName, errors.New("the role's inline policy budget is full: too many locked people on this role"))
	}
	if newDoc == "" {
		_, err = r.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &roleName, PolicyName: aws.String(SessionPolicyName)})
		err = out.step("DeleteRolePolicy", SessionPolicyName, err, "NoSuchEntity")
	} else {
		_, err = r.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &roleName, PolicyName: aws.String(SessionPolicyName), PolicyDocument: &newDoc})
		err = out.step("PutRolePolicy", fmt.Sprintf("%s for %s locked=%v", SessionPolicyName, userID, locked), err)
	}
	if err != nil {
		out.Result = "failed"
		if errorCode(err) == "LimitExceeded" {
			out.Reason = "the role's inline policies are over IAM's size quota"
		}
		return err
	}
	_, err = r.IAM.TagRole(ctx, &iam.TagRoleInput{RoleName: &roleName, Tags: []types.Tag{{Key: aws.String(roleTag(userID)), Value: aws.String(at.Format(time.RFC3339Nano))}}})
	if err := out.step("TagRole", roleTag(userID), err); err != nil {
		out.Result = "failed"
		return err
	}
	out.Result = "unlocked"
	if locked {
		out.Result = "locked"
	}
	return nil
}
