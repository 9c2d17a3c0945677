// Package httprule holds the rules by which lockgate reads a request
// before a web ACL decides it, shared by the gateway (which holds the
// request) and forward auth (which is told about it by a proxy): the
// same request must be routed, refused and attributed to a client the
// same way whichever of the two decides it (docs/gateway.md, "What
// reaches the upstream is what was inspected").
package httprule

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/lockgate/lockgate/waf"
)

// Host is the host a route is chosen by, compared without case
// (strings.EqualFold; lowering it here would cost an allocation a
// request): without the port and without one trailing dot (the DNS
// root: "shop.test." names "shop.test"). ok is false for a host with an empty label
// ("shop.test..", ".shop.test", "a..b"): no DNS name is spelled so, and
// a lenient virtual-host matcher that trims dots would serve it as
// another route's host, so it is refused rather than routed.
func Host(h string) (host string, ok bool) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && i > strings.LastIndexByte(h, ']') {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if strings.HasPrefix(h, "[") {
		return h, true
	}
	if strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
		return h, false
	}
	return h, true
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
