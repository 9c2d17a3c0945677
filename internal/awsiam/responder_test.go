package awsiam

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/lockgate/lockgate/internal/awsiam/iamtest"
	"github.com/lockgate/lockgate/lockclient"
)

const account = "111122223333"

// fakeChecker answers lock checks from a map; err fails every check.
type fakeChecker struct {
	mu     sync.Mutex
	locked map[string]bool
	err    error
	asked  []lockclient.Request
}

func (f *fakeChecker) Check(_ context.Context, req lockclient.Request) (lockclient.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, req)
	if f.err != nil {
		return lockclient.Decision{Locked: true, Failed: true}, f.err
	}
	return lockclient.Decision{Locked: f.locked[req.Username]}, nil
}

func (f *fakeChecker) set(user string, locked bool) {
	f.mu.Lock()
	f.locked[user] = locked
	f.mu.Unlock()
}

type rig struct {
	t       *testing.T
	iam     *iamtest.Server
	r       *Responder
	checker *fakeChecker
	clock   time.Time
	denyARN string
}

// newRig wires a responder to the IAM test server through the real SDK
// client, as production does.
func newRig(t *testing.T) *rig {
	srv := iamtest.New(account)
	srv.PageSize = 1 // every list needs its markers followed
	hs := srv.Start()
	t.Cleanup(hs.Close)
	client := iam.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	}, func(o *iam.Options) {
		o.BaseEndpoint = aws.String(hs.URL)
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(), 5*time.Millisecond)
	})
	g := &rig{t: t, iam: srv, checker: &fakeChecker{locked: map[string]bool{}}, clock: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	g.denyARN = srv.AddManagedPolicy("LockgateDenyAll", DenyAllDocument)
	srv.AddManagedPolicy("AdministratorAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	g.r = &Responder{IAM: client, Checker: g.checker, Config: Config{DenyPolicyARN: g.denyARN}, Now: func() time.Time { return g.clock }, Log: slog.New(slog.DiscardHandler)}
	return g
}

func (g *rig) admin(user string, keys int) *iamtest.User {
	u := g.iam.AddUser(user, keys)
	g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
		u.Attached = append(u.Attached, "arn:aws:iam::"+account+":policy/AdministratorAccess")
	})
	return u
}

func (g *rig) event(user string) []byte {
	data, err := os.ReadFile("testdata/iam-user-success.eventbridge.json")
	if err != nil {
		g.t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(data), `"anaya"`, `"`+user+`"`))
}

func (g *rig) handle(ev []byte) Outcome {
	g.t.Helper()
	out, err := g.r.HandleEvent(context.Background(), ev)
	if err != nil {
		g.t.Fatalf("HandleEvent: %v (%+v)", err, out)
	}
	return out
}

// allowedWithKey and allowedWithSession ask the IAM test server whether a
// request would pass.
func (g *rig) allowedWithKey(user, key string) bool {
	return g.iam.Authorize(iamtest.AuthorizeRequest{User: user, AccessKeyID: key, Action: "s3:ListAllMyBuckets", Resource: "*"}).Allowed
}

func (g *rig) allowedWithSession(user string, issued time.Time) bool {
	return g.iam.Authorize(iamtest.AuthorizeRequest{User: user, IssuedAt: issued, Action: "s3:ListAllMyBuckets", Resource: "*"}).Allowed
}

func keyStatus(g *rig, user string) []string {
	var out []string
	g.iam.Do(func(users map[string]*iamtest.User, _ map[string]*iamtest.Role) {
		for _, k := range users[user].Keys {
			out = append(out, k.Status)
		}
	})
	return out
}

