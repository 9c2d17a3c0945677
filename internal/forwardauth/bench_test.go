package forwardauth

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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

// benchService is forward auth for the benchmarks: the blog's three
// rules on one route, with log records in logPath ("" none, as
// bench/forwardauth runs it).
func benchService(b *testing.B, logPath string) *Service {
	b.Helper()
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
	cfg.CopyHeaders = []string{"X-Amzn-Waf-Api"}

	cfg.Log.File = config.Path(logPath)
	s, probs := Provision(cfg, Options{WAF: set})
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	if err := s.Open(nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkNginxDecision is one auth_request subrequest as nginx sends it
// (docs/integrations.md's configuration, a browser's headers) decided by
// the blog's three rules and allowed, without log records: the cost
// lockgate adds to each request behind nginx, less the HTTP parsing.
func BenchmarkNginxDecision(b *testing.B) {
	b.Run("no log", func(b *testing.B) { benchDecision(b, "") })
	// With an AWS WAF log record a decision, as docs/integrations.md
	// configures it.
	b.Run("log", func(b *testing.B) { benchDecision(b, filepath.Join(b.TempDir(), "waf.log")) })
}

func benchDecision(b *testing.B, logPath string) {
	s := benchService(b, logPath)
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

// BenchmarkNginxSubrequestTCP is BenchmarkNginxDecision through lockgate's
// HTTP server (Service.Run) over keep-alive loopback connections, as
// nginx's upstream keepalive sends them: what the server adds to the
// decision (parsing, the response, the syscalls), the client's cost
// included.
func BenchmarkNginxSubrequestTCP(b *testing.B) {
	s := benchService(b, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, nil) }()
	defer func() { cancel(); <-done }()
	var next atomic.Uint32
	b.ReportAllocs()
	// CPU time per request (server and client, user and system) moves
	// less than the wall time on a machine shared with other work.
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for pb.Next() {
			i := next.Add(1)
			req := fmt.Appendf(nil, "GET /nginx HTTP/1.1\r\nHost: lockgate\r\nX-Original-Method: GET\r\nX-Original-URI: /products/42?ref=home\r\n"+
				"X-Original-Host: shop.example\r\nX-Original-Proto: http\r\nX-Forwarded-For: 10.7.%d.%d\r\n"+
				"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\nAccept: text/html\r\nAccept-Encoding: gzip\r\n\r\n", byte(i>>8), byte(i))
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
