package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gaissmai/bart"

	"github.com/lockgate/lockgate/waf"
)

// Item 5 of issue 13: hops with ports ("1.1.1.1:8080", "[2001:db8::1]:443")
// name the client; a hop that does not parse makes the client unknown,
// never the trusted proxy that sent it.
func TestItem5ForwardedForWithPorts(t *testing.T) {
	shop := echoUpstream(t, "shop")
	f := newFixture(t, gatewayYAML(shop.URL, shop.URL, ""))
	st := f.gw.state.Load()
	tests := []struct {
		peer, xff, want string // want "" : unknown
	}{
		{"127.0.0.1:1000", "1.1.1.1:8080", "1.1.1.1"},
		{"127.0.0.1:1000", "[2001:db8::1]:443", "2001:db8::1"},
		{"127.0.0.1:1000", "[2001:db8::1]", "2001:db8::1"},
		{"127.0.0.1:1000", "2001:db8::1", "2001:db8::1"},
		{"127.0.0.1:1000", "9.9.9.9, 1.1.1.1:8080, 10.0.0.1:443", "1.1.1.1"}, // trusted hop with a port skipped
		{"127.0.0.1:1000", "1.1.1.1:8080,, 10.0.0.1", "1.1.1.1"},             // empty list elements ignored
		{"127.0.0.1:1000", "1.1.1.1:99999", ""},                              // not a port: unknown, not the proxy
		{"127.0.0.1:1000", "fe80::1%eth0", ""},                               // zones refused
		{"127.0.0.1:1000", "1.1.1.1, junk, 10.0.0.1", ""},                    // the rightmost untrusted hop is junk
		{"127.0.0.1:1000", " , ", ""},                                        // a header with no hop
		{"127.0.0.1:1000", "junk, 198.51.100.2:80", "198.51.100.2"},          // junk beyond the client is not read
		{"203.0.113.9:1000", "1.1.1.1:8080", "203.0.113.9"},                  // untrusted peer: header not believed
		{"127.0.0.1:1000", "", "127.0.0.1"},                                  // no header: the proxy's own request
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		got := st.clientIP(r)
		if s := got.String(); !got.IsValid() && tt.want != "" || got.IsValid() && s != tt.want {
			t.Errorf("peer %s, XFF %q: %v, want %q", tt.peer, tt.xff, got, tt.want)
		}
	}
	// A single-address header: its value, with or without a port.
	single := &state{trusted: st.trusted, header: "True-Client-IP"}
	for xff, want := range map[string]string{"1.1.1.1:8080": "1.1.1.1", "[2001:db8::2]:1": "2001:db8::2", "junk": ""} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:1"
		r.Header.Set("True-Client-IP", xff)
		if got := single.clientIP(r); got.IsValid() != (want != "") || got.IsValid() && got.String() != want {
			t.Errorf("True-Client-IP %q: %v, want %q", xff, got, want)
		}
	}
	// End to end: a reputation-listed client behind a load balancer that
	// writes ports is blocked; one client is one rate-based key whatever
	// its ports, and does not share the proxy's.
	if resp := f.do(t, "GET", "/", "shop.example", "198.51.100.4:8080", nil); resp.StatusCode != 403 {
		t.Fatalf("reputation client with a port: %d", resp.StatusCode)
	}
	for i := range 150 {
		if resp := f.do(t, "POST", "/login", "shop.example", "203.0.113.7:"+itoa(1000+i), nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp := f.do(t, "POST", "/login", "shop.example", "[::ffff:203.0.113.7]:1", nil); resp.StatusCode != 403 {
		t.Fatalf("151st request of one client: %d, want 403", resp.StatusCode)
	}
	if resp := f.do(t, "POST", "/login", "shop.example", "203.0.113.8:1", nil); resp.StatusCode != 200 {
		t.Fatalf("another client behind the same proxy: %d, want 200", resp.StatusCode)
	}
}

func itoa(n int) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(n)).String()[len("0.0.0.0:"):]
}

// An unknown client (a hop that does not parse) is handled as
// gateway.client_ip_fallback says, which is AWS's FallbackBehavior for a
// forwarded address (AWS WAF Developer Guide, Using forwarded IP
// addresses): "MATCH - Treat the web request as matching the rule
// statement. AWS WAF applies the rule action to the request." and "NO
// MATCH - Treat the web request as not matching the rule statement." The
// log records the client as "-", never the proxy.
func TestItem5UnknownClientFallback(t *testing.T) {
	shop := echoUpstream(t, "shop")
	for _, tt := range []struct {
		fallback string
		status   int // the IP reputation managed rule on an unknown client
	}{{"MATCH", 403}, {"NO_MATCH", 200}} {
		f := newFixture(t, gatewayYAML(shop.URL, shop.URL, "  client_ip_fallback: "+tt.fallback+"\n"))
		if resp := f.do(t, "GET", "/", "shop.example", "198.51.100.4:99999", nil); resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.fallback, resp.StatusCode, tt.status)
		}
		f.gw.Close()
		data, _ := os.ReadFile(filepath.Join(f.dir, "waf.log"))
		var rec struct {
			HTTPRequest struct{ ClientIP string } `json:"httpRequest"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(data), &rec); err != nil || rec.HTTPRequest.ClientIP != "-" {
			t.Errorf("%s: log %s: clientIp %q, want -", tt.fallback, data, rec.HTTPRequest.ClientIP)
		}
	}
	// A fallback that is not AWS's is refused, naming the key.
	c := DefaultConfig()
	c.Listen, c.Routes = "127.0.0.1:0", []RouteConfig{{Name: "r", Upstreams: []string{"http://127.0.0.1:1"}}}
	c.ClientIPFallback = "PROXY"
	if probs := c.Validate(); !strings.Contains(probs.Error(), `client_ip_fallback: "PROXY" is not MATCH or NO_MATCH`) {
		t.Errorf("problems %v", probs)
	}
}

// FuzzClientIP: any forwarded header from a trusted peer yields either an
// unknown client or a valid address, never a panic, and never one of the
// trusted proxies unless every hop is a trusted proxy.
func FuzzClientIP(f *testing.F) {
	st := &state{trusted: &bart.Lite{}, header: "X-Forwarded-For"}
	st.trusted.Insert(netip.MustParsePrefix("127.0.0.0/8"))
	st.trusted.Insert(netip.MustParsePrefix("10.0.0.0/8"))
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		r.Header.Set("X-Forwarded-For", xff)
		ip := st.clientIP(r)
		if !ip.IsValid() || !st.trusted.Lookup(ip) {
			return
		}
		sc := bufio.NewScanner(strings.NewReader(r.Header.Get("X-Forwarded-For")))
		sc.Split(splitComma)
		for sc.Scan() {
			hop := strings.Trim(sc.Text(), " \t")
			if hop == "" {
				continue
			}
			if a, ok := waf.ParseForwardedAddr(hop); !ok || !st.trusted.Lookup(a) {
				t.Fatalf("%q: the trusted proxy %s, though hop %q is not trusted", xff, ip, hop)
			}
		}
	})
}

func splitComma(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, ','); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