func TestLockAndUnlockUser(t *testing.T) {
	g := newRig(t)
	u := g.admin("anaya", 3)
	// An administrator disabled the third key on purpose.
	g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) { u.Keys[2].Status = "Inactive" })
	before := g.clock.Add(-time.Hour)
	if !g.allowedWithKey("anaya", u.Keys[0].ID) || !g.allowedWithSession("anaya", before) {
		t.Fatal("not allowed before the lock")
	}

	g.checker.set("anaya", true)
	out := g.handle(g.event("anaya"))
	if out.Result != "locked" {
		t.Fatalf("%+v", out)
	}
	if got := keyStatus(g, "anaya"); !slices.Equal(got, []string{"Inactive", "Inactive", "Inactive"}) {
		t.Fatalf("keys after lock: %v (every page, every key)", got)
	}
	for _, k := range u.Keys {
		if g.allowedWithKey("anaya", k.ID) {
			t.Fatalf("key %s still works", k.ID)
		}
	}
	if g.allowedWithSession("anaya", before) {
		t.Fatal("a session issued before the lock still works")
	}
	if g.allowedWithSession("anaya", g.clock.Add(time.Minute)) {
		t.Fatal("a new session works while locked (deny-all missing)")
	}
	var tags map[string]string
	g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) { tags = u.Tags })
	if tags[tagKeys] != u.Keys[0].ID+","+u.Keys[1].ID {
		t.Fatalf("recorded keys %q; the administrator's disabled key must not be recorded", tags[tagKeys])
	}
	if ev := g.checker.asked[0]; ev.Username != "anaya" || ev.IntegrationType != "awsiamuser" || ev.UserIP != "192.0.2.0" {
		t.Fatalf("lock check: %+v", ev)
	}

	g.clock = g.clock.Add(10 * time.Minute)
	g.checker.set("anaya", false)
	out = g.handle(g.event("anaya"))
	if out.Result != "unlocked" {
		t.Fatalf("%+v", out)
	}
	if got := keyStatus(g, "anaya"); !slices.Equal(got, []string{"Active", "Active", "Inactive"}) {
		t.Fatalf("keys after unlock: %v (exactly the keys lockgate deactivated)", got)
	}
	if !g.allowedWithKey("anaya", u.Keys[0].ID) || !g.allowedWithSession("anaya", g.clock) {
		t.Fatal("access not back after unlock")
	}
	if g.allowedWithSession("anaya", before) {
		t.Fatal("unlock revived a session issued before the lock")
	}
	g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
		if _, ok := u.Inline[RevokePolicyName]; !ok || slices.Contains(u.Attached, g.denyARN) {
			t.Errorf("after unlock: inline %v attached %v", u.Inline, u.Attached)
		}
	})
}

// The seed computed the revoke date once, when the module loaded.
func TestRevokeDateIsTheLockTime(t *testing.T) {
	g := newRig(t)
	g.admin("anaya", 0)
	g.checker.set("anaya", true)
	g.handle(g.event("anaya"))
	first := inline(g, "anaya", RevokePolicyName)
	g.clock = g.clock.Add(3 * time.Hour)
	g.handle(g.event("anaya"))
	second := inline(g, "anaya", RevokePolicyName)
	if !strings.Contains(first, "2026-11-21T12:00:00.000Z") || !strings.Contains(second, "2026-11-21T15:00:00.000Z") {
		t.Fatalf("revoke dates: %s / %s", first, second)
	}
	// A session issued between the first lock and the second is revoked.
	if g.allowedWithSession("anaya", time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)) {
		t.Fatal("session from between the locks survived")
	}
}

func inline(g *rig, user, name string) string {
	var doc string
	g.iam.Do(func(users map[string]*iamtest.User, _ map[string]*iamtest.Role) { doc = users[user].Inline[name] })
	return doc
}

func TestManagedPolicyQuotaFallsBackToInline(t *testing.T) {
	for _, limit := range []int{10, 20} {
		g := newRig(t)
		u := g.admin("anaya", 1)
		g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
			u.ManagedLimit = limit
			for len(u.Attached) < limit {
				u.Attached = append(u.Attached, "arn:aws:iam::"+account+":policy/AdministratorAccess")
			}
		})
		g.checker.set("anaya", true)
		if out := g.handle(g.event("anaya")); out.Result != "locked" {
			t.Fatalf("quota %d: %+v", limit, out)
		}
		if inline(g, "anaya", DenyAllPolicyName) == "" || g.allowedWithSession("anaya", g.clock.Add(time.Hour)) {
			t.Fatalf("quota %d: no inline deny-all", limit)
		}
		g.checker.set("anaya", false)
		g.clock = g.clock.Add(time.Minute)
		g.handle(g.event("anaya"))
		if inline(g, "anaya", DenyAllPolicyName) != "" || !g.allowedWithSession("anaya", g.clock.Add(time.Hour)) {
			t.Fatalf("quota %d: inline deny-all not removed", limit)
		}
	}
}

// The seed read a failed check as unlocked and restored access.
func TestFailedCheckNeverUnlocks(t *testing.T) {
	g := newRig(t)
	u := g.admin("anaya", 1)
	g.checker.set("anaya", true)
	g.handle(g.event("anaya"))
	g.checker.err = errors.New("lock service unreachable")
	g.clock = g.clock.Add(time.Minute)
	for _, mode := range []string{"lock", "keep"} {
		g.r.OnError = mode
		out, err := g.r.HandleEvent(context.Background(), g.event("anaya"))
		if mode == "keep" && (err == nil || out.Result != "failed") {
			t.Fatalf("keep: %+v %v", out, err)
		}
		if got := keyStatus(g, "anaya"); got[0] != "Inactive" || g.allowedWithKey("anaya", u.Keys[0].ID) {
			t.Fatalf("on_error %s restored access", mode)
		}
	}
	// Fail closed: an unlocked user is locked when the check fails.
	g.admin("bob", 1)
	g.r.OnError = ""
	if out := g.handle(g.event("bob")); out.Result != "locked" {
		t.Fatalf("on_error lock: %+v", out)
	}
}

