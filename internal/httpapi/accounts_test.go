package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/internal/storetest"
)

// TestDeleteAndRenameAccounts: the username migration reports accounts
// that caseless matching would make one and tells the admin to delete or
// rename one of each pair; these are the routes that do it. A rename onto
// another account's name is refused, a locked account is deleted or
// renamed only with force (either frees its name, which then answers as
// unknown), caches follow both, and a deletion is logged for the audit.
func TestDeleteAndRenameAccounts(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			var logs syncBuffer
			a := newAPIWithLog(t, b, nil, server.Options{}, &logs)
			app := a.createApp("A", "https://a.example")
			base := "/api/v1/admin/applications/" + app.ID
			acct := func(name string) string { return base + "/accounts/" + url.PathEscape(name) }
			type status struct {
				ID       string `json:"id"`
				Username string `json:"username"`
				Locked   bool   `json:"locked"`
			}
			checkLocked := func(sub string) bool {
				t.Helper()
				code, m, raw := a.check("/api/v1/lock-check", "Authorization", a.token(app.SigningKey.Secret, "https://a.example", sub), "{}")
				if code != 200 {
					t.Fatalf("check %q: %d %s", sub, code, raw)
				}
				return m["locked"] == true
			}
			msg := func(method, path string, body any) (int, string) {
				t.Helper()
				var e struct{ Message string }
				code := a.do(method, path, adminToken, body, &e)
				return code, e.Message
			}
			// An exact application holding the pair the migration reports.
			if code := a.do("PATCH", base, adminToken, `{"username_match":"exact"}`, nil); code != 200 {
				t.Fatalf("exact: %d", code)
			}
			var big, small status
			a.do("POST", acct("Alice")+"/lock", adminToken, `{"reason":"stolen"}`, &big)
			a.do("POST", acct("alice")+"/unlock", adminToken, nil, &small)
			if code, m := msg("PATCH", base, `{"username_match":"caseless"}`); code != 409 || !strings.Contains(m, "Alice") {
				t.Fatalf("switch with the collision: %d %s", code, m)
			}

			// Rename onto the other's name: refused, naming it.
			if code, m := msg("POST", acct("alice")+"/rename", `{"username":"Alice"}`); code != 409 || !strings.Contains(m, big.ID) {
				t.Fatalf("rename onto Alice: %d %s", code, m)
			}
			for _, bad := range []string{`{"username":""}`, `{"username":"\u200b "}`, `{}`} {
				if code, m := msg("POST", acct("alice")+"/rename", bad); code != 400 || !strings.Contains(m, "username") {
					t.Fatalf("rename %s: %d %s", bad, code, m)
				}
			}
			var renamed status
			if code := a.do("POST", acct("alice")+"/rename", adminToken, `{"username":"alice.old"}`, &renamed); code != 200 || renamed.ID != small.ID || renamed.Username != "alice.old" {
				t.Fatalf("rename: %d %+v", code, renamed)
			}
			if code := a.do("GET", acct("alice"), adminToken, nil, nil); code != 404 {
				t.Fatalf("old name after rename: %d", code)
			}
			// The collision is resolved: the switch goes through.
			if code, m := msg("PATCH", base, `{"username_match":"caseless"}`); code != 200 {
				t.Fatalf("switch after the rename: %d %s", code, m)
			}
			// Under caseless matching, "ALICE" is Alice's canonical name.
			if code, m := msg("POST", acct("alice.old")+"/rename", `{"username":" ALICE"}`); code != 409 || !strings.Contains(m, big.ID) {
				t.Fatalf("rename onto ALICE under caseless: %d %s", code, m)
			}

			// A locked account: refused without force, whichever way.
			if !checkLocked("alice") {
				t.Fatal("Alice not locked")
			}
			if code, m := msg("DELETE", acct("alice"), nil); code != 409 || !strings.Contains(m, "is locked") || !strings.Contains(m, "force") {
				t.Fatalf("delete locked: %d %s", code, m)
			}
			if code, m := msg("POST", acct("alice")+"/rename", `{"username":"bob"}`); code != 409 || !strings.Contains(m, "is locked") {
				t.Fatalf("rename locked: %d %s", code, m)
			}
			if code, m := msg("DELETE", acct("alice")+"?force=yes", nil); code != 400 || !strings.Contains(m, "force") {
				t.Fatalf("force=yes: %d %s", code, m)
			}
			// Forced rename: the lock follows the account to its new name,
			// although a check had just found that name unknown (cached).
			if checkLocked("carol") {
				t.Fatal("carol locked before the rename")
			}
			if code, m := msg("POST", acct("ALICE")+"/rename?force=true", `{"username":"Carol"}`); code != 200 {
				t.Fatalf("forced rename: %d %s", code, m)
			}
			if !checkLocked("carol") || checkLocked("alice") {
				t.Fatal("after the rename: carol should be locked, alice unknown")
			}
			// Forced delete: gone, its name unknown, its history kept in the log.
			if code := a.do("DELETE", acct("carol")+"?force=true", adminToken, nil, nil); code != 204 {
				t.Fatalf("forced delete: %d", code)
			}
			if checkLocked("carol") {
				t.Fatal("carol still locked after the delete")
			}
			if code := a.do("DELETE", acct("carol"), adminToken, nil, nil); code != 404 {
				t.Fatalf("delete again: %d", code)
			}
			// Unlocked accounts need no force.
			if code := a.do("DELETE", acct("alice.old"), adminToken, nil, nil); code != 204 {
				t.Fatalf("delete unlocked: %d", code)
			}
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, `msg="account deleted"`) && strings.Contains(l, "account="+big.ID) {
					line = l
				}
			}
			if line == "" || !strings.Contains(line, "username=Carol") || !strings.Contains(line, "state=locked") || !strings.Contains(line, "force=true") || !strings.Contains(line, "remote=127.0.0.1") || strings.Contains(line, adminToken) {
				t.Fatalf("audit line of the forced delete: %q\n%s", line, logs.String())
			}
			if !strings.Contains(logs.String(), `msg="account renamed"`) {
				t.Fatal("no log line for the renames")
			}
		})
	}
}

