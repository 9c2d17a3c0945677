package waf

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// AWS WAF Developer Guide, "Request components in AWS WAF" (URI path):
// "Inspect the part of the request URL that identifies a resource, for
// example, /images/daily-ad.jpg." The path is inspected as the client
// sent it: net/url's EscapedPath would re-escape a raw path it does not
// consider canonical, and a rule would see bytes the upstream never gets.
func TestTargetPathIsTheRawTarget(t *testing.T) {
	for _, tt := range []struct{ target, want string }{
		{`/a"b`, `/a"b`},
		{`/a%2Fb/../c`, `/a%2Fb/../c`},
		{`/%41dmin?x=1`, `/%41dmin`},
		{`/a{b}|c^`, `/a{b}|c^`},
		{`/p%zz`, `/p%zz`},
		{`http://shop.test/a"b?q`, `/a"b`},
		{`http://shop.test`, ``},
		{`/`, `/`},
	} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + tt.target + " HTTP/1.1\r\nHost: shop.test\r\n\r\n")))
		if err != nil {
			if tt.target == `/p%zz` {
				continue // net/http refuses it before any rule could see it
			}
			t.Fatalf("%s: %v", tt.target, err)
		}
		if got := TargetPath(r); got != tt.want {
			t.Errorf("TargetPath(%s) = %q, want %q", tt.target, got, tt.want)
		}
	}
	// Built in code, without a request target: the URL's escaped path.
	if got := TargetPath(httptest.NewRequest("GET", "/x%20y", nil)); got != "/x%20y" {
		t.Errorf("httptest request: %q", got)
	}
	r, _ := http.NewRequest("GET", "http://h/x y", nil)
	if got := TargetPath(r); got != "/x%20y" {
		t.Errorf("client request: %q", got)
	}
}
