package awsiam

import (
	"context"
	"errors"
	"fmt"
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

// memoryBook is a SessionBook in memory, as the lock service's store is
// for one process.
type memoryBook struct {
	mu   sync.Mutex
	m    map[string][]Target
	recs map[string][]UserRecord
	fail error // RecordUser fails with it
}

func (b *memoryBook) RecordUser(_ context.Context, rec UserRecord) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	if b.recs == nil {
		b.recs = map[string][]UserRecord{}
	}
	b.recs[rec.User] = append(b.recs[rec.User], rec)
	return nil
}

func (b *memoryBook) UserRecord(_ context.Context, user string) (UserRecord, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rs := b.recs[user]
	if len(rs) == 0 {
		return UserRecord{}, false, nil
	}
	return rs[len(rs)-1], true, nil
}

func (b *memoryBook) Remember(_ context.Context, t Target) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string][]Target{}
	}
	if !slices.Contains(b.m[t.SessionName], t) {
		b.m[t.SessionName] = append(b.m[t.SessionName], t)
	}
	return nil
}

func (b *memoryBook) Sessions(_ context.Context, person string) ([]Target, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.m[person]), nil
}

type rig struct {
	t       *testing.T
	iam     *iamtest.Server
	r       *Responder
	checker *fakeChecker
	book    *memoryBook
	clock   time.Time
	denyARN string
	adminP  string
}

