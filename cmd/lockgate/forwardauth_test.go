package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// config validate accepts a forward_auth route whose web ACL inspects
// the body, and warns with the place of the route: behind nginx, Caddy
// and Traefik the rule sees an empty body.
func TestValidateWarnsForBodyRules(t *testing.T) {
	dir := t.TempDir()
	acl, err := os.ReadFile("../../internal/forwardauth/testdata/proxied-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "acl.json"), acl, 0o600)
	cfg := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfg, []byte(`forward_auth:
  listen: 127.0.0.1:9191
  trusted_proxies: [127.0.0.1]
  copy_headers: [X-Amzn-Waf-Api]
  routes:
    - name: shop
      web_acl: acl.json
waf:
  ip_sets:
    - arn: arn:aws:wafv2:us-east-1:123456789012:regional/ipset/blocked/a1b2c3d4-0000-0000-0000-000000000001
      addresses: [203.0.113.0/24]
`), 0o600)
	_, stderr, code := runCLI(t, nil, "config", "validate", "--ignore-env", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := `warning: ` + cfg + `:7:16: forward_auth.routes[0].web_acl: rule "SQLiBody" inspects the body`
	if !strings.Contains(stderr, want) {
		t.Fatalf("stderr %q, want %q", stderr, want)
	}
	out, _, code := runCLI(t, nil, "config", "validate", "--ignore-env", "-o", "json", cfg)
	var v struct {
		OK       bool
		Warnings []struct{ Path, Message string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || !v.OK || len(v.Warnings) != 1 || v.Warnings[0].Path != "forward_auth.routes[0].web_acl" {
		t.Fatalf("json %s (exit %d): %+v", out, code, v)
	}
}

// config validate refuses a forward_auth route whose web ACL inserts a
// header that copy_headers does not list, naming the place of the route:
// the proxies copy only the listed names.
func TestValidateCopyHeaders(t *testing.T) {
	dir := t.TempDir()
	acl, err := os.ReadFile("../../internal/forwardauth/testdata/proxied-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "acl.json"), acl, 0o600)
	cfg := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfg, []byte(`forward_auth:
  listen: 127.0.0.1:9191
  trusted_proxies: [127.0.0.1]
  copy_headers: [X-Lockgate-Principal]
  routes:
    - name: shop
      web_acl: acl.json
waf:
  ip_sets:
    - arn: arn:aws:wafv2:us-east-1:123456789012:regional/ipset/blocked/a1b2c3d4-0000-0000-0000-000000000001
      addresses: [203.0.113.0/24]
`), 0o600)
	_, stderr, code := runCLI(t, nil, "config", "validate", "--ignore-env", cfg)
	want := cfg + `:7:16: forward_auth.routes[0].web_acl: the web ACL inserts X-Amzn-Waf-Api, which forward_auth.copy_headers does not list`
	if code == 0 || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr %q; want %q", code, stderr, want)
	}
}

// config validate refuses what silently weakens routing, in forward
// auth and in the gateway alike (atk20f F9): two routes for the same
// host and path prefix (only the first would ever decide; each is named
// at its own line), and a trusted_proxies entry trusting every address
// unless wide_trusted_proxies: allow acknowledges it.
func TestValidateRefusesWeakeningRoutesAndProxies(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("block.json", `{"Name":"block","DefaultAction":{"Block":{}},"Rules":[],"VisibilityConfig":{"MetricName":"block","SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false}}`)
	tests := []struct {
		name, yaml string
		want       []string // in stderr; none: valid
	}{
		{"forward auth: same prefix twice", `forward_auth:
  listen: 127.0.0.1:9191
  trusted_proxies: [127.0.0.1]
  routes:
    - {name: b, path_prefix: /}
    - {name: a, path_prefix: /, web_acl: block.json}
`, []string{`:5:7: forward_auth.routes[0]: route "b" has the same any host and path_prefix "/" as routes[1] ("a")`,
			`:6:7: forward_auth.routes[1]: route "a" has the same any host and path_prefix "/" as routes[0] ("b")`}},
		{"forward auth: the same host spelled differently, prefix left out", `forward_auth:
  listen: 127.0.0.1:9191
  trusted_proxies: [127.0.0.1]
  routes:
    - {name: a, host: secret.test, path_prefix: /x/, web_acl: block.json}
    - {name: b, host: "SECRET.TEST.:443", path_prefix: /x/}
    - {name: c, host: secret.test, web_acl: block.json}
    - {name: d, host: Secret.Test, path_prefix: /}
`, []string{`:6:7: forward_auth.routes[1]: route "b" has the same host "SECRET.TEST.:443" and path_prefix "/x/" as routes[0] ("a")`,
			`:8:7: forward_auth.routes[3]: route "d" has the same host "Secret.Test" and path_prefix "/" as routes[2] ("c")`}},
		{"gateway: same prefix twice", `gateway:
  listen: 127.0.0.1:9190
  routes:
    - {name: a, path_prefix: /api/, upstreams: ["http://127.0.0.1:9000"], web_acl: block.json}
    - {name: b, path_prefix: /api/, upstreams: ["http://127.0.0.1:9000"]}
`, []string{`:5:7: gateway.routes[1]: route "b" has the same any host and path_prefix "/api/" as routes[0] ("a")`}},
		{"forward auth: every address trusted", `forward_auth:
  listen: 127.0.0.1:9191
  trusted_proxies: [127.0.0.1, 0.0.0.0/0, "::/0"]
  routes: [{name: a}]
`, []string{`:3:32: forward_auth.trusted_proxies[1]: "0.0.0.0/0" trusts more addresses`, `:3:43: forward_auth.trusted_proxies[2]: "::/0" trusts more addresses`}},
		{"gateway: every address trusted", `gateway:
  listen: 127.0.0.1:9190
  trusted_proxies: ["0.0.0.0/1", "::ffff:0.0.0.0/96"]
  routes: [{name: a, upstreams: ["http://127.0.0.1:9000"]}]
`, []string{`:3:21: gateway.trusted_proxies[0]: "0.0.0.0/1" trusts more`, `:3:34: gateway.trusted_proxies[1]: "::ffff:0.0.0.0/96" trusts more`}},
		{"acknowledged", `gateway:
  listen: 127.0.0.1:9190
  trusted_proxies: [0.0.0.0/0]
  wide_trusted_proxies: allow
  routes: [{name: a, upstreams: ["http://127.0.0.1:9000"]}]
forward_auth:
  listen: 127.0.0.1:9191
  trusted_proxies: ["::/0", 10.0.0.0/8, "fc00::/7"]
  wide_trusted_proxies: allow
  routes: [{name: a}]
`, nil},
		{"private ranges need no acknowledgement", `forward_auth:
  listen: 127.0.0.1:9191
  trusted_proxies: [10.0.0.0/8, "fc00::/7", 100.64.0.0/10]
  routes: [{name: a}, {name: b, host: shop.test}, {name: c, path_prefix: /api}]
`, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := write(fmt.Sprintf("c%d.yaml", i), tc.yaml)
			_, stderr, code := runCLI(t, nil, "config", "validate", "--ignore-env", cfg)
			if len(tc.want) == 0 {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				return
			}
			if code == 0 {
				t.Fatalf("accepted: %s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, cfg+w) {
					t.Errorf("stderr lacks %q:\n%s", cfg+w, stderr)
				}
			}
		})
	}
}
