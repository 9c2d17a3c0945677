package awsiam

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/awsiam/iamtest"
)

// F-2 (attack on issue 10): revocations of unlocked people filled the
// role's inline budget and every new lock then failed, so the person kept
// access. IAM's quotas page (reference_iam-quotas): "Role policy size
// cannot exceed 10,240 characters." and "IAM does not count white space
// when calculating the size of a policy against these limitations." — the
// double enforces both with LimitExceeded. The revocations are folded
// instead, as "Revoke IAM role temporary security credentials"
// (id_roles_use_revoke-sessions) does for a whole role: "All temporary
// credentials for that role issued before the specified time become
// invalid."
func TestRoleLockUnlockChurnNeverRunsOut(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ownInline int // characters of the role's own inline policy
		locked    int // people locked throughout
		cycles    int
	}{
		{name: "only lockgate's policy", locked: 10, cycles: 300},
		{name: "the role's own policy takes 6,000 characters", ownInline: 6000, locked: 5, cycles: 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t)
			role := g.iam.AddRole("shared")
			if tc.ownInline > 0 {
				pad := strings.Repeat("a", tc.ownInline-110)
				own := `{"Version":"2012-10-17","Statement":[{"Sid":"` + pad + `","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
				g.iam.Do(func(_ map[string]*iamtest.User, roles map[string]*iamtest.Role) {
					roles["shared"].Inline["Own"] = own
				})
			}
			if err := g.iam.AttachRolePolicy("shared", g.adminP); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// Session names of 64 characters, STS's maximum: the largest
			// entries.
			person := func(i int) Target {
				return Target{Role: "shared", RoleID: role.ID, SessionName: fmt.Sprintf("%04d-%s", i, strings.Repeat("p", 59))}
			}
			for i := range tc.locked {
				if out, err := g.r.Apply(ctx, person(100000+i), true, g.clock, "held"); err != nil || out.Result != "locked" {
					t.Fatalf("lock %d: %+v %v", i, out, err)
				}
			}
			unlockedAt := map[int]time.Time{}
			for i := range tc.cycles {
				p := person(i)
				g.clock = g.clock.Add(time.Minute)
				before := g.clock.Add(-time.Second)
				out, err := g.r.Apply(ctx, p, true, g.clock, "lock")
				if err != nil || out.Result != "locked" || !out.Changed {
					t.Fatalf("cycle %d: lock failed: %+v %v", i, out, err)
				}
				if g.sessionAllowed("shared", p.SessionName, before) || g.sessionAllowed("shared", p.SessionName, g.clock.Add(time.Second)) {
					t.Fatalf("cycle %d: the locked person has access", i)
				}
				g.clock = g.clock.Add(time.Minute)
				during := g.clock.Add(-time.Second)
				if out, err := g.r.Apply(ctx, p, false, g.clock, "unlock"); err != nil || out.Result != "unlocked" {
					t.Fatalf("cycle %d: unlock failed: %+v %v", i, out, err)
				}
				unlockedAt[i] = g.clock
				if g.sessionAllowed("shared", p.SessionName, during) {
					t.Fatalf("cycle %d: the unlock revived a session issued while locked", i)
				}
				if !g.sessionAllowed("shared", p.SessionName, g.clock.Add(time.Second)) {
					t.Fatalf("cycle %d: no access after the unlock", i)
				}
			}
			// Every revocation still holds, and every lock.
			for i, at := range unlockedAt {
				if g.sessionAllowed("shared", person(i).SessionName, at.Add(-time.Second)) {
					t.Fatalf("person %d: a session issued before the unlock is alive", i)
				}
			}
			for i := range tc.locked {
				if g.sessionAllowed("shared", person(100000+i).SessionName, g.clock.Add(time.Hour)) {
					t.Fatalf("held lock %d lost", i)
				}
			}
			if size := policySize(rolePolicy(g, "shared")); size+tc.ownInline > iamtest.InlineRolePolicyChars {
				t.Fatalf("role policy of %d characters", size)
			}
			// And another lock still fits.
			if out, err := g.r.Apply(ctx, person(99999), true, g.clock, "lock"); err != nil || out.Result != "locked" {
				t.Fatalf("a new lock after the churn: %+v %v", out, err)
			}
			// Past the longest session every revocation goes.
			g.clock = g.clock.Add(13 * time.Hour)
			g.r.Apply(ctx, person(99999), false, g.clock, "unlock")
			pol, err := parseSessions(rolePolicy(g, "shared"))
			if err != nil || pol.folded != nil || len(pol.entries) != tc.locked+1 {
				t.Fatalf("after 13 h: %v entries, folded %v: %v", len(pol.entries), pol.folded, err)
			}
		})
	}
}
