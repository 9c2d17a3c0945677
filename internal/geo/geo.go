// Package geo tells where an IP address is: its country (ISO 3166-1
// alpha-2), and its region (ISO 3166-2) and city when the database knows
// them. It is the one place lockgate looks addresses up: the WAF engine's
// GeoMatch statements and labels, the lock check's attempt location and
// geo-fences, the Client VPN connect handler and the authorizer.
//
// Two kinds of database answer:
//
//   - the embedded default, IP2Location LITE country data shipped inside
//     the binary by github.com/phuslu/iploc: no file, no network, no
//     licence key. "This product includes IP2Location LITE data available
//     from https://lite.ip2location.com" (CC BY-SA 4.0);
//   - a MaxMind-format (.mmdb) file: GeoLite2 or GeoIP2 Country or City,
//     DB-IP lite, or any database laid out as those are. City databases
//     give regions and cities. The file is reloaded when it changes (see
//     DB.Run).
//
// Lookups do not allocate (see the AllocsPerRun tests), so they can sit
// on every request of the gateway.
package geo

import (
	"errors"
	"net/netip"

	"github.com/phuslu/iploc"
)

// Location is where an address is. Fields the database does not know are
// empty.
type Location struct {
	// Country is the ISO 3166-1 alpha-2 code ("US").
	Country string `json:"country"`
	// Region is the ISO 3166-2 code of the first-level subdivision,
	// country prefix included ("US-CA").
	Region string `json:"region"`
	// City is the city's English name.
	City string `json:"city"`
}

// RegionCode returns the subdivision part of Region ("CA" for "US-CA"),
// the form AWS WAF's region labels and the waf engine use.
func (l Location) RegionCode() string {
	if len(l.Region) > 3 && l.Region[2] == '-' {
		return l.Region[3:]
	}
	return ""
}

// Locator looks addresses up. An error means the database could not
// answer (a damaged file): callers that decide access deny on it.
type Locator interface {
	Lookup(ip netip.Addr) (Location, error)
}

// ErrNoDatabase is returned by a DB that has none (a zero DB).
var ErrNoDatabase = errors.New("geo: no database")

// SourceEmbedded names the embedded database in Source.
const SourceEmbedded = "embedded IP2Location LITE"

// Embedded is the database compiled into lockgate: countries only.
type Embedded struct{}

// Lookup implements Locator. Private, loopback, link-local, multicast
// and unspecified addresses have no country.
func (Embedded) Lookup(ip netip.Addr) (Location, error) {
	return Location{Country: Country(ip)}, nil
}

// Source implements DB's source naming.
func (Embedded) Source() string { return SourceEmbedded }

// Country returns the ISO 3166-1 alpha-2 code of ip in the embedded
// database, or "" when the address is private, reserved or unknown.
func Country(ip netip.Addr) string {
	ip = ip.Unmap()
	if !public(ip) {
		return ""
	}
	c := iploc.IPCountry(ip)
	if c == "ZZ" || len(c) != 2 {
		return ""
	}
	return c
}

// public reports whether an address can have a place at all.
func public(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsUnspecified() &&
		!ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() && !ip.IsMulticast() && !ip.IsInterfaceLocalMulticast()
}
