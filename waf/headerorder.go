package waf

import (
	"bytes"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
)

// HeaderOrder keeps the order and case in which HTTP/1.x clients send
// their headers, which net/http forgets (it canonicalises the names into
// a map). AWS WAF inspects headers as received (HeaderOrder, Headers) and
// logs them so; FillRequest alone can only sort them.
//
// Wrap the listener an http.Server serves (below TLS, the wrapper sees
// only ciphertext and changes nothing), and call Apply after FillRequest.
// Each connection's stream is followed request by request, bodies
// skipped by their Content-Length or chunked framing, so pipelined
// requests keep their own blocks; obsolete line folding is unfolded as
// net/http unfolds it. Apply checks the block against the request
// net/http parsed and, when they disagree (HTTP/2, a block over what
// net/http accepts, a framing it does not follow), leaves the headers
// sorted and Request.OrderUnknown set: a rule that then inspects
// HeaderOrder blocks the request instead of deciding on a guessed order.
type HeaderOrder struct {
	net.Listener
	conns sync.Map // remote address → *orderConn
}

// NewHeaderOrder wraps l.
func NewHeaderOrder(l net.Listener) *HeaderOrder { return &HeaderOrder{Listener: l} }

// Accept implements net.Listener.
func (h *HeaderOrder) Accept() (net.Conn, error) {
	c, err := h.Listener.Accept()
	if err != nil {
		return c, err
	}
	oc := &orderConn{Conn: c, owner: h, key: c.RemoteAddr().String()}
	h.conns.Store(oc.key, oc)
	return oc, nil
}

// Apply puts req's headers in the order and case r's client sent them,
// when one of the connection's header blocks is r's, and reports whether
// it did. Older blocks are dropped with it: they belong to requests
// answered without Apply. When none is r's, req.OrderUnknown stays set.
func (h *HeaderOrder) Apply(req *Request, r *http.Request) bool {
	v, ok := h.conns.Load(r.RemoteAddr)
	if !ok {
		return false
	}
	return v.(*orderConn).apply(req, r)
}

// A header block is followed up to what net/http's server accepts by
// default (DefaultMaxHeaderBytes plus the 4096 bytes of slack it allows):
// past that the connection is no longer followed and its requests' order
// is unknown. A connection keeps at most maxQueued blocks, and at most
// maxHeaderBlock bytes of them, that no request has claimed (a handler
// that does not call Apply leaves its block): the oldest go first.
const (
	maxHeaderBlock = http.DefaultMaxHeaderBytes + 4096
	maxQueued      = 4
)

type orderConn struct {
	net.Conn
	owner *HeaderOrder
	key   string

	mu     sync.Mutex
	buf    []byte   // the header block being read
	blocks [][]byte // blocks read and not yet claimed, oldest first
	skip   int64    // body bytes still to skip (Content-Length framing)
	chunk  chunkState
	lost   bool // the stream is no longer followed
	seen   bool // a byte has been read
}

type chunkState uint8

const (
	chunkNone    chunkState = iota
	chunkSize               // reading a chunk-size line (in buf)
	chunkData               // skipping chunk data (skip bytes), then its CRLF
	chunkDataEnd            // skipping the CRLF after the data
	chunkTrailer            // reading trailer lines until an empty one
)

func (c *orderConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.observe(p[:n])
		c.mu.Unlock()
	}
	return n, err
}

func (c *orderConn) Close() error {
	c.owner.conns.CompareAndDelete(c.key, c)
	return c.Conn.Close()
}

// apply claims the oldest header block that is r's, and those before it.
func (c *orderConn) apply(req *Request, r *http.Request) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, b := range c.blocks {
		if ReorderHeaders(req, r, b) {
			c.blocks = c.blocks[i+1:]
			return true
		}
	}
	return false
}

