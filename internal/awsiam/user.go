package awsiam

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// What the responder keeps on an IAM user, and only while it is locked
// (userlock.go):
//
//   - lockgate:locked = the time of the decision that locked it (orders
//     later decisions: an older unlock arriving late is ignored), then
//     markers: "deny=kept" when a deny-all was there before the lock,
//     "login=deleted" when the lock deleted the console password;
//   - lockgate:deactivated-key-1, -2 = the ids of the keys lockgate
//     deactivated, one a tag (IAM tag values allow no comma, and a user
//     has at most two keys).
//
// All of it is written before anything else changes; when the user's
// tags are full it goes to the lock service's ledger instead. On unlock
// the record goes, and the user is as it was before the lock but for the
// inline AwsRevokeOlderSessions policy, dated at the unlock: it ends
// every session begun before it, those begun while the user was locked
// included, and its date orders a lock arriving late.
const (
	RevokePolicyName  = "AwsRevokeOlderSessions"
	DenyAllPolicyName = "DenyAllAccess"
	tagLocked         = "lockgate:locked"
	tagKeyPrefix      = "lockgate:deactivated-key-"
	// Tags of earlier lockgate versions, still read and removed.
	legacyState     = "lockgate:state"
	legacyDecidedAt = "lockgate:decided-at"
	legacyKeys      = "lockgate:deactivated-keys"
	legacyLockedAt  = "lockgate:locked-at"
)

// DenyAllDocument is the deny-all policy.
const DenyAllDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`

// timeFormat is how the responder writes times into tags and policies:
// UTC, milliseconds, the characters IAM's tag and policy patterns allow.
const timeFormat = "2006-01-02T15:04:05.000Z"

// ceilMilli rounds t up to the millisecond timeFormat keeps, so that a
// revoke date covers every session issued up to t.
func ceilMilli(t time.Time) time.Time {
	c := t.UTC().Truncate(time.Millisecond)
	if c.Before(t) {
		c = c.Add(time.Millisecond)
	}
	return c
}

// RevokeDocument denies every request signed with temporary credentials
// issued before at. Long-term access keys carry no aws:TokenIssueTime, so
// it cannot touch them: those are deactivated instead.
func RevokeDocument(at time.Time) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"` +
		ceilMilli(at).Format(timeFormat) + `"}}}]}`
}

var revokeDate = regexp.MustCompile(`"aws:TokenIssueTime"\s*:\s*"([^"]+)"`)

// revokedBefore reads the date of a revoke document; zero when it has
// none.
func revokedBefore(doc string) time.Time {
	m := revokeDate.FindStringSubmatch(doc)
	if m == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		return time.Time{}
	}
	return t
}

func (r *Responder) userTags(ctx context.Context, user string) (map[string]string, error) {
	tags := map[string]string{}
	p := iam.NewListUserTagsPaginator(r.IAM, &iam.ListUserTagsInput{UserName: &user})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

func (r *Responder) accessKeys(ctx context.Context, user string) ([]types.AccessKeyMetadata, error) {
	var keys []types.AccessKeyMetadata
	// Every page, and every key of each page: the seed looked only at the
	// first key of each page and missed a user's second key.
	p := iam.NewListAccessKeysPaginator(r.IAM, &iam.ListAccessKeysInput{UserName: &user})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		keys = append(keys, page.AccessKeyMetadata...)
	}
	return keys, nil
}

// inlinePolicy reads a user's inline policy; "" when there is none.
func (r *Responder) inlinePolicy(ctx context.Context, out *Outcome, user, name string) (string, bool, error) {
	got, err := r.IAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &user, PolicyName: &name})
	if errorCode(err) == "NoSuchEntity" {
		return "", false, nil
	}
	if err != nil {
		return "", false, out.step("GetUserPolicy", name, err)
	}
	// IAM returns policy documents URL-encoded (RFC 3986: "+" stays
	// "%2B", so PathUnescape, which leaves "+" alone).
	doc, err := url.PathUnescape(aws.ToString(got.PolicyDocument))
	if err != nil {
		return "", false, out.step("GetUserPolicy", name, err)
	}
	return doc, true, nil
}

func (r *Responder) denyAttached(ctx context.Context, user string) (bool, error) {
	p := iam.NewListAttachedUserPoliciesPaginator(r.IAM, &iam.ListAttachedUserPoliciesInput{UserName: &user})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, err
		}
		for _, a := range page.AttachedPolicies {
			if r.DenyPolicyARN != "" && aws.ToString(a.PolicyArn) == r.DenyPolicyARN {
				return true, nil
			}
		}
	}
	return false, nil
}

