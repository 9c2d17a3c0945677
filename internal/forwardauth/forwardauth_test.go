package forwardauth

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/waflog"
	"github.com/lockgate/lockgate/internal/webacl"
)

const blockedSetARN = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/blocked/a1b2c3d4-0000-0000-0000-000000000001"

// newService provisions and opens forward auth with the proxied web ACL
// (testdata/proxied-acl.json) on one route; trusted is the proxies'
// list, logPath the AWS WAF log ("" none).
func newService(t *testing.T, trusted []string, logPath string, reg prometheus.Registerer) *Service {
	t.Helper()
	set, probs := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSetARN, Addresses: []string{"203.0.113.0/24", "127.0.0.66/32"}}}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TrustedProxies = trusted
	cfg.CopyHeaders = []string{"X-Amzn-Waf-Api"}
	cfg.Log.File = config.Path(logPath)
	cfg.Routes = []Route{
		{Name: "shop", WebACL: "testdata/proxied-acl.json"},
		{Name: "open", Host: "open.example"},
		{Name: "public", PathPrefix: "/public/"}, // no web ACL: an allow inserts nothing of its own
	}
	s, probs := Provision(cfg, Options{WAF: set})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if err := s.Open(reg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type ask struct {
	path   string // /nginx, /caddy, /traefik
	peer   string
	header map[string]string
}

func (a ask) do(t *testing.T, h http.Handler) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, a.path, nil)
	r.RemoteAddr = a.peer
	for k, v := range a.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// nginxAsk is what lockgate's nginx configuration sends for a request.
func nginxAsk(uri, client string, extra ...string) ask {
	h := map[string]string{"X-Original-Method": "GET", "X-Original-Uri": uri, "X-Original-Host": "shop.example", "X-Forwarded-For": client}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return ask{path: "/nginx", peer: "127.0.0.1:40000", header: h}
}

// caddyAsk is what Caddy's forward_auth (and Traefik's ForwardAuth)
// send: "X-Forwarded-Method", "X-Forwarded-Uri", with reverse_proxy's
// X-Forwarded-For, -Proto and -Host.
func caddyAsk(path, uri, client string, extra ...string) ask {
	h := map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": uri, "X-Forwarded-Host": "shop.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": client}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return ask{path: path, peer: "127.0.0.1:40000", header: h}
}

