package awsiam

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/awsiam/iamtest"
)

func attached(g *rig, user string) []string {
	var a []string
	g.iam.Do(func(users map[string]*iamtest.User, _ map[string]*iamtest.Role) {
		a = slices.Clone(users[user].Attached)
	})
	return a
}

// F-1 (attack on issue 10): a user at or near IAM's tag quota. The
// quotas page (reference_iam-quotas): "Tags that can be attached to an
// IAM user | 50"; TagUser (API reference): "If any one of the tags is
// invalid or if you exceed the allowed maximum number of tags, then the
// entire request fails". The lock is recorded before anything is changed
// — in the tags, or at the lock service when they are full — so the
// unlock restores it; with nowhere to record, the deny-all still goes on
// and the unlock fails loudly instead of "nothing to restore".
func TestLockAtTheTagQuota(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ownTags    int
		keys       int
		noLedger   bool
		ledgerDown bool
	}{
		{name: "50 own tags, 2 keys", ownTags: 50, keys: 2},
		{name: "48 own tags, 2 keys", ownTags: 48, keys: 2},
		{name: "49 own tags, 1 key", ownTags: 49, keys: 1},
		{name: "49 own tags, no ledger", ownTags: 49, keys: 1, noLedger: true},
		{name: "49 own tags, the lock service refuses the record", ownTags: 49, keys: 1, ledgerDown: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t)
			u := g.admin("anaya", tc.keys)
			g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
				for i := range tc.ownTags {
					u.Tags[fmt.Sprintf("team%02d", i)] = "x"
				}
			})
			if tc.noLedger {
				g.r.Ledger = nil
			}
			if tc.ledgerDown {
				g.book.fail = errors.New("lock service down")
			}
			before := snapshot(g, "anaya")
			g.checker.set("anaya", true)
			lockOut, lockErr := g.r.HandleEvent(context.Background(), g.event("anaya"))
			if g.allowedWithSession("anaya", g.clock.Add(time.Minute)) || g.allowedWithKey("anaya", u.Keys[0].ID) {
				t.Fatalf("not denied after the lock: %+v", lockOut)
			}
			lockedKeys := keyStatus(g, "anaya")
			g.clock = g.clock.Add(time.Hour)
			g.checker.set("anaya", false)
			out, err := g.r.HandleEvent(context.Background(), g.event("anaya"))
			if tc.noLedger || tc.ledgerDown {
				// Nowhere to record: the lock failed visibly, and the unlock
				// must not say "nothing to restore" with success.
				if lockErr == nil || lockOut.Result != "failed" {
					t.Fatalf("unrecorded lock reported as %+v", lockOut)
				}
				if err == nil || out.Result != "failed" || strings.Contains(out.Reason, "nothing to restore") || !strings.Contains(out.Reason, "no record") {
					t.Fatalf("unlock of an unrecorded lock: %+v %v", out, err)
				}
				if !slices.Contains(attached(g, "anaya"), g.denyARN) {
					t.Fatal("the deny-all went without a record")
				}
				return
			}
			if lockErr != nil || lockOut.Result != "locked" || !strings.Contains(lockOut.Reason, "recorded at the lock service") {
				t.Fatalf("lock: %+v %v", lockOut, lockErr)
			}
			if slices.Contains(lockedKeys, "Active") {
				t.Fatalf("keys after the lock: %v %+v", lockedKeys, lockOut)
			}
			if err != nil || out.Result != "unlocked" || !out.Changed {
				t.Fatalf("unlock: %+v %v", out, err)
			}
			if after := snapshot(g, "anaya"); after != before {
				t.Fatalf("not restored:\nbefore %s\nafter  %s", before, after)
			}
			if rec, ok, _ := g.book.UserRecord(context.Background(), "anaya"); !ok || rec.Locked {
				t.Fatalf("the ledger still says locked: %+v", rec)
			}
			// A second lock and unlock work the same way.
			g.checker.set("anaya", true)
			g.clock = g.clock.Add(time.Hour)
			if out := g.handle(g.event("anaya")); out.Result != "locked" {
				t.Fatalf("second lock %+v", out)
			}
			g.clock = g.clock.Add(time.Hour)
			g.checker.set("anaya", false)
			if out := g.handle(g.event("anaya")); out.Result != "unlocked" || snapshot(g, "anaya") != before {
				t.Fatalf("second unlock %+v", out)
			}
		})
	}
}

