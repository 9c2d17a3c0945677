package forwardauth

import (
	"io"
	"testing"
	"time"
)

// TestListenerUnreadableLineOnNginx (atk20i F2): a request for /nginx
// whose request line the reader refuses, or which stops arriving before
// its line ends, is refused as nginx expects, 403 carrying the status;
// before, a malformed line got a plain 400 and a cut one a plain 408,
// which nginx's auth_request turns into 500.
func TestListenerUnreadableLineOnNginx(t *testing.T) {
	for _, tc := range []struct {
		name, raw, carried string
	}{
		{"HTTP/0.9", "GET /nginx\r\n\r\n", "400"},
		{"tabs", "GET\t/nginx\tHTTP/1.1\r\nHost: l\r\n\r\n", "400"},
		{"two spaces", "GET  /nginx HTTP/1.1\r\nHost: l\r\n\r\n", "400"},
		{"with a query", "GET /nginx?x=1 HTTP/1.1 x\r\nHost: l\r\n\r\n", "400"},
		{"line cut short", "GET /nginx HTT", "408"},
		{"line cut after the target", "GET /nginx ", "408"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startListener(t, listenerService(t, false), func(srv *httpServer) {
				srv.readHeaderTimeout = 300 * time.Millisecond
			})
			c, br := dialListener(t, addr)
			// Byte by byte: the reader buffers no more than one at a time.
			for i := range len(tc.raw) {
				io.WriteString(c, tc.raw[i:i+1])
			}
			got := readAll(t, br, false)
			if len(got) != 1 || got[0].status != 403 || got[0].header.Get("X-Lockgate-Status") != tc.carried {
				t.Fatalf("answered %+v, want 403 carrying %s", got, tc.carried)
			}
		})
	}
}

func TestAsksNginx(t *testing.T) {
	for line, want := range map[string]bool{
		"GET /nginx HTTP/1.1\r\n": true,
		"GET /nginx?q HTTP/1.1":   true,
		"GET /nginx\r\n":          true,
		"GET\t/nginx\t":           true,
		"GET /nginx":              false, // the target may go on
		"GET /nginxx HTTP/1.1":    false,
		"GET /caddy HTTP/1.1":     false,
		"GET\r\n/nginx HTTP/1.1":  false,
		"/nginx HTTP/1.1":         false,
		"":                        false,
	} {
		if got := asksNginx([]byte(line)); got != want {
			t.Errorf("asksNginx(%q) = %v, want %v", line, got, want)
		}
	}
}
