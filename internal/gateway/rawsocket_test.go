package gateway

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/waf"
)

// The adversarial suite (issue 13): raw bytes to the gateway, raw bytes
// recorded by the upstream, and the rule "what reaches the upstream is
// what the web ACL inspected" checked on every request that got through.

// rawGateway is a gateway served as lockgate serve does (Run, with the
// header-order listener), routing shop.test through
// testdata/adversarial-acl.json to shop and any other host, without a web
// ACL, to other. Connections from 127.0.0.2 come from the trusted proxy;
// from 127.0.0.1, from the internet.
type rawGateway struct {
	gw          *Gateway
	addr        string
	shop, other *rawUpstream

	mu        sync.Mutex
	inspected []inspectedRequest
}

// inspectedRequest is a copy of the waf.Request the web ACL evaluated.
type inspectedRequest struct {
	ClientIP string
	URI      string
	Query    string
	Headers  []waf.Header
}

const trustedPeer = "127.0.0.2"

func newRawGateway(t testing.TB, gatewayExtra string) *rawGateway {
	t.Helper()
	return newRawGatewayBase(t, gatewayExtra, "")
}

// newRawGatewayBase is newRawGateway with a path on the shop's upstream
// URL (http://127.0.0.1:port/base).
func newRawGatewayBase(t testing.TB, gatewayExtra, base string) *rawGateway {
	t.Helper()
	return newRawGatewayRoutes(t, gatewayExtra, base, "")
}

// newRawGatewayRoutes is newRawGatewayBase with routes placed before
// shop's (SHOP and ACL in them name shop's upstream URL and web ACL).
func newRawGatewayRoutes(t testing.TB, gatewayExtra, base, routes string) *rawGateway {
	t.Helper()
	g := &rawGateway{shop: newRawUpstream(t), other: newRawUpstream(t)}
	dir := t.TempDir()
	acl, err := os.ReadFile("testdata/adversarial-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "acl.json"), acl, 0o600)
	cfg := `gateway:
  listen: 127.0.0.1:0
  trusted_proxies: ["` + trustedPeer + `/32"]
` + gatewayExtra + `  routes:
` + strings.NewReplacer("SHOP", g.shop.URL(), "ACL", "acl.json").Replace(routes) + `    - name: shop
      host: shop.test
      upstreams: [` + g.shop.URL() + base + `]
      web_acl: acl.json
    - name: other
      upstreams: [` + g.other.URL() + `]
`
	cfgPath := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	gw, err := New(Options{Load: func() (Snapshot, error) { return loadSnapshot(cfgPath) },
		Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	g.gw = gw
	gw.inspected = func(req *waf.Request) {
		in := inspectedRequest{ClientIP: req.ClientIP.String(), URI: req.URI, Query: req.Query, Headers: slices.Clone(req.Headers)}
		g.mu.Lock()
		g.inspected = append(g.inspected, in)
		g.mu.Unlock()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return g
}

func (g *rawGateway) lastInspected() inspectedRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.inspected) == 0 {
		return inspectedRequest{}
	}
	return g.inspected[len(g.inspected)-1]
}

// dial connects from the internet, or from the trusted proxy.
func (g *rawGateway) dial(t testing.TB, fromTrusted bool) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if fromTrusted {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(trustedPeer)}
	}
	c, err := d.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A bound on a test that would otherwise hang, not an ordering.
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

type rawConn struct {
	net.Conn
	br *bufio.Reader
}

// send writes the exact bytes and reads one response.
func (c *rawConn) send(t testing.TB, raw string) (int, string) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return c.read(t)
}

func (c *rawConn) read(t testing.TB) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// exchange sends raw on a new connection from the internet.
func (g *rawGateway) exchange(t testing.TB, raw string) (int, string) {
	t.Helper()
	return g.dial(t, false).send(t, raw)
}

