package forwardauth

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
)

// Refusals that are not a web ACL's answer are lockgate's JSON error
// body, with the statuses unchanged (nginx reads only 401 and 403, never
// the body; Caddy and Traefik pass the body to the client), on the
// listener and on Handler alike (atk9f F8: text/plain, and Go's
// "404 page not found").
func TestErrorsAreJSON(t *testing.T) {
	s := newService(t, []string{"127.0.0.1/32"}, "", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	caddy := func(host string, extra ...string) map[string]string {
		h := map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/x", "X-Forwarded-Host": host, "X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	tests := []struct {
		name, path string
		header     map[string]string
		status     int
		code       string
	}{
		{"unknown path", "/nope", nil, 404, "not_found"},
		{"nginx without the original request", "/nginx", nil, 500, "internal"},
		{"caddy with a host that is not host:port", "/caddy", caddy("shop:80:80"), 400, "bad_request"},
		{"traefik with an underscore header", "/traefik", caddy("shop.example", "Bad_Header", "1"), 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(via string, resp *http.Response) {
				t.Helper()
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var e struct{ Error, Message string }
				if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &e) != nil || e.Error != tt.code || e.Message == "" {
					t.Errorf("%s: %d %s %q, want %d JSON with code %q", via, resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status, tt.code)
				}
			}
			req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+tt.path, nil)
			for k, v := range tt.header {
				req.Header[k] = []string{v}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			check("listener", resp)
			check("Handler", ask{path: tt.path, peer: "127.0.0.1:40000", header: tt.header}.do(t, s.Handler()))
		})
	}
	// A peer that is not a trusted proxy: 403, to Caddy with the body.
	untrusted := ask{path: "/caddy", peer: "192.0.2.1:40000", header: caddy("shop.example")}.do(t, s.Handler())
	body, _ := io.ReadAll(untrusted.Body)
	if untrusted.StatusCode != 403 || untrusted.Header.Get("Content-Type") != "application/json" {
		t.Errorf("untrusted peer: %d %s %q", untrusted.StatusCode, untrusted.Header.Get("Content-Type"), body)
	}
}
