package forwardauth

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/waflog"
)

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
