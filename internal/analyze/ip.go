package analyze

import "net/netip"

// canonIP returns the client IP b as its address's canonical text, or
// false when b is no address a request could come from. The analysis
// counts per address, as AWS WAF's rate-based rules aggregate by IP
// address (AggregateKeyType IP), not per spelling: 2001:DB8::1 and
// 2001:db8:0:0::1 are one client, and so are ::ffff:1.2.3.4 and 1.2.3.4
// (an IPv4 client seen through an IPv6 socket). A zone (fe80::1%eth0)
// names an interface of the host that logged, not a client: such a
// record is bad, as one with no address.
func canonIP(b []byte) (string, bool) {
	if _, ok := parseIPv4(b); ok {
		return string(b), true // already canonical: the common case
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil || a.Zone() != "" {
		return "", false
	}
	return a.Unmap().String(), true
}
