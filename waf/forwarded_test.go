package waf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Item 5 of issue 13: load balancers that write the port into
// X-Forwarded-For ("192.0.2.1:8080", "[2001:db8::1]:443") name the
// client; anything else does not parse, and the request's client is then
// unknown — never the proxy in front of it.
func TestItem5ForwardedForWithPorts(t *testing.T) {
	tests := []struct {
		hop  string
		want string // "" when the hop does not parse
	}{
		{"192.0.2.1", "192.0.2.1"},
		{" 192.0.2.1\t", "192.0.2.1"},
		{"192.0.2.1:8080", "192.0.2.1"},
		{"192.0.2.1:65535", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"::ffff:192.0.2.1", "192.0.2.1"}, // IPv4-mapped: the IPv4 client
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"192.0.2.1:", ""},                     // a colon without a port
		{"192.0.2.1:65536", ""},                // not a port
		{"192.0.2.1:80a", ""},                  //
		{"192.0.2.1:123456", ""},               //
		{"[192.0.2.1]:80", ""},                 // brackets are for IPv6
		{"[2001:db8::1", ""},                   // unclosed
		{"[2001:db8::1]443", ""},               // no colon before the port
		{"[2001:db8::1]:", ""},                 //
		{"fe80::1%eth0", ""},                   // a zone names an interface of the writer's host
		{"[fe80::1%25eth0]:443", ""},           //
		{"[fe80::1%eth0]:443", ""},             //
		{"2001:db8::1:443", "2001:db8::1:443"}, // eight groups: an address (ports need brackets)
		{"unknown", ""},
		{"_hidden", ""}, // RFC 7239 obfuscated identifiers
		{"", ""},
		{"192.0.2.01", ""}, // leading zeros are refused, as netip does
		{"1.1.1.1 2.2.2.2", ""},
	}
	for _, tt := range tests {
		a, ok := ParseForwardedAddr(tt.hop)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("ParseForwardedAddr(%q) = %q, want %q", tt.hop, got, tt.want)
		}
	}
}

// FuzzParseForwardedAddr: never a panic; an accepted hop is a valid
// address without a zone and not IPv4-mapped, and the address printed
// back (bracketed, with a port) parses to the same address.
func FuzzParseForwardedAddr(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseForwardedAddr(s)
		if !ok {
			if a.IsValid() {
				t.Fatalf("%q: refused but %s returned", s, a)
			}
			return
		}
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("%q: accepted as %s", s, a)
		}
		for _, form := range []string{a.String(), netip.AddrPortFrom(a, 443).String()} {
			if b, ok := ParseForwardedAddr(form); !ok || b != a {
				t.Fatalf("%q → %s; %q → %s %v", s, a, form, b, ok)
			}
		}
		if strings.ContainsAny(s, "%") {
			t.Fatalf("%q: a zone was accepted", s)
		}
	})
}

// A FORWARDED_IP rate-based rule counts a client by its address whatever
// port the load balancer wrote; a hop that does not parse is handled by
// the FallbackBehavior, quoting the AWS page (the malformed ones never
// share a key with a valid address).
func TestItem5ForwardedIPRateKeyWithPorts(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	stmt := func(fallback string) string {
		return `{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"FORWARDED_IP","ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"` + fallback + `"}}}`
	}
	tests := []struct {
		doc      string
		fallback string
		xff      []string
		blocked  bool // the last request
		value    string
	}{
		{"one client, written with and without ports, is one key", "NO_MATCH",
			[]string{"192.0.2.1", "192.0.2.1:1", "192.0.2.1:2", "[::ffff:192.0.2.1]:3", "192.0.2.1:4", "192.0.2.1", "192.0.2.1:5", "192.0.2.1:6", "192.0.2.1:7", "192.0.2.1:8", "192.0.2.1:9"},
			true, "192.0.2.1"},
		{"IPv6 with a port", "NO_MATCH", repeat("[2001:db8::1]:443, 10.0.0.1", 11), true, "2001:db8::1"},
		{fwdPage + `"NO MATCH - Treat the web request as not matching the rule statement." A zone does not parse: not counted`, "NO_MATCH",
			repeat("fe80::1%eth0", 11), false, ""},
		{fwdPage + `"MATCH - Treat the web request as matching the rule statement." Unparsable hops share the key INVALID`, "MATCH",
			repeat("192.0.2.1:99999", 11), true, "INVALID"},
	}
	for _, tt := range tests {
		e := engineFor(t, ruleJSON("rate", 0, `{"Block":{}}`, stmt(tt.fallback)), Options{Now: clock.now})
		var d Decision
		for _, x := range tt.xff {
			req := &Request{ClientIP: netip.MustParseAddr("10.0.0.1"), Method: "GET", URI: "/", Headers: []Header{{"X-Forwarded-For", x}}}
			e.EvaluateInto(bg, req, &d)
		}
		if got := d.Action == "BLOCK"; got != tt.blocked {
			t.Errorf("%s: blocked %v, want %v", tt.doc, got, tt.blocked)
		}
		if tt.value != "" && (len(d.RateBased) != 1 || d.RateBased[0].LimitValue != tt.value) {
			t.Errorf("%s: limited %+v, want limitValue %s", tt.doc, d.RateBased, tt.value)
		}
	}
}

// A caller that does not know the client (ClientIP not valid, as the
// gateway when a trusted proxy forwarded a hop that does not parse) says
// what statements on the client address do, as FallbackBehavior does
// for a forwarded address (AWS WAF Developer Guide, Using forwarded IP
// addresses: "MATCH - Treat the web request as matching the rule
// statement. AWS WAF applies the rule action to the request." and "NO
// MATCH - Treat the web request as not matching the rule statement.").
func TestItem5UnknownClientFallback(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	ipset := `{"IPSetReferenceStatement":{"ARN":"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/x"}}`
	rate := `{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"IP"}}`
	geo := `{"GeoMatchStatement":{"CountryCodes":["FR"]}}`
	opts := Options{Now: clock.now, Geo: CountryFunc(func(netip.Addr) string { return "DE" }),
		IPSets: map[string][]netip.Prefix{"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/x": {netip.MustParsePrefix("203.0.113.0/24")}}}
	tests := []struct {
		name, statement, fallback string
		n                         int // requests
		blocked                   bool
	}{
		{"ip set MATCH", ipset, "MATCH", 1, true},
		{"ip set NO_MATCH", ipset, "NO_MATCH", 1, false},
		{"ip set, no fallback said: no match", ipset, "", 1, false},
		{"geo MATCH", geo, "MATCH", 1, true},
		{"geo NO_MATCH", geo, "NO_MATCH", 1, false},
		{"rate MATCH: unknown clients counted together", rate, "MATCH", 11, true},
		{"rate MATCH: under the limit", rate, "MATCH", 10, false},
		{"rate NO_MATCH: not counted", rate, "NO_MATCH", 11, false},
	}
	for _, tt := range tests {
		e := engineFor(t, ruleJSON("r", 0, `{"Block":{}}`, tt.statement), opts)
		var d Decision
		for range tt.n {
			e.EvaluateInto(bg, &Request{ClientIPFallback: tt.fallback, Method: "GET", URI: "/"}, &d)
		}
		if got := d.Action == "BLOCK"; got != tt.blocked {
			t.Errorf("%s: blocked %v, want %v", tt.name, got, tt.blocked)
		}
		if tt.blocked && tt.statement == rate && (len(d.RateBased) != 1 || d.RateBased[0].LimitValue != "INVALID") {
			t.Errorf("%s: %+v, want limitValue INVALID", tt.name, d.RateBased)
		}
	}
}
