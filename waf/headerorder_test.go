package waf

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
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

// orderServer serves e behind a HeaderOrder listener (under TLS when cfg
// is set): 403 for a blocked request, 200 otherwise. A request for /skip
// is answered without a web ACL, so without Apply.
func orderServer(t *testing.T, e *Engine, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	order := NewHeaderOrder(ln)
	var served net.Listener = order
	if cfg != nil {
		served = tls.NewListener(order, cfg)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/skip" {
			return
		}
		var req Request
		if err := e.FillRequest(&req, r, RemoteIP(r)); err != nil {
			t.Error(err)
		}
		order.Apply(&req, r)
		if e.Evaluate(r.Context(), &req).Action == "BLOCK" {
			w.WriteHeader(http.StatusForbidden)
		}
	})}
	go srv.Serve(served)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// statuses sends raw on one connection and reads n responses.
func statuses(t *testing.T, conn net.Conn, raw string, n int) []int {
	t.Helper()
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var out []int
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
	return out
}

// A client cannot hide its header order from a HeaderOrder rule: an
// obs-fold line is unfolded as net/http unfolds it (RFC 9112, section
// 5.2: a server "MUST either reject the message by sending a 400 (Bad
// Request) ... or replace each received obs-fold with one or more SP
// octets"), a header block far over AWS's 8 KiB is followed (up to what
// net/http accepts) and inspected as OversizeHandling says, and a handler
// that skips Apply does not shift later requests' blocks. Raw bytes on a
// socket: a client library would not send these.
func TestHeaderOrderCannotBeHidden(t *testing.T) {
	e := engineFor(t, ruleJSON("order", 0, `{"Block":{}}`, bm(`{"HeaderOrder":{"OversizeHandling":"CONTINUE"}}`, "CONTAINS", "x-b:x-a", none)), Options{})
	addr := orderServer(t, e, nil)
	pad := "x-pad: " + strings.Repeat("a", 65000) + "\r\n"
	tests := []struct {
		doc  string
		raw  string
		want []int
	}{
		{"in order", "GET /a HTTP/1.1\r\nHost: x\r\nx-b: 1\r\nx-a: 2\r\n\r\n", []int{403}},
		{"obs-fold after x-b", "GET /a HTTP/1.1\r\nHost: x\r\nx-b: 1\r\n continued\r\nx-a: 2\r\n\r\n", []int{403}},
		{"obs-fold (tab) on the last field", "GET /a HTTP/1.1\r\nHost: x\r\nx-b: 1\r\nx-a: 2\r\n\tz\r\n\r\n", []int{403}},
		{"obs-fold, the other order: not the rule's", "GET /a HTTP/1.1\r\nHost: x\r\nx-a: 1\r\n continued\r\nx-b: 2\r\n\r\n", []int{200}},
		{"a 65 KB header after them: AWS's first 8 KiB (CONTINUE) hold host:x-b:x-a", "GET /a HTTP/1.1\r\nHost: x\r\nx-b: 1\r\nx-a: 2\r\n" + pad + "\r\n", []int{403}},
		{"a 65 KB header, the other order", "GET /a HTTP/1.1\r\nHost: x\r\nx-a: 1\r\nx-b: 2\r\n" + pad + "\r\n", []int{200}},
		{"five requests answered without Apply, then one with", strings.Repeat("GET /skip HTTP/1.1\r\nHost: x\r\nx-a: 1\r\n\r\n", 5) +
			"GET /a HTTP/1.1\r\nHost: x\r\nx-a: 1\r\nx-b: 2\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\nx-b: 1\r\nx-a: 2\r\n\r\n", []int{200, 200, 200, 200, 200, 200, 403}},
	}
	for _, tt := range tests {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(t, conn, tt.raw, len(tt.want)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.doc, got, tt.want)
		}
	}
}

// Where the order cannot be known (here TLS, which the listener sees as
// ciphertext; also HTTP/2, or a stream it stopped following), a rule
// that inspects HeaderOrder blocks: judging FillRequest's sorted list
// would let any client past a header-order rule. Either order is blocked.
func TestHeaderOrderUnknownFailsClosed(t *testing.T) {
	e := engineFor(t, ruleJSON("order", 0, `{"Block":{}}`, bm(`{"HeaderOrder":{"OversizeHandling":"CONTINUE"}}`, "CONTAINS", "x-b:x-a", none)), Options{})
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS() // for its certificate
	cfg := srv.TLS.Clone()
	srv.Close()
	addr := orderServer(t, e, cfg)
	for _, raw := range []string{
		"GET /a HTTP/1.1\r\nHost: x\r\nx-b: 1\r\nx-a: 2\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nx-a: 1\r\nx-b: 2\r\n\r\n",
	} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(t, conn, raw, 1); got[0] != 403 {
			t.Errorf("over TLS %q: %d, want 403", raw, got[0])
		}
	}
}

// Which rules an unknown order stops: the first whose outcome depends on
// HeaderOrder, whatever its action or how the statement uses it; not a
// rule that decides before reaching HeaderOrder, nor the rules before.
func TestHeaderOrderUnknownRules(t *testing.T) {
	order := bm(`{"HeaderOrder":{"OversizeHandling":"CONTINUE"}}`, "CONTAINS", "x-b:x-a", none)
	uri := func(s string) string { return bm(`{"UriPath":{}}`, "EXACTLY", s, none) }
	tests := []struct {
		doc, rules string
		want, rule string
	}{
		{"a Block rule", ruleJSON("r", 0, `{"Block":{}}`, order), "BLOCK", "r"},
		{"an Allow rule (an allow-list of browsers)", ruleJSON("r", 0, `{"Allow":{}}`, order), "BLOCK", "r"},
		{"a Count rule", ruleJSON("r", 0, `{"Count":{}}`, order), "BLOCK", "r"},
		{"Block on Not (everything but a browser's order)", ruleJSON("r", 0, `{"Block":{}}`, `{"NotStatement":{"Statement":`+order+`}}`), "BLOCK", "r"},
		{"an Allow rule before it decides first", ruleJSON("ok", 0, `{"Allow":{}}`, uri("/a")) + "," + ruleJSON("r", 1, `{"Block":{}}`, order), "ALLOW", "ok"},
		{"Or decided before HeaderOrder", ruleJSON("r", 0, `{"Allow":{}}`, `{"OrStatement":{"Statements":[`+uri("/a")+`,`+order+`]}}`), "ALLOW", "r"},
		{"And decided before HeaderOrder", ruleJSON("r", 0, `{"Block":{}}`, `{"AndStatement":{"Statements":[`+uri("/b")+`,`+order+`]}}`), "ALLOW", "Default_Action"},
	}
	for _, tt := range tests {
		e := engineFor(t, tt.rules, Options{})
		for _, known := range []bool{false, true} {
			req := &Request{URI: "/a", Headers: []Header{{"Host", "x"}, {"x-a", "1"}}, OrderUnknown: !known}
			d := e.Evaluate(bg, req)
			want, rule := tt.want, tt.rule
			if known && tt.rule == "r" && tt.want == "BLOCK" {
				// known and not the rule's order: the rule does not match
				// (a Not matches, and blocks)
				want, rule = "ALLOW", "Default_Action"
				if strings.Contains(tt.rules, "NotStatement") {
					want, rule = "BLOCK", "r"
				}
			}
			if d.Action != want || d.TerminatingRuleID != rule {
				t.Errorf("%s (order known %v): %s by %s, want %s by %s", tt.doc, known, d.Action, d.TerminatingRuleID, want, rule)
			}
		}
	}
}
