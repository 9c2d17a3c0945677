package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Policy decides which addresses webhooks may reach. Loopback, link-local,
// private (RFC 1918), unique-local (fc00::/7) and the other special-use
// ranges are refused unless an allowed network contains them: a webhook
// URL is chosen by whoever may add one, and must not make lockgate call
// its own database, a cloud metadata service or the admin API. The check
// runs at registration, on every address the name resolves to, and again
// on the address each connection is actually made to, so a name that
// resolves elsewhere later (DNS rebinding) is still refused.
type Policy struct {
	allow []netip.Prefix
	// Resolver looks names up at registration and at each connection;
	// net.DefaultResolver when nil.
	Resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
}

// NewPolicy returns a policy allowing the CIDRs given on top of the public
// internet.
func NewPolicy(allow []string) (*Policy, error) {
	p := &Policy{}
	for _, s := range allow {
		pr, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("allow_networks: %q: %w", s, err)
		}
		p.allow = append(p.allow, pr.Masked())
	}
	return p, nil
}

// ErrDestination is a destination the policy refuses.
var ErrDestination = errors.New("destination refused")

var special = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	// IPv4-compatible IPv6 (RFC 4291 §2.5.5.1, deprecated): no
	// destination has one, and a stack may reach the IPv4 address.
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address (deprecated)"},
	// IPv4-translated IPv6 (SIIT, RFC 2765): like the above, it carries
	// an IPv4 address a translator or a stack may reach.
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "an IPv4-translated IPv6 address"},
	// Site-local (RFC 3879 deprecated it, not every stack forgot it): a
	// private network by another name.
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
	// Teredo (RFC 4380) tunnels to an IPv4 server and client whose
	// addresses it carries (the client's obfuscated): what it reaches is
	// not what the address reads as.
	{netip.MustParsePrefix("2001::/32"), "a Teredo tunnel address"},
	// The rest of the IETF protocol assignments (RFC 2928), which IANA's
	// IPv6 special-purpose registry marks not globally reachable "unless
	// allowed by a more specific allocation" (ietfGlobal6, checked
	// first): benchmarking (RFC 5180) and the deprecated ORCHID (RFC
	// 4843) by name, as IPv4's 198.18.0.0/15 is, then the whole block.
	{netip.MustParsePrefix("2001:2::/48"), "benchmarking"},
	{netip.MustParsePrefix("2001:10::/28"), "ORCHID (deprecated)"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments"},
	// Local-use NAT64 (RFC 8215) translates to a site's own IPv4
	// network, at a position its operator chooses.
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	// RFC 9637's documentation prefix, and IPv4's three (RFC 5737): no
	// receiver lives there, so a URL naming one is a test or a trick.
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
}

// ietfGlobal6 are the blocks inside 2001::/23 that IANA's IPv6
// special-purpose registry marks "Globally Reachable": the PCP, TURN and
// DNS-SD SRP anycast addresses, AMT, AS112-v6, ORCHIDv2 (RFC 7343) and
// drone remote ID tags (RFC 9374). A receiver may use them.
var ietfGlobal6 = []netip.Prefix{
	netip.MustParsePrefix("2001:1::1/128"),
	netip.MustParsePrefix("2001:1::2/128"),
	netip.MustParsePrefix("2001:1::3/128"),
	netip.MustParsePrefix("2001:3::/32"),
	netip.MustParsePrefix("2001:4:112::/48"),
	netip.MustParsePrefix("2001:20::/28"),
	netip.MustParsePrefix("2001:30::/28"),
}

// globalUnicast6 is the only IPv6 space IANA allocates for global unicast
// (RFC 4291 §2.4): anything else (SRv6 SIDs in 5f00::/16, the
// reserved ::/8 beside the compatible and translated forms, …) is no
// receiver's address.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// CheckAddr returns nil when a may be called.
func (p *Policy) CheckAddr(a netip.Addr) error {
	a = a.Unmap().WithZone("")
	for _, pr := range p.allow {
		if pr.Contains(a) {
			return nil
		}
	}
	if why := classify(a); why != "" {
		return fmt.Errorf("%w: %s is %s (allow it with webhooks.allow_networks)", ErrDestination, a, why)
	}
	// IPv6 forms that carry an IPv4 address reach that address.
	if a.Is6() {
		b := a.As16()
		var v4 netip.Addr
		switch {
		case nat64.Contains(a):
			v4 = netip.AddrFrom4([4]byte(b[12:16]))
		case netip.MustParsePrefix("2002::/16").Contains(a): // 6to4
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if v4.IsValid() {
			if err := p.CheckAddr(v4); err != nil {
				return fmt.Errorf("%w: %s embeds %s", ErrDestination, a, v4)
			}
		}
	}
	return nil
}

func classify(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "not an address"
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.Is6() && a.IsPrivate():
		return "unique-local"
	case a.IsPrivate():
		return "private"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, pr := range ietfGlobal6 {
		if pr.Contains(a) {
			return "" // inside 2000::/3, and no other special block
		}
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.what
		}
	}
	// The well-known NAT64 prefix lies outside it but is how an IPv6-only
	// host with DNS64 reaches every IPv4 receiver: CheckAddr checks the
	// IPv4 address it carries instead.
	if a.Is6() && !globalUnicast6.Contains(a) && !nat64.Contains(a) {
		return "outside IPv6 global unicast (2000::/3)"
	}
	return ""
}

// CheckURL vets a webhook URL at registration: every address its host
// resolves to must be allowed. Hosts written as numbers in another form
// than an IP address (2130706433, 0x7f.1, 127.1) are refused outright:
// resolvers disagree on what they mean. A name that does not resolve now
// is accepted (a receiver may be set up after its webhook): the check at
// each connection decides then.
func (p *Policy) CheckURL(ctx context.Context, u *url.URL) error {
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: no host", ErrDestination)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(a)
	}
	if numeric(host) {
		return fmt.Errorf("%w: host %q is a number but not an IP address in dotted or IPv6 form", ErrDestination, host)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := p.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if err := p.CheckAddr(a); err != nil {
			return fmt.Errorf("%s resolves to a refused address: %w", host, err)
		}
	}
	return nil
}

// numeric reports a host made only of digits, dots and hex notation.
func numeric(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		l := strings.TrimPrefix(label, "0x")
		if l == "" && label == "" {
			return false
		}
		for _, c := range l {
			if !('0' <= c && c <= '9' || label != l && 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// control checks the address a connection is about to be made to, after
// name resolution: the check that DNS rebinding cannot get around.
func (p *Policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: dialing %q: %v", ErrDestination, address, err)
	}
	return p.CheckAddr(ap.Addr())
}

// DialContext dials like net.Dialer, refusing addresses the policy
// refuses. A name is resolved here and refused when any of its addresses
// is, as at registration: a name that also resolves to loopback is not a
// public receiver, whichever address a connection would have tried
// first. Each connection is checked again as it is made (control).
func (p *Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, Control: p.control}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return d.DialContext(ctx, network, address)
	}
	lookup := "ip"
	switch network {
	case "tcp4":
		lookup = "ip4"
	case "tcp6":
		lookup = "ip6"
	}
	addrs, err := p.resolver().LookupNetIP(ctx, lookup, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if err := p.CheckAddr(a); err != nil {
			return nil, fmt.Errorf("%s resolves to a refused address: %w", host, err)
		}
	}
	first := fmt.Errorf("%s resolves to no address", host)
	for i, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if i == 0 {
			first = err
		}
	}
	return nil, first
}

func (p *Policy) resolver() interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
} {
	if p.Resolver == nil {
		return net.DefaultResolver
	}
	return p.Resolver
}
