package forwardauth

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/waflog"
	"github.com/lockgate/lockgate/internal/webacl"
)

// The stand-in CDN of TestCaddyBehindCDN: a loopback address of its
// own, which Caddy trusts and lockgate passes over (forwarded_hops).
const cdnAddr = "127.0.0.50"

// atk20f F3: Caddy trusting a CDN (its trusted_proxies, as "Behind a CDN
// or a load balancer" configures it) sends lockgate "client, cdn";
// forwarded_hops makes the client decide, not the CDN, while the CDN
// itself may not ask.
func TestCaddyBehindCDN(t *testing.T) {
	pr := startStack(t, "TestCaddyBehindCDN", "Caddyfile", caddyStart(tool(t, "caddy")), stackOptions{cdn: cdnAddr + "/32"})
	base := "http://" + pr.addr
	cdn := client(cdnAddr)
	tests := []struct {
		name   string
		c      *http.Client
		xff    string // what reaches Caddy
		status int
	}{
		{"a blocked client behind the CDN", cdn, "127.0.0.66", 403},
		{"another client behind the CDN", cdn, "127.0.0.9", 200},
		{"a blocked client behind the CDN naming another first", cdn, "127.0.0.9, 127.0.0.66", 403},
		{"a blocked client forging its address, directly to Caddy", client("127.0.0.66"), "127.0.0.9", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := pr.appHits.Load()
			resp, body := get(t, tc.c, base+"/", "X-Forwarded-For", tc.xff)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
			if hits := pr.appHits.Load() - before; (hits == 1) != (tc.status == 200) {
				t.Fatalf("the application saw %d requests", hits)
			}
		})
	}
	t.Run("the application is not told the CDN is the client", func(t *testing.T) {
		if resp, _ := get(t, cdn, base+"/", "X-Forwarded-For", "127.0.0.9"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		h := pr.lastHeader.Load().(http.Header)
		if h.Get("X-Real-Ip") != "" || h.Get("X-Forwarded-For") != "127.0.0.9, "+cdnAddr {
			t.Fatalf("the application got X-Real-IP %q, X-Forwarded-For %q", h.Get("X-Real-Ip"), h.Get("X-Forwarded-For"))
		}
	})
	t.Run("the CDN may not ask lockgate", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+pr.lockgate+"/caddy", nil)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Uri", "/")
		req.Header.Set("X-Forwarded-For", "127.0.0.9")
		resp, err := cdn.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	})
	t.Run("records name the client, never the CDN", func(t *testing.T) {
		pr.stop()
		data, err := os.ReadFile(pr.logPath)
		if err != nil {
			t.Fatal(err)
		}
		clients := map[string]int{}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			var rec waflog.Record
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatal(err)
			}
			clients[rec.HTTPRequest.ClientIP+" "+rec.Action]++
		}
		if want := map[string]int{"127.0.0.66 BLOCK": 3, "127.0.0.9 ALLOW": 2}; !mapsEqual(clients, want) {
			t.Fatalf("records by client %v, want %v", clients, want)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// forwarded_hops are passed over in the X-Forwarded-For walk as the
// proxies are, but may not ask; without them the CDN is the client.
func TestForwardedHops(t *testing.T) {
	set, probs := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSetARN, Addresses: []string{"203.0.113.0/24"}}}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	serve := func(hops []string) string {
		cfg := DefaultConfig()
		cfg.Listen = "127.0.0.1:0"
		cfg.TrustedProxies = []string{"127.0.0.1/32"}
		cfg.ForwardedHops = hops
		cfg.CopyHeaders = []string{"X-Amzn-Waf-Api"}
		cfg.Routes = []Route{{Name: "shop", WebACL: "testdata/proxied-acl.json"}}
		s, probs := Provision(cfg, Options{WAF: set})
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		return serveRaw(t, s)
	}
	withHops, without := serve([]string{"198.51.100.0/24", "2001:db8:cd::/48"}), serve(nil)
	for _, tc := range []struct {
		xff          string
		with, withou int
	}{
		{"203.0.113.7, 198.51.100.4", 403, 200},            // the client behind the CDN decides
		{"203.0.113.7, [2001:db8:cd::1]:443", 403, 200},    // a hop with a port
		{"203.0.113.7, 198.51.100.4, 127.0.0.1", 403, 200}, // and the proxy
		{"203.0.113.7, 192.0.2.1, 198.51.100.4", 200, 200}, // the rightmost other address is the client
		{"198.51.100.4", 200, 200},                         // only hops: the leftmost
		{"203.0.113.7", 403, 403},
	} {
		if got, _ := rawAsk(t, withHops, caddyRaw("shop.example", "/", tc.xff, "")); got != tc.with {
			t.Errorf("forwarded_hops, X-Forwarded-For %q: %d, want %d", tc.xff, got, tc.with)
		}
		if got, _ := rawAsk(t, without, caddyRaw("shop.example", "/", tc.xff, "")); got != tc.withou {
			t.Errorf("no forwarded_hops, X-Forwarded-For %q: %d, want %d", tc.xff, got, tc.withou)
		}
	}
	c := DefaultConfig()
	c.Listen, c.TrustedProxies, c.Routes = "127.0.0.1:0", []string{"127.0.0.1"}, []Route{{Name: "a"}}
	for _, tc := range []struct {
		hops []string
		wide string
		path string
	}{
		{[]string{"cdn"}, "", "forwarded_hops[0]"},
		{[]string{"0.0.0.0/0"}, "", "forwarded_hops[0]"},
		{[]string{"10.0.0.0/8", "::/0"}, "", "forwarded_hops[1]"},
		{[]string{"0.0.0.0/0"}, "allow", ""},
	} {
		c.ForwardedHops, c.WideTrustedProxies = tc.hops, tc.wide
		p := c.Validate()
		if tc.path == "" && len(p) > 0 || tc.path != "" && (len(p) != 1 || p[0].Path != tc.path) {
			t.Errorf("forwarded_hops %v, wide_trusted_proxies %q: problems %v, want one at %q", tc.hops, tc.wide, p, tc.path)
		}
	}
}