// The seed re-activated the least recently used key; the intent was the
// most recently used one, never-used keys last.
func TestFallbackReactivatesMostRecentlyUsed(t *testing.T) {
	g := newRig(t)
	g.r.FallbackReactivate = true
	u := g.admin("anaya", 3)
	now := g.clock
	g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
		for _, k := range u.Keys {
			k.Status = "Inactive" // locked by some other tool
		}
		u.Keys[0].LastUsed = now.Add(-48 * time.Hour)
		u.Keys[1].LastUsed = now.Add(-time.Hour) // most recent
		// Keys[2] never used.
		u.Inline[DenyAllPolicyName] = DenyAllDocument
	})
	out := g.handle(g.event("anaya"))
	if out.Result != "unlocked" {
		t.Fatalf("%+v", out)
	}
	if got := keyStatus(g, "anaya"); !slices.Equal(got, []string{"Inactive", "Active", "Inactive"}) {
		t.Fatalf("keys: %v, want only the most recently used active", got)
	}
	if inline(g, "anaya", DenyAllPolicyName) != "" {
		t.Fatal("the other tool's inline deny-all stayed")
	}
	// Without the option, a user lockgate did not lock is left alone.
	g2 := newRig(t)
	u2 := g2.admin("anaya", 1)
	g2.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) { u2.Keys[0].Status = "Inactive" })
	if out := g2.handle(g2.event("anaya")); out.Result != "unlocked" || keyStatus(g2, "anaya")[0] != "Inactive" {
		t.Fatalf("default: %+v %v", out, keyStatus(g2, "anaya"))
	}
}

func TestStaleDecisionIgnored(t *testing.T) {
	g := newRig(t)
	g.admin("anaya", 1)
	ctx := context.Background()
	t1 := g.clock
	if out, err := g.r.Apply(ctx, Target{User: "anaya"}, true, t1.Add(time.Minute), "newer"); err != nil || out.Result != "locked" {
		t.Fatalf("%+v %v", out, err)
	}
	// An older decision arriving late must not undo the newer one.
	out, err := g.r.Apply(ctx, Target{User: "anaya"}, false, t1, "older, late")
	if err != nil || out.Result != "stale" || keyStatus(g, "anaya")[0] != "Inactive" {
		t.Fatalf("late unlock applied: %+v %v", out, err)
	}
	// Repeating the same decision is harmless.
	for range 2 {
		if out, err := g.r.Apply(ctx, Target{User: "anaya"}, true, t1.Add(2*time.Minute), "again"); err != nil || out.Result != "locked" {
			t.Fatalf("%+v %v", out, err)
		}
	}
	var tags map[string]string
	g.iam.Do(func(users map[string]*iamtest.User, _ map[string]*iamtest.Role) { tags = users["anaya"].Tags })
	if len(splitKeys(tags[tagKeys])) != 1 {
		t.Fatalf("repeated locks duplicated the record: %q", tags[tagKeys])
	}
}

func TestRoleSessions(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("admin")
	g.iam.AttachRolePolicy("admin", "arn:aws:iam::"+account+":policy/AdministratorAccess")
	data, _ := os.ReadFile("testdata/assumed-role-success.eventbridge.json")
	ev := []byte(strings.ReplaceAll(string(data), "AROXXXXXXXXXXXXXXXXX", role.ID))
	session := func(name string, issued time.Time) bool {
		return g.iam.Authorize(iamtest.AuthorizeRequest{Role: "admin", Session: name, IssuedAt: issued, Action: "ec2:RunInstances", Resource: "*"}).Allowed
	}
	before := g.clock.Add(-time.Hour)
	g.checker.set("youradmin", true)
	if out := g.handle(ev); out.Result != "locked" || out.Target.SessionName != "youradmin" {
		t.Fatalf("%+v", out)
	}
	if session("youradmin", before) || session("youradmin", g.clock.Add(time.Minute)) {
		t.Fatal("locked person still has access")
	}
	if !session("colleague", before) || !session("colleague", g.clock) {
		t.Fatal("the role's other users lost access")
	}
	g.clock = g.clock.Add(5 * time.Minute)
	g.checker.set("youradmin", false)
	if out := g.handle(ev); out.Result != "unlocked" {
		t.Fatalf("%+v", out)
	}
	if !session("youradmin", g.clock) {
		t.Fatal("access not back after unlock")
	}
	if session("youradmin", before) {
		t.Fatal("unlock revived the person's sessions issued before the lock")
	}
	// After the longest session can live, the revoke entry goes.
	g.clock = g.clock.Add(13 * time.Hour)
	g.handle(ev)
	g.iam.Do(func(_ map[string]*iamtest.User, roles map[string]*iamtest.Role) {
		if doc, ok := roles["admin"].Inline[SessionPolicyName]; ok {
			t.Errorf("stale entries kept: %s", doc)
		}
	})
}