func TestHTTPDecisions(t *testing.T) {
	s := newService(t, []string{"127.0.0.1/32"}, "", nil)
	h := s.Handler()
	tests := []struct {
		name   string
		ask    ask
		status int
		header map[string]string // expected response headers ("" absent)
		body   string
	}{
		{"nginx allows", nginxAsk("/", "192.0.2.10"), 200, map[string]string{"X-Amzn-Waf-Api": ""}, ""},
		{"nginx: ip set blocks", nginxAsk("/", "203.0.113.9"), 403, nil, ""},
		{"peer not a trusted proxy: refused whatever it says", ask{"/nginx", "192.0.2.77:5555", nginxAsk("/", "192.0.2.10").header}, 403, nil, ""},
		{"nginx without X-Original-Uri: an error, never an allow", ask{"/nginx", "127.0.0.1:1", map[string]string{"X-Original-Method": "GET", "X-Forwarded-For": "192.0.2.10"}}, 500, nil, ""},
		{"no client address: an error", ask{"/nginx", "127.0.0.1:1", map[string]string{"X-Original-Method": "GET", "X-Original-Uri": "/"}}, 500, nil, ""},
		{"X-Forwarded-For: the rightmost untrusted hop is the client", nginxAsk("/", "203.0.113.9, 192.0.2.10"), 200, nil, ""},
		{"X-Forwarded-For: trusted hops are skipped", nginxAsk("/", "203.0.113.9, 127.0.0.1"), 403, nil, ""},
		{"header rule", nginxAsk("/", "192.0.2.10", "X-Attack", "1"), 403, nil, ""},
		{"inserted headers go back to the proxy", nginxAsk("/api/pets?x=1", "192.0.2.10"), 200, map[string]string{"X-Amzn-Waf-Api": "yes"}, ""},
		{"caddy: custom response as the ACL says", caddyAsk("/caddy", "/", "192.0.2.10", "User-Agent", "BadBot/1.0"), 429, map[string]string{"Retry-After": "60"}, "slow down, bot"},
		{"traefik: custom response as the ACL says", caddyAsk("/traefik", "/", "192.0.2.10", "User-Agent", "BadBot/1.0"), 429, map[string]string{"Retry-After": "60"}, "slow down, bot"},
		{"nginx: custom status carried in X-Lockgate-Status", nginxAsk("/", "192.0.2.10", "User-Agent", "BadBot/1.0"), 403, map[string]string{"X-Lockgate-Status": "429", "Retry-After": "60"}, ""},
		// atk20 F6: a block is never answered 2xx, which every proxy takes
		// for an allow: 403 carrying the status, the headers and the body
		// (not to nginx, which never sends a subrequest's body on).
		{"nginx: block with a 200 custom response", nginxAsk("/honey200", "192.0.2.10"), 403, map[string]string{"X-Lockgate-Status": "200", "X-Honeypot": "1"}, ""},
		{"caddy: block with a 200 custom response", caddyAsk("/caddy", "/honey200", "192.0.2.10"), 403, map[string]string{"X-Lockgate-Status": "200", "X-Honeypot": "1"}, "welcome, honeypot"},
		{"caddy: block with a 204 custom response", caddyAsk("/caddy", "/honey204", "192.0.2.10"), 403, map[string]string{"X-Lockgate-Status": "204", "X-Honeypot": "1"}, ""},
		{"traefik: block with a 200 custom response", caddyAsk("/traefik", "/honey200", "192.0.2.10"), 403, map[string]string{"X-Lockgate-Status": "200", "X-Honeypot": "1"}, "welcome, honeypot"},
		{"caddy: a block with another status keeps it", caddyAsk("/caddy", "/", "192.0.2.10", "User-Agent", "BadBot/1.0"), 429, map[string]string{"X-Lockgate-Status": ""}, "slow down, bot"},
		{"caddy reads X-Forwarded-Uri, not nginx's header a client may send", caddyAsk("/caddy", "/", "192.0.2.10", "X-Original-Uri", "/api/x"), 200, map[string]string{"X-Amzn-Waf-Api": ""}, ""},
		{"nginx reads X-Original-Uri, not Caddy's header a client may send", nginxAsk("/", "192.0.2.10", "X-Forwarded-Uri", "/api/x"), 200, map[string]string{"X-Amzn-Waf-Api": ""}, ""},
		{"route by the original host", nginxAsk("/", "203.0.113.9", "X-Original-Host", "open.example"), 200, nil, ""},
		{"body rule sees no body behind nginx", nginxAsk("/search?q=1%27%20OR%201=1", "192.0.2.10"), 200, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.ask.do(t, h)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.body != "" && string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			// nginx closes the connection to lockgate after an answer
			// with a body it does not read: none is sent to it.
			if tc.ask.path == "/nginx" && tc.status < 500 && len(body) > 0 {
				t.Errorf("nginx answered with a body %q", body)
			}
		})
	}
}

// The blog's /login rule: "Limit": 150 per five minutes for one address
// (seed 003); requests 151 and on are blocked, other clients are not.
func TestLoginRateRule(t *testing.T) {
	s := newService(t, []string{"127.0.0.1/32"}, "", nil)
	h := s.Handler()
	allowed, blocked := 0, 0
	for range 200 {
		switch code := nginxAsk("/login", "192.0.2.20").do(t, h).StatusCode; code {
		case 200:
			allowed++
		case 403:
			blocked++
		default:
			t.Fatalf("status %d", code)
		}
	}
	if allowed != 150 || blocked != 50 {
		t.Fatalf("allowed %d, blocked %d; want 150 and 50", allowed, blocked)
	}
	if code := caddyAsk("/caddy", "/login", "192.0.2.21").do(t, h).StatusCode; code != 200 {
		t.Fatalf("another client: %d", code)
	}
}