// newRig wires a responder to the model-driven IAM double through the
// real SDK client, built as production builds it.
func newRig(t *testing.T) *rig {
	srv := iamtest.New(account)
	srv.PageSize = 1 // every list needs its markers followed
	hs := srv.Start()
	t.Cleanup(hs.Close)
	client := NewIAMClient(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	}, 0, func(o *iam.Options) {
		o.BaseEndpoint = aws.String(hs.URL)
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(), 5*time.Millisecond)
	})
	g := &rig{t: t, iam: srv, checker: &fakeChecker{locked: map[string]bool{}}, book: &memoryBook{}, clock: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	g.denyARN = srv.AddManagedPolicy("LockgateDenyAll", DenyAllDocument)
	g.adminP = srv.AddManagedPolicy("AdministratorAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	g.r = &Responder{IAM: client, Checker: g.checker, Sessions: g.book, Ledger: g.book, Config: Config{DenyPolicyARN: g.denyARN}, Now: func() time.Time { return g.clock }, Log: slog.New(slog.DiscardHandler)}
	return g
}

func (g *rig) admin(user string, keys int) *iamtest.User {
	u := g.iam.AddUser(user, keys)
	if err := g.iam.AttachUserPolicy(user, g.adminP); err != nil {
		g.t.Fatal(err)
	}
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

// writes lists the calls since mark that change IAM.
func (g *rig) writes(mark int) []string {
	var w []string
	for _, c := range g.iam.Calls()[mark:] {
		if !strings.HasPrefix(c, "List") && !strings.HasPrefix(c, "Get") {
			w = append(w, c)
		}
	}
	return w
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

func tagsOf(g *rig, user string) map[string]string {
	out := map[string]string{}
	g.iam.Do(func(users map[string]*iamtest.User, _ map[string]*iamtest.Role) {
		for k, v := range users[user].Tags {
			out[k] = v
		}
	})
	return out
}

func inline(g *rig, user, name string) string {
	var doc string
	g.iam.Do(func(users map[string]*iamtest.User, _ map[string]*iamtest.Role) { doc = users[user].Inline[name] })
	return doc
}

func TestLockAndUnlockUser(t *testing.T) {
	g := newRig(t)
	u := g.admin("anaya", 2)
	before := g.clock.Add(-time.Hour)
	if !g.allowedWithKey("anaya", u.Keys[0].ID) || !g.allowedWithSession("anaya", before) {
		t.Fatal("not allowed before the lock")
	}

	g.checker.set("anaya", true)
	out := g.handle(g.event("anaya"))
	if out.Result != "locked" || !out.Changed {
		t.Fatalf("%+v", out)
	}
	if got := keyStatus(g, "anaya"); !slices.Equal(got, []string{"Inactive", "Inactive"}) {
		t.Fatalf("keys after lock: %v (every page, every key)", got)
	}
	for _, k := range u.Keys {
		if g.allowedWithKey("anaya", k.ID) {
			t.Fatalf("key %s still works", k.ID)
		}
	}
	if g.allowedWithSession("anaya", before) || g.allowedWithSession("anaya", g.clock.Add(time.Minute)) {
		t.Fatal("a session works while locked")
	}
	tags := tagsOf(g, "anaya")
	want := map[string]string{"lockgate:locked": "2026-11-21T12:00:00.000Z", "lockgate:deactivated-key-1": u.Keys[0].ID, "lockgate:deactivated-key-2": u.Keys[1].ID}
	if fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Fatalf("tags %v, want %v", tags, want)
	}
	if ev := g.checker.asked[0]; ev.Username != "anaya" || ev.IntegrationType != "awsiamuser" || ev.UserIP != "192.0.2.0" {
		t.Fatalf("lock check: %+v", ev)
	}

	g.clock = g.clock.Add(10 * time.Minute)
	during := g.clock.Add(-time.Minute) // someone signed in while locked
	g.checker.set("anaya", false)
	out = g.handle(g.event("anaya"))
	if out.Result != "unlocked" || !out.Changed {
		t.Fatalf("%+v", out)
	}
	if got := keyStatus(g, "anaya"); !slices.Equal(got, []string{"Active", "Active"}) {
		t.Fatalf("keys after unlock: %v", got)
	}
	if !g.allowedWithKey("anaya", u.Keys[0].ID) || !g.allowedWithSession("anaya", g.clock.Add(time.Second)) {
		t.Fatal("access not back after unlock")
	}
	if g.allowedWithSession("anaya", before) || g.allowedWithSession("anaya", during) {
		t.Fatal("unlock revived a session issued before it")
	}
	if tags := tagsOf(g, "anaya"); len(tags) != 0 {
		t.Fatalf("tags after unlock: %v", tags)
	}
}

// The seed computed the revoke date once, when the module loaded. Here it
// is the lock's time, a repeated lock does not move it, and the unlock
// moves it to the unlock, so that sessions begun while locked stay ended.
func TestRevokeDateIsTheLockTime(t *testing.T) {
	g := newRig(t)
	g.admin("anaya", 0)
	g.clock = g.clock.Add(5 * time.Hour) // long after the responder was built
	g.checker.set("anaya", true)
	g.handle(g.event("anaya"))
	first := inline(g, "anaya", RevokePolicyName)
	if !strings.Contains(first, "2026-11-21T17:00:00.000Z") {
		t.Fatalf("revoke date: %s", first)
	}
	g.clock = g.clock.Add(3 * time.Hour)
	if out := g.handle(g.event("anaya")); out.Changed || inline(g, "anaya", RevokePolicyName) != first {
		t.Fatalf("a repeated lock moved the revoke date: %+v\n%s", out, inline(g, "anaya", RevokePolicyName))
	}
	g.clock = g.clock.Add(time.Hour)
	g.checker.set("anaya", false)
	g.handle(g.event("anaya"))
	if !strings.Contains(inline(g, "anaya", RevokePolicyName), "2026-11-21T21:00:00.000Z") {
		t.Fatalf("unlock revoke date: %s", inline(g, "anaya", RevokePolicyName))
	}
	if g.allowedWithSession("anaya", time.Date(2026, 11, 21, 19, 0, 0, 0, time.UTC)) {
		t.Fatal("a session begun while locked survived the unlock")
	}
}

// Repeating a decision changes nothing in IAM, and the outcome says so.
func TestRepeatedDecisionChangesNothing(t *testing.T) {
	g := newRig(t)
	g.admin("anaya", 2)
	g.checker.set("anaya", true)
	g.handle(g.event("anaya"))
	tags, revoke := tagsOf(g, "anaya"), inline(g, "anaya", RevokePolicyName)
	for _, d := range []time.Duration{time.Minute, time.Hour} {
		g.clock = g.clock.Add(d)
		mark := len(g.iam.Calls())
		out := g.handle(g.event("anaya"))
		if out.Result != "locked" || out.Changed || !strings.Contains(out.Reason, "already locked at 2026-11-21T12:00:00.000Z") {
			t.Fatalf("repeated lock: %+v", out)
		}
		if w := g.writes(mark); len(w) != 0 {
			t.Fatalf("a repeated lock wrote %v", w)
		}
		if fmt.Sprint(tagsOf(g, "anaya")) != fmt.Sprint(tags) || inline(g, "anaya", RevokePolicyName) != revoke {
			t.Fatal("a repeated lock moved a date")
		}
	}
	g.checker.set("anaya", false)
	g.handle(g.event("anaya"))
	revoke = inline(g, "anaya", RevokePolicyName)
	g.clock = g.clock.Add(time.Minute)
	mark := len(g.iam.Calls())
	out := g.handle(g.event("anaya"))
	if out.Result != "unlocked" || out.Changed || len(g.writes(mark)) != 0 || inline(g, "anaya", RevokePolicyName) != revoke {
		t.Fatalf("repeated unlock: %+v, wrote %v", out, g.writes(mark))
	}
}

// A repeated lock puts back what someone undid while locked — a key
// re-activated — without moving the lock's date.
func TestRepeatedLockRepairs(t *testing.T) {
	g := newRig(t)
	u := g.admin("anaya", 2)
	g.checker.set("anaya", true)
	g.handle(g.event("anaya"))
	g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) { u.Keys[1].Status = "Active" })
	g.clock = g.clock.Add(time.Hour)
	out := g.handle(g.event("anaya"))
	if !out.Changed || keyStatus(g, "anaya")[1] != "Inactive" || tagsOf(g, "anaya")["lockgate:locked"] != "2026-11-21T12:00:00.000Z" {
		t.Fatalf("%+v %v %v", out, keyStatus(g, "anaya"), tagsOf(g, "anaya"))
	}
}

