package forwardauth

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/httprule"
	"github.com/lockgate/lockgate/internal/webacl"
)

// Forward auth decides with the gateway's rules (internal/httprule),
// asked with raw bytes (an HTTP client would fold repeated headers and
// normalise names): atk-gw findings F0, F1, F3, F6, F8, F9.

// rulesService routes shop.example and /admin/ through the proxied web
// ACL (X-Attack: 1 blocks) and anything else to a route without one (the
// documented way to let other requests through): a request that
// escapes to "open" is allowed.
func rulesService(t *testing.T, underscore, logPath string) *Service {
	t.Helper()
	set, probs := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSetARN, Addresses: []string{"203.0.113.0/24"}}}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.CopyHeaders = []string{"X-Amzn-Waf-Api"}
	cfg.Log.File = config.Path(logPath)
	if underscore != "" {
		cfg.UnderscoreHeaders = underscore
	}
	cfg.Routes = []Route{
		{Name: "shop", Host: "shop.example", WebACL: "testdata/proxied-acl.json"},
		{Name: "admin", PathPrefix: "/admin/", WebACL: "testdata/proxied-acl.json"},
		{Name: "open"},
	}
	s, probs := Provision(cfg, Options{WAF: set})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if err := s.Open(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawAsk sends raw to an HTTP server running h and returns the status
// and the X-Lockgate-Status header.
func rawAsk(t *testing.T, addr, raw string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Lockgate-Status")
}

func serveRaw(t *testing.T, s *Service) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// caddyRaw is Caddy's forward_auth request for host and uri with extra
// header lines; nginxRaw lockgate's nginx configuration's.
func caddyRaw(host, uri, xff, extra string) string {
	return "GET /caddy HTTP/1.1\r\nHost: lockgate\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Uri: " + uri +
		"\r\nX-Forwarded-Host: " + host + "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-For: " + xff + "\r\n" + extra + "Connection: close\r\n\r\n"
}

func nginxRaw(host, uri, xff, extra string) string {
	return "GET /nginx HTTP/1.1\r\nHost: lockgate\r\nX-Original-Method: GET\r\nX-Original-Uri: " + uri +
		"\r\nX-Original-Host: " + host + "\r\nX-Forwarded-For: " + xff + "\r\n" + extra + "Connection: close\r\n\r\n"
}

func TestForwardAuthAppliesGatewayRules(t *testing.T) {
	addr := serveRaw(t, rulesService(t, "", ""))
	const attack = "X-Attack: 1\r\n"
	for _, tc := range []struct {
		name, raw   string
		status      int
		nginxStatus string // X-Lockgate-Status
	}{
		// Controls: the shop's web ACL decides shop.example, "open" the rest.
		{"control: shop blocks", caddyRaw("shop.example", "/", "192.0.2.10", attack), 403, ""},
		{"control: another host is open", caddyRaw("other.example", "/", "192.0.2.10", attack), 200, ""},
		// F0: the host is routed without trailing dot, case and port.
		{"F0 trailing dot", caddyRaw("shop.example.", "/", "192.0.2.10", attack), 403, ""},
		{"F0 case, dot and port", caddyRaw("ShOp.ExAmPlE.:80", "/", "192.0.2.10", attack), 403, ""},
		{"F0 nginx trailing dot", nginxRaw("SHOP.EXAMPLE.", "/", "192.0.2.10", attack), 403, ""},
		// F6: empty labels are refused.
		{"F6 two trailing dots", caddyRaw("shop.example..", "/", "192.0.2.10", attack), 400, ""},
		{"F6 empty label", caddyRaw("shop..example", "/", "192.0.2.10", ""), 400, ""},
		// atk20 F2: not host[:port]; Caddy and Envoy pass these on, nginx
		// and frameworks read shop.example.
		{"atk20 F2 two ports", caddyRaw("shop.example:80:80", "/", "192.0.2.10", attack), 400, ""},
		{"atk20 F2 empty port then port", caddyRaw("shop.example::80", "/", "192.0.2.10", attack), 400, ""},
		{"atk20 F2 port then colon", caddyRaw("shop.example:80:", "/", "192.0.2.10", attack), 400, ""},
		{"atk20 F2 nginx two ports", nginxRaw("shop.example:80:80", "/", "192.0.2.10", attack), 403, "400"},
		{"atk20 F2 empty port is a port", caddyRaw("shop.example:", "/", "192.0.2.10", attack), 403, ""},
		// F1: a repeated header is refused, whatever the order or case.
		{"F1 repeated", caddyRaw("shop.example", "/", "192.0.2.10", "X-Attack: 0\r\nX-Attack: 1\r\n"), 400, ""},
		{"F1 case variants", caddyRaw("shop.example", "/", "192.0.2.10", "x-attack: 0\r\nX-ATTACK: 1\r\n"), 400, ""},
		{"F1 empty first", caddyRaw("shop.example", "/", "192.0.2.10", "User-Agent:\r\nUser-Agent: BadBot\r\n"), 400, ""},
		{"F1 nginx: 403 carrying 400", nginxRaw("shop.example", "/", "192.0.2.10", "X-Attack: 0\r\nX-Attack: 1\r\n"), 403, "400"},
		// atk20i F1: X-Forwarded-For too; forward auth cannot rewrite it.
		{"atk20i F1 two X-Forwarded-For lines", caddyRaw("shop.example", "/", "192.0.2.10", "X-Forwarded-For: 127.0.0.1\r\n"), 400, ""},
		{"atk20i F1 nginx two X-Forwarded-For lines", nginxRaw("shop.example", "/", "192.0.2.10", "X-Forwarded-For: 203.0.113.5\r\n"), 403, "400"},
		// F3: hops with ports, as the gateway reads them.
		{"F3 ip:port", caddyRaw("shop.example", "/", "203.0.113.66:5555", ""), 403, ""},
		{"F3 [v6]:port", caddyRaw("shop.example", "/", "[2001:db8::1]:443", ""), 200, ""},
		// F8: a path routed differently once decoded or cleaned.
		{"F8 control: /admin/ decided by its ACL", caddyRaw("other.example", "/admin/x", "192.0.2.10", attack), 403, ""},
		{"F8 dot-dot", caddyRaw("other.example", "/x/../admin/x", "192.0.2.10", attack), 400, ""},
		{"F8 dot", caddyRaw("other.example", "/./admin/x", "192.0.2.10", attack), 400, ""},
		{"F8 double slash", caddyRaw("other.example", "//admin/x", "192.0.2.10", attack), 400, ""},
		{"F8 escaped unreserved", caddyRaw("other.example", "/%61dmin/x", "192.0.2.10", attack), 400, ""},
		{"F8 escaped slash", caddyRaw("other.example", "/admin%2Fx", "192.0.2.10", attack), 400, ""},
		{"F8 dot segments within one route stay", caddyRaw("other.example", "/a/./b//c", "192.0.2.10", ""), 200, ""},
		// atk20 F3: without the original host the request is host-less
		// (the "open" route for any host decides), whatever the
		// subrequest's own Host says.
		{"atk20 F3 nginx without X-Original-Host", "GET /nginx HTTP/1.1\r\nHost: shop.example\r\nX-Original-Method: GET\r\nX-Original-Uri: /\r\nX-Forwarded-For: 192.0.2.10\r\n" + attack + "Connection: close\r\n\r\n", 200, ""},
		{"atk20 F3 caddy with an empty X-Forwarded-Host", strings.Replace(caddyRaw("", "/", "192.0.2.10", attack), "Host: lockgate", "Host: shop.example", 1), 200, ""},
		// atk20 F9: /admin/ to servlet containers and IIS.
		{"atk20 F9 ..;", caddyRaw("other.example", "/x/..;/admin/x", "192.0.2.10", attack), 400, ""},
		{"atk20 F9 escaped ..;", caddyRaw("other.example", "/x/%2e%2e;/admin/x", "192.0.2.10", attack), 400, ""},
		{"atk20 F9 escaped backslash", caddyRaw("other.example", "/x/..%5cadmin/x", "192.0.2.10", attack), 400, ""},
		{"atk20 F9 backslash", nginxRaw("other.example", "/x/..\\admin/x", "192.0.2.10", attack), 403, "400"},
		{"atk20 F9 parameters within one route stay", caddyRaw("other.example", "/x;jsessionid=1/y", "192.0.2.10", ""), 200, ""},
		// atk20f F1: a raw '#' is refused, not cut: the application
		// receives what follows it.
		{"atk20f F1 '#' in the path", caddyRaw("other.example", "/x#/../admin/x", "192.0.2.10", attack), 400, ""},
		{"atk20f F1 nginx '#' in the path", nginxRaw("other.example", "/x#/../admin/x", "192.0.2.10", attack), 403, "400"},
		{"atk20f F1 '#' in the query", caddyRaw("other.example", "/?q=1#evil", "192.0.2.10", ""), 400, ""},
		{"atk20f F1 nginx '#' in the query", nginxRaw("other.example", "/?q=1#evil", "192.0.2.10", ""), 403, "400"},
		{"atk20f F1 an escaped '#' is a path byte", caddyRaw("other.example", "/x%23y", "192.0.2.10", ""), 200, ""},
		// F9: '_' names refused by default.
		{"F9 underscore", caddyRaw("shop.example", "/", "192.0.2.10", "X_Attack: 1\r\n"), 400, ""},
		{"F9 nginx underscore", nginxRaw("other.example", "/", "192.0.2.10", "User_Agent: BadBot\r\n"), 403, "400"},
		// atk20 F12: an upgrade to another protocol than WebSocket is
		// refused (the proxy would tunnel later requests past lockgate).
		{"atk20 F12 h2c", caddyRaw("other.example", "/", "192.0.2.10", "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"), 400, ""},
		{"atk20 F12 h2c without HTTP2-Settings", caddyRaw("other.example", "/", "192.0.2.10", "Upgrade: H2C\r\n"), 400, ""},
		{"atk20 F12 h2c among others", caddyRaw("other.example", "/", "192.0.2.10", "Upgrade: websocket, h2c\r\n"), 400, ""},
		{"atk20 F12 HTTP2-Settings alone", caddyRaw("other.example", "/", "192.0.2.10", "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"), 400, ""},
		{"atk20 F12 nginx h2c", nginxRaw("other.example", "/", "192.0.2.10", "Upgrade: h2c\r\n"), 403, "400"},
		{"atk20 F12 WebSocket stays allowed", caddyRaw("other.example", "/", "192.0.2.10", "Upgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\n"), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ls := rawAsk(t, addr, tc.raw)
			if status != tc.status || ls != tc.nginxStatus {
				t.Fatalf("status %d (X-Lockgate-Status %q), want %d (%q)", status, ls, tc.status, tc.nginxStatus)
			}
		})
	}
}