func TestLogRecordsAndMetrics(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "waf.log")
	reg := prometheus.NewRegistry()
	// The gateway registers the WAF counters first on lockgate's
	// registry; forward auth counts in the same series.
	gc := gateway.DefaultConfig()
	gc.Listen, gc.Routes = "127.0.0.1:0", []gateway.RouteConfig{{Name: "app", Upstreams: []string{"http://127.0.0.1:1"}}}
	set, _ := webacl.Provision(webacl.Config{}, nil)
	if _, err := gateway.New(gateway.Options{Load: func() (gateway.Snapshot, error) { return gateway.Snapshot{Config: gc, WAF: set}, nil }, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	s := newService(t, []string{"127.0.0.1/32"}, logPath, reg)
	h := s.Handler()
	nginxAsk("/", "203.0.113.9", "Authorization", "Bearer secret").do(t, h)
	caddyAsk("/caddy", "/api/x?y=2", "192.0.2.10").do(t, h)
	s.Close()
	want := `
# HELP lockgate_waf_requests_total Requests through the gateway by web ACL (VisibilityConfig MetricName) and final action.
# TYPE lockgate_waf_requests_total counter
lockgate_waf_requests_total{action="ALLOW",web_acl="none"} 0
lockgate_waf_requests_total{action="ALLOW",web_acl="proxied"} 1
lockgate_waf_requests_total{action="BLOCK",web_acl="none"} 0
lockgate_waf_requests_total{action="BLOCK",web_acl="proxied"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lockgate_waf_requests_total"); err != nil {
		t.Error(err)
	}
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []waflog.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r waflog.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	b, a := recs[0], recs[1]
	if b.HTTPSourceName != "lockgate-nginx" || b.HTTPSourceID != "shop" || b.Action != "BLOCK" || b.TerminatingRuleID != "BlockedIPs" ||
		b.HTTPRequest.ClientIP != "203.0.113.9" || b.HTTPRequest.Host != "shop.example" || b.HTTPRequest.URI != "/" {
		t.Errorf("blocked record: %+v", b)
	}
	for _, hd := range b.HTTPRequest.Headers {
		if strings.HasPrefix(strings.ToLower(hd.Name), "x-original-") {
			t.Errorf("the proxy's own header %s is in the record", hd.Name)
		}
		if strings.EqualFold(hd.Name, "Authorization") && hd.Value != "REDACTED" {
			t.Errorf("Authorization logged as %q", hd.Value)
		}
	}
	if a.HTTPSourceName != "lockgate-caddy" || a.Action != "ALLOW" || a.HTTPRequest.URI != "/api/x" || a.HTTPRequest.Args != "y=2" ||
		a.HTTPRequest.Scheme != "https" || len(a.RequestHeadersInserted) != 1 || a.RequestHeadersInserted[0].Name != "x-amzn-waf-api" {
		t.Errorf("allowed record: %+v", a)
	}
}

func TestBodyRuleWarning(t *testing.T) {
	s := newService(t, []string{"127.0.0.1"}, "", nil)
	w := s.Warnings()
	if len(w) != 1 || w[0].Path != "routes[0].web_acl" || !strings.Contains(w[0].Msg, `"SQLiBody"`) {
		t.Fatalf("warnings %v, want one for SQLiBody", w)
	}
}

func TestValidate(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.Listen = "127.0.0.1:9191"
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Routes = []Route{{Name: "a"}}
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		path   string
	}{
		{"no trusted proxies: refused, not everyone", func(c *Config) { c.TrustedProxies = nil }, "trusted_proxies"},
		{"bad proxy", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }, "trusted_proxies[0]"},
		{"bad listen", func(c *Config) { c.Listen = "9191" }, "listen"},
		{"same listeners", func(c *Config) { c.GRPCListen = c.Listen }, "grpc_listen"},
		{"no routes", func(c *Config) { c.Routes = nil }, "routes"},
		{"unnamed route", func(c *Config) { c.Routes = []Route{{}} }, "routes[0].name"},
		{"duplicate route", func(c *Config) { c.Routes = []Route{{Name: "a"}, {Name: "a"}} }, "routes[1].name"},
		{"bad prefix", func(c *Config) { c.Routes[0].PathPrefix = "api" }, "routes[0].path_prefix"},
		{"routes without a listener", func(c *Config) { c.Listen = "" }, "listen"},
		{"bad log filter", func(c *Config) { c.Log.Only = "some" }, "log.only"},
	}
	if p := base().Validate(); len(p) != 0 {
		t.Fatalf("base: %v", p)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.change(&c)
			p := c.Validate()
			if len(p) == 0 || p[0].Path != tc.path {
				t.Fatalf("problems %v, want one at %s", p, tc.path)
			}
		})
	}
	c := base()
	c.Routes[0].WebACL = "testdata/missing.json"
	set, _ := webacl.Provision(webacl.Config{}, nil)
	if _, p := Provision(c, Options{WAF: set}); len(p) == 0 || p[0].Path != "routes[0].web_acl" {
		t.Fatalf("missing web ACL: %v", p)
	}
	c.Routes[0].WebACL, c.Routes[0].Authorizer = "", "nope"
	if _, p := Provision(c, Options{WAF: set}); len(p) == 0 || p[0].Path != "routes[0].authorizer" {
		t.Fatalf("unknown authorizer: %v", p)
	}
}
