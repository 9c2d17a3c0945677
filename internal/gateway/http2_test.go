package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Over HTTP/2 (the gateway's TLS listener offers it by ALPN) the rule is
// the same: a repeated field is refused, trailers are not forwarded.
// Cookie is the exception HTTP/2 itself makes: it may be split into
// several fields (RFC 9113 8.2.3), which net/http joins into one.
func TestHTTP2SameRule(t *testing.T) {
	g := newRawGateway(t, "")
	srv := httptest.NewUnstartedServer(g.gw)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()
	do := func(header http.Header, body io.Reader, trailer http.Header) *http.Response {
		t.Helper()
		method := "GET"
		if body != nil {
			method = "POST"
		}
		req, _ := http.NewRequest(method, srv.URL+"/h2", body)
		req.Host = "shop.test"
		req.Header = header
		req.Trailer = trailer
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("served over %s", resp.Proto)
		}
		return resp
	}
	if resp := do(http.Header{"X-Role": {"user", "admin"}}, nil, nil); resp.StatusCode != 400 {
		t.Fatalf("a repeated field over HTTP/2: %d", resp.StatusCode)
	}
	if resp := do(http.Header{"X-Role": {"admin"}}, nil, nil); resp.StatusCode != 403 {
		t.Fatalf("X-Role admin over HTTP/2: %d", resp.StatusCode)
	}
	if resp := do(http.Header{"Cookie": {"a=1", "b=2"}}, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("split cookies over HTTP/2: %d", resp.StatusCode)
	}
	if got := g.shop.requests()[0].header("Cookie"); len(got) != 1 || got[0] != "a=1; b=2" {
		t.Fatalf("cookies upstream: %q", got)
	}
	// A trailer sent after the body: the body is forwarded, the trailer not.
	pr, pw := io.Pipe()
	trailer := http.Header{"X-Role": nil}
	go func() {
		io.WriteString(pw, "hello")
		trailer.Set("X-Role", "admin")
		pw.Close()
	}()
	if resp := do(http.Header{}, pr, trailer); resp.StatusCode != 200 {
		t.Fatalf("a body with a trailer: %d", resp.StatusCode)
	}
	u := g.shop.requests()[1]
	if string(u.Body) != "hello" || len(u.Trailers) != 0 || strings.Contains(string(u.Raw), "admin") {
		t.Fatalf("upstream received:\n%s", u.Raw)
	}
	g.checkForwardedWasInspected(t)
}
