package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// rawUpstream is an HTTP/1.1 server that parses nothing for the sake of
// its handler: it records the exact bytes of each request it receives
// (head, body framing, trailers) and answers 200, or what reply says.
// Being raw, it shows what a lenient backend would act on.
type rawUpstream struct {
	ln    net.Listener
	reply func(r *upstreamRequest) string // nil: 200 "ok"

	mu   sync.Mutex
	reqs []*upstreamRequest
}

// upstreamRequest is one request as the upstream received it.
type upstreamRequest struct {
	Raw      []byte // every byte of the request, as received
	Method   string
	Target   string
	Headers  []rawField // in order, names as received
	Trailers []rawField
	Body     []byte // decoded (chunks joined)
}

type rawField struct{ Name, Value string }

func (r *upstreamRequest) header(name string) []string {
	var vs []string
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			vs = append(vs, h.Value)
		}
	}
	return vs
}

func newRawUpstream(t testing.TB) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln}
	var wg sync.WaitGroup
	conns := map[net.Conn]bool{}
	var cmu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			conns[c] = true
			cmu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); u.serve(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		cmu.Lock()
		for c := range conns {
			c.Close()
		}
		cmu.Unlock()
		wg.Wait()
	})
	return u
}

func (u *rawUpstream) URL() string { return "http://" + u.ln.Addr().String() }

// requests returns the requests received so far.
func (u *rawUpstream) requests() []*upstreamRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*upstreamRequest(nil), u.reqs...)
}

func (u *rawUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// recorder keeps every byte read from the connection.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	rc.buf.Write(p[:n])
	return n, err
}

func (u *rawUpstream) serve(c net.Conn) {
	defer c.Close()
	rec := &recorder{r: c}
	br := bufio.NewReaderSize(rec, 1)
	for {
		req := &upstreamRequest{}
		// A request is recorded as soon as its head is read: a head that
		// arrives reached the upstream whether or not its body follows.
		if !u.readHead(br, req) {
			return
		}
		req.Raw = bytes.Clone(rec.buf.Bytes())
		u.mu.Lock()
		u.reqs = append(u.reqs, req)
		u.mu.Unlock()
		ok := u.readBody(br, req)
		u.mu.Lock()
		req.Raw = bytes.Clone(rec.buf.Bytes())
		u.mu.Unlock()
		rec.buf.Reset()
		if !ok {
			return
		}
		resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		if u.reply != nil {
			resp = u.reply(req)
		}
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
	}
}

func (u *rawUpstream) readHead(br *bufio.Reader, req *upstreamRequest) bool {
	line, err := br.ReadString('\n')
	if err != nil {
		return false
	}
	parts := strings.SplitN(strings.TrimRight(line, "\r\n"), " ", 3)
	if len(parts) != 3 {
		return false
	}
	req.Method, req.Target = parts[0], parts[1]
	fields, ok := readFields(br)
	req.Headers = fields
	return ok
}

// readFields reads header or trailer lines up to the blank line.
func readFields(br *bufio.Reader) ([]rawField, bool) {
	var fields []rawField
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return fields, false
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return fields, true
		}
		name, value, _ := strings.Cut(line, ":")
		fields = append(fields, rawField{name, strings.Trim(value, " \t")})
	}
}

func (u *rawUpstream) readBody(br *bufio.Reader, req *upstreamRequest) bool {
	chunked, length := false, int64(0)
	for _, h := range req.Headers {
		switch textproto.CanonicalMIMEHeaderKey(h.Name) {
		case "Transfer-Encoding":
			chunked = strings.Contains(strings.ToLower(h.Value), "chunked")
		case "Content-Length":
			length, _ = strconv.ParseInt(h.Value, 10, 64)
		}
	}
	if !chunked {
		body := make([]byte, length)
		_, err := io.ReadFull(br, body)
		req.Body = body
		return err == nil
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return false
		}
		size, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(size, 16, 64)
		if err != nil || n < 0 {
			return false
		}
		if n == 0 {
			trailers, ok := readFields(br)
			req.Trailers = trailers
			return ok
		}
		chunk := make([]byte, n+2) // data and its CRLF
		if _, err := io.ReadFull(br, chunk); err != nil {
			return false
		}
		req.Body = append(req.Body, chunk[:n]...)
	}
}