// F-3 (attack on issue 10): a deny-all lockgate did not attach is never
// detached. A lockgate:locked tag lockgate did not write (another value,
// another date format) is not lockgate's record; a deny-all already in
// place at lockgate's lock stays after its unlock.
func TestForeignDenyAllStays(t *testing.T) {
	for _, tc := range []struct {
		name, tag string
		lockFirst bool
	}{
		{name: "tag with a word", tag: "someone"},
		{name: "tag with another date format", tag: "2026-11-21T11:00:00Z"},
		{name: "tag with lockgate's date and an unknown marker", tag: "2026-11-21T11:00:00.000Z deny=lockgate"},
		{name: "administrator's deny-all before lockgate's lock", lockFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t)
			u := g.admin("anaya", 2)
			g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) {
				u.Attached = append(u.Attached, g.denyARN)
				u.Keys[1].Status = "Inactive"
				if tc.tag != "" {
					u.Tags[tagLocked] = tc.tag
				}
			})
			if tc.lockFirst {
				g.checker.set("anaya", true)
				if out := g.handle(g.event("anaya")); out.Result != "locked" {
					t.Fatalf("lock %+v", out)
				}
				g.clock = g.clock.Add(time.Hour)
			}
			g.checker.set("anaya", false)
			out, err := g.r.HandleEvent(context.Background(), g.event("anaya"))
			if !slices.Contains(attached(g, "anaya"), g.denyARN) {
				t.Fatalf("the administrator's deny-all was detached: %+v", out)
			}
			if got := keyStatus(g, "anaya"); got[1] != "Inactive" {
				t.Fatalf("the administrator's disabled key: %v", got)
			}
			if tc.lockFirst {
				if err != nil || out.Result != "unlocked" || !strings.Contains(out.Reason, "before lockgate's lock") || keyStatus(g, "anaya")[0] != "Active" {
					t.Fatalf("%+v %v %v", out, err, keyStatus(g, "anaya"))
				}
				return
			}
			if err == nil || out.Result != "failed" || !strings.Contains(out.Reason, "did not write") || tagsOf(g, "anaya")[tagLocked] != tc.tag {
				t.Fatalf("%+v %v", out, err)
			}
		})
	}
}

// F-4 (attack on issue 10): a user whose own inline policies leave no
// room for AwsRevokeOlderSessions. The quotas page: "User policy size
// cannot exceed 2,048 characters." The unlock never needs more room than
// the lock had, so it restores the user and says what it could not do.
func TestUnlockWithTheInlineBudgetFull(t *testing.T) {
	g := newRig(t)
	u := g.admin("anaya", 2)
	own := `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("a", 1950) + `","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	g.iam.Do(func(map[string]*iamtest.User, map[string]*iamtest.Role) { u.Inline["Own"] = own })
	before := snapshot(g, "anaya")
	g.checker.set("anaya", true)
	lockOut, _ := g.r.HandleEvent(context.Background(), g.event("anaya"))
	if !strings.Contains(lockOut.Reason, "2,048") || g.allowedWithKey("anaya", u.Keys[0].ID) || !slices.Contains(keyStatus(g, "anaya"), "Inactive") {
		t.Fatalf("lock: %+v", lockOut)
	}
	for i := range 2 { // a retry of the unlock changes nothing more
		g.clock = g.clock.Add(time.Hour)
		g.checker.set("anaya", false)
		out, err := g.r.HandleEvent(context.Background(), g.event("anaya"))
		if err != nil || out.Result != "unlocked" || (i == 0 && !strings.Contains(out.Reason, "2,048")) {
			t.Fatalf("unlock %d: %+v %v", i, out, err)
		}
	}
	if after := snapshot(g, "anaya"); after != before {
		t.Fatalf("not restored:\nbefore %s\nafter  %s", before, after)
	}
}

// F-5 (attack on issue 10): the console password deleted at the lock
// cannot be restored; the unlock says so.
func TestUnlockSaysTheLoginProfileIsGone(t *testing.T) {
	g := newRig(t)
	g.r.DeleteLoginProfile = true
	g.admin("anaya", 1)
	g.checker.set("anaya", true)
	g.handle(g.event("anaya"))
	g.r.DeleteLoginProfile = false // the record, not today's setting, says what the lock did
	g.clock = g.clock.Add(time.Hour)
	g.checker.set("anaya", false)
	if out := g.handle(g.event("anaya")); out.Result != "unlocked" || !strings.Contains(out.Reason, "console password was deleted") {
		t.Fatalf("%+v", out)
	}
}

// F-9 (attack on issue 10): a push for a person seen only on a role:
// the IAM user of that name does not exist, which is "skipped"
// (docs/iam-responder.md: "A principal that does not exist is
// `skipped`") — in the answer, the log and the account history alike.
func TestPushForARoleOnlyPersonReportsNoFailure(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("admin")
	g.book.Remember(context.Background(), Target{Role: "admin", RoleID: role.ID, SessionName: "p3"})
	var logs bytes.Buffer
	var mu sync.Mutex
	var reported []Outcome
	g.r.Log = slog.New(slog.NewTextHandler(&logs, nil))
	g.r.Report = func(_ context.Context, o Outcome) { mu.Lock(); reported = append(reported, o); mu.Unlock() }
	mux := http.NewServeMux()
	(&Handler{R: g.r, WebhookSecret: "hook-secret-of-more-than-16-bytes"}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, to := range []string{"locked", "unlocked"} {
		g.clock = g.clock.Add(time.Minute)
		code, ans := signedPush(t, srv.URL, "hook-secret-of-more-than-16-bytes", "p3", to, g.clock)
		if code != 200 || len(ans.Outcomes) != 2 || ans.Outcomes[1].Result != "skipped" {
			t.Fatalf("%s: %d %+v", to, code, ans)
		}
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("logged an error:\n%s", logs.String())
	}
	for _, o := range reported {
		if o.Result == "failed" || o.Target.User != "" {
			t.Fatalf("reported %+v", o)
		}
	}
}
