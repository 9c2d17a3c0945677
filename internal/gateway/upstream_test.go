package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// logTap hands every log record of a gateway to the test, so that tests
// wait on what the gateway did rather than sleep.
type logTap struct{ ch chan slog.Record }

func newLogTap() *logTap                                        { return &logTap{ch: make(chan slog.Record, 4096)} }
func (h *logTap) Enabled(context.Context, slog.Level) bool      { return true }
func (h *logTap) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h *logTap) WithGroup(string) slog.Handler                 { return h }
func (h *logTap) Handle(_ context.Context, r slog.Record) error { h.ch <- r.Clone(); return nil }

// wait returns the next n records whose message starts with msg, failing
// the test if they do not come within a minute (a safety net, not an
// ordering).
func (h *logTap) wait(t *testing.T, msg string, n int) []slog.Record {
	t.Helper()
	var out []slog.Record
	deadline := time.After(time.Minute)
	for len(out) < n {
		select {
		case r := <-h.ch:
			if strings.HasPrefix(r.Message, msg) {
				out = append(out, r)
			}
		case <-deadline:
			t.Fatalf("%d of %d %q log records", len(out), n, msg)
		}
	}
	return out
}

func attr(r slog.Record, key string) string {
	v := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// runGateway serves a configuration with Run, as lockgate serve does
// (server timeouts, connection limit), and returns its address.
func runGateway(t *testing.T, yaml string) (*Gateway, string, *logTap) {
	t.Helper()
	dir := t.TempDir()
	acl, _ := os.ReadFile(blogACL)
	os.WriteFile(filepath.Join(dir, "blog-acl.json"), acl, 0o600)
	os.WriteFile(filepath.Join(dir, "reputation.txt"), []byte("198.51.100.0/24\n"), 0o600)
	cfgPath := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfgPath, []byte(yaml), 0o600)
	tap := newLogTap()
	gw, err := New(Options{Load: func() (Snapshot, error) { return loadSnapshot(cfgPath) }, Registry: prometheus.NewRegistry(), Logger: slog.New(tap)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); gw.Run(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return gw, ln.Addr().String(), tap
}

// rawRequest sends raw bytes on a new connection.
func rawRequest(t *testing.T, addr, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

// readStatus reads a response's status line (the connection's read
// deadline is a safety net only).
func readStatus(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Minute))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	return strings.TrimSpace(line)
}

// Item 8 of issue 13: a client aborting its upload (three times, more
// than max_fails) or stalling it past read_timeout is the client's doing:
// logged with status 499 (the stall answered 408), and the upstream stays
// healthy, its failures uncounted.
func TestItem8ClientCancellationsAreNotUpstreamFailures(t *testing.T) {
	api := echoUpstream(t, "api")
	gw, addr, tap := runGateway(t, gatewayYAML(api.URL, api.URL, "  read_timeout: 500ms\n"))
	var rt *route
	for _, r := range gw.state.Load().routes {
		if r.name == "api" {
			rt = r
		}
	}
	up := rt.upstreams[0]
	for i := range 3 {
		c := rawRequest(t, addr, "POST /api/upload HTTP/1.1\r\nHost: api.example\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("x", 1000))
		c.(*net.TCPConn).CloseWrite() // the upload ends early
		recs := tap.wait(t, "client gave up the request", 1)
		if s := attr(recs[0], "status"); s != "499" {
			t.Fatalf("aborted upload %d: logged status %s, want 499", i+1, s)
		}
		c.Close()
	}
	if f, d := up.fails.Load(), up.downUntil.Load(); f != 0 || d != 0 {
		t.Fatalf("after 3 aborted uploads: %d failures counted, down until %d; want a healthy upstream", f, d)
	}
	// A client stalling its own upload: 408 when read_timeout passes,
	// logged 408, and no upstream failure.
	c := rawRequest(t, addr, "POST /api/upload HTTP/1.1\r\nHost: api.example\r\nContent-Length: 100\r\n\r\n0123456789")
	if s := readStatus(t, c); !strings.HasPrefix(s, "HTTP/1.1 408") {
		t.Fatalf("stalled upload: %q, want 408 (%s)", s, attr(tap.wait(t, "client gave up", 1)[0], "error"))
	}
	if recs := tap.wait(t, "client gave up the request", 1); attr(recs[0], "status") != "408" {
		t.Fatalf("stalled upload logged status %s (%s)", attr(recs[0], "status"), attr(recs[0], "error"))
	}
	if f, d := up.fails.Load(), up.downUntil.Load(); f != 0 || d != 0 {
		t.Fatalf("after a stalled upload: %d failures, down until %d", f, d)
	}
	// The upstream answers.
	c = rawRequest(t, addr, "POST /api/upload HTTP/1.1\r\nHost: api.example\r\nContent-Length: 3\r\n\r\nabc")
	if s := readStatus(t, c); !strings.HasPrefix(s, "HTTP/1.1 200") {
		t.Fatalf("after the cancellations: %q", s)
	}
}

// bigUpstream answers every request with an endless body over raw TCP and
// records how many connections it has open at once (at most) and in all.
type bigUpstream struct {
	ln            net.Listener
	open, maxOpen atomic.Int32
	accepted      atomic.Int32
	closed        chan struct{} // a connection ended (its write failed)
	wg            sync.WaitGroup
}

func newBigUpstream(t *testing.T) *bigUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &bigUpstream{ln: ln, closed: make(chan struct{}, 1024)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.accepted.Add(1)
			n := u.open.Add(1)
			for m := u.maxOpen.Load(); n > m && !u.maxOpen.CompareAndSwap(m, n); m = u.maxOpen.Load() {
			}
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer func() { u.open.Add(-1); c.Close(); u.closed <- struct{}{} }()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
				chunk := make([]byte, 64<<10)
				for {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return u
}

// Item 9 of issue 13: clients that never read hold at most the upstream's
// connection cap (upstream_max_connections); the others wait up to
// upstream_timeout for a free one and get 503. The upstream never sees
// more connections than the cap.
func TestItem9UpstreamConnectionsBounded(t *testing.T) {
	big := newBigUpstream(t)
	shop := echoUpstream(t, "shop")
	const clients, limit = 12, 3
	_, addr, tap := runGateway(t, gatewayYAML(shop.URL, "http://"+big.ln.Addr().String(), fmt.Sprintf("  upstream_max_connections: %d\n", limit)))
	for range clients {
		rawRequest(t, addr, "GET /api/big HTTP/1.1\r\nHost: api.example\r\n\r\n") // and never read
	}
	busy := tap.wait(t, "upstream busy", clients-limit)
	if got := attr(busy[0], "max_connections"); got != fmt.Sprint(limit) {
		t.Errorf("logged max_connections %s", got)
	}
	if a, m := big.accepted.Load(), big.maxOpen.Load(); a != limit || m != limit {
		t.Fatalf("%d clients that never read: the upstream accepted %d connections, %d at once; want %d", clients, a, m, limit)
	}
	// Another route's upstream is not starved by this one.
	c := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")
	if s := readStatus(t, c); !strings.HasPrefix(s, "HTTP/1.1 200") {
		t.Fatalf("the other route: %q", s)
	}
}

// A client that stops reading its response ends its request once a write
// to it has made no progress for client_write_timeout: its upstream
// connection is released and the next client is served.
func TestItem9StalledClientReleasesUpstream(t *testing.T) {
	big := newBigUpstream(t)
	shop := echoUpstream(t, "shop")
	_, addr, _ := runGateway(t, gatewayYAML(shop.URL, "http://"+big.ln.Addr().String(), "  upstream_max_connections: 1\n  client_write_timeout: 300ms\n"))
	rawRequest(t, addr, "GET /api/big HTTP/1.1\r\nHost: api.example\r\n\r\n") // never read
	select {
	case <-big.closed: // the gateway gave up the stalled client and closed its upstream connection
	case <-time.After(time.Minute):
		t.Fatal("the stalled client still holds its upstream connection")
	}
	c := rawRequest(t, addr, "GET /api/big HTTP/1.1\r\nHost: api.example\r\n\r\n")
	if s := readStatus(t, c); !strings.HasPrefix(s, "HTTP/1.1 200") {
		t.Fatalf("the next client: %q", s)
	}
}

// max_connections bounds the client connections: past it, a connection
// waits (in the listen queue) until another closes.
func TestItem9MaxClientConnections(t *testing.T) {
	shop := echoUpstream(t, "shop")
	_, addr, _ := runGateway(t, gatewayYAML(shop.URL, shop.URL, "  max_connections: 2\n"))
	get := "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n"
	c1, c2 := rawRequest(t, addr, get), rawRequest(t, addr, get)
	for _, c := range []net.Conn{c1, c2} {
		if s := readStatus(t, c); !strings.HasPrefix(s, "HTTP/1.1 200") {
			t.Fatal(s)
		}
	}
	c3 := rawRequest(t, addr, get)
	c3.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c3.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("a third connection was served while two are open (max_connections 2)")
	}
	c1.Close()
	if s := readStatus(t, c3); !strings.HasPrefix(s, "HTTP/1.1 200") {
		t.Fatalf("the third connection once one closed: %q", s)
	}
}
