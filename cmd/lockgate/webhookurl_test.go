package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestWebhookAddRefusesDisguisedURLs: lockgate webhook add reports the
// server's refusal of hosts and ports written so that what is vetted is
// not what is dialled, and registers nothing.
func TestWebhookAddRefusesDisguisedURLs(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	const tok = "cli-webhook-url-admin-token-bn9RjhYGxKq4Wm8TzP"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+tok, "LOCKGATE_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8")
	env := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + tok}
	stdout, stderr, code := runCLI(t, env, "app", "create", "--name", "W", "--issuer", "https://w.example", "-o", "json")
	var app struct{ ID string }
	if code != 0 || json.Unmarshal([]byte(stdout), &app) != nil {
		t.Fatalf("app create: %d %s%s", code, stdout, stderr)
	}
	for _, tt := range []struct{ url, want string }{
		{"http://１２７.0.0.1/", "non-ASCII character U+FF11"},
		{"http://127。0。0。1/", "non-ASCII character U+3002"},
		{"http://[::127.0.0.1]/", "IPv6 form of the IPv4 address 127.0.0.1"},
		{"http://[::ffff:127.0.0.1]/", "IPv6 form of the IPv4 address 127.0.0.1"},
		{"http://127.0.0.1:65536/", "port 65536 is not between 1 and 65535"},
	} {
		t.Run(tt.url, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, env, "webhook", "add", tt.url, "--app", app.ID)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, want an error naming %q\n%s%s", code, tt.want, stdout, stderr)
			}
		})
	}
	if stdout, stderr, code := runCLI(t, env, "webhook", "add", "http://127.0.0.1:8080/hook", "--app", app.ID); code != 0 {
		t.Fatalf("allowed loopback URL: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, _, _ = runCLI(t, env, "webhook", "list", "--app", app.ID, "-o", "json")
	var list struct{ Items []json.RawMessage }
	if json.Unmarshal([]byte(stdout), &list) != nil || len(list.Items) != 1 {
		t.Fatalf("webhook list: %s, want the one accepted URL", stdout)
	}
}
