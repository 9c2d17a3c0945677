package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAccountDeleteAndRename resolves a username collision through the
// CLI as docs/api.md tells an operator to: rename one of the pair, switch
// the application to caseless; a rename onto the other's name and the
// deletion of a locked account without --force are refused with the
// reason.
func TestAccountDeleteAndRename(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	const tok = "cli-account-admin-token-MAdkQGLUgnwRY"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+tok)
	env := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + tok}
	run := func(wantOK bool, args ...string) string {
		t.Helper()
		stdout, stderr, code := runCLI(t, env, args...)
		if (code == 0) != wantOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		return stdout + stderr
	}
	var app struct{ ID string }
	json.Unmarshal([]byte(run(true, "app", "create", "--name", "C", "--issuer", "https://c.example", "--username-match", "exact", "-o", "json")), &app)
	if app.ID == "" {
		t.Fatal("no application")
	}
	run(true, "account", "lock", app.ID, "Alice")
	run(true, "account", "unlock", app.ID, "alice")
	if out := run(false, "app", "update", app.ID, "--username-match", "caseless"); !strings.Contains(out, "Alice") {
		t.Fatalf("switch with the collision: %s", out)
	}
	if out := run(false, "account", "rename", app.ID, "alice", "Alice"); !strings.Contains(out, "is the name of account") {
		t.Fatalf("rename onto Alice: %s", out)
	}
	if out := run(false, "account", "rename", app.ID, "alice"); !strings.Contains(out, "APP USER NEW") {
		t.Fatalf("rename without NEW: %s", out)
	}
	var st struct {
		Username string `json:"username"`
		Locked   bool   `json:"locked"`
	}
	json.Unmarshal([]byte(run(true, "account", "rename", app.ID, "alice", "alice.old", "-o", "json")), &st)
	if st.Username != "alice.old" || st.Locked {
		t.Fatalf("renamed: %+v", st)
	}
	run(true, "app", "update", app.ID, "--username-match", "caseless")

	if out := run(false, "account", "delete", app.ID, "ALICE"); !strings.Contains(out, "is locked") || !strings.Contains(out, "force") {
		t.Fatalf("delete locked: %s", out)
	}
	run(true, "account", "status", app.ID, "alice")
	// The name printed is the stored one (Alice), not the one typed (atk14 F10).
	if out := run(true, "account", "delete", app.ID, "ALICE", "--force"); !strings.Contains(out, "deleted account Alice") {
		t.Fatalf("forced delete: %s", out)
	}
	if out := run(false, "account", "status", app.ID, "alice"); !strings.Contains(out, "not found") {
		t.Fatalf("status after delete: %s", out)
	}
	run(true, "account", "delete", app.ID, "alice.old")
	if !strings.Contains(p.logs.String(), `msg="account deleted"`) {
		t.Fatalf("no audit line:\n%s", p.logs.String())
	}
}
