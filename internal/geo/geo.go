// Package geo maps IP addresses to countries. The default is the embedded
// IP2Location LITE data shipped by github.com/phuslu/iploc: no file, no
// network, no token.
package geo

import (
	"net/netip"

	"github.com/phuslu/iploc"
)

// Country returns the ISO 3166-1 alpha-2 code of ip, or "" when the
// address is private, reserved or unknown.
func Country(ip netip.Addr) string {
	if !ip.IsValid() || ip.IsPrivate() || ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
		return ""
	}
	c := iploc.IPCountry(ip.Unmap())
	if c == "ZZ" {
		return ""
	}
	return c
}
