package forwardauth

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/lockgate/lockgate/internal/httpjson"
)

// The forward-auth listener serves its three endpoints with a connection
// loop of its own around net/http's request reader (http.ReadRequest, the
// parser net/http's server runs, with its refusals: differing
// Content-Lengths, a Content-Length that is not a number, transfer
// codings other than chunked, a repeated Host, invalid header names and
// values, a line starting with a space, oversize headers), not with
// http.Server. A proxy asks once for every request it serves, over a few
// keep-alive connections; http.Server costs each question a context, a
// response writer and, for a request without a body, a background read
// (a system call and two goroutine switches) that watches for the peer
// going away, which a handler that answers in microseconds does not
// need. Measured in docs/benchmarks.md, "Forward auth".
//
// The loop refuses, besides, what net/http's server refuses after
// reading (an HTTP/1.1 request without Host, a malformed Host, an Expect
// other than 100-continue, HTTP/2), and what no proxy sends: HTTP/1.2 to
// 1.9, a target that is not origin-form. It reads the stream as net/http
// does (FuzzListener), and stops sooner when unsure: a body (proxies send
// none, but may) is read and discarded up to 256 KB, as net/http's server
// does; a longer one, one the client waits for 100-continue to send, or
// a chunked one (which may have come with a Content-Length that
// http.ReadRequest removed) closes the connection after the answer, so
// that no byte of it is read as a request. A request whose header (within
// readHeaderTimeout; a connection's first, of its opening) or body (within
// readTimeout of the header's start) stops arriving is never answered as
// a request: a timeout is answered 408 and the connection closed, a peer
// that closes mid-request gets no answer. A folded header line (obs-fold)
// is joined to the previous one with a space, as net/http joins it, and
// the web ACL inspects the joined value.

// The listener's limits, net/http's and http.Server's values for forward
// auth before it had its own loop.
const (
	maxHeaderBytes    = http.DefaultMaxHeaderBytes
	maxDiscardBytes   = 256 << 10 // net/http's maxPostHandlerReadBytes
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 5 * time.Minute // proxies keep their connections
)

// httpServer serves Service's HTTP endpoints on a listener.
type httpServer struct {
	s       *Service
	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*httpConn]struct{}
	done    sync.WaitGroup
	// now is the clock of the Date header and the deadlines.
	now func() time.Time
	// The limits: the constants above, shorter in tests.
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	// date is the Date header's value, formatted once a second.
	date atomic.Pointer[dateLine]
}

type dateLine struct {
	sec  int64
	line []byte // "Date: ...\r\n"
}

// A connection's states. Shutdown closes idle connections at once, stops
// reading a header that is not complete (as http.Server's Shutdown
// closes a connection with no request read), and lets active ones, whose
// request's header was read, answer (with Connection: close) first.
const (
	// connNew is a connection accepted that serveConn has not begun to
	// serve: the zero value, so that a connection is never seen active
	// before its request's header was read (the CI run of stop 27 saw
	// TestListenerShutdown take a new connection for an active one).
	connNew    int32 = iota
	connActive       // the header read: the body, the answer
	connHeader       // reading a request's header
	connIdle
	connClosed
)

type httpConn struct {
	c     net.Conn
	state atomic.Int32
	// cut is set when shutdown closes the connection because
	// shutdown_timeout passed: what is cut short then is lockgate's
	// doing, not the peer's.
	cut atomic.Bool
	// stop orders shutdown's stopReading after a header's end: shutdown
	// holds it while it sees connHeader and moves the deadline, and the
	// connection takes it, when shutting down, once it has stored
	// connActive, before it sets the body's deadline.
	stop sync.Mutex
}

// stopReading ends a header read in progress at once: a read deadline in
// the past. A header already buffered whole is still read, and answered.
var stopReading = time.Unix(1, 0)

func newHTTPServer(s *Service) *httpServer {
	return &httpServer{s: s, conns: map[*httpConn]struct{}{}, now: time.Now,
		readHeaderTimeout: readHeaderTimeout, readTimeout: readTimeout, writeTimeout: writeTimeout, idleTimeout: idleTimeout}
}

