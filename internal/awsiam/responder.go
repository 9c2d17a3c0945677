package awsiam

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/lockgate/lockgate/internal/eventpattern"
	"github.com/lockgate/lockgate/lockclient"
)

// IAM is the part of the IAM API the responder uses; *iam.Client has it.
type IAM interface {
	GetUser(context.Context, *iam.GetUserInput, ...func(*iam.Options)) (*iam.GetUserOutput, error)
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	UpdateAccessKey(context.Context, *iam.UpdateAccessKeyInput, ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	PutUserPolicy(context.Context, *iam.PutUserPolicyInput, ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	DeleteUserPolicy(context.Context, *iam.DeleteUserPolicyInput, ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	AttachUserPolicy(context.Context, *iam.AttachUserPolicyInput, ...func(*iam.Options)) (*iam.AttachUserPolicyOutput, error)
	DetachUserPolicy(context.Context, *iam.DetachUserPolicyInput, ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)
	ListUserTags(context.Context, *iam.ListUserTagsInput, ...func(*iam.Options)) (*iam.ListUserTagsOutput, error)
	TagUser(context.Context, *iam.TagUserInput, ...func(*iam.Options)) (*iam.TagUserOutput, error)
	UntagUser(context.Context, *iam.UntagUserInput, ...func(*iam.Options)) (*iam.UntagUserOutput, error)
	DeleteLoginProfile(context.Context, *iam.DeleteLoginProfileInput, ...func(*iam.Options)) (*iam.DeleteLoginProfileOutput, error)
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(context.Context, *iam.DeleteRolePolicyInput, ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	ListRoleTags(context.Context, *iam.ListRoleTagsInput, ...func(*iam.Options)) (*iam.ListRoleTagsOutput, error)
	TagRole(context.Context, *iam.TagRoleInput, ...func(*iam.Options)) (*iam.TagRoleOutput, error)
}

// Checker asks the lock service; *lockclient.Client is one.
type Checker interface {
	Check(context.Context, lockclient.Request) (lockclient.Decision, error)
}

// Names the responder gives to what it creates. The two policy names are
// the seed integration's, so users it locked are recognised.
const (
	RevokePolicyName  = "AwsRevokeOlderSessions"
	DenyAllPolicyName = "DenyAllAccess"
	SessionPolicyName = "LockgateLockedSessions"
	tagState          = "lockgate:state"
	tagDecidedAt      = "lockgate:decided-at"
	tagKeys           = "lockgate:deactivated-keys"
	tagLockedAt       = "lockgate:locked-at"
	// maxSession bounds how long any role session lives (IAM's maximum
	// MaxSessionDuration): revoke entries older than this protect nothing.
	maxSession = 12 * time.Hour
)

// DenyAllDocument is the deny-all policy.
const DenyAllDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`

// RevokeDocument denies every request signed with temporary credentials
// issued before at. Long-term access keys carry no aws:TokenIssueTime, so
// it cannot touch them: those are deactivated instead.
func RevokeDocument(at time.Time) string {
	// Rounded up to the millisecond the format keeps, so no session
	// issued before the lock survives the rounding.
	cut := at.UTC().Truncate(time.Millisecond)
	if cut.Before(at) {
		cut = cut.Add(time.Millisecond)
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"` +
		cut.Format("2006-01-02T15:04:05.000Z") + `"}}}]}`
}

// Config is how the responder acts.
type Config struct {
	// DenyPolicyARN is the managed deny-all policy to attach; when the
	// user's managed-policy quota is full, or the ARN is empty, the inline
	// DenyAllAccess policy is used instead.
	DenyPolicyARN string
	// OnError is what a failed lock check does after retries: "lock"
	// (default, fail closed) or "keep" (change nothing). It never unlocks.
	OnError string
	// DeleteLoginProfile also removes the console password on lock (off by
	// default: it cannot be restored).
	DeleteLoginProfile bool
	// FallbackReactivate, for users locked by another tool (no lockgate
	// record), restores them as the seed meant to: remove the deny-all and
	// re-activate the most recently used access key.
	FallbackReactivate bool
	// Pattern selects the events to act on; DefaultPattern when nil.
	Pattern *eventpattern.Pattern
}

// DefaultPatternJSON is the seed's EventBridge rule (without its optional
// user-name list), widened from IAM users to assumed roles, which the
// responder also locks, and to root, whose sign-ins it reports as not
// lockable.
const DefaultPatternJSON = `{"source":["aws.signin"],"detail-type":["AWS Console Sign In via CloudTrail"],"detail":{"userIdentity":{"type":["IAMUser","AssumedRole","Root"]},"eventSource":["signin.amazonaws.com"],"eventName":["ConsoleLogin"],"responseElements":{"ConsoleLogin":["Success"]}}}`

// DefaultPattern is DefaultPatternJSON compiled.
var DefaultPattern = eventpattern.MustCompile(DefaultPatternJSON)

// Responder locks and restores IAM principals.
type Responder struct {
	IAM     IAM
	Checker Checker
	Config
	// Country maps the sign-in's IP to a country for the lock check.
	Country func(netip.Addr) string
	Now     func() time.Time
	Log     *slog.Logger
	// Report, when set, receives every outcome (for the lock service's
	// account history).
	Report func(context.Context, Outcome)
}

// Target is the principal to act on: an IAM user, or one person's
// session name on a role.
type Target struct {
	User        string `json:"user,omitempty"`
	Role        string `json:"role,omitempty"`
	RoleID      string `json:"role_id,omitempty"`
	SessionName string `json:"session,omitempty"`
}

func (t Target) String() string {
	if t.User != "" {
		return "user/" + t.User
	}
	return "role/" + t.Role + " session " + t.SessionName
}

// Outcome is what handling one event or change did.
type Outcome struct {
	EventID string   `json:"event_id,omitempty"`
	Target  Target   `json:"target"`
	Result  string   `json:"result"` // locked, unlocked, skipped, not-lockable, stale, failed
	Reason  string   `json:"reason,omitempty"`
	Actions []Action `json:"actions,omitempty"`
}

// Action is one IAM call and its result.
type Action struct {
	Op     string `json:"op"`
	Detail string `json:"detail,omitempty"`
	Error  string `json:"error,omitempty"`
}

func (r *Responder) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Responder) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// HandleEvent processes one EventBridge event (or CloudTrail record).
func (r *Responder) HandleEvent(ctx context.Context, data []byte) (Outcome, error) {
	s, err := ParseSignIn(data)
	if err != nil {
		return Outcome{Result: "skipped", Reason: err.Error()}, nil
	}
	out := Outcome{EventID: s.EventID}
	pattern := r.Pattern
	if pattern == nil {
		pattern = DefaultPattern
	}
	// Bare CloudTrail records have no envelope; match them as EventBridge
	// would have delivered them.
	ev := s.Raw
	if _, ok := ev["detail"]; !ok {
		ev = map[string]any{"source": "aws.signin", "detail-type": "AWS Console Sign In via CloudTrail", "detail": s.Raw}
	}
	if !pattern.MatchValue(ev) {
		out.Result, out.Reason = "skipped", "the event does not match the pattern"
		return r.finish(ctx, out, nil)
	}
	switch {
	case s.Type == "Root":
		out.Result, out.Reason = "not-lockable", "the root user's permissions cannot be restricted by IAM policies"
		return r.finish(ctx, out, nil)
	case s.Type == "IAMUser" && (s.UserName == "" || s.UserName == HiddenUserName):
		out.Result, out.Reason = "skipped", "no user name in the event"
		return r.finish(ctx, out, nil)
	case s.Type == "IAMUser":
		out.Target = Target{User: s.UserName}
	case s.Type == "AssumedRole" && s.RoleName != "" && s.SessionName != "":
		out.Target = Target{Role: s.RoleName, RoleID: s.RoleID, SessionName: s.SessionName}
	default:
		out.Result, out.Reason = "not-lockable", "principal type "+s.Type+" is not an IAM user or role session"
		return r.finish(ctx, out, nil)
	}
	req := lockclient.Request{
		Username:        s.Subject(),
		UserIP:          s.SourceIP,
		UserDevice:      s.UserAgent,
		IntegrationType: "awsiamuser",
		IntegrationData: map[string]any{"eventID": s.EventID, "arn": s.ARN, "accountId": s.Account, "awsRegion": s.Region, "userIdentityType": s.Type},
	}
	if ip, err := netip.ParseAddr(s.SourceIP); err == nil && r.Country != nil {
		req.UserLocation = r.Country(ip)
	}
	decision, err := r.Checker.Check(ctx, req)
	decidedAt := r.now()
	if err != nil {
		// Never restore access on a failed check: an attacker who can
		// break the check must not be able to lift a lock with it.
		r.log().Error("awsiam: lock check failed", "target", out.Target.String(), "err", err, "on_error", r.onError())
		if r.onError() == "keep" {
			out.Result, out.Reason = "failed", "lock check failed; on_error keep: nothing changed: "+err.Error()
			return r.finish(ctx, out, err)
		}
		out.Reason = "lock check failed; on_error lock: " + err.Error()
		return r.apply(ctx, out, true, decidedAt)
	}
	return r.apply(ctx, out, decision.Locked, decidedAt)
}

func (r *Responder) onError() string {
	if r.OnError == "keep" {
		return "keep"
	}
	return "lock"
}

// Apply sets a target's state directly, as a lock-changed push does.
// decidedAt orders decisions: one older than the last applied to the
// same target is ignored.
func (r *Responder) Apply(ctx context.Context, t Target, locked bool, decidedAt time.Time, reason string) (Outcome, error) {
	return r.apply(ctx, Outcome{Target: t, Reason: reason}, locked, decidedAt.UTC())
}

func (r *Responder) apply(ctx context.Context, out Outcome, locked bool, decidedAt time.Time) (Outcome, error) {
	var err error
	if out.Target.User != "" {
		err = r.applyUser(ctx, &out, locked, decidedAt)
	} else {
		err = r.applySession(ctx, &out, locked, decidedAt)
	}
	return r.finish(ctx, out, err)
}

func (r *Responder) finish(ctx context.Context, out Outcome, err error) (Outcome, error) {
	attrs := []any{"event", out.EventID, "target", out.Target.String(), "result", out.Result, "reason", out.Reason}
	for _, a := range out.Actions {
		attrs = append(attrs, slog.Group("action", "op", a.Op, "detail", a.Detail, "error", a.Error))
	}
	if err != nil {
		r.log().Error("awsiam: responder", append(attrs, "err", err)...)
	} else {
		r.log().Info("awsiam: responder", attrs...)
	}
	if r.Report != nil && out.Result != "skipped" {
		r.Report(ctx, out)
	}
	return out, err
}

// step records one IAM call; ok lists error codes that count as success
// (NoSuchEntity when removing what is already gone).
func (out *Outcome) step(op, detail string, err error, ok ...string) error {
	a := Action{Op: op, Detail: detail}
	if err != nil && !slices.Contains(ok, errorCode(err)) {
		a.Error = err.Error()
		out.Actions = append(out.Actions, a)
		return err
	}
	if err != nil {
		a.Detail += " (" + errorCode(err) + ": already so)"
	}
	out.Actions = append(out.Actions, a)
	return nil
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// --- IAM users ---

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

// stale reports whether a decision made at decidedAt is older than the
// one recorded in tags, and must not undo it.
func stale(tags map[string]string, decidedAt time.Time) bool {
	prev, err := time.Parse(time.RFC3339Nano, tags[tagDecidedAt])
	return err == nil && decidedAt.Before(prev)
}

func (r *Responder) applyUser(ctx context.Context, out *Outcome, locked bool, decidedAt time.Time) error {
	user := out.Target.User
	tags, err := r.userTags(ctx, user)
	if err != nil {
		out.Result = "failed"
		return out.step("ListUserTags", user, err)
	}
	if stale(tags, decidedAt) {
		out.Result = "stale"
		out.Reason = "a newer decision (" + tags[tagDecidedAt] + ") was already applied"
		return nil
	}
	if locked {
		return r.lockUser(ctx, out, tags, decidedAt)
	}
	return r.unlockUser(ctx, out, tags, decidedAt)
}

func (r *Responder) lockUser(ctx context.Context, out *Outcome, tags map[string]string, at time.Time) error {
	user := out.Target.User
	var errs []error
	// Deny everything first: it stops keys and sessions alike at once.
	denied := false
	if r.DenyPolicyARN != "" {
		_, err := r.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &user, PolicyArn: &r.DenyPolicyARN})
		if err == nil {
			denied = true
			out.step("AttachUserPolicy", r.DenyPolicyARN, nil)
		} else if errorCode(err) != "LimitExceeded" {
			errs = append(errs, out.step("AttachUserPolicy", r.DenyPolicyARN, err))
		} else {
			out.step("AttachUserPolicy", r.DenyPolicyARN+" (quota full: inline instead)", nil)
		}
	}
	if !denied {
		_, err := r.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: aws.String(DenyAllPolicyName), PolicyDocument: aws.String(DenyAllDocument)})
		if e := out.step("PutUserPolicy", DenyAllPolicyName, err); e != nil {
			errs = append(errs, e)
		}
	}
	// Dated now, at the lock, not when the process started: sessions
	// issued between a warm start and the lock must not survive.
	_, err := r.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: aws.String(RevokePolicyName), PolicyDocument: aws.String(RevokeDocument(at))})
	if e := out.step("PutUserPolicy", RevokePolicyName+" before "+at.Format(time.RFC3339), err); e != nil {
		errs = append(errs, e)
	}
	keys, err := r.accessKeys(ctx, user)
	if e := out.step("ListAccessKeys", user, err); e != nil {
		errs = append(errs, e)
	}
	// Record which keys lockgate deactivates before deactivating them, so
	// an unlock restores exactly those and never one an administrator
	// disabled.
	recorded := splitKeys(tags[tagKeys])
	var active []string
	for _, k := range keys {
		if k.Status == types.StatusTypeActive {
			active = append(active, aws.ToString(k.AccessKeyId))
		}
	}
	all := union(recorded, active)
	newTags := map[string]string{tagState: "locked", tagDecidedAt: at.Format(time.RFC3339Nano), tagLockedAt: at.Format(time.RFC3339)}
	if len(all) > 0 {
		newTags[tagKeys] = strings.Join(all, ",")
	}
	_, err = r.IAM.TagUser(ctx, &iam.TagUserInput{UserName: &user, Tags: tagList(newTags)})
	if e := out.step("TagUser", "record the keys to deactivate: "+strings.Join(active, ","), err); e != nil {
		// Without the record an unlock could not tell our keys from an
		// administrator's: keep them active rather than lose track, but
		// the deny-all still stands.
		errs = append(errs, e)
		active = nil
	}
	for _, id := range active {
		_, err := r.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &user, AccessKeyId: aws.String(id), Status: types.StatusTypeInactive})
		if e := out.step("UpdateAccessKey", id+" Inactive", err); e != nil {
			errs = append(errs, e)
		}
	}
	if r.DeleteLoginProfile {
		_, err := r.IAM.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: &user})
		if e := out.step("DeleteLoginProfile", user, err, "NoSuchEntity"); e != nil {
			errs = append(errs, e)
		}
	}
	out.Result = "locked"
	if err := errors.Join(errs...); err != nil {
		out.Result = "failed"
		return err
	}
	return nil
}

