package main

import (
	"strings"
	"testing"
)

// Issue 15: every error names the object and suggests the next step;
// usage errors exit 2 and say "lockgate:" once (atk-ops C24).
func TestUsageErrorsNameTheCommandOnce(t *testing.T) {
	tests := []cliCase{
		{"missing argument", []string{"me", "history"}, 2, []string{"lockgate: me history takes 1 argument, got 0\n", "Usage: lockgate me history ACCOUNT"}},
		{"extra argument", []string{"app", "list", "x"}, 2, []string{`lockgate: app list takes no arguments, got ["x"]`}},
		{"missing user", []string{"account", "lock", "app_x"}, 2, []string{"lockgate: missing USER (a username)\n", "Usage: lockgate account lock APP USER"}},
		{"help typo of a subcommand", []string{"help", "craete"}, 2, []string{`did you mean "app create"?`}},
		{"help typo under a group", []string{"help", "account", "lck"}, 2, []string{`did you mean "lock"?`}},
		{"help unknown topic", []string{"help", "frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{"help of a command", []string{"help", "account", "lock"}, 0, []string{"lockgate account lock APP USER"}},
		// atk9f F25: cobra's generated completion command printed the
		// help and exited 0 for an unknown shell, 1 for an extra argument.
		{"completion unknown shell", []string{"completion", "foo"}, 2, []string{`lockgate: unknown command "foo" for "lockgate completion"`}},
		{"completion extra argument", []string{"completion", "bash", "extra"}, 2, []string{`lockgate: completion bash takes no arguments, got ["extra"]`, "Usage: lockgate completion bash"}},
		{"completion", []string{"completion", "bash"}, 0, []string{"bash completion"}},
	}
	runCLICases(t, tests, func(t *testing.T, tt cliCase, stdout string) {
		_, stderr, _ := runCLI(t, nil, tt.args...)
		if strings.Contains(stderr, "lockgate: lockgate") {
			t.Errorf("doubled prefix:\n%s", stderr)
		}
		if strings.Count(stderr, "Usage:") > 1 || strings.Contains(stderr, "usage: lockgate") {
			t.Errorf("usage printed twice:\n%s", stderr)
		}
	})
}

// A server URL that the client would misuse is refused before any
// request, naming where it came from (atk-ops C20, D09).
func TestServerURLIsChecked(t *testing.T) {
	tests := []struct {
		name, where, url string
		want             string // "" = accepted
	}{
		{"no scheme", "--server", "127.0.0.1:8080", "write it with its scheme, e.g. http://127.0.0.1:8080"},
		{"host name no scheme", "--server", "localhost:8080", "e.g. http://localhost:8080"},
		{"ftp", "--server", "ftp://127.0.0.1:8080", "must be http:// or https://, not ftp://"},
		{"path", "LOCKGATE_SERVER", "http://127.0.0.1:8080/prefix", "has a path or query: lockgate serves its API at the root; give http://127.0.0.1:8080"},
		{"query", "LOCKGATE_SERVER", "http://127.0.0.1:8080/?x=1", "has a path or query"},
		{"root", "--server", "https://lock.example.com/", ""},
		{"port", "--server", "http://[::1]:8080", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkServerURL(tt.where, tt.url)
			if tt.want == "" {
				if err != nil || strings.HasSuffix(got, "/") {
					t.Fatalf("checkServerURL(%q) = %q, %v; want accepted without trailing slash", tt.url, got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkServerURL(%q) = %q, want an error", tt.url, got)
			}
			if _, ok := err.(usageError); !ok {
				t.Errorf("error %T is not a usage error (exit 2)", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, tt.where) {
				t.Errorf("error %q, want it to start with %q and contain %q", msg, tt.where, tt.want)
			}
		})
	}
	// Through the binary: refused with exit 2 before connecting.
	_, stderr, code := runCLI(t, []string{"LOCKGATE_SERVER=http://127.0.0.1:1/prefix", "LOCKGATE_ADMIN_TOKEN=x"}, "app", "list")
	if code != 2 || !strings.Contains(stderr, "LOCKGATE_SERVER") {
		t.Errorf("exit %d, want 2 naming LOCKGATE_SERVER:\n%s", code, stderr)
	}
}

// Missing objects are named for what is missing, with the next step
// (atk-ops C19, C24).
func TestNotFoundNamesWhatIsMissing(t *testing.T) {
	addr := freeAddr(t)
	const tok = "ux-errors-admin-token-L8TwijfwGSB8"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+tok)
	srv := []string{"--server", p.url(), "--token", tok}
	tests := []cliCase{
		{"lock in a missing application", append([]string{"account", "lock", "app_nope", "alice"}, srv...), 1,
			[]string{"application app_nope not found — list them with `lockgate app list`"}},
		{"unlock in a missing application", append([]string{"account", "unlock", "app_nope", "alice"}, srv...), 1,
			[]string{"application app_nope not found"}},
		{"gateway status without a gateway", append([]string{"gateway", "status"}, srv...), 1,
			[]string{"no gateway is configured", "`gateway:` section"}},
	}
	runCLICases(t, tests)
}

// Errors echo what was typed, and a name piped from `-o json | jq -r`
// holds ESC again: the error path escapes control characters as tables
// do, keeping its own newlines (atk14f F9: "account x^[]0;PWNED^G… not
// found" set the terminal's title).
func TestErrorsEscapeArguments(t *testing.T) {
	addr := freeAddr(t)
	const tok = "ux-errors-admin-token-L8TwijfwGSB8"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+tok)
	const evil = "x\x1b]0;PWNED\a\x1b[31mRED\x1b[0m\r\u009b"
	const shown = `x\x1b]0;PWNED\a\x1b[31mRED\x1b[0m\r\u009b`
	srv := []string{"--server", p.url(), "--token", tok}
	for _, args := range [][]string{
		{"person", "get", "p" + evil},
		{"token", "get", "t" + evil},
		{"app", "get", "a" + evil},
		{"account", "status", "app_" + evil, "alice"},
		{"account", "history", "app_" + evil, "alice"},
	} {
		t.Run(args[0]+" "+args[1], func(t *testing.T) {
			_, stderr, code := runCLI(t, nil, append(args, srv...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, stderr)
			}
			if strings.ContainsAny(stderr, "\x1b\a\r\u009b") {
				t.Errorf("raw control characters on standard error: %q", stderr)
			}
			if !strings.Contains(stderr, shown) {
				t.Errorf("want the argument shown escaped (%s):\n%s", shown, stderr)
			}
		})
	}
}

func TestSafeMessage(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"a\x1b[2Jb\r\x7f", `a\x1b[2Jb\r\x7f`},
		{"bidi \u202e and C1 \u0085", `bidi \u202e and C1 \u0085`},
	} {
		if got := safeMessage(tt.in); got != tt.want {
			t.Errorf("safeMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
