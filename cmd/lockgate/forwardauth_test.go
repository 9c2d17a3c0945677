package main

import (
	"encoding/json"
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
