package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Gateway runs lockgate as a WAF-protected reverse proxy (docs/gateway.md).
type Gateway struct {
	// Listen is the proxy's address; the gateway is off when empty.
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
	// TrustedProxies are the peers whose forwarded client address is
	// believed (a CDN, a load balancer).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ClientIPHeader carries the client address from trusted proxies:
	// X-Forwarded-For (the rightmost untrusted hop is the client) or a
	// single-address header such as True-Client-IP.
	ClientIPHeader  string     `yaml:"client_ip_header"`
	UpstreamTimeout Duration   `yaml:"upstream_timeout"`
	ReadTimeout     Duration   `yaml:"read_timeout"`
	Log             GatewayLog `yaml:"log"`
	Routes          []Route    `yaml:"routes"`
	// Unhealthy is how long an upstream that failed MaxFails times in a
	// row is skipped.
	Unhealthy Duration `yaml:"unhealthy_for"`
	MaxFails  int      `yaml:"max_fails"`
}

// GatewayLog is where AWS WAF log records go.
type GatewayLog struct {
	// File is a path, "-" for standard output, or empty for no records.
	File      string   `yaml:"file"`
	MaxSizeMB int      `yaml:"max_size_mb"`
	MaxAge    Duration `yaml:"max_age"`
	Keep      int      `yaml:"keep"`
	// Only is "all" or "blocked_and_counted".
	Only string `yaml:"only"`
	// Redact names headers whose values are not logged.
	Redact []string `yaml:"redact_headers"`
}

// Route sends requests for a host and path prefix to upstreams through a
// web ACL.
type Route struct {
	Name       string   `yaml:"name"`
	Host       string   `yaml:"host"`        // empty: any host
	PathPrefix string   `yaml:"path_prefix"` // default "/"
	Upstreams  []string `yaml:"upstreams"`
	// WebACL is the web ACL file (any form waf.Load reads); none lets
	// every request through, still logged.
	WebACL string `yaml:"web_acl"`
}

// DefaultGateway is the gateway's configuration before the file.
func DefaultGateway() Gateway {
	return Gateway{
		ClientIPHeader:  "X-Forwarded-For",
		UpstreamTimeout: Duration(30 * time.Second),
		ReadTimeout:     Duration(60 * time.Second),
		Unhealthy:       Duration(10 * time.Second),
		MaxFails:        3,
		Log:             GatewayLog{MaxSizeMB: 100, Keep: 10, Only: "all", Redact: []string{"Authorization", "Cookie"}},
	}
}

// Path resolves a path in the configuration relative to its file.
func (c *Config) Path(p string) string {
	if p == "" || p == "-" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

func (c *Config) validateGateway(add func(path, format string, args ...any)) {
	g := c.Gateway
	if g.Listen == "" {
		if len(g.Routes) > 0 {
			add("gateway.listen", "required when routes are given")
		}
		return
	}
	if _, _, err := net.SplitHostPort(g.Listen); err != nil {
		add("gateway.listen", "%q is not host:port", g.Listen)
	}
	if (g.TLS.CertFile == "") != (g.TLS.KeyFile == "") {
		add("gateway.tls", "cert_file and key_file go together")
	}
	for i, p := range g.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				add(fmt.Sprintf("gateway.trusted_proxies[%d]", i), "%q is not a CIDR or an address", p)
			}
		}
	}
	if g.ClientIPHeader == "" {
		add("gateway.client_ip_header", "required (X-Forwarded-For by default)")
	}
	if g.UpstreamTimeout.Std() <= 0 || g.ReadTimeout.Std() <= 0 || g.Unhealthy.Std() <= 0 {
		add("gateway", "upstream_timeout, read_timeout and unhealthy_for must be positive")
	}
	if g.MaxFails < 1 {
		add("gateway.max_fails", "must be at least 1")
	}
	switch g.Log.Only {
	case "all", "blocked_and_counted":
	default:
		add("gateway.log.only", "%q is not all or blocked_and_counted", g.Log.Only)
	}
	if g.Log.MaxSizeMB < 1 || g.Log.Keep < 1 {
		add("gateway.log", "max_size_mb and keep must be at least 1")
	}
	if len(g.Routes) == 0 {
		add("gateway.routes", "at least one route is required")
	}
	names := map[string]bool{}
	for i, r := range g.Routes {
		p := fmt.Sprintf("gateway.routes[%d]", i)
		if r.Name == "" {
			add(p+".name", "required (it names the route in logs and metrics)")
		} else if names[r.Name] {
			add(p+".name", "%q names two routes", r.Name)
		}
		names[r.Name] = true
		if r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/") {
			add(p+".path_prefix", "%q does not start with /", r.PathPrefix)
		}
		if len(r.Upstreams) == 0 {
			add(p+".upstreams", "at least one upstream URL is required")
		}
		for j, u := range r.Upstreams {
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				add(fmt.Sprintf("%s.upstreams[%d]", p, j), "%q is not an http(s) URL", u)
			}
		}
		if r.WebACL != "" {
			if _, err := os.Stat(c.Path(r.WebACL)); err != nil {
				add(p+".web_acl", "%v", err)
			}
		}
	}
}