// checkForwardedWasInspected is the suite's invariant: each request the
// shop upstream received is one the web ACL inspected — the same target,
// and every header value among the inspected ones (but for those the
// gateway itself writes) — and no trailer field reached it.
func (g *rawGateway) checkForwardedWasInspected(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	inspected := slices.Clone(g.inspected)
	g.mu.Unlock()
	used := make([]bool, len(inspected))
	for _, u := range g.shop.requests() {
		found, why := false, "nothing inspected"
		for i := range inspected {
			if used[i] {
				continue
			}
			if w := forwardedAs(u, inspected[i]); w != "" {
				why = w
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("the upstream received a request the web ACL did not inspect as such (last mismatch: %s):\n%s", why, u.Raw)
		}
		if len(u.Trailers) > 0 {
			t.Errorf("trailer fields reached the upstream: %q", u.Trailers)
		}
	}
}

// gatewayWritten are the header fields the gateway (or its transport)
// writes itself: forwarding headers, the client address it used, framing
// and the connection's own fields.
var gatewayWritten = map[string]bool{
	"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true, "True-Client-Ip": true,
	"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Te": true,
}

// forwardedAs says why u is not the upstream's copy of in, or "".
func forwardedAs(u *upstreamRequest, in inspectedRequest) string {
	target := in.URI
	if in.Query != "" {
		target += "?" + in.Query
	}
	if u.Target != target && u.Target != target+"?" {
		return "target " + u.Target + ", inspected " + target
	}
	for _, h := range u.Headers {
		name := textproto.CanonicalMIMEHeaderKey(h.Name)
		if gatewayWritten[name] || strings.HasPrefix(name, "X-Amzn-Waf-") {
			continue
		}
		if name == "Accept-Encoding" && h.Value == "gzip" && !hasHeader(in.Headers, name) {
			continue // the transport asks for gzip and decodes it itself
		}
		if !slices.ContainsFunc(in.Headers, func(x waf.Header) bool {
			return strings.EqualFold(x.Name, h.Name) && x.Value == h.Value
		}) {
			return "header " + h.Name + ": " + h.Value + " was not inspected"
		}
	}
	return ""
}

func hasHeader(hs []waf.Header, name string) bool {
	return slices.ContainsFunc(hs, func(x waf.Header) bool { return strings.EqualFold(x.Name, name) })
}

func get(target, headers string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: shop.test\r\n" + headers + "\r\n"
}

// Item 1. A SingleHeader rule inspects one value of a repeated header
// (waf/fields.go: the first), and AWS documents no other: "Inspect one of
// the headers in the web request, identified by name … The name isn't
// case sensitive." (https://docs.aws.amazon.com/waf/latest/APIReference/API_SingleHeader.html).
// So a header sent twice — in any case, with an empty first value — is
// refused before inspection, and X-Role: admin is blocked in any case.
func TestItem1DuplicateHeadersRefused(t *testing.T) {
	g := newRawGateway(t, "")
	for _, tc := range []struct {
		name, headers string
		status        int
	}{
		{"one user", "X-Role: user\r\n", 200},
		{"one admin", "X-Role: admin\r\n", 403},
		{"admin in lower case name", "x-role: ADMIN\r\n", 403},
		{"user then admin", "X-Role: user\r\nX-Role: admin\r\n", 400},
		{"admin then user", "X-Role: admin\r\nX-Role: user\r\n", 400},
		{"mixed-case names", "X-Role: user\r\nx-ROLE: admin\r\n", 400},
		{"empty first value", "X-Role:\r\nX-Role: admin\r\n", 400},
		{"repeated with others between", "X-Role: user\r\nAccept: */*\r\nX-ROLE: admin\r\n", 400},
		{"repeated User-Agent", "User-Agent: curl\r\nUser-Agent: sqlmap\r\n", 400},
		{"repeated Cookie", "Cookie: a=1\r\nCookie: role=admin\r\n", 400},
		{"X-Forwarded-For twice from the internet", "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := g.shop.count()
			status, body := g.exchange(t, get("/d", tc.headers))
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, body, tc.status)
			}
			if got := g.shop.count() - before; (tc.status == 200) != (got == 1) {
				t.Fatalf("the upstream received %d requests", got)
			}
			if tc.status == 400 && !strings.Contains(body, "more than once") {
				t.Fatalf("the refusal does not say why: %s", body)
			}
		})
	}
	// A trusted proxy's X-Forwarded-For lines are its chain.
	c := g.dial(t, true)
	if status, body := c.send(t, get("/chain", "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.1\r\n")); status != 200 {
		t.Fatalf("a trusted proxy's chain on two lines: %d %s", status, body)
	}
	g.checkForwardedWasInspected(t)
}