// serve accepts connections on ln until it is closed.
func (srv *httpServer) serve(ln net.Listener) error {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if srv.closing.Load() || errors.Is(err, net.ErrClosed) {
				return http.ErrServerClosed
			}
			// Out of file descriptors, a connection reset before it was
			// accepted: wait and accept again, as http.Server does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			srv.s.log.Warn("forward auth: accepting a connection", "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		hc := &httpConn{c: c}
		srv.mu.Lock()
		if srv.closing.Load() {
			srv.mu.Unlock()
			c.Close()
			return http.ErrServerClosed
		}
		srv.conns[hc] = struct{}{}
		srv.done.Add(1)
		srv.mu.Unlock()
		go srv.serveConn(hc)
	}
}

// shutdown stops accepting (the caller closes the listener), closes idle
// connections, stops reading headers not yet complete, and waits for the
// others to answer the request they are reading or answering, until ctx
// ends: then it closes them and returns ctx's error, so that serve says
// requests were cut off (exits 1), as for the gateway and the API.
func (srv *httpServer) shutdown(ctx context.Context) error {
	srv.closing.Store(true)
	finished := make(chan struct{})
	go func() { srv.done.Wait(); close(finished) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		srv.closeIdle()
		select {
		case <-finished:
			return nil
		case <-ctx.Done():
			srv.mu.Lock()
			for hc := range srv.conns {
				hc.cut.Store(true)
				hc.c.Close()
			}
			srv.mu.Unlock()
			<-finished
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (srv *httpServer) closeIdle() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for hc := range srv.conns {
		if hc.state.CompareAndSwap(connIdle, connClosed) {
			hc.c.Close()
		} else {
			// serveConn stores connHeader, sets its deadline, then reads
			// closing; closing was stored before this: either it sees
			// closing and stops reading itself, or this deadline comes
			// after its own.
			hc.stop.Lock()
			if hc.state.Load() == connHeader {
				hc.c.SetReadDeadline(stopReading)
			}
			hc.stop.Unlock()
		}
	}
}

// limitedReader is the connection as the request reader sees it: at most
// n bytes, so that a header cannot grow without bound (net/http's
// connReader limit: the header limit and 4 KB for what the buffer read
// ahead).
type limitedReader struct {
	c io.Reader // the connection (connIO)
	n int64
	// err is the connection's last read error. The request reader does
	// not always report it: bufio's ReadLine returns a line cut short by
	// a timeout or the peer's close as if it were whole, and the header
	// parser then calls it malformed (atk20h F4).
	err error
	// line is the request's first bytes (up to its capacity), buffered
	// and read, to tell a request for /nginx the reader refused, even
	// one whose request line was cut short (atk20i F2).
	line []byte
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.c.Read(p)
	if k := cap(l.line) - len(l.line); k > 0 && n > 0 {
		l.line = append(l.line, p[:min(n, k)]...)
	}
	l.n -= int64(n)
	if err != nil {
		l.err = err
	}
	return n, err
}

// serveConn answers the requests of one connection, in order, until the
// peer closes it, a request asks to close it or cannot be read, or the
// server shuts down.
func (srv *httpServer) serveConn(hc *httpConn) {
	c := hc.c
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		if p := recover(); p != nil {
			srv.s.log.Error("forward auth: panic serving a connection", "peer", c.RemoteAddr().String(), "panic", p, "stack", string(debug.Stack()))
		}
		cancel()
		c.Close()
		srv.mu.Lock()
		delete(srv.conns, hc)
		srv.mu.Unlock()
		srv.done.Done()
	}()
	var peer netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer = ta.AddrPort().Addr().Unmap()
	} else if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		peer = ap.Addr().Unmap()
	}
	remote := c.RemoteAddr().String()
	rw := connIO(c)
	lr := &limitedReader{c: rw, line: make([]byte, 0, 64)}
	br := bufio.NewReaderSize(lr, 4<<10)
	bw := bufio.NewWriterSize(rw, 4<<10)
	// The deadlines are moved lazily: moving one updates a runtime timer,
	// which a proxy's stream of questions would pay two or three times
	// a question. A deadline is moved only when it is more than slack
	// nearer than its limit, or beyond it: so a request's header is still
	// read within readHeaderTimeout, and a connection closed after at
	// least its idle timeout less slack (a tenth of readHeaderTimeout).
	slack := srv.readHeaderTimeout / 10
	var readBy, writeBy time.Time // the deadlines as last set
	readWithin := func(now time.Time, d time.Duration) {
		if t := now.Add(d); readBy.After(t) || t.Sub(readBy) > slack {
			readBy = t
			c.SetReadDeadline(t)
		}
	}
	now := srv.now() // the time, as last read
	for served := false; ; served = true {
		if br.Buffered() == 0 {
			// Nothing pipelined: wait for the next request; a peer that
			// is not a trusted proxy is refused whatever it sends, and is
			// not waited for as a proxy is (atk20g G4). The wait is cut
			// into spans of at most readHeaderTimeout, so that the
			// deadline is already the header's when the request comes.
			// A new connection is not idle: its first request's header
			// must arrive within readHeaderTimeout of the connection, as
			// under http.Server (atk20h F1).
			idle := srv.idleTimeout
			if !served || !srv.s.state.Load().trustedPeer(peer) {
				idle = srv.readHeaderTimeout
			}
			hc.state.Store(connIdle)
			if srv.closing.Load() {
				return
			}
			lr.n = math.MaxInt64
			for idleSince := now; ; {
				readWithin(now, min(srv.readHeaderTimeout, idleSince.Add(idle).Sub(now)))
				_, err := br.Peek(1)
				if err == nil {
					break
				}
				now = srv.now()
				if !errors.Is(err, os.ErrDeadlineExceeded) || now.Sub(idleSince) >= idle-slack {
					return
				}
			}
			if !hc.state.CompareAndSwap(connIdle, connHeader) {
				return // closed by shutdown
			}
		} else {
			hc.state.Store(connHeader) // pipelined: not closed by shutdown
		}
		start := srv.now()
		if served {
			readWithin(start, srv.readHeaderTimeout)
		} // else the wait above set the deadline: the connection's start and readHeaderTimeout
		if srv.closing.Load() {
			// Shutting down: only a header already received is read
			// (closeIdle, which sets the same deadline, explains the order).
			readBy = stopReading
			c.SetReadDeadline(stopReading)
		}
		lr.n = maxHeaderBytes + 4096
		lr.err = nil // the wait's timeouts are not the request's
		// The request line as buffered, to answer a request the reader
		// refuses as its endpoint expects (nginx: 403 carrying the status).
		// bufio reads the next bytes in after those buffered: lr.line
		// gets the request's first bytes in order.
		first, _ := br.Peek(min(br.Buffered(), cap(lr.line)))
		lr.line = append(lr.line[:0], first...)
		req, err := http.ReadRequest(br)
		if err != nil {
			nginx := asksNginx(lr.line)
			switch {
			case srv.closing.Load() && lr.n > 0 && (lr.err != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
				// Not yet a request: closed as http.Server's Shutdown
				// closes a connection it has read no request from.
				srv.s.log.Info("forward auth: shutting down: closed a connection whose request's header was not complete", "peer", remote)
			case lr.n <= 0:
				srv.refuse(c, bw, remote, nginx, http.StatusRequestHeaderFieldsTooLarge, err)
			case lr.err != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				// The request was cut short, whatever the parser made of
				// the part it got.
				srv.incomplete(hc, bw, remote, nginx, "header", cmp.Or(lr.err, err))
			default:
				srv.refuse(c, bw, remote, nginx, http.StatusBadRequest, err)
			}
			return
		}
		hc.state.Store(connActive)
		if srv.closing.Load() {
			// Wait out a stopReading of shutdown's (stop): it must not
			// land on the body's deadline.
			hc.stop.Lock()
			//lint:ignore SA2001 the lock is the wait
			hc.stop.Unlock()
		}
		lr.n = math.MaxInt64
		if status := screenRequest(req); status != 0 {
			srv.refuse(c, bw, remote, req.URL.Path == "/nginx", status, errors.New("refused by the request screen"))
			return
		}
		// A chunked request may have had a Content-Length too, which
		// http.ReadRequest removed: RFC 9112 section 6.3 has the server
		// close the connection after answering such a request, and the
		// listener cannot tell which, so it closes after every chunked
		// one (proxies send no body; one that does reconnects).
		// An HTTP/1.0 request is answered and the connection closed:
		// http.ReadRequest drops an HTTP/1.0 request's Transfer-Encoding
		// (and reads no chunked body), and RFC 9112 section 6.1 has the
		// server treat such framing as faulty and close after answering
		// (atk20g G1: the chunked body was read as further requests).
		// Proxies ask over HTTP/1.1.
		closeAfter := req.Close || req.ProtoMinor == 0 || len(req.TransferEncoding) > 0 || srv.closing.Load()
		// A peer that is not a trusted proxy is refused whatever its
		// request says: its body is not waited for (atk20i F5: a stalled
		// one held the connection, and shutdown, for readTimeout), and the
		// connection is closed after the refusal.
		trusted := srv.s.state.Load().trustedPeer(peer)
		unread := !trusted && req.ContentLength != 0
		if !trusted {
			closeAfter = true
		}
		if req.ContentLength != 0 && trusted {
			// A body: read it away so the next request starts where it
			// ends, unless the client waits for 100-continue before
			// sending it or it is long; then close after answering.
			if expectsContinue(req) {
				closeAfter = true
			} else {
				readBy = start.Add(srv.readTimeout)
				c.SetReadDeadline(readBy)
				lr.err = nil
				n, err := io.CopyN(io.Discard, req.Body, maxDiscardBytes+1)
				switch {
				case err == nil || n > maxDiscardBytes:
					closeAfter = true // long: answered, the rest unread
				case !errors.Is(err, io.EOF):
					// Cut short, or a malformed chunk: a request not
					// received whole is not answered as one (atk20h F3).
					if lr.err != nil || errors.Is(err, io.ErrUnexpectedEOF) {
						srv.incomplete(hc, bw, remote, req.URL.Path == "/nginx", "body", cmp.Or(lr.err, err))
					} else {
						srv.refuse(c, bw, remote, req.URL.Path == "/nginx", http.StatusBadRequest, err)
					}
					return
				}
				start = srv.now() // for the Date: the request ended now
			}
		}
		closeAfter = closeAfter || srv.closing.Load() // shutdown may have begun during the body
		integration, hs, ok := endpointOf(req.URL.Path)
		if !ok {
			writeResponse(bw, srv.dateLine(start), http.StatusNotFound, notFound, "", req.Method == http.MethodHead, closeAfter, req)
		} else {
			req.RemoteAddr = remote
			v, answerAs := srv.s.answer(ctx, peer, integration, hs, req)
			v = forProxy(answerAs, v)
			status, carried := answerStatus(answerAs, v)
			writeResponse(bw, srv.dateLine(start), status, v, carried, req.Method == http.MethodHead, closeAfter, req)
		}
		// Each answer is sent at once, as http.Server sends it: a client
		// may wait for it before sending the rest of a request that is
		// already partly buffered. The write deadline moves at most once
		// a second.
		if now = srv.now(); writeBy.Sub(now) < srv.writeTimeout-time.Second {
			writeBy = now.Add(srv.writeTimeout)
			c.SetWriteDeadline(writeBy)
		}
		if bw.Flush() != nil {
			return
		}
		if unread {
			srv.lingerClose(c)
		}
		if closeAfter {
			return
		}
	}
}

