package gateway

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/httprule"
	"github.com/lockgate/lockgate/problem"
	"github.com/lockgate/lockgate/waf/ratelimit"
)

// Config is the gateway section: lockgate as a WAF-protected reverse
// proxy (docs/gateway.md).
type Config struct {
	// Listen is the proxy's address; the gateway is off when empty.
	Listen string     `yaml:"listen" env:"LOCKGATE_GATEWAY_LISTEN"`
	TLS    config.TLS `yaml:"tls"`
	// UnderscoreHeaders is what happens to a header whose name holds '_'
	// (CGI, WSGI and PHP backends read User_Agent as User-Agent): drop
	// (inspected, not forwarded; empty means drop), refuse (400) or
	// allow.
	UnderscoreHeaders string `yaml:"underscore_headers"`
	// TrustedProxies are the peers whose forwarded client address is
	// believed (a CDN, a load balancer).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// WideTrustedProxies is refuse (the default) or allow: allow
	// acknowledges a trusted_proxies entry wider than any network of
	// proxies (0.0.0.0/0, ::/0; httprule.Wide), which believes every
	// client's X-Forwarded-For.
	WideTrustedProxies string `yaml:"wide_trusted_proxies"`
	// ClientIPHeader carries the client address from trusted proxies:
	// X-Forwarded-For (the rightmost untrusted hop is the client) or a
	// single-address header such as True-Client-IP.
	ClientIPHeader  string          `yaml:"client_ip_header"`
	UpstreamTimeout config.Duration `yaml:"upstream_timeout"`
	ReadTimeout     config.Duration `yaml:"read_timeout"`
	Log             LogConfig       `yaml:"log"`
	Routes          []RouteConfig   `yaml:"routes"`
	// Unhealthy is how long an upstream that failed MaxFails times in a
	// row is skipped.
	Unhealthy config.Duration `yaml:"unhealthy_for"`
	MaxFails  int             `yaml:"max_fails"`

	// ClientIPFallback is what the web ACL's statements on the client
	// address do when a trusted proxy's header names no client that
	// parses: MATCH or NO_MATCH, as AWS's ForwardedIPConfig
	// FallbackBehavior (the client is never taken to be the proxy).
	ClientIPFallback string `yaml:"client_ip_fallback"`
	// MaxConnections bounds the client connections open at once; past it
	// new connections wait in the listen queue.
	MaxConnections int `yaml:"max_connections"`
	// UpstreamMaxConnections bounds the connections to each upstream (a
	// route may set its own); a request finding them all busy waits up to
	// upstream_timeout for one, then gets 503.
	UpstreamMaxConnections int `yaml:"upstream_max_connections"`
	// IdleTimeout closes a client's keep-alive connection idle this long;
	// UpstreamIdleTimeout an idle pooled connection to an upstream.
	IdleTimeout         config.Duration `yaml:"idle_timeout"`
	UpstreamIdleTimeout config.Duration `yaml:"upstream_idle_timeout"`
	// ClientWriteTimeout ends a request whose response the client has not
	// accepted a write of for this long (a client that stops reading),
	// freeing its upstream connection.
	ClientWriteTimeout config.Duration `yaml:"client_write_timeout"`
}

// LogConfig is where AWS WAF log records go.
type LogConfig struct {
	// File is a path, "-" for standard output, or empty for no records.
	File      config.Path     `yaml:"file"`
	MaxSizeMB int             `yaml:"max_size_mb"`
	MaxAge    config.Duration `yaml:"max_age"`
	Keep      int             `yaml:"keep"`
	// Only is "all" or "blocked_and_counted".
	Only string `yaml:"only"`
	// Redact names headers whose values are not logged (shorthand for
	// SingleHeader entries of RedactedFields).
	Redact []string `yaml:"redact_headers"`
	// RedactedFields is AWS's LoggingConfiguration.RedactedFields:
	// SingleHeader, QueryString, UriPath and Method entries, logged as
	// REDACTED. They add to the built-in list (Authorization,
	// Proxy-Authorization, Cookie, X-Api-Key), which always applies.
	RedactedFields []RedactedField `yaml:"redacted_fields"`
}