// Item 2. Trailer fields come after the body, once the web ACL has
// decided: they are never forwarded, nor is the Trailer declaration.
func TestItem2TrailersNotForwarded(t *testing.T) {
	g := newRawGateway(t, "")
	for _, declare := range []string{"Trailer: X-Role, User-Agent\r\n", ""} {
		raw := "POST /t HTTP/1.1\r\nHost: shop.test\r\n" + declare + "Transfer-Encoding: chunked\r\n\r\n" +
			"5\r\nhello\r\n0\r\nUser-Agent: sqlmap\r\nX-Role: admin\r\n\r\n"
		before := g.shop.count()
		if status, body := g.exchange(t, raw); status != 200 {
			t.Fatalf("%q: %d %s", declare, status, body)
		}
		reqs := g.shop.requests()
		if len(reqs) != before+1 {
			t.Fatalf("the upstream received %d requests", len(reqs)-before)
		}
		u := reqs[before]
		if string(u.Body) != "hello" {
			t.Fatalf("body %q", u.Body)
		}
		if len(u.Trailers) != 0 || len(u.header("Trailer")) != 0 || strings.Contains(string(u.Raw), "sqlmap") || strings.Contains(string(u.Raw), "admin") {
			t.Fatalf("trailers reached the upstream:\n%s", u.Raw)
		}
	}
	g.checkForwardedWasInspected(t)
}