// TestTimedUnlockIsLockedForRename: an account unlocked "for 15m"
// relocks by itself; renaming or deleting it frees its name as for a
// locked account (the relock would come under the new name, or not at
// all, while the name users sign in with answers unknown), so both are
// refused unless forced.
func TestTimedUnlockIsLockedForRename(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			a := newAPI(t, b)
			app := a.createApp("A", "https://a.example")
			acct := "/api/v1/admin/applications/" + app.ID + "/accounts/"
			for _, name := range []string{"frank", "erin"} {
				if code := a.do("POST", acct+name+"/lock", adminToken, nil, nil); code != 200 {
					t.Fatalf("lock %s: %d", name, code)
				}
				if code := a.do("POST", acct+name+"/unlock", adminToken, `{"for":"15m"}`, nil); code != 200 {
					t.Fatalf("unlock %s for 15m: %d", name, code)
				}
			}
			var e struct{ Message string }
			if code := a.do("POST", acct+"frank/rename", adminToken, `{"username":"frank.old"}`, &e); code != 409 || !strings.Contains(e.Message, "relocks by itself") || !strings.Contains(e.Message, "force") {
				t.Fatalf("rename in a timed unlock: %d %s", code, e.Message)
			}
			if code := a.do("DELETE", acct+"erin", adminToken, nil, &e); code != 409 || !strings.Contains(e.Message, "relocks by itself") {
				t.Fatalf("delete in a timed unlock: %d %s", code, e.Message)
			}
			if code := a.do("POST", acct+"frank/rename?force=true", adminToken, `{"username":"frank.old"}`, nil); code != 200 {
				t.Fatalf("forced rename: %d", code)
			}
			if code := a.do("DELETE", acct+"erin?force=true", adminToken, nil, nil); code != 204 {
				t.Fatalf("forced delete: %d", code)
			}
			// Unlocked for good: no force needed.
			a.do("POST", acct+"frank.old/unlock", adminToken, nil, nil)
			if code := a.do("DELETE", acct+"frank.old", adminToken, nil, nil); code != 204 {
				t.Fatalf("delete after an unlock for good: %d", code)
			}
		})
	}
}
