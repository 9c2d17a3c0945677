package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTokenCommands: create, list and revoke tokens through the CLI; a
// read-only token reads and cannot write; a revoked one stops at once;
// the secret is shown once and never listed.
func TestTokenCommands(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	const boot = "token-cli-admin-token-i9Wq3amAXqc3Zr7Lp2"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+boot)
	env := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + boot}
	run := func(env []string, args ...string) (string, int) {
		t.Helper()
		stdout, stderr, code := runCLI(t, env, args...)
		return stdout + stderr, code
	}
	must := func(args ...string) string {
		t.Helper()
		out, code := run(env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
		return out
	}
	var ro struct {
		ID    string `json:"id"`
		Scope string `json:"scope"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(must("token", "create", "--name", "grafana", "--scope", "admin:read", "--expires-in", "720h", "-o", "json")), &ro); err != nil || !strings.HasPrefix(ro.Token, "lgt_") || ro.Scope != "admin:read" {
		t.Fatalf("create: %+v %v", ro, err)
	}
	list := must("token", "list")
	for _, want := range []string{"bootstrap (LOCKGATE_ADMIN_TOKEN)", "grafana", "admin:read"} {
		if !strings.Contains(list, want) {
			t.Fatalf("list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, ro.Token) || strings.Contains(list, boot) {
		t.Fatalf("list shows a secret:\n%s", list)
	}
	roEnv := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + ro.Token}
	if out, code := run(roEnv, "app", "list"); code != 0 {
		t.Fatalf("read-only app list: %d %s", code, out)
	}
	if out, code := run(roEnv, "app", "create", "--name", "X", "--issuer", "https://x.example"); code == 0 || !strings.Contains(out, "403") && !strings.Contains(strings.ToLower(out), "forbidden") && !strings.Contains(out, "scope") {
		t.Fatalf("read-only app create: %d %s", code, out)
	}
	must("token", "revoke", ro.ID)
	if out, code := run(roEnv, "app", "list"); code == 0 {
		t.Fatalf("revoked token still lists: %s", out)
	}
	if !strings.Contains(must("token", "list", "--all"), "grafana") {
		t.Fatal("revoked token missing from --all")
	}
	if out, code := run(env, "token", "create", "--name", "x", "--scope", "root"); code == 0 || !strings.Contains(out, "scope") {
		t.Fatalf("bad scope: %d %s", code, out)
	}
}

// TestUsernamesThroughCLI: an account locked as "alice" is the account
// the CLI finds as "ALICE" or " Alice", and a check signed for "Alice"
// through `lockgate check` answers locked.
func TestUsernamesThroughCLI(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	const boot = "username-cli-admin-token-AcWkMcVtCt"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+boot)
	env := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + boot}
	must := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		return stdout
	}
	var app struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(must("app", "create", "--name", "Demo", "--issuer", "https://demo.example", "-o", "json")), &app)
	must("account", "lock", app.ID, "alice")
	for _, form := range []string{"ALICE", " Alice", "alice\u200b", "ａlice"} {
		var st struct {
			Username string `json:"username"`
			Locked   bool   `json:"locked"`
		}
		if err := json.Unmarshal([]byte(must("account", "status", app.ID, form, "-o", "json")), &st); err != nil || !st.Locked || st.Username != "alice" {
			t.Errorf("status %q: %+v %v", form, st, err)
		}
	}
	if list := must("account", "list", app.ID, "-o", "json"); strings.Count(list, `"username"`) != 1 {
		t.Fatalf("forms became accounts: %s", list)
	}
}