// Item 3. Only Upgrade: websocket is passed: after an h2c upgrade the
// connection would carry requests the web ACL never sees. An upstream
// answering 101 to a request that asked for no upgrade gets 502, and the
// client's next request on the connection is still inspected.
func TestItem3OnlyWebSocketUpgrades(t *testing.T) {
	g := newRawGateway(t, "")
	g.shop.reply = func(r *upstreamRequest) string {
		switch {
		case r.Target == "/h2c-anyway":
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
		case len(r.header("Upgrade")) == 1 && strings.EqualFold(r.header("Upgrade")[0], "websocket"):
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	}
	for _, headers := range []string{
		"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
		"Connection: HTTP2-Settings, Upgrade\r\nUpgrade: H2C\r\nHTTP2-Settings: AAMAAABk\r\n",
		"Connection: Upgrade\r\nUpgrade: websocket, h2c\r\n",
		"Connection: Upgrade\r\nUpgrade: foo\r\n",
		"HTTP2-Settings: AAMAAABk\r\n",
	} {
		before := g.shop.count()
		if status, body := g.exchange(t, get("/up", headers)); status != 200 {
			t.Fatalf("%q: %d %s", headers, status, body)
		}
		u := g.shop.requests()[before]
		if len(u.header("Upgrade")) != 0 || len(u.header("HTTP2-Settings")) != 0 || len(u.header("Connection")) != 0 {
			t.Fatalf("%q reached the upstream as:\n%s", headers, u.Raw)
		}
	}
	// An upstream that switches anyway: 502, and the connection is not
	// handed to it.
	c := g.dial(t, false)
	if status, _ := c.send(t, get("/h2c-anyway", "Connection: Upgrade\r\nUpgrade: h2c\r\n")); status != http.StatusBadGateway {
		t.Fatalf("an unrequested 101: %d", status)
	}
	before := g.shop.count()
	if status, _ := c.send(t, get("/after", "X-Role: admin\r\n")); status != 403 {
		t.Fatalf("the next request on the connection: %d, want 403 (inspected)", status)
	}
	for _, u := range g.shop.requests()[before:] {
		t.Errorf("the upstream received, after its 101:\n%s", u.Raw)
	}
	// WebSocket still passes.
	c = g.dial(t, false)
	io.WriteString(c, get("/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"))
	if line, _ := c.br.ReadString('\n'); !strings.Contains(line, "101") {
		t.Fatalf("websocket: %q", line)
	}
	g.checkForwardedWasInspected(t)
}

// Item 4. No client-address header from the client reaches the
// upstream: the configured client_ip_header carries the address the web
// ACL used, X-Forwarded-For the trusted chain plus the peer, and the
// other common ones are removed.
func TestItem4ClientAddressHeadersNotPassedOn(t *testing.T) {
	forged := "True-Client-IP: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nCF-Connecting-IP: 6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\n" +
		"Fastly-Client-IP: 6.6.6.6\r\nX-Cluster-Client-IP: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-For: 6.6.6.6\r\n"
	for _, tc := range []struct {
		name, header     string
		trusted          bool
		headers          string
		client, wantXFF  string
		wantClientHeader string // the configured header's value upstream
	}{
		{"XFF, untrusted", "X-Forwarded-For", false, forged, "127.0.0.1", "127.0.0.1", ""},
		{"True-Client-IP, untrusted", "True-Client-IP", false, forged, "127.0.0.1", "127.0.0.1", "127.0.0.1"},
		{"True-Client-IP, trusted", "True-Client-IP", true,
			"True-Client-IP: 203.0.113.7\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-For: 203.0.113.7\r\n", "203.0.113.7", "203.0.113.7, " + trustedPeer, "203.0.113.7"},
		{"XFF, trusted", "X-Forwarded-For", true,
			"X-Forwarded-For: 203.0.113.7\r\nCF-Connecting-IP: 6.6.6.6\r\n", "203.0.113.7", "203.0.113.7, " + trustedPeer, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRawGateway(t, "  client_ip_header: "+tc.header+"\n")
			if status, body := g.dial(t, tc.trusted).send(t, get("/ip", tc.headers)); status != 200 {
				t.Fatalf("%d %s", status, body)
			}
			u := g.shop.requests()[0]
			if in := g.lastInspected(); in.ClientIP != tc.client {
				t.Fatalf("the web ACL saw %s, want %s", in.ClientIP, tc.client)
			}
			if strings.Contains(string(u.Raw), "6.6.6.6") {
				t.Fatalf("a forged address reached the upstream:\n%s", u.Raw)
			}
			if xff := u.header("X-Forwarded-For"); !slices.Equal(xff, []string{tc.wantXFF}) {
				t.Fatalf("X-Forwarded-For %q, want %q", xff, tc.wantXFF)
			}
			if tc.wantClientHeader != "" && !slices.Equal(u.header(tc.header), []string{tc.wantClientHeader}) {
				t.Fatalf("%s %q, want %q", tc.header, u.header(tc.header), tc.wantClientHeader)
			}
			for _, h := range []string{"X-Real-IP", "CF-Connecting-IP", "X-Client-IP", "Fastly-Client-IP", "X-Cluster-Client-IP", "Forwarded"} {
				if v := u.header(h); len(v) > 0 {
					t.Fatalf("%s: %q reached the upstream", h, v)
				}
			}
			g.checkForwardedWasInspected(t)
		})
	}
}

// A client naming, in Connection, a header the gateway writes for the
// upstream (the client_ip_header, a rule's x-amzn-waf-NAME) would have
// ReverseProxy remove it as hop-by-hop: the token is dropped instead.
func TestItem4ConnectionCannotStripGatewayHeaders(t *testing.T) {
	g := newRawGateway(t, "  client_ip_header: True-Client-IP\n")
	status, body := g.exchange(t, get("/c", "Connection: keep-alive, True-Client-IP, x-amzn-waf-checked, X-Hop\r\nX-Hop: 1\r\n"))
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	u := g.shop.requests()[0]
	if !slices.Equal(u.header("True-Client-IP"), []string{"127.0.0.1"}) || !slices.Equal(u.header("X-Amzn-Waf-Checked"), []string{"yes"}) {
		t.Fatalf("the gateway's headers were stripped:\n%s", u.Raw)
	}
	if len(u.header("X-Hop")) != 0 {
		t.Fatalf("a hop-by-hop header the client named was forwarded:\n%s", u.Raw)
	}
	g.checkForwardedWasInspected(t)
}

