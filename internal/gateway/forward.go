package gateway

import (
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/textproto"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/lockgate/lockgate/internal/httprule"
	"github.com/lockgate/lockgate/waf"
)

// The gateway's rule: what reaches the upstream is what the web ACL
// inspected (docs/gateway.md, "What reaches the upstream is what was
// inspected"). screen runs
// before the web ACL and refuses what it could not inspect faithfully;
// prepare and rewrite run after it and remove what it did not see.

// Values of Config.UnderscoreHeaders.
const (
	UnderscoreDrop   = "drop"
	UnderscoreRefuse = "refuse"
	UnderscoreAllow  = "allow"
)

// refusal is why screen refuses a request (400), or "".
type refusal string

// strip records what screen found that prepare removes, so that a
// request without any of it costs prepare nothing.
type strip uint8

const (
	stripUnderscore strip = 1 << iota // names with '_' (when dropped)
	stripClientAddr                   // a clientAddrHeaders entry
	stripUpgrade                      // Upgrade, HTTP2-Settings, Trailer
	stripConnection                   // Connection, which may name what the gateway writes
)

// screen checks the header fields before inspection. A field sent more
// than once is refused: a SingleHeader rule inspects one value (the
// first), and an upstream may read another (the last, or all joined), so
// no choice of value to forward is the one every rule inspected. net/http
// has already folded names case-insensitively (X-Role, x-role) into one
// key, so case variants count as repeats, and an empty first value too.
// The exception is X-Forwarded-For from a trusted proxy, whose lines form
// the chain the client address is read from and which the gateway
// rewrites. A name with '_' is refused or marked to be dropped, as the
// configuration says.
func (st *state) screen(r *http.Request) (refusal, strip) {
	var s strip
	if p := waf.TargetPath(r); strings.HasPrefix(p, "//") && p != r.URL.EscapedPath() {
		// rewrite could send this path only re-escaped: Opaque "//…"
		// would be read as an authority.
		return "the request target's path cannot be forwarded as received", 0
	}
	trusted := st.trustedPeer(r)
	repeated, underscore := httprule.Screen(r.Header, func(name string) bool { return name == "X-Forwarded-For" && trusted })
	if repeated != "" {
		return refusal("the header " + repeated + " is sent more than once"), 0
	}
	if name := underscore; name != "" {
		switch st.cfg.UnderscoreHeaders {
		case UnderscoreRefuse:
			return refusal("the header name " + name + " holds '_'"), 0
		case UnderscoreDrop, "":
			s |= stripUnderscore
		}
	}
	for name := range r.Header {
		switch name {
		case "Upgrade", "Http2-Settings", "Trailer":
			s |= stripUpgrade
		case "Connection":
			s |= stripConnection
		default:
			if httprule.IsClientAddr(name) || !trusted && httprule.IsForwarding(name) {
				s |= stripClientAddr
			}
		}
	}
	return "", s
}

func (st *state) trustedPeer(r *http.Request) bool {
	peer := waf.RemoteIP(r)
	return peer.IsValid() && st.trusted.Lookup(peer)
}

// prepare removes from r, after the web ACL allowed it, what must not
// reach the upstream (s says what screen found): names with '_' (when
// dropped), client-address headers, an Upgrade other than WebSocket with
// HTTP2-Settings, and the Trailer declaration (rewrite drops the trailer
// fields). The configured client_ip_header is set to the address the web
// ACL used.
func (st *state) prepare(r *http.Request, client netip.Addr, s strip) {
	h := r.Header
	if s&stripUnderscore != 0 {
		for name := range h {
			if strings.IndexByte(name, '_') >= 0 {
				delete(h, name)
			}
		}
	}
	if s&stripClientAddr != 0 {
		// Client-address headers from any peer (the configured one is
		// set below); the other forwarding headers from an untrusted one.
		for _, name := range httprule.ClientAddrHeaders {
			delete(h, name)
		}
		if !st.trustedPeer(r) {
			for _, name := range httprule.ForwardingHeaders {
				delete(h, name)
			}
		}
	}
	if st.header != "X-Forwarded-For" {
		if client.IsValid() {
			h[st.header] = []string{client.String()}
		} else {
			delete(h, st.header)
		}
	}
	if s&stripConnection != 0 {
		// ReverseProxy removes the headers Connection names, after the
		// gateway has written its own (the client_ip_header, a rule's
		// x-amzn-waf-NAME, an authorizer's identity headers): a client
		// naming one would strip what the gateway tells the upstream.
		// So the client's hop-by-hop headers go here, before any of ours
		// is written, and only Connection's own tokens (Upgrade, close,
		// keep-alive) stay for ReverseProxy. The usual keep-alive or
		// close names no header: nothing to do, nothing allocated.
		if vs := h["Connection"]; !onlyConnectionTokens(vs) {
			st.dropHopByHop(h, vs)
		}
	}
	if s&stripUpgrade != 0 {
		// Only WebSocket is upgraded to: after an h2c upgrade (or any
		// other) the connection carries requests the web ACL never sees.
		// Without Upgrade, ReverseProxy refuses an upstream's 101 (502).
		if up, ok := h["Upgrade"]; ok && !(len(up) == 1 && strings.EqualFold(strings.TrimSpace(up[0]), "websocket")) {
			delete(h, "Upgrade")
		}
		delete(h, "Http2-Settings")
		delete(h, "Trailer")
	}
}