// screenRequest is the status of a request the listener refuses after
// reading it, or 0: what net/http's server refuses (a version other than
// 1.x, an HTTP/1.1 request without Host, a malformed Host, an invalid
// header name or value, an Expect it cannot meet), and what no proxy
// sends: HTTP/1.2–1.9, a target that is not origin-form.
func screenRequest(req *http.Request) int {
	if req.ProtoMajor != 1 || req.ProtoMinor > 1 {
		return http.StatusHTTPVersionNotSupported
	}
	if !strings.HasPrefix(req.RequestURI, "/") {
		return http.StatusBadRequest
	}
	// http.ReadRequest refused a repeated Host, and removed it from the
	// header: req.Host is its value.
	if req.ProtoMinor == 1 && req.Host == "" || !httpguts.ValidHostHeader(req.Host) {
		return http.StatusBadRequest
	}
	for name, vs := range req.Header {
		if !httpguts.ValidHeaderFieldName(name) {
			return http.StatusBadRequest
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return http.StatusBadRequest
			}
		}
	}
	if vs, ok := req.Header["Expect"]; ok && !expectsContinue(req) || len(vs) > 1 {
		return http.StatusExpectationFailed
	}
	return 0
}

// expectsContinue reports whether req says Expect: 100-continue (and
// nothing else).
func expectsContinue(req *http.Request) bool {
	vs := req.Header["Expect"]
	return len(vs) == 1 && strings.EqualFold(strings.TrimSpace(vs[0]), "100-continue")
}