// observe follows the stream: header blocks are kept, bodies skipped.
func (c *orderConn) observe(p []byte) {
	if !c.seen && len(p) > 0 {
		c.seen = true
		c.lost = p[0] == 0x16 // a TLS handshake: nothing to follow here
	}
	for len(p) > 0 && !c.lost {
		switch {
		case c.skip > 0:
			n := min(int64(len(p)), c.skip)
			c.skip -= n
			p = p[n:]
			if c.skip == 0 && c.chunk == chunkData {
				c.chunk = chunkDataEnd
			}
		case c.chunk == chunkDataEnd:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			p, c.chunk = p[i+1:], chunkSize
		case c.chunk == chunkSize || c.chunk == chunkTrailer:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				c.keep(p)
				return
			}
			c.keep(p[:i])
			p = p[i+1:]
			line := strings.TrimSpace(string(c.buf))
			c.buf = c.buf[:0]
			if c.chunk == chunkTrailer {
				if line == "" {
					c.chunk = chunkNone
				}
				continue
			}
			size, _, _ := strings.Cut(line, ";")
			n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
			switch {
			case err != nil || n < 0:
				c.lost = true
			case n == 0:
				c.chunk = chunkTrailer
			default:
				c.chunk, c.skip = chunkData, n
			}
		default: // a header block
			if len(c.buf) == 0 {
				for len(p) > 0 && (p[0] == '\r' || p[0] == '\n') { // blank lines before a request
					p = p[1:]
				}
				if len(p) == 0 {
					return
				}
			}
			start := len(c.buf)
			c.keep(p)
			end := headerEnd(c.buf, max(0, start-3))
			if end < 0 {
				return
			}
			block := c.buf[:end]
			p = p[end-start:]
			c.buf = nil
			queued := len(block)
			for _, b := range c.blocks {
				queued += len(b)
			}
			for len(c.blocks) > 0 && (len(c.blocks) >= maxQueued || queued > maxHeaderBlock) {
				queued -= len(c.blocks[0])
				c.blocks = c.blocks[1:]
			}
			c.blocks = append(c.blocks, block)
			c.frame(block)
		}
	}
}

// keep adds to the partial line or block, giving up past the bound.
func (c *orderConn) keep(p []byte) {
	if len(c.buf)+len(p) > maxHeaderBlock {
		c.lost, c.buf, c.blocks = true, nil, nil
		return
	}
	c.buf = append(c.buf, p...)
}

// headerEnd is the length of the block up to and including the blank
// line that ends it, or -1.
func headerEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// frame reads a request's body framing from its header block.
func (c *orderConn) frame(block []byte) {
	_, fields := fieldLines(block)
	for _, line := range fields {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimLeft(value, " \t")
		switch {
		case strings.EqualFold(name, "Transfer-Encoding"):
			if strings.Contains(strings.ToLower(value), "chunked") {
				c.chunk, c.skip = chunkSize, 0
				return
			}
			c.lost = true // a framing net/http refuses or closes on
			return
		case strings.EqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 {
				c.lost = true
				return
			}
			c.skip = n
		}
	}
}

// fieldLines splits a header block into its request line and its field
// lines, each unfolded as net/textproto reads it: a line starting with a
// space or tab (RFC 9112's obsolete line folding) continues the field
// before it, joined by one space, each part trimmed of spaces and tabs.
// RFC 9112, section 5.2: a server "MUST either reject the message by
// sending a 400 (Bad Request) ... or replace each received obs-fold with
// one or more SP octets prior to interpreting the field value"; net/http
// replaces, so the block must be read the same way to be recognised.
func fieldLines(block []byte) (requestLine string, fields []string) {
	lines := strings.Split(strings.TrimRight(string(block), "\r\n"), "\n")
	requestLine = strings.TrimSuffix(lines[0], "\r")
	for _, line := range lines[1:] {
		line = strings.TrimSuffix(line, "\r")
		if line != "" && (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += " " + strings.Trim(line, " \t")
			continue
		}
		fields = append(fields, strings.Trim(line, " \t"))
	}
	return requestLine, fields
}

// ReorderHeaders sets req's headers from block, the raw header block of
// r (its request line, then a line per header field), in the order and
// case received, and clears req.OrderUnknown. It does so only when the
// block is r's: same method and target, and the same header fields
// net/http parsed; otherwise req is left as it is and it reports false.
func ReorderHeaders(req *Request, r *http.Request, block []byte) bool {
	requestLine, fields := fieldLines(block)
	method, rest, _ := strings.Cut(requestLine, " ")
	target, proto, _ := strings.Cut(rest, " ")
	if method != r.Method || target != r.RequestURI || proto != r.Proto {
		return false
	}
	headers := make([]Header, 0, len(fields))
	counted := 0
	for _, line := range fields {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return false
		}
		value = strings.TrimLeft(value, " \t")
		canon := textproto.CanonicalMIMEHeaderKey(name)
		switch canon {
		case "Host":
			if value != r.Host {
				return false
			}
		case "Transfer-Encoding": // net/http moves it out of Header
		default:
			if !containsValue(r.Header[canon], value) {
				return false
			}
			counted++
		}
		headers = append(headers, Header{Name: name, Value: value})
	}
	total := 0
	for name, vs := range r.Header {
		if name != "Transfer-Encoding" {
			total += len(vs)
		}
	}
	if counted != total {
		return false
	}
	req.Headers = append(req.Headers[:0], headers...)
	req.OrderUnknown = false
	return true
}

func containsValue(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
