package forwardauth

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListenerTimeouts: the listener moves its read deadline lazily (not
// for every request), and still cuts off a header that is not read in
// time, after a body too (whose read has a longer deadline), closes an
// idle connection after its idle timeout, and keeps a trusted proxy's
// idle connection past the header timeout, but not a new connection that
// has not asked yet. The limits are shortened;
// each case measures how long the server takes to close.
func TestListenerTimeouts(t *testing.T) {
	const header, long = 300 * time.Millisecond, time.Minute
	partial := subrequest("192.0.2.1")[:40] // a request whose header never ends
	for _, tc := range []struct {
		name      string
		untrusted bool
		idle      time.Duration
		// before are whole requests, each answered before the next.
		before []string
		// pause is how long the connection waits, idle, after them.
		pause time.Duration
		// then is sent after the pause: "" sends nothing.
		then string
		// closedWithin is how long after then the server closes the
		// connection (refusing a cut-off header as nginx expects: 403
		// carrying 400), at most, and no sooner than closedAfter; 0
		// means it answers then instead.
		closedAfter, closedWithin time.Duration
	}{
		{name: "a header cut off", idle: long, then: partial, closedWithin: 3 * time.Second},
		{name: "a header cut off after answers", idle: long, before: []string{subrequest("192.0.2.1"), subrequest("192.0.2.2")}, then: partial, closedWithin: 3 * time.Second},
		// The body's read deadline (readTimeout) is not the next header's.
		{name: "a header cut off after a body", idle: long, before: []string{subrequest("192.0.2.1", "Content-Length: 2\r\n") + "ab"}, then: partial, closedWithin: 3 * time.Second},
		{name: "idle past the header timeout", idle: long, before: []string{subrequest("192.0.2.1")}, pause: 3 * header, then: subrequest("192.0.2.1")},
		{name: "idle closed", idle: 4 * header, before: []string{subrequest("192.0.2.1")}, closedAfter: 3 * header, closedWithin: 3 * time.Second},
		// A new connection is not idle: its first request's header must
		// arrive within the header timeout, as under http.Server (atk20h F1).
		{name: "a new connection that never asks", idle: long, closedAfter: header * 8 / 10, closedWithin: 3 * time.Second},
		// Not a proxy: not waited for as one (atk20g G4).
		{name: "untrusted peer idle", untrusted: true, idle: long, closedAfter: header * 8 / 10, closedWithin: 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startListener(t, listenerService(t, tc.untrusted), func(srv *httpServer) {
				srv.readHeaderTimeout, srv.readTimeout, srv.idleTimeout = header, long, tc.idle
			})
			c, br := dialListener(t, addr)
			for i, raw := range tc.before {
				io.WriteString(c, raw)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				io.Copy(io.Discard, resp.Body)
			}
			if tc.pause > 0 {
				time.Sleep(tc.pause) // the subject: an idle connection
			}
			start := time.Now()
			io.WriteString(c, tc.then)
			if tc.closedWithin == 0 {
				if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("not answered: %v %v", resp, err)
				}
				return
			}
			// Closed, with at most a refusal of the cut-off header.
			rest, err := io.ReadAll(br)
			took := time.Since(start)
			if err != nil || len(rest) > 0 && !strings.HasPrefix(string(rest), "HTTP/1.1 403 ") {
				t.Fatalf("read %q, %v: want the connection closed, at most with a refusal", rest, err)
			}
			if took < tc.closedAfter || took > tc.closedWithin {
				t.Fatalf("closed after %v, want between %v and %v", took, tc.closedAfter, tc.closedWithin)
			}
		})
	}
}