// refuse answers a request the listener cannot take and closes the
// connection, letting the peer read the answer first: closing with
// unread bytes would send a reset that can destroy it (http.Server's
// closeWriteAndWait).
//
// nginx's auth_request passes only 401 and 403 on (any other status is
// an error to it, logged and answered 500), so a request to /nginx is
// refused 403 carrying the status in X-Lockgate-Status, as every other
// refusal (atk20g G3: a header byte net/http's reader refuses gave 400,
// which nginx turned into 500 without a refusal logged).
func (srv *httpServer) refuse(c net.Conn, bw *bufio.Writer, remote string, nginx bool, status int, why error) {
	srv.s.log.Warn("forward auth: refused", "peer", remote, "status", status, "reason", why.Error())
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	code := strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	if status == http.StatusRequestEntityTooLarge {
		code = httpjson.PayloadTooLarge
	}
	body := errorBody(code, "the proxy's request cannot be read as HTTP/1.1: "+text)
	carried := ""
	if nginx {
		carried = "X-Lockgate-Status: " + strconv.Itoa(status) + "\r\n"
		status = http.StatusForbidden
		text = strconv.Itoa(status) + " " + http.StatusText(status)
	}
	c.SetWriteDeadline(srv.now().Add(srv.writeTimeout))
	bw.WriteString("HTTP/1.1 " + text + "\r\nContent-Type: application/json\r\n" + carried + "Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n")
	bw.Write(body)
	if bw.Flush() != nil {
		return
	}
	srv.lingerClose(c)
}

