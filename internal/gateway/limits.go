package gateway

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/waflog"
	"github.com/lockgate/lockgate/problem"
	"github.com/lockgate/lockgate/waf"
)

// RedactedField is one entry of AWS's LoggingConfiguration.RedactedFields,
// in its shape (a FieldToMatch with exactly one member). AWS allows only
// these four: "You can specify only the following fields for redaction:
// UriPath, QueryString, SingleHeader, and Method." (WAFV2 API Reference,
// RedactedFields); the configuration loader refuses any other member by
// name.
type RedactedField struct {
	SingleHeader *struct {
		Name string `yaml:"Name"`
	} `yaml:"SingleHeader"`
	QueryString *struct{} `yaml:"QueryString"`
	UriPath     *struct{} `yaml:"UriPath"`
	Method      *struct{} `yaml:"Method"`
}

// redactedFields is what the records redact: the built-in list, the
// configured redacted_fields and the redact_headers shorthand.
func (l LogConfig) redactedFields() []waf.FieldToMatch {
	return RedactedFieldsOf(l.Redact, l.RedactedFields)
}

// RedactedFieldsOf is what log records redact given a log section's
// redact_headers and redacted_fields (after ValidateRedaction), with the
// built-in list: forward auth's records redact as the gateway's.
func RedactedFieldsOf(headers []string, fields []RedactedField) []waf.FieldToMatch {
	out := append([]waf.FieldToMatch{}, waflog.DefaultRedactedFields...)
	out = append(out, waflog.RedactHeaders(headers...)...)
	for _, f := range fields {
		var m waf.FieldToMatch
		switch {
		case f.SingleHeader != nil:
			m = waflog.RedactHeaders(f.SingleHeader.Name)[0]
		case f.QueryString != nil:
			m.QueryString = &struct{}{}
		case f.UriPath != nil:
			m.UriPath = &struct{}{}
		case f.Method != nil:
			m.Method = &struct{}{}
		}
		out = append(out, m)
	}
	return out
}

// validateLimits checks the client address fallback, the connection
// limits, the timeouts and the redacted fields.
func (c Config) validateLimits() problem.List {
	var probs problem.List
	switch c.ClientIPFallback {
	case "MATCH", "NO_MATCH":
	default:
		probs.Addf("client_ip_fallback", "%q is not MATCH or NO_MATCH", c.ClientIPFallback)
	}
	if c.MaxConnections < 1 {
		probs.Add("max_connections", "must be at least 1")
	}
	if c.UpstreamMaxConnections < 1 {
		probs.Add("upstream_max_connections", "must be at least 1")
	}
	for i, r := range c.Routes {
		if r.UpstreamMaxConnections < 0 {
			probs.Add(fmt.Sprintf("routes[%d].upstream_max_connections", i), "must not be negative (0: the gateway's)")
		}
	}
	for _, d := range []struct {
		path string
		v    config.Duration
	}{{"idle_timeout", c.IdleTimeout}, {"upstream_idle_timeout", c.UpstreamIdleTimeout}, {"client_write_timeout", c.ClientWriteTimeout}} {
		if d.v <= 0 {
			probs.Add(d.path, "must be positive")
		}
	}
	probs = append(probs, ValidateRedaction("log", c.Log.Redact, c.Log.RedactedFields)...)
	return probs
}

// ValidateRedaction checks a log section's redact_headers and
// redacted_fields; problems are at paths under section.
func ValidateRedaction(section string, headers []string, fields []RedactedField) problem.List {
	var probs problem.List
	if n := len(fields) + len(headers) + len(waflog.DefaultRedactedFields); n > waflog.MaxRedactedFields {
		probs.Addf(section+".redacted_fields", "%d fields with the built-in ones, at most %d (the WAFV2 model's limit)", n, waflog.MaxRedactedFields)
	}
	for i, f := range fields {
		p := fmt.Sprintf("%s.redacted_fields[%d]", section, i)
		n := 0
		for _, set := range []bool{f.SingleHeader != nil, f.QueryString != nil, f.UriPath != nil, f.Method != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			probs.Add(p, "exactly one of SingleHeader, QueryString, UriPath and Method (AWS redacts only these)")
		} else if f.SingleHeader != nil && !validHeaderName(f.SingleHeader.Name) {
			probs.Addf(p+".SingleHeader.Name", "%q is not a header name", f.SingleHeader.Name)
		}
	}
	for i, h := range headers {
		if !validHeaderName(h) {
			probs.Addf(fmt.Sprintf("%s.redact_headers[%d]", section, i), "%q is not a header name", h)
		}
	}
	return probs
}

// validHeaderName: an RFC 9110 token, at most 64 characters (the WAFV2
// model's limit on SingleHeader's Name).
func validHeaderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c != 0 && c < 128 && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// limitListener accepts at most n connections at once (max_connections):
// past it, Accept waits for one to close and new connections wait in the
// kernel's listen queue.
func limitListener(l net.Listener, n int) net.Listener {
	if n <= 0 {
		return l
	}
	return &limited{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limited struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
}

func (l *limited) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limited) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
