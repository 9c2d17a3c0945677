package server

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validateCase is a configuration that serve refused at start (after
// creating the data directory) while config validate said "ok": validate
// must now find it, at the file's line, with the code serve runs.
type validateCase struct {
	name  string
	yaml  string            // the file; KEY is replaced by a good signing key file's name
	env   map[string]string // the environment
	files map[string]string // more files beside it
	want  string            // ":line:col: path: message" after the file's name
}

func runValidateCases(t *testing.T, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			good := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123"))
			files := map[string]string{"good.key": good}
			for k, v := range tc.files {
				files[k] = v
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(dir, "lockgate.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string { return tc.env[k] }
			warnings, err := Validate(file, getenv)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ok (warnings %v), want %q", warnings, tc.want)
			}
			if !strings.Contains(err.Error(), file+tc.want) && !(tc.want[0] != ':' && strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got\n%v\nwant %q", err, tc.want)
			}
		})
	}
}

// atk9f F12: vpn.lock_check.signing_key_file was never read by validate.
func TestValidateReadsTheVPNSigningKey(t *testing.T) {
	const vpn = "listen: 127.0.0.1:0\ndata_dir: ./data\nvpn:\n  enabled: true\n  secret: Zq8vN3kL0pR7tY2wX5cB9mH4\n  check_lock: true\n  lock_check:\n    app_uri: https://vpn.example.com\n    api_uri: http://127.0.0.1:18088\n    signing_key_file: "
	runValidateCases(t, []validateCase{
		{name: "good", yaml: vpn + "good.key\n"},
		{name: "missing", yaml: vpn + "none.key\n", want: ":10:23: vpn.lock_check.signing_key_file: open "},
		{name: "not base64", yaml: vpn + "bad.key\n", files: map[string]string{"bad.key": "not base64 !!!"}, want: ":10:23: vpn.lock_check.signing_key_file: "},
		{name: "short", yaml: vpn + "short.key\n", files: map[string]string{"short.key": base64.StdEncoding.EncodeToString([]byte("12345"))}, want: ":10:23: vpn.lock_check.signing_key_file: "},
		{name: "from the environment", yaml: vpn + "good.key\n", env: map[string]string{"LOCKGATE_VPN_SIGNING_KEY_FILE": "/nonexistent.key"}, want: "vpn.lock_check.signing_key_file: open /nonexistent.key: no such file or directory (set by the environment variable LOCKGATE_VPN_SIGNING_KEY_FILE)"},
		{name: "plain key in the environment", yaml: strings.TrimSuffix(vpn, "    signing_key_file: ") + "\n", env: map[string]string{"LOCKGATE_VPN_SIGNING_KEY": "short"}, want: "vpn.lock_check: LOCKGATE_VPN_SIGNING_KEY: not a base64 signing key"},
	})
}

// atk9f F13: an api_uri naming this lockgate but not one of its public
// URLs was refused by serve only (docs/configuration.md: "lockgate serve
// refuses to start when api_uri names itself but is not one of its
// public URLs").
func TestValidateChecksTheResponderAPIURI(t *testing.T) {
	const iam = "listen: 127.0.0.1:18082\npublic_urls: [http://127.0.0.1:18082]\ndata_dir: ./data\niam_responder:\n  enabled: true\n  app_uri: https://aws.example.com\n  signing_key_file: good.key\n  events_secret: 4f1d2c7b9e0a8f6d3c5b1a2e7f9d0c8b\n  api_uri: "
	runValidateCases(t, []validateCase{
		{name: "a public URL", yaml: iam + "http://127.0.0.1:18082\n"},
		{name: "another lockgate", yaml: iam + "https://lock.example.com\n"},
		{name: "this lockgate, not a public URL", yaml: iam + "http://127.0.0.1:18082/x\n", want: `:9:12: iam_responder.api_uri: "http://127.0.0.1:18082/x" names this lockgate but is not one of its public URLs`},
	})
}

// atk9f F14: a waf.redis_url go-redis cannot parse passed validate
// (only its scheme was checked) and stopped serve.
func TestValidateParsesTheRedisURL(t *testing.T) {
	const gw = "listen: 127.0.0.1:0\ndata_dir: ./data\nwaf:\n  redis_url: "
	runValidateCases(t, []validateCase{
		{name: "good", yaml: gw + "redis://127.0.0.1:6379/0?dial_timeout=2s\n"},
		{name: "database not a number", yaml: gw + "redis://127.0.0.1:6379/abc\n", want: `:4:14: waf.redis_url: redis: invalid database number: "abc"`},
		{name: "bad option value", yaml: gw + "redis://127.0.0.1:6379/0?dial_timeout=xyz\n", want: `:4:14: waf.redis_url: redis: invalid dial_timeout`},
		// rechk9: go-redis parses a negative pool size and its client
		// panics on it.
		{name: "negative pool size", yaml: gw + "redis://127.0.0.1:6379/0?pool_size=-1\n", want: `:4:14: waf.redis_url: redis: pool_size must not be negative`},
		{name: "unknown option", yaml: gw + "redis://127.0.0.1:6379/0?bogus=1\n", want: `:4:14: waf.redis_url: redis: unexpected option: bogus`},
		{name: "from the environment", yaml: gw + "redis://127.0.0.1:6379/0\n", env: map[string]string{"LOCKGATE_REDIS_URL": "redis://127.0.0.1:6379/abc"}, want: `waf.redis_url: redis: invalid database number: "abc" (set by the environment variable LOCKGATE_REDIS_URL)`},
	})
}

