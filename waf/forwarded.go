package waf

import (
	"net/netip"
	"strings"
)

// ParseForwardedAddr reads one hop of a forwarded-address header
// (X-Forwarded-For, True-Client-IP…): an IPv4 or IPv6 address, bare or
// with the port some load balancers add — "192.0.2.1:8080",
// "[2001:db8::1]:443", "[2001:db8::1]" — with optional whitespace around
// it. An IPv4-mapped IPv6 address is returned as IPv4.
//
// It refuses anything else, and in particular addresses with a zone
// ("fe80::1%eth0"): a zone names an interface of the host that wrote it,
// so it says nothing about the client here, and "2001:db8::1:443" (an
// IPv6 address with a port and no brackets cannot be told from one
// without). ok is false when s is not such an address: the caller then
// does not know the client, and must not fall back to the proxy that
// sent the header.
func ParseForwardedAddr(s string) (a netip.Addr, ok bool) {
	s = strings.Trim(s, " \t")
	if s == "" {
		return netip.Addr{}, false
	}
	host := s
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// One colon: IPv4 with a port.
		if !validPort(s[i+1:]) {
			return netip.Addr{}, false
		}
		host = s[:i]
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is4() {
			return netip.Addr{}, false
		}
		return a, true
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validPort: 1 to 5 decimal digits, at most 65535.
func validPort(p string) bool {
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// FirstForwardedAddr is the first hop of a forwarded header's value, as
// AWS WAF reads a ForwardedIPConfig header: "AWS WAF only evaluates the
// first IP address found in the specified HTTP header."
func FirstForwardedAddr(v string) (netip.Addr, bool) {
	first, _, _ := strings.Cut(v, ",")
	return ParseForwardedAddr(first)
}