// Item 7. Routes are chosen by the host without port, trailing dot or
// case, in the Host header and in absolute-form targets alike: a host
// spelled differently does not escape its route's web ACL.
func TestItem7HostNormalisedBeforeRouting(t *testing.T) {
	g := newRawGateway(t, "")
	for _, tc := range []struct{ name, raw string }{
		{"trailing dot", "GET /h HTTP/1.1\r\nHost: shop.test.\r\nX-Role: admin\r\n\r\n"},
		{"upper case", "GET /h HTTP/1.1\r\nHost: SHOP.Test\r\nX-Role: admin\r\n\r\n"},
		{"dot and port", "GET /h HTTP/1.1\r\nHost: shop.test.:8080\r\nX-Role: admin\r\n\r\n"},
		{"case, dot and port", "GET /h HTTP/1.1\r\nHost: Shop.TEST.:80\r\nX-Role: admin\r\n\r\n"},
		{"absolute-form with a dot", "GET http://shop.test./h HTTP/1.1\r\nHost: other.test\r\nX-Role: admin\r\n\r\n"},
		{"absolute-form, case and port", "GET http://SHOP.TEST.:80/h HTTP/1.1\r\nHost: other.test\r\nX-Role: admin\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := g.exchange(t, tc.raw); status != 403 {
				t.Fatalf("%d %s: the shop's web ACL did not decide", status, body)
			}
		})
	}
	if n := g.other.count(); n != 0 {
		t.Fatalf("the other route received %d requests", n)
	}
	// The same spellings without the attack reach the shop.
	if status, _ := g.exchange(t, "GET /h HTTP/1.1\r\nHost: Shop.TEST.:80\r\n\r\n"); status != 200 || g.shop.count() != 1 {
		t.Fatalf("%d, shop received %d", status, g.shop.count())
	}
	if status, _ := g.exchange(t, "GET /h HTTP/1.1\r\nHost: elsewhere.test\r\nX-Role: admin\r\n\r\n"); status != 200 || g.other.count() != 1 {
		t.Fatalf("another host: %d, other received %d", status, g.other.count())
	}
	g.checkForwardedWasInspected(t)
}