// atk9f F18: vpn.secret_header was not checked to be a header name
// (its sibling iam_responder.events_secret_header was): serve started and
// POST /vpn/connect could never be authenticated.
func TestValidateChecksSecretHeaders(t *testing.T) {
	const vpn = "listen: 127.0.0.1:0\ndata_dir: ./data\nvpn:\n  enabled: true\n  secret: Zq8vN3kL0pR7tY2wX5cB9mH4\n  allowed_countries: [US]\n  secret_header: "
	runValidateCases(t, []validateCase{
		{name: "good", yaml: vpn + "X-VPN-Secret\n"},
		{name: "space", yaml: vpn + "'a b'\n", want: `:7:18: vpn.secret_header: "a b" is not an HTTP header name`},
		{name: "colon", yaml: vpn + "'X-A:'\n", want: `:7:18: vpn.secret_header: "X-A:" is not an HTTP header name`},
		{name: "from the environment", yaml: vpn + "X-VPN-Secret\n", env: map[string]string{"LOCKGATE_VPN_SECRET_HEADER": "a b"}, want: `vpn.secret_header: "a b" is not an HTTP header name (LOCKGATE_VPN_SECRET_HEADER): no caller could send it`},
		{name: "events secret header", yaml: "listen: 127.0.0.1:18082\ndata_dir: ./data\niam_responder:\n  enabled: true\n  app_uri: https://aws.example.com\n  api_uri: https://lock.example.com\n  signing_key_file: good.key\n  events_secret: 4f1d2c7b9e0a8f6d3c5b1a2e7f9d0c8b\n  events_secret_header: 'Bad Header'\n", want: `:9:25: iam_responder.events_secret_header: "Bad Header" is not an HTTP header name`},
	})
}

// atk9f F28: the portal's passkey configuration was built at Open only:
// an origin whose host is not a domain name passed validate and stopped
// serve.
func TestValidateBuildsThePortalPasskeyConfiguration(t *testing.T) {
	const base = "listen: 127.0.0.1:0\ndata_dir: ./data\n"
	runValidateCases(t, []validateCase{
		{name: "good", yaml: base + "portal:\n  origin: https://lockgate.example.com\n"},
		{name: "an IP address: passwords only", yaml: base + "portal:\n  origin: https://192.0.2.1\n"},
		{name: "hyphen label", yaml: base + "portal:\n  origin: https://-bad-.example.com\n", want: ":4:11: portal.origin: passkeys for https://-bad-.example.com: "},
		{name: "port out of range", yaml: base + "portal:\n  origin: https://localhost:99999\n", want: `:4:11: portal.origin: origin "https://localhost:99999": "99999" is not a port`},
		{name: "from the environment", yaml: base, env: map[string]string{"LOCKGATE_PORTAL_ORIGIN": "https://-bad-.example.com"}, want: "portal.origin: passkeys for https://-bad-.example.com: "},
		{name: "the public URL it follows", yaml: base + "public_urls: [https://-bad-.example.com]\n", want: ":3:15: public_urls[0]: the portal's origin (portal.origin unset: the first public URL): passkeys for"},
		{name: "portal off", yaml: base + "public_urls: [https://-bad-.example.com]\nportal:\n  enabled: false\n"},
	})
}

// atk9f F20: a problem in the waf, authz or gateway section hid every
// missing or malformed web ACL file until it was fixed ("every problem
// at once" took several runs).
func TestValidateReadsACLsDespiteOtherProblems(t *testing.T) {
	const acl = `{"Name": "shop", "DefaultAction": {"Allow": {}}, "Rules": [], "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "shop"}}`
	gw := func(extra, webACL string) string {
		return "listen: 127.0.0.1:0\ndata_dir: ./data\n" + extra + "gateway:\n  listen: 127.0.0.1:0\n  routes:\n    - name: shop\n      upstreams: [http://127.0.0.1:9]\n      web_acl: " + webACL + "\n"
	}
	badSet := "waf:\n  ip_reputation_file: none.txt\n"
	runValidateCases(t, []validateCase{
		{name: "good", yaml: gw("", "shop.json"), files: map[string]string{"shop.json": acl}},
		{name: "waf problem, ACL good", yaml: gw(badSet, "shop.json"), files: map[string]string{"shop.json": acl}, want: ":4:23: waf.ip_reputation_file: open "},
		{name: "waf problem, ACL missing", yaml: gw(badSet, "none.json"), want: ":10:16: gateway.routes[0].web_acl: open "},
		{name: "gateway problem, ACL missing", yaml: gw("", "none.json") + "  underscore_headers: maybe\n", want: ":8:16: gateway.routes[0].web_acl: open "},
		{name: "waf problem, ACL malformed", yaml: gw(badSet, "bad.json"), files: map[string]string{"bad.json": "{\n,,\n"}, want: ":10:16: gateway.routes[0].web_acl: "}, // the shape compiling gives (problem.Within)
	})
}
