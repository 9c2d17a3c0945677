package forwardauth

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/httprule"
	"github.com/lockgate/lockgate/problem"
)

// Config is the forward_auth section: lockgate deciding for a proxy that
// keeps the traffic (docs/integrations.md).
type Config struct {
	// Listen serves the HTTP forward-auth endpoints (/nginx, /caddy,
	// /traefik); off when empty.
	Listen string `yaml:"listen" env:"LOCKGATE_FORWARD_AUTH_LISTEN"`
	// GRPCListen serves Envoy's ext_authz (envoy.service.auth.v3); off
	// when empty.
	GRPCListen string `yaml:"grpc_listen" env:"LOCKGATE_FORWARD_AUTH_GRPC_LISTEN"`
	// TrustedProxies are the proxies allowed to ask: the peer of every
	// request must be one of them, since the request it describes is
	// whatever its headers say.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ForwardedHops are the CDNs and load balancers in front of the
	// proxies: their addresses are passed over in the X-Forwarded-For
	// walk, as the proxies' are, but they may not ask. Caddy told to
	// trust a CDN (its trusted_proxies) keeps the CDN's X-Forwarded-For
	// and adds the CDN's address ("client, cdn"); without this list the
	// CDN would be taken for the client (atk20f F3).
	ForwardedHops []string `yaml:"forwarded_hops"`
	// WideTrustedProxies is refuse (the default) or allow: allow
	// acknowledges a trusted_proxies or forwarded_hops entry wider than
	// any network of proxies (0.0.0.0/0, ::/0; httprule.Wide), which
	// lets whoever reaches the listener ask, or whoever reaches the CDN
	// name, any client address.
	WideTrustedProxies string `yaml:"wide_trusted_proxies"`
	// ClientIPHeader carries the client address (the rightmost address
	// of X-Forwarded-For that is not a trusted proxy, or a single-address
	// header such as X-Real-IP).
	ClientIPHeader string `yaml:"client_ip_header"`
	// UnderscoreHeaders is refuse (the default) or allow: a header name
	// holding '_' reads, to CGI, WSGI and PHP backends, as the name with
	// '-' that no rule inspected; forward auth cannot drop it from the
	// request the proxy sends on, so it refuses the request.
	UnderscoreHeaders string `yaml:"underscore_headers"`
	// CopyHeaders are the headers the proxies copy from an allow onto
	// the request they pass on (Caddy's copy_headers, Traefik's
	// authResponseHeaders, nginx's auth_request_set lines). Every allow
	// answers each of them, empty when the request got none, whatever
	// the running web ACLs insert: a proxy's configuration is written
	// once, and Caddy before 2.10 passes a name missing from the answer
	// on as its placeholder text. A header a route may set (an
	// x-amzn-waf-NAME its web ACL inserts, its authorizer's identity
	// headers) must be listed, or the proxy would not pass it on; a
	// reload that removes the last rule inserting a name leaves the
	// name answered, empty.
	CopyHeaders []string  `yaml:"copy_headers"`
	Log         LogConfig `yaml:"log"`
	Routes      []Route   `yaml:"routes"`
}

// LogConfig is where AWS WAF log records of the decisions go: the
// gateway's log section, keys and meaning.
type LogConfig = gateway.LogConfig

// Route decides requests for a host and path prefix (of the original
// request) with a web ACL and, optionally, an authorizer.
type Route struct {
	Name       string      `yaml:"name"`
	Host       string      `yaml:"host"`        // empty: any host
	PathPrefix string      `yaml:"path_prefix"` // default "/"
	WebACL     config.Path `yaml:"web_acl"`
	// Authorizer names an authorizer of the authz section.
	Authorizer string `yaml:"authorizer"`
	// PathCase is sensitive (the default) or insensitive: the
	// application serves this prefix in any case, as IIS does, so a
	// request whose path reaches it once case-folded (or with trailing
	// dots, an NTFS stream, an 8.3 short name) but is routed elsewhere is
	// refused (httprule.Folded).
	PathCase string `yaml:"path_case"`
}