// Item 10. The target reaches the upstream byte for byte as the web ACL
// inspected it: ReverseProxy would re-encode a query holding ';' or a bad
// escape (a=1;b=2&c=3 became c=3).
func TestItem10TargetForwardedAsInspected(t *testing.T) {
	g := newRawGateway(t, "")
	for _, target := range []string{
		"/q?a=1;b=2&c=3",
		"/q?a=%zz&b=%&c=%2",
		"/q?a=1&&b&=&a=2",
		"/q?q=a+b%20c%2B",
		"/q?;",
		"/q?",
		"/p;jsessionid=1/x;y?z",
		"/a/../b/./c//d",
		"/a%2Fb/%2e%2e/c",
		"/%41%42",
		"/a%20b?x=%u0041",
		// Raw forms net/url would re-escape (EscapedPath): the web ACL
		// inspects them as sent (waf.TargetPath), so they are sent so.
		`/a"b`,
		"/a{b}|c^d`e",
		"/a%2fb%7e",
		"/\xc3\xa4?\xc3\xa4=1",
		"/a\\b",
	} {
		t.Run(target, func(t *testing.T) {
			before := g.shop.count()
			if status, body := g.exchange(t, get(target, "")); status != 200 {
				t.Fatalf("%d %s", status, body)
			}
			u := g.shop.requests()[before]
			if u.Target != target {
				t.Fatalf("the upstream received %q", u.Target)
			}
			in := g.lastInspected()
			if why := forwardedAs(u, in); why != "" {
				t.Fatal(why)
			}
		})
	}
	// A query the web ACL blocks is blocked whatever its separators.
	if status, _ := g.exchange(t, get("/q?a=1;evil=2", "")); status != 403 {
		t.Fatalf("a blocked query: %d", status)
	}
	// A raw path starting with "//" that net/url would re-escape cannot
	// be sent as is (Opaque "//…" reads as an authority): refused.
	before := g.shop.count()
	if status, body := g.exchange(t, get(`//a"b`, "")); status != 400 || g.shop.count() != before {
		t.Fatalf(`//a"b: %d %s`, status, body)
	}
	if status, _ := g.exchange(t, get("//a/b?c;d", "")); status != 200 || g.shop.requests()[before].Target != "//a/b?c;d" {
		t.Fatalf("//a/b: %d", status)
	}
	g.checkForwardedWasInspected(t)

	// Behind an upstream URL with a path, the target follows it as is.
	g = newRawGatewayBase(t, "", "/app/")
	for _, target := range []string{`/a"b?x=1;y`, "/", "/a%2Fb"} {
		if status, _ := g.exchange(t, get(target, "")); status != 200 {
			t.Fatalf("%s: %d", target, status)
		}
		reqs := g.shop.requests()
		if got := reqs[len(reqs)-1].Target; got != "/app"+target {
			t.Fatalf("%s reached the upstream as %s", target, got)
		}
	}
}

// Item 11. Header names with '_' are read as '-' by CGI, WSGI and PHP
// backends: by default they are inspected and not forwarded; refuse
// answers 400; allow forwards them.
func TestItem11UnderscoreHeaders(t *testing.T) {
	headers := "User_Agent: sqlmap\r\nX_Role: admin\r\nX-Ok: 1\r\n"
	for _, tc := range []struct {
		mode     string
		status   int
		upstream bool // the names reach the upstream
	}{
		{"", 200, false}, // the default: drop
		{"drop", 200, false},
		{"refuse", 400, false},
		{"allow", 200, true},
	} {
		t.Run("mode "+tc.mode, func(t *testing.T) {
			extra := ""
			if tc.mode != "" {
				extra = "  underscore_headers: " + tc.mode + "\n"
			}
			g := newRawGateway(t, extra)
			status, body := g.exchange(t, get("/u", headers))
			if status != tc.status {
				t.Fatalf("%d %s", status, body)
			}
			if tc.status != 200 {
				if g.shop.count() != 0 || !strings.Contains(body, "_") {
					t.Fatalf("refused, yet forwarded or not said why: %s", body)
				}
				return
			}
			if in := g.lastInspected(); !hasHeader(in.Headers, "X_Role") {
				t.Fatalf("the web ACL did not see X_Role: %v", in.Headers)
			}
			u := g.shop.requests()[0]
			if got := strings.Contains(string(u.Raw), "_"); got != tc.upstream {
				t.Fatalf("underscore names upstream: %v, want %v:\n%s", got, tc.upstream, u.Raw)
			}
			if len(u.header("X-Ok")) != 1 {
				t.Fatalf("X-Ok lost:\n%s", u.Raw)
			}
			g.checkForwardedWasInspected(t)
		})
	}
}

func TestUnderscoreHeadersConfig(t *testing.T) {
	c := DefaultConfig()
	c.Listen, c.Routes = "127.0.0.1:0", []RouteConfig{{Name: "r", Upstreams: []string{"http://127.0.0.1:1"}}}
	if probs := c.Validate(); len(probs) != 0 {
		t.Fatalf("the default: %v", probs)
	}
	c.UnderscoreHeaders = "ignore"
	probs := c.Validate()
	if len(probs) != 1 || probs[0].Path != "underscore_headers" || !strings.Contains(probs[0].Msg, `"ignore"`) {
		t.Fatalf("%v", probs)
	}
}