// With underscore_headers: allow, a '_' name is inspected as sent.
func TestForwardAuthUnderscoreAllow(t *testing.T) {
	addr := serveRaw(t, rulesService(t, UnderscoreAllow, ""))
	if status, _ := rawAsk(t, addr, caddyRaw("shop.example", "/", "192.0.2.10", "X_Attack: 1\r\n")); status != 200 {
		t.Fatalf("status %d, want 200", status)
	}
}

// Envoy: the same rules on the attributes (F0, F1 with header_map, F3
// with a source address holding a port, F8, F9).
func TestExtAuthzAppliesGatewayRules(t *testing.T) {
	c := extAuthzClient(t, rulesService(t, "", ""))
	withHost := func(r *authv3.CheckRequest, host string) *authv3.CheckRequest {
		r.Attributes.Request.Http.Host = host
		return r
	}
	repeated := envoyCheck("192.0.2.10", "GET", "/", nil, "")
	repeated.Attributes.Request.Http.HeaderMap = headerMap("x-attack", "0", "x-attack", "1", "user-agent", "curl")
	for _, tc := range []struct {
		name   string
		req    *authv3.CheckRequest
		status int // 200: allowed
	}{
		{"control", envoyCheck("192.0.2.10", "GET", "/", map[string]string{"x-attack": "1"}, ""), 403},
		{"F0 trailing dot and case", withHost(envoyCheck("192.0.2.10", "GET", "/", map[string]string{"x-attack": "1"}, ""), "SHOP.EXAMPLE."), 403},
		{"F6 two dots", withHost(envoyCheck("192.0.2.10", "GET", "/", nil, ""), "shop.example.."), 400},
		{"atk20 F2 two ports", withHost(envoyCheck("192.0.2.10", "GET", "/", map[string]string{"x-attack": "1"}, ""), "shop.example:80:80"), 400},
		{"atk20 F9 ..;", withHost(envoyCheck("192.0.2.10", "GET", "/x/..;/admin/x", map[string]string{"x-attack": "1"}, ""), "other.example"), 400},
		{"F1 header_map repeated", repeated, 400},
		{"F3 source with port", envoyCheck("203.0.113.9:443", "GET", "/", nil, ""), 403},
		{"F8 dot-dot", withHost(envoyCheck("192.0.2.10", "GET", "/x/../admin/", map[string]string{"x-attack": "1"}, ""), "other.example"), 400},
		{"F9 underscore", envoyCheck("192.0.2.10", "GET", "/", map[string]string{"x_attack": "1"}, ""), 400},
		{"atk20 F12 h2c", envoyCheck("192.0.2.10", "GET", "/", map[string]string{"upgrade": "h2c", "http2-settings": "AAMAAABkAAQCAAAAAAIAAAAA"}, ""), 400},
		{"atk20 F12 WebSocket", envoyCheck("192.0.2.10", "GET", "/", map[string]string{"upgrade": "websocket"}, ""), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Check(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			got := 200
			if d := resp.GetDeniedResponse(); d != nil {
				got = int(d.GetStatus().GetCode())
			}
			if got != tc.status {
				t.Fatalf("status %d, want %d: %v", got, tc.status, resp)
			}
		})
	}
}