// lingerClose lets the peer read what was written before the connection
// closes with bytes of its unread: it half-closes and reads the rest
// away, for half a second at most.
func (srv *httpServer) lingerClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	c.SetReadDeadline(srv.now().Add(500 * time.Millisecond))
	io.Copy(io.Discard, io.LimitReader(c, maxDiscardBytes))
}

// incomplete ends a connection whose request's header or body (part)
// was cut short by the read timeout or the peer's close, after the
// request had begun. A timeout is answered 408 (on /nginx, 403 carrying
// 408), whatever the part received looks like; a peer that went away
// gets no answer; one shutdown cut off (shutdown_timeout passed) is
// logged as such.
func (srv *httpServer) incomplete(hc *httpConn, bw *bufio.Writer, remote string, nginx bool, part string, err error) {
	c := hc.c
	if hc.cut.Load() {
		srv.s.log.Warn("forward auth: shutting down: shutdown_timeout passed with the request in flight: cut off", "peer", remote, "part", part)
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		limit := srv.readHeaderTimeout
		if part == "body" {
			limit = srv.readTimeout
		}
		srv.refuse(c, bw, remote, nginx, http.StatusRequestTimeout, fmt.Errorf("timeout: the request's %s was not received within %v: %w", part, limit, err))
		return
	}
	srv.s.log.Info("forward auth: the peer closed the connection during a request", "peer", remote, "part", part, "error", err.Error())
}

