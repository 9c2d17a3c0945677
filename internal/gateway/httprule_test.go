package gateway

import (
	"strings"
	"testing"
)

// atk-gw F6 and F8: no spelling of a host or a path escapes its route's
// web ACL; what cannot be routed faithfully is refused (400) before any
// upstream is asked.
func TestHostAndPathSpellingsRefused(t *testing.T) {
	g := newRawGatewayRoutes(t, "", "", `    - name: admin
      path_prefix: /admin/
      upstreams: [SHOP]
      web_acl: ACL
`)
	const attack = "X-Role: admin\r\n"
	req := func(host, target string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + attack + "\r\n"
	}
	for _, tc := range []struct {
		name, raw string
		status    int
	}{
		{"control: /admin/ decided by its web ACL", req("other.test", "/admin/x"), 403},
		{"F8 escaped unreserved", req("other.test", "/%61dmin/x"), 400},
		{"F8 dot-dot", req("other.test", "/x/../admin/x"), 400},
		{"F8 dot", req("other.test", "/./admin/x"), 400},
		{"F8 double slash", req("other.test", "//admin/x"), 400},
		{"F8 escaped slash", req("other.test", "/admin%2Fx"), 400},
		{"F8 escaped dot-dot", req("other.test", "/x/%2e%2e/admin/x"), 400},
		{"F6 two trailing dots", req("shop.test..", "/h"), 400},
		{"F6 empty label", req("shop..test", "/h"), 400},
		{"F6 leading dot", req(".shop.test", "/h"), 400},
		// atk20 F2: not host[:port] (nginx and frameworks read shop.test).
		{"atk20 F2 two ports", req("shop.test:80:80", "/h"), 400},
		{"atk20 F2 empty port then port", req("shop.test::80", "/h"), 400},
		{"atk20 F2 port then colon", req("shop.test:80:", "/h"), 400},
		{"atk20 F2 dot and two ports", req("shop.test.:80:80", "/h"), 400},
		{"atk20 F2 comma", req("shop.test,x", "/h"), 400},
		// atk20 F9: /admin/ to servlet containers and IIS.
		{"atk20 F9 ..;", req("other.test", "/x/..;/admin/x"), 400},
		{"atk20 F9 escaped ..;", req("other.test", "/x/%2e%2e;/admin/x"), 400},
		{"atk20 F9 ..%3b", req("other.test", "/x/..%3b/admin/x"), 400},
		{"atk20 F9 escaped backslash", req("other.test", "/x/..%5cadmin/x"), 400},
		{"atk20 F9 path parameter", req("other.test", "/admin;x/x"), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := g.exchange(t, tc.raw); status != tc.status {
				t.Fatalf("%d %s, want %d", status, body, tc.status)
			}
		})
	}
	if n := g.other.count(); n != 0 {
		t.Fatalf("the route without a web ACL received %d requests", n)
	}
	// Dot segments that stay within one route are forwarded as sent.
	if status, body := g.exchange(t, "GET /a/./b//c HTTP/1.1\r\nHost: other.test\r\n\r\n"); status != 200 || g.other.count() != 1 {
		t.Fatalf("%d %s", status, body)
	}
	g.checkForwardedWasInspected(t)
}

// atk-gw F5: the less common client-address headers, and the forwarding
// headers frameworks build URLs from, do not reach the upstream from an
// untrusted peer.
func TestForwardingHeadersNotPassedOn(t *testing.T) {
	g := newRawGateway(t, "")
	names := []string{"X-Originating-IP", "X-Remote-IP", "X-Remote-Addr", "Client-IP", "X-Forwarded", "Forwarded-For",
		"X-ProxyUser-Ip", "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Scheme", "X-Host", "Front-End-Https"}
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + ": 6.6.6.6\r\n")
	}
	if status, body := g.exchange(t, get("/f", b.String())); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	u := g.shop.requests()[0]
	if strings.Contains(string(u.Raw), "6.6.6.6") {
		t.Fatalf("a forged header reached the upstream:\n%s", u.Raw)
	}
	// From the trusted proxy, the forwarding headers are its to send.
	if status, body := g.dial(t, true).send(t, get("/f", "X-Forwarded-Prefix: /shop\r\nClient-IP: 6.6.6.6\r\n")); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	u = g.shop.requests()[1]
	if len(u.header("X-Forwarded-Prefix")) != 1 || len(u.header("Client-IP")) != 0 {
		t.Fatalf("trusted proxy's headers:\n%s", u.Raw)
	}
}