// ensureDeny attaches the managed deny-all (or, when the user's quota of
// managed policies is full or no ARN is set, puts the inline one) unless
// one is in place.
func (r *Responder) ensureDeny(ctx context.Context, out *Outcome, user string) error {
	if r.DenyPolicyARN != "" {
		attached, err := r.denyAttached(ctx, user)
		if err != nil {
			return out.step("ListAttachedUserPolicies", user, err)
		}
		if attached {
			out.step("ListAttachedUserPolicies", r.DenyPolicyARN+" attached", nil)
			return nil
		}
	}
	if _, has, err := r.inlinePolicy(ctx, out, user, DenyAllPolicyName); err != nil {
		return err
	} else if has {
		out.step("GetUserPolicy", DenyAllPolicyName+" in place", nil)
		return nil
	}
	if r.DenyPolicyARN != "" {
		_, err := r.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &user, PolicyArn: &r.DenyPolicyARN})
		if err == nil || errorCode(err) != "LimitExceeded" {
			return out.write("AttachUserPolicy", r.DenyPolicyARN, err)
		}
		out.step("AttachUserPolicy", r.DenyPolicyARN+" (managed-policy quota full: inline instead)", nil)
	}
	_, err := r.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: aws.String(DenyAllPolicyName), PolicyDocument: aws.String(DenyAllDocument)})
	return out.write("PutUserPolicy", DenyAllPolicyName, err)
}

func (r *Responder) removeDeny(ctx context.Context, out *Outcome, user string) []error {
	var errs []error
	if r.DenyPolicyARN != "" {
		_, err := r.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &user, PolicyArn: &r.DenyPolicyARN})
		if e := out.write("DetachUserPolicy", r.DenyPolicyARN, err, "NoSuchEntity"); e != nil {
			errs = append(errs, e)
		}
	}
	_, err := r.IAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &user, PolicyName: aws.String(DenyAllPolicyName)})
	if e := out.write("DeleteUserPolicy", DenyAllPolicyName, err, "NoSuchEntity"); e != nil {
		errs = append(errs, e)
	}
	return errs
}

// fallbackRestore restores a user another tool locked (no lockgate
// record), as the seed meant to: remove the deny-all and re-activate the
// most recently used key.
func (r *Responder) fallbackRestore(ctx context.Context, out *Outcome, at time.Time) error {
	user := out.Target.User
	// Only a user some tool denied everything is restored: an unlocked
	// sign-in of anyone else changes nothing.
	denied := false
	if r.DenyPolicyARN != "" {
		attached, err := r.denyAttached(ctx, user)
		if err != nil {
			return out.step("ListAttachedUserPolicies", user, err)
		}
		denied = attached
	}
	if !denied {
		_, has, err := r.inlinePolicy(ctx, out, user, DenyAllPolicyName)
		if err != nil {
			return err
		}
		denied = has
	}
	if !denied {
		out.Result = "unlocked"
		out.Reason = join(out.Reason, "the user is not denied; nothing to restore")
		return nil
	}
	_, err := r.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: aws.String(RevokePolicyName), PolicyDocument: aws.String(RevokeDocument(at))})
	if err := out.write("PutUserPolicy", RevokePolicyName+" before "+ceilMilli(at).Format(timeFormat), err); err != nil {
		return err
	}
	errs := r.removeDeny(ctx, out, user)
	keys, err := r.accessKeys(ctx, user)
	if e := out.step("ListAccessKeys", user, err); e != nil {
		return errors.Join(append(errs, e)...)
	}
	id, err := r.mostRecentlyUsed(ctx, keys)
	if err != nil {
		errs = append(errs, out.step("GetAccessKeyLastUsed", user, err))
	} else if id != "" {
		_, err := r.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &user, AccessKeyId: aws.String(id), Status: types.StatusTypeActive})
		if e := out.write("UpdateAccessKey", id+" Active", err); e != nil {
			errs = append(errs, e)
		}
	}
	out.Result = "unlocked"
	return errors.Join(errs...)
}

// mostRecentlyUsed picks the inactive key used last; never-used keys come
// after every used one. (The seed sorted ascending and took the first:
// the least recently used.)
func (r *Responder) mostRecentlyUsed(ctx context.Context, keys []types.AccessKeyMetadata) (string, error) {
	type used struct {
		id   string
		last time.Time
	}
	var cands []used
	for _, k := range keys {
		if k.Status != types.StatusTypeInactive {
			continue
		}
		out, err := r.IAM.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
		if err != nil {
			return "", err
		}
		u := used{id: aws.ToString(k.AccessKeyId)}
		if out.AccessKeyLastUsed != nil && out.AccessKeyLastUsed.LastUsedDate != nil {
			u.last = *out.AccessKeyLastUsed.LastUsedDate
		}
		cands = append(cands, u)
	}
	if len(cands) == 0 {
		return "", nil
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].last.After(cands[j].last) })
	return cands[0].id, nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
