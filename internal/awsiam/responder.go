package awsiam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/lockgate/lockgate/internal/eventpattern"
	"github.com/lockgate/lockgate/lockclient"
)

// IAM is the part of the IAM API the responder uses; *iam.Client has it.
// The deployment's role grants exactly these actions (deploy/aws checks).
type IAM interface {
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	UpdateAccessKey(context.Context, *iam.UpdateAccessKeyInput, ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	PutUserPolicy(context.Context, *iam.PutUserPolicyInput, ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	GetUserPolicy(context.Context, *iam.GetUserPolicyInput, ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	DeleteUserPolicy(context.Context, *iam.DeleteUserPolicyInput, ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	AttachUserPolicy(context.Context, *iam.AttachUserPolicyInput, ...func(*iam.Options)) (*iam.AttachUserPolicyOutput, error)
	DetachUserPolicy(context.Context, *iam.DetachUserPolicyInput, ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)
	ListAttachedUserPolicies(context.Context, *iam.ListAttachedUserPoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
	ListUserTags(context.Context, *iam.ListUserTagsInput, ...func(*iam.Options)) (*iam.ListUserTagsOutput, error)
	TagUser(context.Context, *iam.TagUserInput, ...func(*iam.Options)) (*iam.TagUserOutput, error)
	UntagUser(context.Context, *iam.UntagUserInput, ...func(*iam.Options)) (*iam.UntagUserOutput, error)
	DeleteLoginProfile(context.Context, *iam.DeleteLoginProfileInput, ...func(*iam.Options)) (*iam.DeleteLoginProfileOutput, error)
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(context.Context, *iam.DeleteRolePolicyInput, ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
}

// Checker asks the lock service; *lockclient.Client is one.
type Checker interface {
	Check(context.Context, lockclient.Request) (lockclient.Decision, error)
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
	// Deadline bounds the handling of one event or change, lock check
	// included (DefaultDeadline when zero). Under a context with an
	// earlier deadline (Lambda's function timeout) it ends reserve before
	// that one, so the outcome is still logged and reported.
	Deadline time.Duration
}

// Defaults of the time bounds.
const (
	DefaultCallTimeout = 3 * time.Second
	DefaultDeadline    = 25 * time.Second
	// reserve is kept from the caller's deadline to record the role
	// session, report and answer after the work is cut off; each of the
	// two calls to the lock service then has tail.
	reserve = 4 * time.Second
	tail    = 1500 * time.Millisecond
)

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
	// Sessions records the role sessions each person was seen on, so that
	// a lock pushed by the lock service reaches them; nil records nothing.
	Sessions SessionBook
	// Ledger keeps an IAM user's lock record when IAM cannot (the user's
	// tags are full); nil: such a lock is applied but not recorded, and
	// its unlock is left to an administrator.
	Ledger UserLedger
	// Country maps the sign-in's IP to a country for the lock check.
	Country func(netip.Addr) string
	Now     func() time.Time
	Log     *slog.Logger
	// Report, when set, receives every outcome (for the lock service's
	// account history).
	Report func(context.Context, Outcome)

	mu    sync.Mutex
	roles map[string]*roleLock
}

// Target is the principal to act on: an IAM user, one person's session
// name on a role, or the account's root user (reported, never acted on).
type Target struct {
	User        string `json:"user,omitempty"`
	Role        string `json:"role,omitempty"`
	RoleID      string `json:"role_id,omitempty"`
	SessionName string `json:"session,omitempty"`
	Root        string `json:"root,omitempty"` // the root user's ARN
}

func (t Target) String() string {
	switch {
	case t.User != "":
		return "user/" + t.User
	case t.Root != "":
		return t.Root
	case t.Role != "":
		return "role/" + t.Role + " session " + t.SessionName
	}
	return "nobody"
}

// subject is the name the lock service knows the target by: the IAM user
// name, the role session name, or for root its ARN (no IAM user or
// session name can hold a colon, so it names no other account).
func (t Target) subject() string {
	switch {
	case t.User != "":
		return t.User
	case t.SessionName != "":
		return t.SessionName
	}
	return t.Root
}

// Outcome is what handling one event or change did.
type Outcome struct {
	EventID string `json:"event_id,omitempty"`
	Target  Target `json:"target"`
	Result  string `json:"result"` // locked, unlocked, skipped, not-lockable, stale, failed
	// Changed says whether IAM was changed: false when the decision was
	// already in force (a repeated decision changes nothing).
	Changed bool     `json:"changed"`
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

// bound gives ctx the event's deadline: Deadline from now, or reserve
// before the caller's own deadline when that comes first.
func (r *Responder) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	d := r.Deadline
	if d <= 0 {
		d = DefaultDeadline
	}
	end := time.Now().Add(d)
	cause := fmt.Errorf("the event's deadline (event_deadline %s) passed", d)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-reserve).Before(end) {
		end = dl.Add(-reserve)
		cause = fmt.Errorf("the event's deadline, %s before the caller's (the Lambda function's timeout), passed", reserve)
	}
	return context.WithDeadlineCause(ctx, end, cause)
}

// HandleEvent processes one EventBridge event (or CloudTrail record).
// A non-nil error asks the caller to deliver the event again (Lambda's
// retries, EventBridge's for API destinations): handling is idempotent.
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
		out.Target = Target{Root: rootARN(s)}
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
	work, cancel := r.bound(ctx)
	defer cancel()
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
	// The check may use half of the time: a failed one still leaves
	// time to lock.
	checkCtx, cancelCheck := context.WithTimeout(work, remaining(work)/2)
	decision, err := r.Checker.Check(checkCtx, req)
	cancelCheck()
	decidedAt := r.now()
	var stepErr error
	if err != nil {
		// Never restore access on a failed check: an attacker who can
		// break the check must not be able to lift a lock with it.
		r.log().Error("awsiam: lock check failed", "target", out.Target.String(), "err", err, "on_error", r.onError())
		if r.onError() == "keep" {
			out.Result, out.Reason = "failed", "lock check failed; on_error keep: nothing changed: "+err.Error()
			return r.finish(ctx, out, err)
		}
		out.Reason = "lock check failed; on_error lock: " + err.Error()
		stepErr = r.apply(work, &out, true, decidedAt)
	} else {
		stepErr = r.apply(work, &out, decision.Locked, decidedAt)
	}
	if out.Target.SessionName != "" && r.Sessions != nil {
		if err := r.remember(ctx, &out); err != nil {
			stepErr = errors.Join(stepErr, err)
		}
	}
	return r.finish(ctx, out, stepErr)
}

func remaining(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return DefaultDeadline
}

// rootARN is the root user's ARN from the event (or built from its
// account).
func rootARN(s SignIn) string {
	if s.ARN != "" {
		return s.ARN
	}
	return "arn:aws:iam::" + s.Account + ":root"
}

func (r *Responder) onError() string {
	if r.OnError == "keep" {
		return "keep"
	}
	return "lock"
}

// Apply sets a target's state directly, as a lock-changed push does.
// decidedAt orders decisions: one older than the state in force is
// ignored ("stale").
func (r *Responder) Apply(ctx context.Context, t Target, locked bool, decidedAt time.Time, reason string) (Outcome, error) {
	work, cancel := r.bound(ctx)
	defer cancel()
	out := Outcome{Target: t, Reason: reason}
	err := r.apply(work, &out, locked, decidedAt.UTC())
	return r.finish(ctx, out, err)
}

func (r *Responder) apply(ctx context.Context, out *Outcome, locked bool, decidedAt time.Time) error {
	var err error
	if out.Target.User != "" {
		err = r.applyUser(ctx, out, locked, decidedAt)
	} else {
		err = r.applySession(ctx, out, locked, decidedAt)
	}
	if err != nil {
		out.Result = "failed"
		if ctx.Err() != nil {
			out.Reason = join(out.Reason, context.Cause(ctx).Error())
		} else {
			out.Reason = join(out.Reason, err.Error())
		}
	}
	return err
}

// remember records a role session where every responder can find it.
func (r *Responder) remember(ctx context.Context, out *Outcome) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tail)
	defer cancel()
	err := r.Sessions.Remember(ctx, Target{Role: out.Target.Role, RoleID: out.Target.RoleID, SessionName: out.Target.SessionName})
	a := Action{Op: "RecordRoleSession", Detail: out.Target.String()}
	if err != nil {
		a.Error = err.Error()
		out.Reason = join(out.Reason, "the role session could not be recorded at the lock service, so a lock pushed later would not reach it: "+err.Error())
	}
	out.Actions = append(out.Actions, a)
	return err
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (r *Responder) finish(ctx context.Context, out Outcome, err error) (Outcome, error) {
	attrs := []any{"event", out.EventID, "target", out.Target.String(), "result", out.Result, "changed", out.Changed, "reason", out.Reason}
	for _, a := range out.Actions {
		attrs = append(attrs, slog.Group("action", "op", a.Op, "detail", a.Detail, "error", a.Error))
	}
	if err != nil {
		r.log().Error("awsiam: responder", append(attrs, "err", err)...)
	} else {
		r.log().Info("awsiam: responder", attrs...)
	}
	if r.Report != nil && out.Result != "skipped" && out.Target.subject() != "" {
		// Reported even when the event's deadline has passed.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tail)
		defer cancel()
		r.Report(ctx, out)
	}
	return out, err
}

// step records one IAM call; ok lists error codes that count as success
// (NoSuchEntity when removing what is already gone). changed is set when
// the call changed IAM.
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

// write is step for a call that changes IAM when it succeeds.
func (out *Outcome) write(op, detail string, err error, ok ...string) error {
	if err == nil {
		out.Changed = true
	}
	return out.step(op, detail, err, ok...)
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