func TestSAMLSessionLooksUpRoleID(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("okta")
	data, _ := os.ReadFile("testdata/saml-federated-success.detail.json")
	g.checker.set("tester@domain.tld", true)
	out := g.handle(data)
	if out.Result != "locked" || out.Target.RoleID != role.ID {
		t.Fatalf("%+v", out)
	}
	if g.iam.Authorize(iamtest.AuthorizeRequest{Role: "okta", Session: "tester@domain.tld", IssuedAt: g.clock, Action: "s3:GetObject", Resource: "*"}).Allowed {
		t.Fatal("locked SAML person allowed")
	}
}

func TestEventsNotActedOn(t *testing.T) {
	g := newRig(t)
	for _, tt := range []struct{ file, result string }{
		{"root-failure.eventbridge.json", "skipped"}, // a failure: not in the pattern
		{"iam-user-failure-unknown-name.detail.json", "skipped"},
	} {
		data, _ := os.ReadFile("testdata/" + tt.file)
		if out := g.handle(data); out.Result != tt.result {
			t.Errorf("%s: %+v", tt.file, out)
		}
	}
	data, _ := os.ReadFile("testdata/root-failure.eventbridge.json")
	root := []byte(strings.ReplaceAll(string(data), `"Failure"`, `"Success"`))
	if out := g.handle(root); out.Result != "not-lockable" {
		t.Errorf("root: %+v", out)
	}
	if len(g.iam.Calls()) != 0 {
		t.Errorf("IAM was called: %v", g.iam.Calls())
	}
}

func TestIAMFaults(t *testing.T) {
	g := newRig(t)
	g.admin("anaya", 2)
	g.checker.set("anaya", true)
	// Throttling is retried by the SDK.
	g.iam.Fail("UpdateAccessKey", "Throttling", 1)
	if out := g.handle(g.event("anaya")); out.Result != "locked" {
		t.Fatalf("throttled: %+v", out)
	}
	g2 := newRig(t)
	g2.admin("anaya", 2)
	g2.checker.set("anaya", true)
	g2.iam.Fail("UpdateAccessKey", "ServiceFailure", 10)
	out, err := g2.r.HandleEvent(context.Background(), g2.event("anaya"))
	if err == nil || out.Result != "failed" {
		t.Fatalf("5xx: %+v %v", out, err)
	}
	// The deny-all still went on first.
	if g2.allowedWithSession("anaya", g2.clock.Add(time.Hour)) {
		t.Fatal("a failed key update left the user without the deny-all")
	}
	g3 := newRig(t)
	g3.checker.set("ghost", true)
	if _, err := g3.r.HandleEvent(context.Background(), g3.event("ghost")); err == nil {
		t.Fatal("NoSuchEntity for an unknown user was not reported")
	}
}

func TestDeleteLoginProfileWhenConfigured(t *testing.T) {
	for _, del := range []bool{false, true} {
		g := newRig(t)
		g.r.DeleteLoginProfile = del
		u := g.admin("anaya", 0)
		g.checker.set("anaya", true)
		g.handle(g.event("anaya"))
		var has bool
		g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) { has = u.LoginProfile })
		if has == del {
			t.Errorf("delete_login_profile=%v: login profile present=%v", del, has)
		}
	}
}

func TestRolePolicyBudget(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("shared")
	ctx := context.Background()
	var last Outcome
	var err error
	n := 0
	for ; n < 200; n++ {
		name := "person-" + strings.Repeat("x", 20) + "-" + string(rune('a'+n%26)) + strings.Repeat("y", n/26)
		last, err = g.r.Apply(ctx, Target{Role: "shared", RoleID: role.ID, SessionName: name}, true, g.clock, "test")
		if err != nil {
			break
		}
	}
	if err == nil || last.Result != "failed" || n < 10 {
		t.Fatalf("after %d people: %+v %v", n, last, err)
	}
	// The policy that is there is whole and within IAM's quota.
	g.iam.Do(func(_ map[string]*iamtest.User, roles map[string]*iamtest.Role) {
		doc := roles["shared"].Inline[SessionPolicyName]
		if policySize(doc) > iamtest.InlineRolePolicyBytes {
			t.Errorf("role policy of %d characters", policySize(doc))
		}
		if _, err := parseSessions(doc); err != nil {
			t.Error(err)
		}
	})
}
