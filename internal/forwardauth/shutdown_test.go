package forwardauth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveForShutdown serves s on a free port with the header and body
// timeouts a minute long, so that only shutdown ends a stalled request;
// the test shuts it down.
func serveForShutdown(t *testing.T, s *Service) (*httpServer, net.Listener, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(s)
	srv.readHeaderTimeout, srv.readTimeout = time.Minute, time.Minute
	done := make(chan error, 1)
	go func() { done <- srv.serve(ln) }()
	t.Cleanup(func() { ln.Close() })
	return srv, ln, done
}

// waitFor waits, polling, until cond holds (at most 10 s): it observes
// the server's state, it does not order anything.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never %s", what)
		}
	}
}

// inState reports whether srv has a connection in state.
func inState(srv *httpServer, state int32) func() bool {
	return func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		for hc := range srv.conns {
			if hc.state.Load() == state {
				return true
			}
		}
		return false
	}
}

// TestListenerShutdown (atk20i F4, F5): shutdown closes what holds no
// request, a header not yet complete included (as http.Server's Shutdown
// closes a connection it has read no request from), lets a request whose
// header was read finish, and when shutdown_timeout passes first, cuts it
// off, says so in the log (not as the peer's doing) and returns the
// context's error, which makes serve exit 1. Before, a partial header
// held shutdown until its 408 (readHeaderTimeout), and a request cut off
// returned nothing and was logged as the peer closing the connection.
func TestListenerShutdown(t *testing.T) {
	nginx := subrequest("192.0.2.1")
	withBody := subrequest("192.0.2.1", "Content-Length: 10\r\n") + "12345"
	for _, tc := range []struct {
		name string
		raw  string
		// state is the connection's state shutdown begins in.
		state int32
		// timeout is shutdown's; rest is sent once shutdown has begun.
		timeout time.Duration
		rest    string
		// wantErr is shutdown's error; status the answer, 0 for none.
		wantErr error
		status  int
		logged  string
	}{
		{name: "idle", raw: "", state: connIdle, timeout: 10 * time.Second},
		{name: "header not complete", raw: nginx[:40], state: connHeader, timeout: 3 * time.Second, logged: "header was not complete"},
		{name: "header without its last CRLF", raw: nginx[:len(nginx)-2], state: connHeader, timeout: 3 * time.Second, logged: "header was not complete"},
		{name: "body finishes", raw: withBody, state: connActive, timeout: 10 * time.Second, rest: "67890", status: http.StatusOK},
		{name: "body cut off", raw: withBody, state: connActive, timeout: 200 * time.Millisecond, wantErr: context.DeadlineExceeded, logged: "cut off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := listenerService(t, false)
			var logs lockedBuffer
			s.log = slog.New(slog.NewTextHandler(&logs, nil))
			srv, ln, served := serveForShutdown(t, s)
			c, br := dialListener(t, ln.Addr().String())
			io.WriteString(c, tc.raw)
			waitFor(t, "in the state", inState(srv, tc.state))
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			shut := make(chan error, 1)
			srv.closing.Store(true)
			ln.Close()
			go func() { shut <- srv.shutdown(ctx) }()
			if tc.rest != "" {
				io.WriteString(c, tc.rest)
			}
			got := readAll(t, br, false) // until the server closes
			if err := <-shut; !errors.Is(err, tc.wantErr) {
				t.Fatalf("shutdown: %v, want %v", err, tc.wantErr)
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Fatalf("serve: %v", err)
			}
			switch {
			case tc.status == 0 && len(got) != 0:
				t.Fatalf("answered %v, want no answer", statuses(got))
			case tc.status != 0 && (len(got) != 1 || got[0].status != tc.status || !got[0].close):
				t.Fatalf("answered %+v, want %d, closing", got, tc.status)
			}
			if !strings.Contains(logs.String(), tc.logged) || strings.Contains(logs.String(), "the peer closed") {
				t.Fatalf("the log lacks %q or blames the peer:\n%s", tc.logged, logs.String())
			}
		})
	}
}

// TestListenerUntrustedBodyNotRead (atk20i F5): a peer that is not a
// trusted proxy is refused once its header is read, without waiting for
// its body; before, a stalled body was read for the whole body timeout
// (30 s), holding the connection and shutdown.
func TestListenerUntrustedBodyNotRead(t *testing.T) {
	srv, ln, _ := serveForShutdown(t, listenerService(t, true))
	t.Cleanup(func() {
		srv.closing.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.shutdown(ctx)
	})
	for _, raw := range []string{
		subrequest("192.0.2.1", "Content-Length: 100\r\n") + "abc",
		strings.Replace(subrequest("192.0.2.1", "Transfer-Encoding: chunked\r\n"), "/nginx", "/caddy", 1) + "5\r\nab",
	} {
		c, br := dialListener(t, ln.Addr().String()) // its deadline: 10 s, under the body timeout
		io.WriteString(c, raw)
		got := readAll(t, br, false)
		if len(got) != 1 || got[0].status != http.StatusForbidden || !got[0].close {
			t.Fatalf("%q: answered %+v, want 403, closing", raw[:20], got)
		}
	}
}
