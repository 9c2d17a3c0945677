// Package httprule holds the rules by which lockgate reads a request
// before a web ACL decides it, shared by the gateway (which holds the
// request) and forward auth (which is told about it by a proxy): the
// same request must be routed, refused and attributed to a client the
// same way whichever of the two decides it (docs/gateway.md, "What
// reaches the upstream is what was inspected").
package httprule

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/lockgate/lockgate/problem"
	"github.com/lockgate/lockgate/waf"
)

// Host is the host a route is chosen by, compared without case
// (strings.EqualFold; lowering it here would cost an allocation a
// request): without the port and without one trailing dot (the DNS
// root: "shop.test." names "shop.test"). An empty h is a request without
// a host (HTTP/1.0), routed to the routes for any host.
//
// ok is false for what is not host[:port] with a DNS name, an IPv4
// address or a bracketed IPv6 address, and a port of digits (RFC 3986,
// 3.2.2 and 3.2.3): a name with an empty label ("shop.test..",
// ".shop.test", "a..b"), which a lenient virtual-host matcher that trims
// dots would serve as another route's host; a second colon
// ("admin.test:80:80", "admin.test::80"), which nginx and application
// frameworks cut at the first colon (admin.test) while a proxy passes it
// on as it is; characters no host name holds ("admin.test,x", which a
// framework reading a comma-separated X-Forwarded-Host takes for
// admin.test; "%"; spaces). Such a host is refused rather than routed:
// no spelling of a host escapes its route's web ACL.
func Host(h string) (host string, ok bool) {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return h, false
		}
		host = h[:end+1]
		if port := h[end+1:]; port != "" && (port[0] != ':' || !validPort(port[1:])) {
			return host, false
		}
		a, err := netip.ParseAddr(host[1:end])
		return host, err == nil && a.Is6() && a.Zone() == ""
	}
	host, port, hasPort := strings.Cut(h, ":")
	if hasPort && (host == "" || !validPort(port)) {
		return host, false
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" && h != "" || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") || strings.Contains(host, "..") {
		return host, false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return host, false
		}
	}
	return host, true
}

// validPort reports whether p is a port: empty (RFC 3986 allows
// "host:") or at most five digits up to 65535.
func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// Repeated names a header field sent more than once (net/http has
// folded case variants, X-Role and x-role, into one key; an empty first
// value counts), or is "". A SingleHeader rule inspects one value and an
// application may read another (the last, or all joined), so no decision
// on one of them holds for the request. except names a field whose
// repetition is expected (X-Forwarded-For from a trusted proxy).
func Repeated(h http.Header, except func(name string) bool) string {
	repeated, _ := Screen(h, except)
	return repeated
}

// Underscore names a header field whose name holds '_', or is "". CGI,
// WSGI and PHP backends read X_Role as X-Role, a header no SingleHeader
// rule on X-Role inspected.
func Underscore(h http.Header) string {
	_, underscore := Screen(h, nil)
	return underscore
}

// Screen is Repeated and Underscore in one pass over h, as a request is
// screened before inspection. Each is the least such name: the same
// answer for the same request, whatever the map's order.
func Screen(h http.Header, except func(name string) bool) (repeated, underscore string) {
	for name, vs := range h {
		if len(vs) > 1 && (repeated == "" || name < repeated) && (except == nil || !except(name)) {
			repeated = name
		}
		if strings.IndexByte(name, '_') >= 0 && (underscore == "" || name < underscore) {
			underscore = name
		}
	}
	return repeated, underscore
}

// WebSocketOnly reports whether the values of an Upgrade header ask for
// WebSocket alone, the one protocol a connection may be upgraded to:
// after an h2c upgrade (or any other) the proxy tunnels the connection,
// and the requests it carries next reach the upstream without a web ACL
// seeing them. The gateway removes any other Upgrade (and
// HTTP2-Settings); forward auth, which cannot, refuses the request.
func WebSocketOnly(upgrade []string) bool {
	return len(upgrade) == 1 && strings.EqualFold(strings.TrimSpace(upgrade[0]), "websocket")
}

// ClientAddrHeaders name a client address by convention; an application
// may read any of them, so one from a client never reaches it as sent.
var ClientAddrHeaders = []string{
	"True-Client-Ip", "X-Real-Ip", "Cf-Connecting-Ip", "X-Client-Ip",
	"Fastly-Client-Ip", "X-Cluster-Client-Ip", "Forwarded",
	"X-Originating-Ip", "X-Remote-Ip", "X-Remote-Addr", "Client-Ip",
	"X-Forwarded", "Forwarded-For", "X-Proxyuser-Ip",
}