func TestManagedPolicyQuotaFallsBackToInline(t *testing.T) {
	for _, limit := range []int{10, 20} {
		g := newRig(t)
		u := g.admin("anaya", 1)
		g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) { u.ManagedLimit = limit })
		for i := 1; i < limit; i++ {
			arn := g.iam.AddManagedPolicy(fmt.Sprintf("Team%02d", i), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
			if err := g.iam.AttachUserPolicy("anaya", arn); err != nil {
				t.Fatal(err)
			}
		}
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
// most recently used one, never-used keys last. Only a user some tool
// denied everything is restored.
func TestFallbackReactivatesMostRecentlyUsed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		used   [2]time.Duration // 0: never
		active int
	}{
		{"both used", [2]time.Duration{48 * time.Hour, time.Hour}, 1},
		{"one never used", [2]time.Duration{0, 48 * time.Hour}, 1},
	} {
		g := newRig(t)
		g.r.FallbackReactivate = true
		u := g.admin("anaya", 2)
		now := g.clock
		g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
			for i, k := range u.Keys {
				k.Status = "Inactive" // locked by some other tool
				if tt.used[i] != 0 {
					k.LastUsed = now.Add(-tt.used[i])
				}
			}
			u.Inline[DenyAllPolicyName] = DenyAllDocument
		})
		out := g.handle(g.event("anaya"))
		if out.Result != "unlocked" || keyStatus(g, "anaya")[tt.active] != "Active" || keyStatus(g, "anaya")[1-tt.active] != "Inactive" {
			t.Fatalf("%s: %+v %v", tt.name, out, keyStatus(g, "anaya"))
		}
		if inline(g, "anaya", DenyAllPolicyName) != "" {
			t.Fatalf("%s: the other tool's inline deny-all stayed", tt.name)
		}
	}
	// A user nobody denied is left alone, with or without the option.
	for _, fallback := range []bool{false, true} {
		g := newRig(t)
		g.r.FallbackReactivate = fallback
		u := g.admin("anaya", 2)
		g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) { u.Keys[0].Status = "Inactive" })
		mark := len(g.iam.Calls())
		if out := g.handle(g.event("anaya")); out.Result != "unlocked" || out.Changed || keyStatus(g, "anaya")[0] != "Inactive" || len(g.writes(mark)) != 0 {
			t.Fatalf("fallback %v: %+v %v %v", fallback, out, keyStatus(g, "anaya"), g.writes(mark))
		}
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
	// An older unlock arriving late must not undo the newer lock.
	out, err := g.r.Apply(ctx, Target{User: "anaya"}, false, t1, "older, late")
	if err != nil || out.Result != "stale" || keyStatus(g, "anaya")[0] != "Inactive" {
		t.Fatalf("late unlock applied: %+v %v", out, err)
	}
	if out, err := g.r.Apply(ctx, Target{User: "anaya"}, false, t1.Add(3*time.Minute), "unlock"); err != nil || out.Result != "unlocked" {
		t.Fatalf("%+v %v", out, err)
	}
	// A lock decided before that unlock, arriving late, is ignored too:
	// the revoke policy's date is the unlock's.
	out, err = g.r.Apply(ctx, Target{User: "anaya"}, true, t1.Add(2*time.Minute), "older lock, late")
	if err != nil || out.Result != "stale" || keyStatus(g, "anaya")[0] != "Active" {
		t.Fatalf("late lock applied: %+v %v", out, err)
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
	if out := g.handle(root); out.Result != "not-lockable" || out.Target.Root == "" || out.Target.subject() != out.Target.Root {
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
	// docs/iam-responder.md: "A principal that does not exist is
	// `skipped`" — not failed (attack F-9).
	if out, err := g3.r.HandleEvent(context.Background(), g3.event("ghost")); err != nil || out.Result != "skipped" {
		t.Fatalf("unknown user: %+v %v", out, err)
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

// Users locked by an earlier version (one key in lockgate:deactivated-keys)
// are restored, and its tags removed.
func TestLegacyRecordIsRestored(t *testing.T) {
	g := newRig(t)
	u := g.admin("anaya", 1)
	g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
		u.Keys[0].Status = "Inactive"
		u.Tags[legacyState], u.Tags[legacyDecidedAt], u.Tags[legacyKeys], u.Tags[legacyLockedAt] = "locked", "2026-11-21T11:00:00Z", u.Keys[0].ID, "2026-11-21T11:00:00Z"
		u.Attached = append(u.Attached, g.denyARN)
	})
	out := g.handle(g.event("anaya"))
	if out.Result != "unlocked" || keyStatus(g, "anaya")[0] != "Active" || len(tagsOf(g, "anaya")) != 0 {
		t.Fatalf("%+v %v %v", out, keyStatus(g, "anaya"), tagsOf(g, "anaya"))
	}
}
