package awsiam

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/awsiam/iamtest"
)

// roleEvent is the sample assumed-role sign-in for role and session.
func roleEvent(t *testing.T, role *iamtest.Role, session string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/assumed-role-success.eventbridge.json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("AROXXXXXXXXXXXXXXXXX", role.ID, "assumed-role/admin/youradmin", "assumed-role/"+role.Name+"/"+session,
		":youradmin", ":"+session, `"userName": "admin"`, `"userName": "`+role.Name+`"`, "role/admin", "role/"+role.Name).Replace(string(data))
	return []byte(s)
}

func (g *rig) sessionAllowed(role, session string, issued time.Time) bool {
	return g.iam.Authorize(iamtest.AuthorizeRequest{Role: role, Session: session, IssuedAt: issued, Action: "ec2:RunInstances", Resource: "*"}).Allowed
}

func rolePolicy(g *rig, role string) string {
	var doc string
	g.iam.Do(func(_ map[string]*iamtest.User, roles map[string]*iamtest.Role) {
		doc = roles[role].Inline[SessionPolicyName]
	})
	return doc
}

func TestRoleSessions(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("admin")
	if err := g.iam.AttachRolePolicy("admin", g.adminP); err != nil {
		t.Fatal(err)
	}
	ev := roleEvent(t, role, "youradmin")
	before := g.clock.Add(-time.Hour)
	g.checker.set("youradmin", true)
	if out := g.handle(ev); out.Result != "locked" || !out.Changed || out.Target.SessionName != "youradmin" {
		t.Fatalf("%+v", out)
	}
	if g.sessionAllowed("admin", "youradmin", before) || g.sessionAllowed("admin", "youradmin", g.clock.Add(time.Minute)) {
		t.Fatal("locked person still has access")
	}
	if !g.sessionAllowed("admin", "colleague", before) || !g.sessionAllowed("admin", "colleague", g.clock) {
		t.Fatal("the role's other users lost access")
	}
	// The sign-in is recorded where a push can find it.
	if ts, _ := g.book.Sessions(context.Background(), "youradmin"); len(ts) != 1 || ts[0].Role != "admin" || ts[0].RoleID != role.ID {
		t.Fatalf("recorded sessions %+v", ts)
	}
	g.clock = g.clock.Add(5 * time.Minute)
	during := g.clock.Add(-time.Minute)
	g.checker.set("youradmin", false)
	if out := g.handle(ev); out.Result != "unlocked" || !out.Changed {
		t.Fatalf("%+v", out)
	}
	if !g.sessionAllowed("admin", "youradmin", g.clock.Add(time.Second)) {
		t.Fatal("access not back after unlock")
	}
	if g.sessionAllowed("admin", "youradmin", before) || g.sessionAllowed("admin", "youradmin", during) {
		t.Fatal("unlock revived the person's sessions issued before it")
	}
	// No tag is ever written on a role.
	g.iam.Do(func(_ map[string]*iamtest.User, roles map[string]*iamtest.Role) {
		if len(roles["admin"].Tags) != 0 {
			t.Errorf("role tags %v", roles["admin"].Tags)
		}
	})
	// After the longest session can live, the revoke entry goes at the
	// next sign-in on the role, which changes nothing else.
	g.clock = g.clock.Add(13 * time.Hour)
	if out := g.handle(ev); out.Changed || rolePolicy(g, "admin") != "" {
		t.Fatalf("stale entries kept: %+v %s", out, rolePolicy(g, "admin"))
	}
}