// F2: forward auth's records redact as the gateway's: the built-in
// headers and the configured redacted_fields (here the query).
func TestForwardAuthRedactsAsGateway(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "waf.log")
	s := rulesService(t, "", logPath)
	redact := gateway.RedactedFieldsOf(nil, []gateway.RedactedField{{QueryString: &struct{}{}}})
	for _, rt := range s.state.Load().routes {
		for _, src := range rt.src {
			src.RedactedFields = redact
		}
	}
	addr := serveRaw(t, s)
	rawAsk(t, addr, caddyRaw("shop.example", "/r?token=SECRETQ", "192.0.2.10",
		"Proxy-Authorization: Basic SECRET1\r\nX-Api-Key: SECRET2\r\nAuthorization: Bearer SECRET3\r\nCookie: s=SECRET4\r\n"))
	s.Close()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || strings.Contains(string(b), "SECRET") {
		t.Fatalf("a secret is logged (or nothing is):\n%s", b)
	}
}

// atk20 F10: with UriPath in log.redacted_fields, lockgate's own log
// lines about refused requests write the path as REDACTED, as the
// records do: a repeated header, a host that is not host[:port], a
// path routed differently, no route.
func TestRefusalLogRedactsPath(t *testing.T) {
	for _, redacted := range []bool{false, true} {
		var buf strings.Builder
		cfg := DefaultConfig()
		cfg.Listen, cfg.TrustedProxies = "127.0.0.1:0", []string{"127.0.0.1/32"}
		cfg.Routes = []Route{{Name: "shop", Host: "shop.example"}, {Name: "admin", Host: "shop.example", PathPrefix: "/admin/"}}
		if redacted {
			cfg.Log.RedactedFields = []gateway.RedactedField{{UriPath: &struct{}{}}}
		}
		s, probs := Provision(cfg, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		addr := serveRaw(t, s)
		for _, raw := range []string{
			caddyRaw("shop.example", "/red/SECRET1?token=SECRETQ", "192.0.2.10", "X-A: 1\r\nX-A: 2\r\n"),
			caddyRaw("shop.example:1:2", "/red/SECRET2", "192.0.2.10", ""),
			caddyRaw("shop.example", "/red/SECRET3/../../admin/", "192.0.2.10", ""),
			nginxRaw("other.example", "/red/SECRET4", "192.0.2.10", ""),
		} {
			if status, _ := rawAsk(t, addr, raw); status == 200 {
				t.Fatalf("allowed: %q", raw)
			}
		}
		log := buf.String()
		if n := strings.Count(log, "forward auth: refused"); n != 4 {
			t.Fatalf("%d refusals logged, want 4:\n%s", n, log)
		}
		if leaked := strings.Contains(log, "SECRET"); leaked == redacted || redacted && strings.Count(log, "path=REDACTED") != 4 {
			t.Fatalf("redacted %v:\n%s", redacted, log)
		}
	}
}

// headerMap is Envoy's header_map (encode_raw_headers): repeated names
// kept apart. kv alternates names and values.
func headerMap(kv ...string) *corev3.HeaderMap {
	m := &corev3.HeaderMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Headers = append(m.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return m
}

// atk20f F7: behind a proxy the client's header order is unknown (the
// subrequest's headers are a map), so a rule reaching HeaderOrder
// blocks, whatever its action — docs/waf.md: "HeaderOrder fails closed:
// a rule whose statement reaches a HeaderOrder match on such a request
// blocks it" — instead of judging the name-sorted list. atk20f F2: a
// rule naming Content-Length never sees the client's; both are warned
// about at provisioning.
func TestForwardAuthRulesItCannotJudge(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.Routes = []Route{{Name: "unseen", WebACL: "testdata/unseen-acl.json"}}
	set, probs := webacl.Provision(webacl.Config{}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	s, probs := Provision(cfg, Options{WAF: set})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var warned []string
	for _, w := range s.Warnings() {
		warned = append(warned, w.Error())
	}
	for _, want := range []string{`rule "Order" inspects HeaderOrder`, `rule "Framing" names Content-Length`} {
		if !strings.Contains(strings.Join(warned, "\n"), want) {
			t.Errorf("warnings %q lack %q", warned, want)
		}
	}
	if err := s.Open(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	addr := serveRaw(t, s)
	// The client's order (Host, User-Agent) and the sorted one (Host,
	// Accept, User-Agent) are both refused: neither is known.
	for _, extra := range []string{"User-Agent: curl/8\r\nAccept: */*\r\n", "Accept: */*\r\nUser-Agent: curl/8\r\n"} {
		if status, _ := rawAsk(t, addr, caddyRaw("shop.example", "/", "192.0.2.10", extra)); status != http.StatusForbidden {
			t.Errorf("HeaderOrder rule with headers %q: status %d, want 403 (fails closed)", extra, status)
		}
	}
}

// atk20f F8: behind a case-insensitive server (IIS), /PRIV/x, /priv./x
// and /priv::$DATA/x are /priv/x. A route with path_case: insensitive
// refuses them when they are routed elsewhere; without it they escape
// its web ACL (path prefixes are case-sensitive, as the gateway's).
func TestPathCaseInsensitive(t *testing.T) {
	dir := t.TempDir()
	block := filepath.Join(dir, "block.json")
	os.WriteFile(block, []byte(`{"Name":"block","DefaultAction":{"Block":{}},"Rules":[],"VisibilityConfig":{"MetricName":"block","SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false}}`), 0o600)
	set, probs := webacl.Provision(webacl.Config{}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	serve := func(pathCase string) string {
		cfg := DefaultConfig()
		cfg.Listen = "127.0.0.1:0"
		cfg.TrustedProxies = []string{"127.0.0.1/32"}
		cfg.Routes = []Route{{Name: "open"}, {Name: "priv", PathPrefix: "/priv/", WebACL: config.Path(block), PathCase: pathCase}}
		s, probs := Provision(cfg, Options{WAF: set})
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		return serveRaw(t, s)
	}
	insensitive, sensitive := serve(httprule.PathCaseInsensitive), serve("")
	for _, tc := range []struct {
		uri                    string
		insensitive, sensitive int
	}{
		{"/priv/x", 403, 403},
		{"/x", 200, 200},
		{"/PRIV/x", 400, 200},
		{"/Priv/secret.txt", 400, 200},
		{"/priv./x", 400, 200},
		{"/priv%2E/x", 400, 200},
		{"/priv::$DATA/x", 400, 200},
		{"/PRIV~1/x", 400, 200},
		{"/private", 200, 200},
	} {
		for _, c := range []struct {
			addr string
			want int
		}{{insensitive, tc.insensitive}, {sensitive, tc.sensitive}} {
			for _, raw := range []string{nginxRaw("shop.example", tc.uri, "192.0.2.1", ""), caddyRaw("shop.example", tc.uri, "192.0.2.1", "")} {
				status, lockgateStatus := rawAsk(t, c.addr, raw)
				if status == 403 && lockgateStatus == "400" {
					status = 400 // nginx: lockgate's 400 as 403
				}
				if status != c.want {
					t.Errorf("%s (insensitive %v): %d, want %d", tc.uri, c.addr == insensitive, status, c.want)
				}
			}
		}
	}
	c := DefaultConfig()
	c.Listen, c.TrustedProxies, c.Routes = "127.0.0.1:0", []string{"127.0.0.1"}, []Route{{Name: "a", PathCase: "Insensitive"}}
	if p := c.Validate(); len(p) != 1 || p[0].Path != "routes[0].path_case" {
		t.Errorf("path_case Insensitive: %v", p)
	}
}
