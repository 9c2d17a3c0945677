package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockgate/lockgate/internal/httpjson"
)

// upstream is one upstream server of a route: its proxy, its passive
// health (only its own faults count) and its connection slots.
type upstream struct {
	url       *url.URL
	proxy     *httputil.ReverseProxy
	fails     atomic.Int32
	downUntil atomic.Int64
	// slots holds one token per request in flight to the upstream, at
	// most its max connections: a request finding none free waits up to
	// wait, then gets 503, so that clients that never read cannot make
	// the gateway open connection after connection.
	slots        chan struct{}
	wait         time.Duration
	writeTimeout time.Duration // client_write_timeout
}

// maxConns is the connection cap of a route's upstreams.
func maxConns(gc Config, rc RouteConfig) int {
	if rc.UpstreamMaxConnections > 0 {
		return rc.UpstreamMaxConnections
	}
	return max(gc.UpstreamMaxConnections, 1)
}

// limit sets the upstream's connection cap and waits.
func (up *upstream) limit(gc Config, rc RouteConfig) {
	up.slots = make(chan struct{}, maxConns(gc, rc))
	up.wait = gc.UpstreamTimeout.Std()
	up.writeTimeout = gc.ClientWriteTimeout.Std()
}

// newTransport is the transport to a route's upstreams: at most
// max connections to each (idle ones included), idle ones closed after
// upstream_idle_timeout, and upstream_timeout for the response headers.
func newTransport(gc Config, rc RouteConfig) *http.Transport {
	n := maxConns(gc, rc)
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxConnsPerHost:       n,
		MaxIdleConnsPerHost:   n,
		MaxIdleConns:          n * max(len(rc.Upstreams), 1),
		IdleConnTimeout:       gc.UpstreamIdleTimeout.Std(),
		ResponseHeaderTimeout: gc.UpstreamTimeout.Std(),
		ExpectContinueTimeout: time.Second,
	}
}

// forward proxies r to up within its connection cap. The request body is
// wrapped so that a failure reading it — the client aborted or stalled
// its upload — is told apart from a failure of the upstream, and each
// write to the client must make progress within client_write_timeout.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, rt *route, up *upstream) {
	select {
	case up.slots <- struct{}{}:
	default:
		t := time.NewTimer(up.wait)
		select {
		case up.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			g.log.Warn("upstream busy: every connection is in use", "route", rt.name, "upstream", up.url.String(), "max_connections", cap(up.slots))
			httpjson.Error(w, http.StatusServiceUnavailable, "upstream_busy", "the upstream has no free connection")
			return
		case <-r.Context().Done():
			t.Stop()
			g.log.Info("client closed the request", "route", rt.name, "status", statusClientClosed, "while", "waiting for an upstream connection")
			return
		}
	}
	defer func() { <-up.slots }()
	if r.Body != nil && r.Body != http.NoBody {
		// The proxy hands its error handler the outgoing request, whose
		// body it wraps: the context carries the client's body to it.
		cb := &clientBody{ReadCloser: r.Body}
		r = r.WithContext(context.WithValue(r.Context(), clientBodyKey{}, cb))
		r.Body = cb
	}
	sw := &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: up.writeTimeout}
	defer sw.reset()
	up.proxy.ServeHTTP(sw, r)
}

// statusClientClosed is nginx's 499, "client closed request": logged for
// requests the client gave up, which are no fault of the upstream.
const statusClientClosed = 499

// answered is the proxy's ModifyResponse: the upstream answered, so its
// run of failures ends.
func (up *upstream) answered(*http.Response) error {
	if up.fails.Load() != 0 {
		up.fails.Store(0)
	}
	return nil
}

// proxyError is the proxy's ErrorHandler. A request the client gave up
// (its upload aborted or stalled past read_timeout, or the client went
// away) is logged with status 499 (a stalled upload is answered 408) and
// does not count against the upstream; only the upstream's own faults
// (refused, reset, no answer within upstream_timeout) do, and max_fails
// of them in a row mark it down for unhealthy_for.
func (g *Gateway) proxyError(rt *route, up *upstream) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if cerr := clientFault(r, err); cerr != nil {
			status, code, msg := statusClientClosed, "client_closed_request", "the client closed the request"
			var ne net.Error
			if errors.As(cerr, &ne) && ne.Timeout() {
				status, code, msg = http.StatusRequestTimeout, "request_timeout", "the request body was not received in time"
			}
			g.log.Info("client gave up the request: not an upstream failure", "route", rt.name, "upstream", up.url.String(), "status", status, "error", cerr)
			httpjson.Error(w, status, code, msg)
			return
		}
		if up.fails.Add(1) >= rt.maxFails {
			up.downUntil.Store(time.Now().Add(rt.unhealthy).UnixNano())
		}
		rt.upstreamErrors.Inc()
		status, code, msg := http.StatusBadGateway, "upstream_failed", "the upstream failed"
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			status, code, msg = http.StatusGatewayTimeout, "upstream_timeout", "the upstream did not answer in time"
		}
		g.log.Warn("upstream error", "route", rt.name, "upstream", up.url.String(), "status", status, "error", err)
		httpjson.Error(w, status, code, msg)
	}
}

// clientFault returns the client's error behind a failed round trip, or
// nil when the upstream failed: reading the request body failed (the
// transport returns that error as is), or the client's context ended.
//
// When the context ended, the body may be why: the server cancels the
// context from inside the body read that hit read_timeout, and the
// transport can report the cancellation before that read returns, so the
// read in flight is awaited (briefly) to tell a stalled upload (408) from
// a client that went away (499).
func clientFault(r *http.Request, err error) error {
	var be *bodyError
	if errors.As(err, &be) {
		return be.err
	}
	cb, _ := r.Context().Value(clientBodyKey{}).(*clientBody)
	if cerr := r.Context().Err(); cerr != nil {
		if cb != nil {
			if berr := cb.settle(time.Second); berr != nil {
				return berr
			}
		}
		return cerr
	}
	if cb != nil {
		return cb.settle(0)
	}
	return nil
}

type clientBodyKey struct{}

// clientBody is a request body whose read errors are the client's.
type clientBody struct {
	io.ReadCloser
	mu      sync.Mutex
	err     error         // the first read error
	reading chan struct{} // closed when the read in flight returns
}

func (b *clientBody) Read(p []byte) (int, error) {
	done := make(chan struct{})
	b.mu.Lock()
	b.reading = done
	b.mu.Unlock()
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err // the first tells why; later reads may only say the body is closed
	}
	b.reading = nil
	b.mu.Unlock()
	close(done)
	if err != nil && err != io.EOF {
		return n, &bodyError{err}
	}
	return n, err
}

// settle returns the body's read error, waiting up to wait for a read in
// flight to return.
func (b *clientBody) settle(wait time.Duration) error {
	b.mu.Lock()
	ch, err := b.reading, b.err
	b.mu.Unlock()
	if ch == nil || err != nil || wait <= 0 {
		return err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// bodyError marks an error reading the client's request body.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the client's request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// stallWriter gives each write to the client client_write_timeout to
// complete: a client that stops reading a response ends its request
// (and frees its upstream connection) instead of holding it.
type stallWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	armed   bool
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) == nil {
		w.armed = true
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController (flushes, upgrades) reach the
// connection's writer.
func (w *stallWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// reset clears the deadline for the connection's next request (the
// server sets none of its own without a WriteTimeout).
func (w *stallWriter) reset() {
	if w.armed {
		w.rc.SetWriteDeadline(time.Time{})
	}
}
