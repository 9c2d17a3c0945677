package server

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/lockgate/lockgate/problem"
)

// checkListeners refuses two listeners of one configuration on the same
// address: serve binds them one after the other and the second fails.
// ":8080", "0.0.0.0:8080" and "[::]:8080" take the port on every
// address, so they overlap any listener on that port. Port 0 (a free
// port picked at start) never overlaps. The problem is at the later key.
func (c *Config) checkListeners() problem.List {
	type listener struct{ key, addr string }
	all := []listener{{"listen", c.Listen}}
	if c.Gateway.Enabled() {
		all = append(all, listener{"gateway.listen", c.Gateway.Listen})
	}
	if c.ForwardAuth.Listen != "" {
		all = append(all, listener{"forward_auth.listen", c.ForwardAuth.Listen})
	}
	if c.ForwardAuth.GRPCListen != "" {
		all = append(all, listener{"forward_auth.grpc_listen", c.ForwardAuth.GRPCListen})
	}
	var probs problem.List
	for i, b := range all {
		for _, a := range all[:i] {
			if a.key == "forward_auth.listen" && b.key == "forward_auth.grpc_listen" && a.addr == b.addr {
				continue // forward_auth's own check says so
			}
			if overlap(a.addr, b.addr) {
				probs.Add(b.key, fmt.Sprintf("%s overlaps %s (%s): serve cannot listen on both", b.addr, a.key, a.addr))
				break
			}
		}
	}
	return probs
}

// overlap reports whether listening on a and on b would collide. An
// address that does not parse is not compared (its own key reports it).
func overlap(a, b string) bool {
	ha, pa, okA := splitListen(a)
	hb, pb, okB := splitListen(b)
	if !okA || !okB || pa != pb || pa == 0 {
		return false
	}
	return covers(ha, hb) || covers(hb, ha) || ha == hb || localhost(ha, hb) || localhost(hb, ha)
}

// localhost reports whether a is "localhost" and b the address it
// resolves to on this machine, 127.0.0.1 or ::1 (rechk9:
// localhost:P beside 127.0.0.1:P passed validate, and serve could not
// bind the second).
func localhost(a, b string) bool {
	return a == "localhost" && (b == "127.0.0.1" || b == "::1")
}

// covers reports whether a listener on host a takes the port on host b
// too: "" (":8080" and "[::]:8080", which Go listens on for IPv4 and
// IPv6 alike) covers every address, "0.0.0.0" every IPv4 one and names.
func covers(a, b string) bool {
	switch a {
	case "":
		return true
	case "0.0.0.0":
		ip, err := netip.ParseAddr(b)
		return err != nil || ip.Is4()
	}
	return false
}

// splitListen returns the host of a listen address ("" for every
// address, "0.0.0.0" for every IPv4 one) and its port.
func splitListen(addr string) (host string, port int, ok bool) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, false
	}
	port, err = net.LookupPort("tcp", p)
	if err != nil {
		return "", 0, false
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		ip = ip.Unmap()
		switch {
		case ip == netip.IPv6Unspecified():
			return "", port, true
		case ip.IsUnspecified():
			return "0.0.0.0", port, true
		}
		return ip.String(), port, true
	}
	return strings.ToLower(strings.TrimSuffix(h, ".")), port, true
}
