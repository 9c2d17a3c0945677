package forwardauth

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log the server writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestListenerIncompleteRequest (atk20h F3, F4): a request whose header
// or body stops arriving is never answered as a request, whatever the
// part received looks like: a timeout is answered 408 (on /nginx, 403
// carrying 408, as every refusal there) and logged as a timeout, and a
// peer that goes away mid-request gets no answer. Before, a header cut
// inside a line was answered 400 "missing colon", one cut at a line's
// end got a bare close, and a body that never completed was allowed.
func TestListenerIncompleteRequest(t *testing.T) {
	const limit = 300 * time.Millisecond
	nginx := subrequest("192.0.2.1")
	caddy := "GET /caddy HTTP/1.1\r\nHost: lockgate\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Uri: /products/42\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n"
	withBody := subrequest("192.0.2.1", "Content-Length: 10\r\n") + "12345"
	for _, tc := range []struct {
		name string
		raw  string
		// closeWrite: the peer closes its side after raw, instead of
		// stalling.
		closeWrite bool
		// status and carried are the answer, 0 for none; carried is its
		// X-Lockgate-Status.
		status  int
		carried string
		logged  string // in the log: the refusal's reason
	}{
		{name: "header cut inside a line", raw: nginx[:40], status: 403, carried: "408", logged: "timeout: the request's header"},
		{name: "header cut after a line", raw: nginx[:strings.Index(nginx, "\r\n")+2], status: 403, carried: "408", logged: "timeout: the request's header"},
		{name: "header cut 3 bytes short", raw: nginx[:len(nginx)-3], status: 403, carried: "408", logged: "timeout: the request's header"},
		{name: "header without its last CRLF", raw: nginx[:len(nginx)-2], status: 403, carried: "408", logged: "timeout: the request's header"},
		{name: "header without its last LF", raw: nginx[:len(nginx)-1], status: 403, carried: "408", logged: "timeout: the request's header"},
		{name: "caddy header cut inside a line", raw: caddy[:50], status: 408, logged: "timeout: the request's header"},
		{name: "body never completes", raw: withBody, status: 403, carried: "408", logged: "timeout: the request's body"},
		{name: "caddy body never completes", raw: strings.Replace(caddy, "\r\n\r\n", "\r\nContent-Length: 10\r\n\r\n12345", 1), status: 408, logged: "timeout: the request's body"},
		{name: "peer gone mid-header", raw: nginx[:40], closeWrite: true, logged: "closed the connection during a request"},
		{name: "peer gone mid-body", raw: withBody, closeWrite: true, logged: "closed the connection during a request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := listenerService(t, false)
			var logs lockedBuffer
			s.log = slog.New(slog.NewTextHandler(&logs, nil))
			addr := startListener(t, s, func(srv *httpServer) {
				srv.readHeaderTimeout, srv.readTimeout = limit, limit
			})
			c, br := dialListener(t, addr)
			io.WriteString(c, tc.raw)
			if tc.closeWrite {
				c.(*net.TCPConn).CloseWrite()
			}
			got := readAll(t, br, false) // until the server closes
			switch {
			case tc.status == 0 && len(got) != 0:
				t.Fatalf("answered %v, want no answer", statuses(got))
			case tc.status != 0 && (len(got) != 1 || got[0].status != tc.status || got[0].header.Get("X-Lockgate-Status") != tc.carried || !got[0].close):
				t.Fatalf("answered %+v, want %d carrying %q, closing", got, tc.status, tc.carried)
			}
			if !strings.Contains(logs.String(), tc.logged) {
				t.Fatalf("the log lacks %q:\n%s", tc.logged, logs.String())
			}
		})
	}
}
