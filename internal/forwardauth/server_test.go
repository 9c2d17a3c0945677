package forwardauth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/webacl"
)

// listenerService is forward auth with the proxied web ACL less its
// rate-based rule, so that a decision depends on the request alone (the
// differential tests ask two servers the same questions); 127.0.0.1 is
// trusted unless untrusted.
func listenerService(t testing.TB, untrusted bool) *Service {
	t.Helper()
	raw, err := os.ReadFile("testdata/proxied-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	var acl map[string]any
	if err := json.Unmarshal(raw, &acl); err != nil {
		t.Fatal(err)
	}
	acl["Rules"] = slices.DeleteFunc(acl["Rules"].([]any), func(r any) bool {
		_, rate := r.(map[string]any)["Statement"].(map[string]any)["RateBasedStatement"]
		return rate
	})
	path := filepath.Join(t.TempDir(), "acl.json")
	raw, _ = json.Marshal(acl)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	set, probs := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSetARN, Addresses: []string{"203.0.113.0/24", "127.0.0.66/32"}}}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	if untrusted {
		cfg.TrustedProxies = []string{"192.0.2.1/32"}
	}
	cfg.CopyHeaders = []string{"X-Amzn-Waf-Api"}
	cfg.Routes = []Route{{Name: "shop", WebACL: config.Path(path)}}
	s, probs := Provision(cfg, Options{WAF: set})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return s
}