// asksNginx reports whether a request line (its first bytes) asks for
// /nginx, to refuse a request the reader could not take as nginx
// expects: a method and a target, separated by spaces or tabs, the
// target whole (followed by a space, tab or line end), even when the
// line is malformed (HTTP/0.9's, two spaces) or cut short.
func asksNginx(line []byte) bool {
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i+1]
	}
	fields := bytes.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' })
	if len(fields) < 2 {
		return false
	}
	// The target is whole when something follows it.
	if len(fields) == 2 && !bytes.ContainsAny(line[bytes.Index(line, fields[1])+len(fields[1]):], " \t\r\n") {
		return false
	}
	path, _, _ := bytes.Cut(fields[1], []byte{'?'})
	return string(path) == "/nginx"
}

var notFound = plain(http.StatusNotFound)

// framing are the headers the writer sets itself: a verdict's (a web
// ACL's custom response headers) never say how the response is framed.
var framing = []string{"Connection", "Content-Length", "Date", "Keep-Alive", "Trailer", "Transfer-Encoding"}

// writeResponse writes a response to req: status, v's headers (and
// X-Lockgate-Status: carried), and v's body unless head. Header names
// net/http would not write are dropped, and line breaks in values become
// spaces, as net/http's Header.Write does: nothing a web ACL says can
// split the response.
func writeResponse(bw *bufio.Writer, date []byte, status int, v verdict, carried string, head, closeAfter bool, req *http.Request) {
	if status == http.StatusOK {
		bw.WriteString("HTTP/1.1 200 OK\r\n")
	} else {
		text := http.StatusText(status)
		if text == "" {
			text = "status code " + strconv.Itoa(status)
		}
		bw.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + text + "\r\n")
	}
	bw.Write(date)
	if v.lines != nil && carried == "" {
		bw.Write(v.lines)
	} else {
		bw.Write(appendHeaderLines(bw.AvailableBuffer(), v.header, carried))
	}
	body := v.body
	if !bodyAllowed(status) {
		body = nil
	} else {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(len(body)))
		bw.WriteString("\r\n")
	}
	switch {
	case closeAfter:
		bw.WriteString("Connection: close\r\n")
	case req.ProtoMinor == 0:
		// HTTP/1.0 asked for keep-alive (else closeAfter): say it is kept.
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if !head {
		bw.Write(body)
	}
}

// appendHeaderLines appends to dst the lines of header, sorted by name,
// and X-Lockgate-Status: carried unless it is "". Header names net/http
// would not write are dropped, and so are the framing headers, which
// writeResponse writes itself.
func appendHeaderLines(dst []byte, header http.Header, carried string) []byte {
	line := func(name, value string) {
		dst = append(dst, name...)
		dst = append(dst, ": "...)
		dst = append(dst, headerValue(value)...)
		dst = append(dst, "\r\n"...)
	}
	if len(header) > 0 {
		names := make([]string, 0, len(header))
		for name := range header {
			if httpguts.ValidHeaderFieldName(name) && !slices.Contains(framing, http.CanonicalHeaderKey(name)) && (carried == "" || http.CanonicalHeaderKey(name) != "X-Lockgate-Status") {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			for _, value := range header[name] {
				line(name, value)
			}
		}
	}
	if carried != "" {
		line("X-Lockgate-Status", carried)
	}
	return dst
}

// bodyAllowed reports whether a response of status has a body (RFC 9110:
// not 1xx, 204, 304).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// headerValue is v as net/http writes a header value: CR and LF replaced
// by spaces, surrounding spaces and tabs trimmed.
func headerValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	return strings.Trim(v, " \t")
}

// dateLine is the Date header line for now, formatted once a second.
func (srv *httpServer) dateLine(now time.Time) []byte {
	sec := now.Unix()
	if d := srv.date.Load(); d != nil && d.sec == sec {
		return d.line
	}
	d := &dateLine{sec: sec, line: now.UTC().AppendFormat([]byte("Date: "), http.TimeFormat)}
	d.line = append(d.line, "\r\n"...)
	srv.date.Store(d)
	return d.line
}