func (r *Responder) unlockUser(ctx context.Context, out *Outcome, tags map[string]string, at time.Time) error {
	user := out.Target.User
	ours := tags[tagState] != ""
	if !ours && !r.FallbackReactivate {
		out.Result = "unlocked"
		out.Reason = "lockgate has not locked this user; nothing to restore"
		return nil
	}
	var errs []error
	if r.DenyPolicyARN != "" {
		_, err := r.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &user, PolicyArn: &r.DenyPolicyARN})
		if e := out.step("DetachUserPolicy", r.DenyPolicyARN, err, "NoSuchEntity"); e != nil {
			errs = append(errs, e)
		}
	}
	_, err := r.IAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &user, PolicyName: aws.String(DenyAllPolicyName)})
	if e := out.step("DeleteUserPolicy", DenyAllPolicyName, err, "NoSuchEntity"); e != nil {
		errs = append(errs, e)
	}
	// AwsRevokeOlderSessions stays: removing it would revive the sessions
	// issued before the lock.
	keys, err := r.accessKeys(ctx, user)
	if e := out.step("ListAccessKeys", user, err); e != nil {
		errs = append(errs, e)
	}
	var reactivate []string
	if ours {
		for _, id := range splitKeys(tags[tagKeys]) {
			for _, k := range keys {
				if aws.ToString(k.AccessKeyId) == id && k.Status == types.StatusTypeInactive {
					reactivate = append(reactivate, id)
				}
			}
		}
	} else if id, err := r.mostRecentlyUsed(ctx, keys); err != nil {
		errs = append(errs, out.step("GetAccessKeyLastUsed", user, err))
	} else if id != "" {
		reactivate = []string{id}
	}
	for _, id := range reactivate {
		_, err := r.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &user, AccessKeyId: aws.String(id), Status: types.StatusTypeActive})
		if e := out.step("UpdateAccessKey", id+" Active", err); e != nil {
			errs = append(errs, e)
		}
	}
	if len(errs) == 0 {
		if _, err := r.IAM.UntagUser(ctx, &iam.UntagUserInput{UserName: &user, TagKeys: []string{tagKeys, tagLockedAt}}); err != nil {
			errs = append(errs, out.step("UntagUser", tagKeys, err))
		}
	}
	_, err = r.IAM.TagUser(ctx, &iam.TagUserInput{UserName: &user, Tags: tagList(map[string]string{tagState: "unlocked", tagDecidedAt: at.Format(time.RFC3339Nano)})})
	if e := out.step("TagUser", "unlocked", err); e != nil {
		errs = append(errs, e)
	}
	out.Result = "unlocked"
	if err := errors.Join(errs...); err != nil {
		out.Result = "failed"
		return err
	}
	return nil
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

func splitKeys(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func tagList(m map[string]string) []types.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, len(keys))
	for i, k := range keys {
		out[i] = types.Tag{Key: aws.String(k), Value: aws.String(m[k])}
	}
	return out
}