// stall stands in for a hung lockgate: it accepts connections and reads
// them, never answering. The returned function closes them all.
func stall(t *testing.T, ln net.Listener) func() {
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			ln.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
	}
}

// atk20f F4: with lockgate hung (accepting, never answering), the
// documented configurations answer the client with a 5xx by their own
// timeouts (nginx: proxy_read_timeout; Caddy: response_header_timeout),
// well before the client's 15 s, and pass nothing on. Without them
// nginx waits 60 s and Caddy for ever.
func TestStalledLockgate(t *testing.T) {
	for _, tc := range []struct{ test, conf, proxy string }{
		{"TestNginx", "lockgate.conf", "nginx"},
		{"TestCaddy", "Caddyfile", "caddy"},
	} {
		t.Run(tc.test, func(t *testing.T) {
			start := nginxStart
			if tc.proxy == "caddy" {
				start = caddyStart
			}
			pr := startStack(t, tc.test, tc.conf, start(tool(t, tc.proxy)), stackOptions{stalled: true})
			c := client("127.0.0.40")
			c.Timeout = 15 * time.Second
			resp, err := c.Get("http://" + pr.addr + "/")
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.Body.Close()
			// nginx: 500 for the subrequest's 504; Caddy: 504.
			if want := map[string]int{"nginx": 500, "caddy": 504}[tc.proxy]; resp.StatusCode != want || pr.appHits.Load() != 0 {
				t.Fatalf("status %d, the application saw %d requests; want %d and none", resp.StatusCode, pr.appHits.Load(), want)
			}
		})
	}
}

// inspectedAsSent checks the headers lockgate inspected for the request
// of "headers anyone can write …" (forged copies of each, from
// 127.0.0.12) against what the application got: the proxy's X-Real-IP,
// and none of the others (atk20f F5: the documented configurations set
// the same lines on the request to lockgate as on the application's).
func inspectedAsSent(t *testing.T, headers []waflog.Header) {
	t.Helper()
	got := map[string][]string{}
	for _, h := range headers {
		got[http.CanonicalHeaderKey(h.Name)] = append(got[http.CanonicalHeaderKey(h.Name)], h.Value)
	}
	if v := got["X-Real-Ip"]; len(v) != 1 || v[0] != "127.0.0.12" {
		t.Errorf("lockgate inspected X-Real-IP %q, want the proxy's 127.0.0.12", v)
	}
	for _, name := range []string{"Forwarded", "True-Client-Ip", "Cf-Connecting-Ip", "X-Client-Ip", "X-Forwarded-Port", "X-Forwarded-Prefix"} {
		if v, ok := got[name]; ok {
			t.Errorf("lockgate inspected %s %q, which the application never gets", name, v)
		}
	}
}