// startListener serves s's HTTP endpoints on the listener's own loop,
// on a free port, until the test ends; configure, when given, changes
// the server (its limits) before it starts.
func startListener(t testing.TB, s *Service, configure ...func(*httpServer)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(s)
	for _, f := range configure {
		f(srv)
	}
	done := make(chan error, 1)
	go func() { done <- srv.serve(ln) }()
	t.Cleanup(func() {
		srv.closing.Store(true)
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

type answered struct {
	status int
	header http.Header
	body   string
	close  bool // Connection: close
}

// exchange writes raw on a new connection to addr, half-closes it, and
// reads every response until the server closes the connection.
func exchange(t testing.TB, addr, raw string, head bool) []answered {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	return readAll(t, bufio.NewReader(c), head)
}

func readAll(t testing.TB, br *bufio.Reader, head bool) []answered {
	t.Helper()
	var out []answered
	req := &http.Request{Method: http.MethodGet}
	if head {
		req.Method = http.MethodHead
	}
	for {
		if _, err := br.Peek(1); err != nil {
			return out
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("after %d responses: %v", len(out), err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d: %v", len(out), err)
		}
		out = append(out, answered{resp.StatusCode, resp.Header, string(body), resp.Close})
	}
}

// subrequest is a question as lockgate's nginx configuration sends it, from
// client, with extra header lines.
func subrequest(client string, extra ...string) string {
	return "GET /nginx HTTP/1.1\r\nHost: lockgate\r\nX-Original-Method: GET\r\nX-Original-URI: /products/42\r\n" +
		"X-Original-Host: shop.example\r\nX-Forwarded-For: " + client + "\r\n" + strings.Join(extra, "") + "\r\n"
}

func statuses(as []answered) []int {
	var out []int
	for _, a := range as {
		out = append(out, a.status)
	}
	return out
}

// TestListenerFraming: the listener answers every request it reads, in
// order, once, and never reads a request out of another's body, nor after
// one whose end it cannot be sure of (it closes the connection instead).
// Refusals are net/http's (RFC 9112 sections 6.3 and 11.2 on smuggling).
func TestListenerFraming(t *testing.T) {
	addr := startListener(t, listenerService(t, false))
	allowed, blocked := subrequest("192.0.2.1"), subrequest("203.0.113.9")
	smuggled := blocked // a request that would be refused if it were read
	big := strings.Repeat("a", maxDiscardBytes+1)
	for _, tc := range []struct {
		name  string
		raw   string
		head  bool
		want  []int
		close bool // the last answer says Connection: close
	}{
		{"keep-alive, pipelined", allowed + blocked + allowed, false, []int{200, 403, 200}, false},
		{"HTTP/1.0 closes", strings.Replace(allowed, "HTTP/1.1", "HTTP/1.0", 1) + allowed, false, []int{200}, true},
		{"HTTP/1.0 keep-alive: closed all the same (atk20g G1)", strings.Replace(allowed, "HTTP/1.1", "HTTP/1.0", 1)[:len(allowed)-2] + "Connection: keep-alive\r\n\r\n" + allowed, false, []int{200}, true},
		{"Connection: close", subrequest("192.0.2.1", "Connection: close\r\n") + allowed, false, []int{200}, true},
		{"a body is skipped, not read as a request", "POST /nginx HTTP/1.1\r\nHost: l\r\nX-Original-Method: POST\r\nX-Original-URI: /\r\nX-Forwarded-For: 192.0.2.1\r\nContent-Length: " +
			strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled + allowed, false, []int{200, 200}, false},
		{"chunked body is skipped, then the connection closed", "POST /nginx HTTP/1.1\r\nHost: l\r\nX-Original-Method: POST\r\nX-Original-URI: /\r\nX-Forwarded-For: 192.0.2.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5\r\nhello\r\n0\r\n\r\n" + smuggled, false, []int{200}, true},
		{"Content-Length and chunked: chunked, then closed", "POST /nginx HTTP/1.1\r\nHost: l\r\nX-Original-Method: POST\r\nX-Original-URI: /\r\nX-Forwarded-For: 192.0.2.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"0\r\n\r\n" + smuggled, false, []int{200}, true},
		{"two Content-Lengths that differ", "POST /nginx HTTP/1.1\r\nHost: l\r\nContent-Length: 0\r\nContent-Length: " + strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled, false, []int{403}, true},
		{"a Content-Length that is not a number", "POST /nginx HTTP/1.1\r\nHost: l\r\nContent-Length: +5\r\n\r\n", false, []int{403}, true},
		{"transfer coding other than chunked", "POST /nginx HTTP/1.1\r\nHost: l\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled, false, []int{403}, true},
		// A body that is not one is a request not received whole: refused
		// (net/http's server answers it, its handler not reading the body).
		{"malformed chunk: refused, closed", "POST /nginx HTTP/1.1\r\nHost: l\r\nX-Original-Method: POST\r\nX-Original-URI: /\r\nX-Forwarded-For: 192.0.2.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + smuggled, false, []int{403}, true},
		{"a long body: answered, closed", "POST /nginx HTTP/1.1\r\nHost: l\r\nX-Original-Method: POST\r\nX-Original-URI: /\r\nX-Forwarded-For: 192.0.2.1\r\nContent-Length: " + strconv.Itoa(len(big)+len(smuggled)) + "\r\n\r\n" + big + smuggled, false, []int{200}, true},
		{"100-continue: answered without the body, closed", "POST /nginx HTTP/1.1\r\nHost: l\r\nX-Original-Method: POST\r\nX-Original-URI: /\r\nX-Forwarded-For: 192.0.2.1\r\nExpect: 100-continue\r\nContent-Length: " + strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled, false, []int{200}, true},
		{"another Expect", subrequest("192.0.2.1", "Expect: something\r\n") + allowed, false, []int{403}, true},
		{"space before the colon", subrequest("192.0.2.1", "X-Attack : 1\r\n"), false, []int{403}, true},
		{"invalid header name", subrequest("192.0.2.1", "X(Attack): 1\r\n"), false, []int{403}, true},
		{"control byte in a value", subrequest("192.0.2.1", "X-Attack: a\x01b\r\n"), false, []int{403}, true},
		{"a line without a colon", subrequest("192.0.2.1", "X-Attack\r\n"), false, []int{403}, true},
		{"obs-fold at the start", "GET /nginx HTTP/1.1\r\n Host: l\r\n\r\n", false, []int{403}, true},
		{"obs-fold joins a value, as net/http does", subrequest("192.0.2.1", "User-Agent: a\r\n badbot\r\n"), false, []int{403}, false},
		{"bare LF, as net/http reads it", strings.ReplaceAll(allowed, "\r\n", "\n"), false, []int{200}, false},
		{"two Host headers", subrequest("192.0.2.1", "Host: other\r\n"), false, []int{403}, true},
		{"HTTP/1.1 without Host", strings.Replace(allowed, "Host: lockgate\r\n", "", 1), false, []int{403}, true},
		{"malformed Host", strings.Replace(allowed, "Host: lockgate", "Host: a b", 1), false, []int{403}, true},
		{"HTTP/1.0 without Host", strings.Replace(strings.Replace(allowed, "Host: lockgate\r\n", "", 1), "HTTP/1.1", "HTTP/1.0", 1), false, []int{200}, true},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false, []int{505}, true},
		{"HTTP/1.2", strings.Replace(allowed, "HTTP/1.1", "HTTP/1.2", 1), false, []int{403}, true},
		{"absolute-form target", strings.Replace(allowed, "GET /nginx", "GET http://lockgate/nginx", 1), false, []int{403}, true},
		{"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: l\r\n\r\n", false, []int{400}, true},
		// atk20i F2: on /nginx, 403 carrying 400, as nginx expects.
		{"garbage request line", "GET /nginx\r\n\r\n" + allowed, false, []int{403}, true},
		{"oversize header", subrequest("192.0.2.1", "X-Big: "+strings.Repeat("b", maxHeaderBytes+8192)+"\r\n"), false, []int{403}, true},
		{"unknown path", strings.Replace(allowed, "/nginx", "/nginx/", 1) + allowed, false, []int{404, 200}, false},
		{"HEAD", strings.Replace(blocked, "GET /nginx", "HEAD /nginx", 1), true, []int{403}, false},
		// atk20g G1: http.ReadRequest drops an HTTP/1.0 request's
		// Transfer-Encoding and reads no chunked body; the connection is
		// closed after the answer, so the body is never read as requests.
		{"HTTP/1.0 chunked keep-alive: closed", "POST /nginx HTTP/1.0\r\nHost: l\r\nX-Original-Method: POST\r\nX-Original-URI: /\r\nX-Forwarded-For: 192.0.2.1\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(int64(len(smuggled)), 16) + "\r\n" + smuggled + "\r\n0\r\n\r\n", false, []int{200}, true},
		// The reader's refusals of /caddy keep their status (Caddy passes
		// it to the client); /nginx's are 403 carrying it (above).
		{"caddy: control byte in a value", strings.Replace(subrequest("192.0.2.1", "X-Attack: a\x01b\r\n"), "/nginx", "/caddy", 1), false, []int{400}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, addr, tc.raw, tc.head)
			if !slices.Equal(statuses(got), tc.want) {
				t.Fatalf("statuses %v, want %v", statuses(got), tc.want)
			}
			last := got[len(got)-1]
			if last.close != tc.close {
				t.Errorf("Connection: close %v, want %v", last.close, tc.close)
			}
			if strings.HasPrefix(tc.raw, "GET /nginx") && last.status == http.StatusForbidden && tc.want[len(tc.want)-1] == http.StatusForbidden && last.close {
				// A refusal of the reader or the screen carries its status
				// (atk20g G3: nginx took a bare 400 for an error, 500).
				if last.header.Get("X-Lockgate-Status") == "" {
					t.Errorf("refusal to nginx carries no X-Lockgate-Status")
				}
			}
			if tc.head && last.body != "" {
				t.Errorf("HEAD answered with a body %q", last.body)
			}
		})
	}
}

// TestListenerKeepAlive: a connection stays open between HTTP/1.1
// requests (HTTP/1.0 ones close it: TestListenerFraming).
func TestListenerKeepAlive(t *testing.T) {
	c, br := dialListener(t, startListener(t, listenerService(t, false)))
	for i, raw := range []string{
		subrequest("192.0.2.1"),
		subrequest("192.0.2.1", "Connection: keep-alive\r\n"),
		subrequest("203.0.113.1"),
		subrequest("192.0.2.1"),
	} {
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.Close {
			t.Fatalf("request %d: the connection is closed", i)
		}
		if resp.Header.Get("Date") == "" || resp.ContentLength < 0 {
			t.Errorf("request %d: no Date or Content-Length: %v", i, resp.Header)
		}
	}
}

// TestListenerUntrustedPeer: a peer that is not a trusted proxy is
// refused through the listener too.
func TestListenerUntrustedPeer(t *testing.T) {
	addr := startListener(t, listenerService(t, true))
	// Refused, and the connection closed (atk20g G4: kept open for the
	// next request, as a proxy's is).
	if got := exchange(t, addr, subrequest("192.0.2.1")+subrequest("192.0.2.1"), false); !slices.Equal(statuses(got), []int{403}) || !got[0].close {
		t.Fatalf("statuses %v (close %v), want [403] closed", statuses(got), len(got) > 0 && got[0].close)
	}
}

// TestWriteResponseSanitises: a verdict's header (a web ACL's custom
// response headers) cannot split the response or set its framing.
func TestWriteResponseSanitises(t *testing.T) {
	var b strings.Builder
	bw := bufio.NewWriter(&b)
	v := verdict{status: 429, header: http.Header{
		"X-Note":            {"a\r\nSet-Cookie: evil=1"},
		"Content-Length":    {"0"},
		"Transfer-Encoding": {"chunked"},
		"Bad Name":          {"x"},
	}, body: []byte("slow down\n")}
	writeResponse(bw, []byte("Date: Sun, 29 Nov 2026 17:00:00 GMT\r\n"), 429, v, "", false, false, &http.Request{ProtoMinor: 1})
	bw.Flush()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(b.String())), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "slow down\n" || resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Note") != "a  Set-Cookie: evil=1" ||
		len(resp.TransferEncoding) > 0 || resp.Header.Get("Bad Name") != "" {
		t.Fatalf("%q", b.String())
	}
}

// FuzzListener is the listener against net/http's server running the
// same handler, on whatever bytes a peer sends: every allow the listener
// answers, net/http's server answers to the request at the same place
// in the stream, with the same headers. The listener may refuse more
// (it is stricter) and close sooner, never read the stream differently.
func FuzzListener(f *testing.F) {
	allowed := subrequest("192.0.2.1")
	for _, seed := range []string{
		allowed + allowed,
		strings.ReplaceAll(allowed, "\r\n", "\n"),
		"POST /nginx HTTP/1.1\r\nHost: l\r\nX-Original-Method: POST\r\nX-Original-URI: /\r\nX-Forwarded-For: 192.0.2.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + allowed,
		"POST /nginx HTTP/1.1\r\nHost: l\r\nContent-Length: 0\r\nContent-Length: 3\r\n\r\nabc" + allowed,
		strings.Replace(allowed, "HTTP/1.1", "HTTP/1.0", 1) + allowed,
		subrequest("192.0.2.1", "X-A: a\r\n b\r\n") + allowed,
	} {
		f.Add([]byte(seed))
	}
	s := listenerService(f, false)
	mine := startListener(f, s)
	theirs := httptest.NewServer(s.Handler())
	f.Cleanup(theirs.Close)
	f.Fuzz(func(t *testing.T, raw []byte) {
		// A response to HEAD has no body whatever its framing says:
		// reading it needs the request, which only the servers parse.
		if len(raw) > 64<<10 || bytes.Contains(raw, []byte("HEAD")) {
			return
		}
		got := exchange(t, mine, string(raw), false)
		want := exchange(t, theirs.Listener.Addr().String(), string(raw), false)
		for i, a := range got {
			if a.status/100 != 2 {
				continue
			}
			if i >= len(want) || want[i].status != a.status || want[i].header.Get("X-Amzn-Waf-Api") != a.header.Get("X-Amzn-Waf-Api") {
				t.Fatalf("the listener answered %d to request %d; net/http: %v", a.status, i, statuses(want))
			}
		}
	})
}

// TestListenerAnswersBeforeTheNextRequestEnds: an answer is sent while
// the next request is only partly there, since its client may wait for
// the answer before sending the rest.
func TestListenerAnswersBeforeTheNextRequestEnds(t *testing.T) {
	c, br := dialListener(t, startListener(t, listenerService(t, false)))
	next := subrequest("192.0.2.1")
	io.WriteString(c, subrequest("192.0.2.1")+next[:20])
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first answer: %v %v", resp, err)
	}
	io.WriteString(c, next[20:])
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("second answer: %v %v", resp, err)
	}
}

// dialListener opens a connection to the listener at addr, closed at the
// end of the test, and a reader of its answers.
func dialListener(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}