// RouteConfig sends requests for a host and path prefix to upstreams
// through a web ACL.
type RouteConfig struct {
	Name       string   `yaml:"name"`
	Host       string   `yaml:"host"`        // empty: any host
	PathPrefix string   `yaml:"path_prefix"` // default "/"
	Upstreams  []string `yaml:"upstreams"`
	// WebACL is the web ACL file (any form waf.Load reads); none lets
	// every request through, still logged.
	WebACL config.Path `yaml:"web_acl"`
	// Authorizer names an authorizer of the authz section: requests need
	// a token whose groups' IAM policies allow their execute-api ARN.
	Authorizer string `yaml:"authorizer"`
	// PathCase is sensitive (the default) or insensitive: the upstream
	// serves this prefix in any case, as IIS does, so a request whose
	// path reaches it once case-folded (or with trailing dots, an NTFS
	// stream, an 8.3 short name) but is routed elsewhere is refused
	// (httprule.Folded).
	PathCase string `yaml:"path_case"`
	// UpstreamMaxConnections overrides the gateway's for this route's
	// upstreams (0: the gateway's).
	UpstreamMaxConnections int `yaml:"upstream_max_connections"`
}

// DefaultConfig is the section before the file.
func DefaultConfig() Config {
	return Config{
		ClientIPHeader:  "X-Forwarded-For",
		UpstreamTimeout: config.Duration(30 * time.Second),
		ReadTimeout:     config.Duration(60 * time.Second),
		Unhealthy:       config.Duration(10 * time.Second),
		MaxFails:        3,
		Log:             LogConfig{MaxSizeMB: 100, Keep: 10, Only: "all"},

		ClientIPFallback:       "MATCH",
		MaxConnections:         10000,
		UpstreamMaxConnections: 256,
		IdleTimeout:            config.Duration(60 * time.Second),
		UpstreamIdleTimeout:    config.Duration(90 * time.Second),
		ClientWriteTimeout:     config.Duration(30 * time.Second),
	}
}

// Enabled reports whether the section asks for a gateway.
func (c Config) Enabled() bool { return c.Listen != "" }

// Validate returns every problem with the section, at paths relative to
// it. Files are checked when the gateway is built (Provision).
func (c Config) Validate() problem.List {
	var probs problem.List
	if c.Listen == "" {
		if len(c.Routes) > 0 {
			probs.Add("listen", "required when routes are given")
		}
		return probs
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		probs.Addf("listen", "%q is not host:port", c.Listen)
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				probs.Addf(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not a CIDR or an address", p)
			}
		}
	}
	probs = append(probs, httprule.ValidateWide("trusted_proxies", c.TrustedProxies, c.WideTrustedProxies)...)
	if c.ClientIPHeader == "" {
		probs.Add("client_ip_header", "required (X-Forwarded-For by default)")
	}
	switch c.UnderscoreHeaders {
	case "", UnderscoreDrop, UnderscoreRefuse, UnderscoreAllow:
	default:
		probs.Addf("underscore_headers", "%q is not drop, refuse or allow", c.UnderscoreHeaders)
	}
	for _, d := range []struct {
		path string
		v    config.Duration
	}{{"upstream_timeout", c.UpstreamTimeout}, {"read_timeout", c.ReadTimeout}, {"unhealthy_for", c.Unhealthy}} {
		if d.v <= 0 {
			probs.Add(d.path, "must be positive")
		}
	}
	if c.MaxFails < 1 {
		probs.Add("max_fails", "must be at least 1")
	}
	probs = append(probs, c.validateLimits()...)
	// The log is opened (created) only when serving starts: its
	// directory is checked now, so that validate's ok means it opens.
	if err := config.CheckAppendable(string(c.Log.File)); err != nil {
		probs.Add("log.file", err.Error())
	}
	probs = append(probs, httprule.ValidateLog(c.Log.Only, c.Log.MaxSizeMB, c.Log.Keep)...)
	probs = append(probs, httprule.ValidateRoutes(len(c.Routes), func(i int) (string, string, string) {
		return c.Routes[i].Name, c.Routes[i].Host, c.Routes[i].PathPrefix
	})...)
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		probs = append(probs, httprule.ValidatePathCase(p+".path_case", r.PathCase)...)
		if len(r.Upstreams) == 0 {
			probs.Add(p+".upstreams", "at least one upstream URL is required")
		}
		for j, u := range r.Upstreams {
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				probs.Addf(fmt.Sprintf("%s.upstreams[%d]", p, j), "%q is not an http(s) URL", u)
			}
		}
	}
	return probs
}

// Check builds every route of snap as New would — each web ACL loaded and
// compiled against the waf section — without opening the log or counting
// anything, and returns every problem, at paths relative to the section.
func Check(snap Snapshot) problem.List {
	g := &Gateway{log: slog.New(slog.DiscardHandler), counters: map[string]ratelimit.Counter{}}
	g.metrics = newMetrics(prometheus.NewRegistry(), g)
	_, err := g.build(snap)
	var probs problem.List
	probs.Append("", err)
	_, tp := snap.Config.TLS.Load()
	return append(probs, prefixed("tls", tp)...)
}
