package gateway

import (
	"net/http"
	"net/netip"

	"github.com/lockgate/lockgate/internal/httprule"
	"github.com/lockgate/lockgate/waf"
)

// clientIP is the connection's peer, or, when the peer is a trusted
// proxy that sent the client address header, the client it names: for
// X-Forwarded-For the rightmost hop that is not itself a trusted proxy.
//
// Hops are read by waf.ParseForwardedAddr (ports and brackets as load
// balancers write them). A hop that does not parse, or a header with no
// hop at all, leaves the client unknown: the address returned is not
// valid, and the web ACL's statements on the client address follow
// gateway.client_ip_fallback (MATCH or NO_MATCH, as AWS's
// FallbackBehavior). It is never the proxy: a client hiding behind a
// malformed hop must not be taken for the proxy (and share its rate
// limit, or pass its reputation check).
func (st *state) clientIP(r *http.Request) netip.Addr {
	peer := waf.RemoteIP(r)
	if !peer.IsValid() || !st.trusted.Lookup(peer) {
		return peer
	}
	v := r.Header.Values(st.header)
	if len(v) == 0 {
		return peer // the proxy's own request (a health check)
	}
	return httprule.Client(st.header, v, func(a netip.Addr) bool { return st.trusted.Lookup(a) })
}