// dropHopByHop removes the headers a client's Connection header names,
// except the gateway's own, and keeps only Connection's own tokens.
func (st *state) dropHopByHop(h http.Header, vs []string) {
	var keep []string
	for _, v := range vs {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			switch {
			case tok == "":
			case connectionToken(tok):
				keep = append(keep, tok)
			case st.namesOurs(tok):
				// ours, already written above: the token goes
			default:
				delete(h, canonicalHeader(tok))
			}
		}
	}
	if len(keep) == 0 {
		delete(h, "Connection")
	} else {
		h["Connection"] = []string{strings.Join(keep, ", ")}
	}
}

// connectionToken reports whether tok is one of Connection's own options
// rather than the name of a header.
func connectionToken(tok string) bool {
	return strings.EqualFold(tok, "upgrade") || strings.EqualFold(tok, "close") || strings.EqualFold(tok, "keep-alive")
}

// onlyConnectionTokens reports whether Connection names no header.
func onlyConnectionTokens(vs []string) bool {
	for _, v := range vs {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !connectionToken(tok) {
				return false
			}
		}
	}
	return true
}

// namesOurs reports whether a Connection value names a header the
// gateway writes for the upstream: the client_ip_header or a header a
// rule inserts (x-amzn-waf-NAME).
func (st *state) namesOurs(v string) bool {
	for tok := range strings.SplitSeq(v, ",") {
		tok = strings.TrimSpace(tok)
		if strings.EqualFold(tok, st.header) || len(tok) >= len("x-amzn-waf-") && strings.EqualFold(tok[:len("x-amzn-waf-")], "x-amzn-waf-") {
			return true
		}
	}
	return false
}

// canonicalHeader is the key net/http files a configured header name
// under.
func canonicalHeader(name string) string { return textproto.CanonicalMIMEHeaderKey(name) }

// rewrite is the outbound request to up: the target as inspected (after
// the upstream URL's own path, if any), the client's Host,
// X-Forwarded-For with the trusted chain plus the peer, and no trailers.
func rewrite(pr *httputil.ProxyRequest, up *upstream, trusted *bart.Lite) {
	pr.SetURL(up.url)
	// The web ACL inspected the path as the client sent it
	// (waf.TargetPath); net/url's EscapedPath re-escapes a raw path it
	// finds non-canonical (`"` becomes %22, UTF-8 is escaped). Opaque
	// makes the transport send the path as is; screen refused the one
	// case Opaque cannot carry (a path starting with "//").
	path := waf.TargetPath(pr.In)
	if base := strings.TrimSuffix(up.url.EscapedPath(), "/"); base != "" {
		path = base + path
	}
	if pr.Out.URL.EscapedPath() != path {
		pr.Out.URL.Opaque = path
	}
	// ReverseProxy re-encodes a query holding ';' or a bad escape (and
	// drops parameters it cannot parse) before Rewrite; the upstream gets
	// the query the web ACL inspected, byte for byte.
	if up.url.RawQuery == "" || pr.In.URL.RawQuery == "" {
		pr.Out.URL.RawQuery = up.url.RawQuery + pr.In.URL.RawQuery
	} else {
		pr.Out.URL.RawQuery = up.url.RawQuery + "&" + pr.In.URL.RawQuery
	}
	pr.Out.Host = pr.In.Host // the application sees the host the client asked for
	// Trailer fields arrive after the body, once the web ACL has decided:
	// they are never inspected, so they are not sent on.
	pr.Out.Trailer = nil
	if peer := waf.RemoteIP(pr.In); peer.IsValid() && trusted.Lookup(peer) {
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	}
	pr.SetXForwarded()
}

// routeHost is the host a route is chosen by (httprule.Host): without
// the port, a trailing dot and case. Without this, "SHOP.test.:80" would
// fall through to another route and its web ACL.
func routeHost(h string) string {
	host, _ := httprule.Host(h)
	return host
}
