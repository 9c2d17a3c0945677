package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// waf test says what the gateway does with a request it refuses before
// any web ACL, instead of the web ACL's ALLOW (atk9f F11: a header sent
// twice, a host that is not host[:port]).
func TestWAFTestSaysWhatTheGatewayRefuses(t *testing.T) {
	acl := "../../waf/testdata/blog-acl.json"
	rep := filepath.Join(t.TempDir(), "reputation.txt")
	if err := os.WriteFile(rep, []byte("192.0.2.0/24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		refuse string
	}{
		{"a header sent twice", []string{"-H", "X-A: 1", "-H", "X-A: 2", "-H", "Host: a.test"}, "the header X-A is sent more than once"},
		{"a host with two ports", []string{"-H", "Host: a.test:80:80"}, `the host "a.test:80:80" is not a valid host[:port]`},
		{"a host with an empty label", []string{"-H", "Host: a..test"}, `the host "a..test" is not a valid host[:port]`},
		{"a request the gateway inspects", []string{"-H", "Host: a.test"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"waf", "test", "--acl", acl, "--ip-reputation", rep, "--ip", "198.51.100.3"}, tt.args...)
			stdout, stderr, code := runCLI(t, nil, args...)
			if tt.refuse == "" {
				if code != 0 || strings.Contains(stdout, "REFUSED") {
					t.Fatalf("exit %d: %s%s", code, stdout, stderr)
				}
				return
			}
			if code != 3 || strings.TrimSpace(stdout) != "REFUSED 400 by the gateway before the web ACL: "+tt.refuse {
				t.Errorf("exit %d, want 3 and the gateway's refusal:\n%s%s", code, stdout, stderr)
			}
			stdout, _, code = runCLI(t, nil, append(args, "-o", "json")...)
			if code != 3 || !strings.Contains(stdout, `"refused"`) || !strings.Contains(stdout, `"status": 400`) {
				t.Errorf("-o json: exit %d:\n%s", code, stdout)
			}
		})
	}
}