// ForwardingHeaders are what a proxy says about the original request
// besides the client address; frameworks build absolute URLs and
// redirects from them (Spring's ForwardedHeaderFilter, Rails, Django's
// USE_X_FORWARDED_PORT), so one from an untrusted peer is removed.
// (X-Forwarded-Host and -Proto are rewritten by the gateway itself.)
var ForwardingHeaders = []string{
	"X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server",
	"X-Forwarded-Scheme", "X-Forwarded-Ssl", "X-Host", "Front-End-Https",
	"X-Url-Scheme",
}

// IsClientAddr reports whether a canonical header name is one of
// ClientAddrHeaders.
func IsClientAddr(name string) bool { return slices.Contains(ClientAddrHeaders, name) }

// IsForwarding reports whether a canonical header name is one of
// ForwardingHeaders.
func IsForwarding(name string) bool { return slices.Contains(ForwardingHeaders, name) }

// Client is the client address a trusted proxy names in the values of
// header: for X-Forwarded-For the rightmost hop that is not itself
// trusted, for any other header its first address. Hops are read by
// waf.ParseForwardedAddr (ip:port and [v6]:port as load balancers write
// them). A hop that does not parse leaves the client unknown (the
// address is not valid): a client hiding behind a malformed hop must
// not be taken for the proxy.
func Client(header string, values []string, trusted func(netip.Addr) bool) netip.Addr {
	joined := strings.Join(values, ",")
	if !strings.EqualFold(header, "X-Forwarded-For") {
		a, _ := waf.FirstForwardedAddr(joined)
		return a
	}
	var client netip.Addr
	for rest := joined; rest != ""; {
		i := strings.LastIndexByte(rest, ',')
		hop := rest[i+1:]
		rest = rest[:max(i, 0)]
		if strings.Trim(hop, " \t") == "" {
			continue // an empty list element (RFC 9110, 5.6.1)
		}
		a, ok := waf.ParseForwardedAddr(hop)
		if !ok {
			return netip.Addr{}
		}
		client = a
		if !trusted(a) {
			break
		}
	}
	return client
}

// Values of the wide_trusted_proxies keys of the gateway and forward
// auth.
const (
	WideRefuse = "refuse"
	WideAllow  = "allow"
)

// Wide reports whether a trusted-proxy prefix is wider than any network
// of proxies one runs: every IPv4 or IPv6 address (0.0.0.0/0, ::/0,
// ::ffff:0:0/96), or more than the widest private range (10.0.0.0/8;
// fc00::/7 for IPv6). Trusting it believes the forwarded address of
// whoever connects — a client then names its own address, another
// client's rate-limit key or an allow-listed partner's — so such an
// entry is refused unless the configuration acknowledges it
// (wide_trusted_proxies: allow), as behind a firewall that lets only the
// CDN connect (atk20f F9).
func Wide(p netip.Prefix) bool {
	a := p.Addr()
	switch {
	case a.Is4():
		return p.Bits() < 8
	case a.Is4In6():
		return p.Bits() < 96+8
	}
	return p.Bits() < 7
}

// ValidateWide checks a list of trusted prefixes at path (key[i]) and
// the value of its wide_trusted_proxies key: each entry wider than
// Wide allows is a problem unless wide is WideAllow. Entries that do
// not parse are left to the caller.
func ValidateWide(key string, prefixes []string, wide string) problem.List {
	var probs problem.List
	switch wide {
	case "", WideRefuse, WideAllow:
	default:
		probs.Addf("wide_trusted_proxies", "%q is not refuse or allow", wide)
	}
	if wide == WideAllow {
		return probs
	}
	for i, s := range prefixes {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			continue // an address, or not parsed: the caller says so
		}
		if Wide(p) {
			probs.Addf(fmt.Sprintf("%s[%d]", key, i), "%q trusts more addresses than any proxies one runs (every address, or wider than 10.0.0.0/8 or fc00::/7): whoever connects would name its own client address in X-Forwarded-For; list the proxies' own ranges, or set wide_trusted_proxies: allow if only they can connect (docs/configuration.md)", s)
		}
	}
	return probs
}