// DefaultConfig is the section before the file.
func DefaultConfig() Config {
	return Config{
		ClientIPHeader:    "X-Forwarded-For",
		UnderscoreHeaders: UnderscoreRefuse,
		Log:               LogConfig{MaxSizeMB: 100, Keep: 10, Only: "all"},
	}
}

// Enabled reports whether the section asks for a listener.
func (c Config) Enabled() bool { return c.Listen != "" || c.GRPCListen != "" }

// Validate returns every problem with the section's values, at paths
// relative to it. Files are read by Provision.
func (c Config) Validate() problem.List {
	var probs problem.List
	if !c.Enabled() {
		if len(c.Routes) > 0 {
			probs.Add("listen", "listen or grpc_listen is required when routes are given")
		}
		return probs
	}
	for _, l := range []struct{ path, v string }{{"listen", c.Listen}, {"grpc_listen", c.GRPCListen}} {
		if l.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.v); err != nil {
			probs.Addf(l.path, "%q is not host:port", l.v)
		}
	}
	if c.Listen != "" && c.Listen == c.GRPCListen && !strings.HasSuffix(c.Listen, ":0") { // :0 picks two free ports
		probs.Add("grpc_listen", "must differ from listen")
	}
	if len(c.TrustedProxies) == 0 {
		probs.Add("trusted_proxies", "required: the addresses of the proxies that ask (nginx, Caddy, Envoy); any other peer is refused")
	}
	for i, p := range c.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			probs.Addf(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not a CIDR or an address", p)
		}
	}
	for i, p := range c.ForwardedHops {
		if _, err := parsePrefix(p); err != nil {
			probs.Addf(fmt.Sprintf("forwarded_hops[%d]", i), "%q is not a CIDR or an address", p)
		}
	}
	probs = append(probs, httprule.ValidateWide("trusted_proxies", c.TrustedProxies, c.WideTrustedProxies)...)
	for _, p := range httprule.ValidateWide("forwarded_hops", c.ForwardedHops, c.WideTrustedProxies) {
		if p.Path != "wide_trusted_proxies" { // said once, above
			probs = append(probs, p)
		}
	}
	if strings.TrimSpace(c.ClientIPHeader) == "" {
		probs.Add("client_ip_header", "required (X-Forwarded-For by default)")
	}
	switch c.UnderscoreHeaders {
	case "", UnderscoreRefuse, UnderscoreAllow:
	default:
		probs.Addf("underscore_headers", "%q is not refuse or allow (forward auth cannot drop a header)", c.UnderscoreHeaders)
	}
	for i, h := range c.CopyHeaders {
		if !validHeaderName(h) {
			probs.Addf(fmt.Sprintf("copy_headers[%d]", i), "%q is not a header name", h)
		}
	}
	probs = append(probs, gateway.ValidateRedaction("log", c.Log.Redact, c.Log.RedactedFields)...)
	// The log is opened (created) only when serving starts: its
	// directory is checked now, so that validate's ok means it opens.
	if err := config.CheckAppendable(string(c.Log.File)); err != nil {
		probs.Add("log.file", err.Error())
	}
	probs = append(probs, httprule.ValidateLog(c.Log.Only, c.Log.MaxSizeMB, c.Log.Keep)...)
	for i, r := range c.Routes {
		probs = append(probs, httprule.ValidatePathCase(fmt.Sprintf("routes[%d].path_case", i), r.PathCase)...)
	}
	probs = append(probs, httprule.ValidateRoutes(len(c.Routes), func(i int) (string, string, string) {
		return c.Routes[i].Name, c.Routes[i].Host, c.Routes[i].PathPrefix
	})...)
	return probs
}

// Values of Config.UnderscoreHeaders.
const (
	UnderscoreRefuse = "refuse"
	UnderscoreAllow  = "allow"
)

// validHeaderName reports whether s is an HTTP field name (RFC 9110's
// token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c >= 0x80 || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// parsePrefix reads a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// newTrusted is the lookup table of trusted proxies (entries already
// validated).
func newTrusted(proxies ...string) *bart.Lite {
	t := &bart.Lite{}
	for _, p := range proxies {
		if pfx, err := parsePrefix(p); err == nil {
			t.Insert(pfx)
		}
	}
	return t
}
