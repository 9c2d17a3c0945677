package forwardauth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/webacl"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmark
// measures the handler, not a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// BenchmarkNginxDecision is one auth_request subrequest as nginx sends it
// (docs/integrations.md's configuration, a browser's headers) decided by
// the blog's three rules and allowed, without log records: the cost
// lockgate adds to each request behind nginx, less the HTTP parsing.
func BenchmarkNginxDecision(b *testing.B) {
	rep := filepath.Join(b.TempDir(), "reputation.txt")
	if err := os.WriteFile(rep, []byte("198.51.100.0/24\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	set, probs := webacl.Provision(webacl.Config{IPReputationFile: config.Path(rep)}, nil)
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TrustedProxies = []string{"127.0.0.1"}
	cfg.Routes = []Route{{Name: "shop", WebACL: "../../waf/testdata/blog-acl.json"}}
	s, probs := Provision(cfg, Options{WAF: set})
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	h := s.Handler()
	r := httptest.NewRequest(http.MethodGet, "/nginx", nil)
	r.RemoteAddr = "127.0.0.1:40000"
	for k, v := range map[string]string{
		"X-Original-Method": "GET",
		"X-Original-Uri":    "/products/42?ref=home",
		"X-Original-Host":   "shop.example",
		"X-Original-Proto":  "http",
		"X-Forwarded-For":   "10.1.2.3",
		"User-Agent":        "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0",
		"Accept":            "text/html,application/xhtml+xml",
		"Accept-Language":   "en-US,en;q=0.5",
		"Accept-Encoding":   "gzip, deflate, br",
		"Cookie":            "session=abc123",
	} {
		r.Header.Set(k, v)
	}
	// 65,536 clients, as bench/forwardauth's wrk script: none reaches
	// the blanket rate limit, so every request is allowed.
	clients := make([][]string, 1<<16)
	for i := range clients {
		clients[i] = []string{fmt.Sprintf("10.7.%d.%d", i>>8, i&0xff)}
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.h)
		r.Header["X-Forwarded-For"] = clients[i&0xffff]
		i++
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}