func TestRoleDecisionsOrderedAndIdempotent(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("admin")
	ctx := context.Background()
	who := Target{Role: "admin", RoleID: role.ID, SessionName: "ana"}
	t0 := g.clock
	if out, err := g.r.Apply(ctx, who, true, t0, "lock"); err != nil || !out.Changed {
		t.Fatalf("%+v %v", out, err)
	}
	doc := rolePolicy(g, "admin")
	mark := len(g.iam.Calls())
	if out, err := g.r.Apply(ctx, who, true, t0.Add(time.Hour), "again"); err != nil || out.Changed || out.Result != "locked" || len(g.writes(mark)) != 0 || rolePolicy(g, "admin") != doc {
		t.Fatalf("repeated lock: %+v %v %v", out, err, g.writes(mark))
	}
	if out, _ := g.r.Apply(ctx, who, false, t0.Add(-time.Minute), "older unlock"); out.Result != "stale" || rolePolicy(g, "admin") != doc {
		t.Fatalf("late unlock: %+v", out)
	}
	if out, _ := g.r.Apply(ctx, who, false, t0.Add(2*time.Hour), "unlock"); out.Result != "unlocked" || !out.Changed {
		t.Fatalf("unlock: %+v", out)
	}
	if out, _ := g.r.Apply(ctx, who, true, t0.Add(90*time.Minute), "older lock"); out.Result != "stale" {
		t.Fatalf("late lock: %+v", out)
	}
	mark = len(g.iam.Calls())
	if out, _ := g.r.Apply(ctx, who, false, t0.Add(3*time.Hour), "again"); out.Changed || len(g.writes(mark)) != 0 {
		t.Fatalf("repeated unlock: %+v %v", out, g.writes(mark))
	}
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

// Session names may hold "+", which IAM returns percent-encoded in the
// policy document: the entry must read back as the same person.
func TestSessionNameWithPlus(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("admin")
	ctx := context.Background()
	who := Target{Role: "admin", RoleID: role.ID, SessionName: "ana+ops@example.com"}
	g.r.Apply(ctx, who, true, g.clock, "lock")
	if out, err := g.r.Apply(ctx, who, true, g.clock.Add(time.Minute), "again"); err != nil || out.Changed {
		t.Fatalf("%+v %v", out, err)
	}
	if g.sessionAllowed("admin", "ana+ops@example.com", g.clock) {
		t.Fatal("locked")
	}
}

// More people locked at once than the role's 10,240 characters hold: the
// lock that does not fit fails with the reason, and the policy that is
// there stays whole and within the quota.
func TestRolePolicyBudget(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("shared")
	ctx := context.Background()
	var last Outcome
	var err error
	n := 0
	for ; n < 200; n++ {
		last, err = g.r.Apply(ctx, Target{Role: "shared", RoleID: role.ID, SessionName: fmt.Sprintf("person-%03d@example.com", n)}, true, g.clock, "test")
		if err != nil {
			break
		}
	}
	if err == nil || last.Result != "failed" || !strings.Contains(last.Reason, "too many people locked") || n < 40 {
		t.Fatalf("after %d people: %+v %v", n, last, err)
	}
	t.Logf("%d people locked at once fit one role (role id of 20 characters, session names of 22)", n)
	doc := rolePolicy(g, "shared")
	if policySize(doc) > iamtest.InlineRolePolicyChars {
		t.Errorf("role policy of %d characters", policySize(doc))
	}
	if pol, err := parseSessions(doc); err != nil || len(pol.entries) != n {
		t.Errorf("%v entries, want %d: %v", pol, n, err)
	}
}

func FuzzParseSessions(f *testing.F) {
	f.Add((&sessionPolicy{entries: map[string]*sessionEntry{"AROA1:a": {userID: "AROA1:a", lockedAt: time.UnixMilli(1764000000000)}, "AROA1:b": {userID: "AROA1:b", revokeAt: time.UnixMilli(1764000000000)}}}).render("AROA1"))
	f.Add(`{"Statement":[{"Sid":"RM","Condition":{"StringEquals":{"aws:userid":["AROA1:a","AROA1:b"]},"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00.000Z"}}}]}`)
	f.Add(`{"Statement":[{"Sid":"RW","Condition":{"StringLike":{"aws:userid":"AROA1:*"},"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00.000Z"}}}]}`)
	f.Add(`{"Statement":[{"Sid":"LabcT","Condition":{"StringEquals":{"aws:userid":"x"}}}]}`)
	f.Add(`{"Statement":[{"Sid":"R1","Condition":{"StringEquals":{"aws:userid":"x"},"DateLessThan":{"aws:TokenIssueTime":"nope"}}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		pol, err := parseSessions(doc)
		if err != nil {
			return
		}
		// What parses renders to a document that parses to the same.
		kept := len(pol.entries)
		again, err := parseSessions(pol.render("AROA1"))
		if err != nil || len(again.entries) != kept || (again.folded == nil) != (pol.folded == nil) {
			t.Fatalf("%v %d/%d", err, len(again.entries), kept)
		}
	})
}
