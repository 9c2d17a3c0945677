package waf

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Headers reach the engine in the order and case the client sent them,
// request by request on one connection, pipelined, past bodies framed by
// Content-Length and chunked encoding. Raw bytes on a socket: a client
// library would normalise them.
func TestHeaderOrderRawSocket(t *testing.T) {
	e := engineFor(t, ruleJSON("order", 0, `{"Block":{}}`, bm(`{"HeaderOrder":{"OversizeHandling":"CONTINUE"}}`, "EXACTLY", "x-b:Host:x-A:content-length", none)), Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	order := NewHeaderOrder(ln)
	var mu sync.Mutex
	var seen []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if err := e.FillRequest(&req, r, RemoteIP(r)); err != nil {
			t.Error(err)
		}
		applied := order.Apply(&req, r)
		io.Copy(io.Discard, r.Body)
		var names []string
		for _, h := range req.Headers {
			names = append(names, h.Name)
		}
		d := e.Evaluate(r.Context(), &req)
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %v %s %s", r.URL.Path, applied, strings.Join(names, ":"), d.Action))
		mu.Unlock()
	})}
	go srv.Serve(order)
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := "POST /one HTTP/1.1\r\nx-b: 1\r\nHost: h\r\nx-A: 2\r\ncontent-length: 11\r\n\r\nhello\r\n\r\nxx" +
		"POST /two HTTP/1.1\r\nHOST: h\r\nTransfer-Encoding: chunked\r\nX-z: 3\r\n\r\n5;ext=1\r\nab\r\n\r\r\n0\r\nTrailer: t\r\n\r\n" +
		"GET /three HTTP/1.1\r\nUser-Agent: u\r\nhost: h\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for range 3 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"/one true x-b:Host:x-A:content-length BLOCK",
		"/two true HOST:Transfer-Encoding:X-z ALLOW",
		"/three true User-Agent:host:Accept:Connection ALLOW",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// A block that is not the request's (here: none at all, as over TLS or
// HTTP/2) leaves FillRequest's sorted headers.
func TestReorderHeadersRefusesAnotherRequest(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://h/a", nil)
	r.RequestURI = "/a"
	r.Host = "h"
	r.Header.Set("X-One", "1")
	req := &Request{Headers: []Header{{"Host", "h"}, {"X-One", "1"}}}
	for _, block := range []string{
		"GET /b HTTP/1.1\r\nHost: h\r\nX-One: 1\r\n\r\n",             // another target
		"GET /a HTTP/1.1\r\nHost: h\r\nX-One: 2\r\n\r\n",             // another value
		"GET /a HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nX-Two: 2\r\n\r\n", // a header net/http did not see
		"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",                         // one missing
	} {
		if ReorderHeaders(req, r, []byte(block)) || req.Headers[1].Name != "X-One" {
			t.Errorf("took %q", block)
		}
	}
	if !ReorderHeaders(req, r, []byte("GET /a HTTP/1.1\r\nx-one: 1\r\nHost: h\r\n\r\n")) || req.Headers[0].Name != "x-one" {
		t.Errorf("refused its own block: %v", req.Headers)
	}
}

// FuzzHeaderOrder feeds arbitrary streams, in arbitrary pieces, to the
// stream follower and arbitrary blocks to ReorderHeaders: neither panics,
// what is kept stays within its bounds, and a block is only taken for a
// request it describes.
func FuzzHeaderOrder(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n"), uint8(3))
	f.Add([]byte("POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), uint8(7))
	f.Add([]byte("PUT / HTTP/1.1\nContent-Length: 2\n\nabGET / HTTP/1.1\n\n"), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, piece uint8) {
		c := &orderConn{}
		step := int(piece%32) + 1
		for i := 0; i < len(stream); i += step {
			c.observe(stream[i:min(i+step, len(stream))])
		}
		if len(c.blocks) > maxQueued || len(c.buf) > maxHeaderBlock {
			t.Fatalf("%d blocks, %d bytes kept", len(c.blocks), len(c.buf))
		}
		r, _ := http.NewRequest("GET", "http://h/", nil)
		r.RequestURI = "/"
		for _, b := range c.blocks {
			req := &Request{}
			if ReorderHeaders(req, r, b) && !strings.HasPrefix(string(b), "GET / HTTP/1.1") {
				t.Fatalf("took %q for GET /", b)
			}
		}
		ReorderHeaders(&Request{}, r, stream)
	})
}
