package gateway

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// endRequest follows each attack on its connection: when the framing
// held, the gateway answers it and closes, so every response is read
// without waiting on a timer.
const endRequest = "GET /end HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n"

// Framing attacks that already held when issue 13 was filed, kept as
// tests: each is sent with raw bytes, every response is read, and the
// upstream must have received exactly the requests the web ACL inspected
// — never a smuggled one, never X-Role: admin.
func TestFramingHolds(t *testing.T) {
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: shop.test\r\nX-Role: admin\r\n\r\n"
	for _, tc := range []struct {
		name, raw string
		statuses  []int    // the responses, in order (the last is /end's when the connection survives)
		targets   []string // what the upstream receives, in order
	}{
		{"CL.TE", "POST /f HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled + endRequest,
			[]int{200, 403, 200}, []string{"/f", "/end"}}, // chunked wins (RFC 9112 6.1); what follows is a request, inspected
		{"TE.CL", "POST /f HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 60\r\n\r\n0\r\n\r\n" + smuggled + endRequest,
			[]int{200, 403, 200}, []string{"/f", "/end"}},
		{"TE xchunked", "POST /f HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled + endRequest,
			[]int{501}, nil},
		{"TE chunked, identity", "POST /f HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled + endRequest,
			[]int{501}, nil},
		{"TE twice", "POST /f HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + smuggled + endRequest,
			[]int{501}, nil},
		{"space before colon", "POST /f HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled + endRequest,
			[]int{400}, nil},
		{"two Content-Lengths", "POST /f HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello" + smuggled + endRequest,
			[]int{400}, nil},
		{"obs-fold", "GET /fold HTTP/1.1\r\nHost: shop.test\r\nX-Role: user\r\n admin\r\n\r\n" + endRequest,
			[]int{403, 200}, []string{"/end"}},
		{"bare LF", "GET /lf HTTP/1.1\nHost: shop.test\nX-Role: admin\n\n" + endRequest,
			[]int{403, 200}, []string{"/end"}},
		{"CR in a value", "GET /cr HTTP/1.1\r\nHost: shop.test\r\nX-Role: user\radmin\r\n\r\n" + smuggled + endRequest,
			[]int{400}, nil},
		{"chunk extensions", "POST /ext HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\";c\r\nhello\r\n0;x=1\r\n\r\n" + endRequest,
			[]int{200, 200}, []string{"/ext", "/end"}},
		{"pipelining", "GET /p1 HTTP/1.1\r\nHost: shop.test\r\n\r\n" + smuggled + "GET /p3 HTTP/1.1\r\nHost: shop.test\r\n\r\n" + endRequest,
			[]int{200, 403, 200, 200}, []string{"/p1", "/p3", "/end"}},
		{"pipelined after a body", "POST /b HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\n\r\nhello" + smuggled + endRequest,
			[]int{200, 403, 200}, []string{"/b", "/end"}},
		{"absolute-form", "GET http://shop.test/abs?x=1;y HTTP/1.1\r\nHost: shop.test\r\n\r\n" + endRequest,
			[]int{200, 200}, []string{"/abs?x=1;y", "/end"}},
		{"path variants", "GET /a/..%2f..%2fb HTTP/1.1\r\nHost: shop.test\r\n\r\nGET //x/./y/../z HTTP/1.1\r\nHost: shop.test\r\n\r\n" +
			"GET /%2e%2e/%2E%2E/etc HTTP/1.1\r\nHost: shop.test\r\n\r\n" + endRequest,
			[]int{200, 200, 200, 200}, []string{"/a/..%2f..%2fb", "//x/./y/../z", "/%2e%2e/%2E%2E/etc", "/end"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRawGateway(t, "")
			c := g.dial(t, false)
			if _, err := io.WriteString(c, tc.raw); err != nil {
				t.Fatal(err)
			}
			// The gateway closes the connection after an error or /end.
			var statuses []int
			for {
				if _, err := c.br.Peek(1); err != nil {
					break
				}
				status, _ := c.read(t)
				statuses = append(statuses, status)
			}
			if !slices.Equal(statuses, tc.statuses) {
				t.Fatalf("responses %v, want %v", statuses, tc.statuses)
			}
			var targets []string
			for _, u := range g.shop.requests() {
				targets = append(targets, u.Target)
				for _, v := range u.header("X-Role") {
					if strings.Contains(v, "admin") {
						t.Errorf("X-Role %q reached the upstream", v)
					}
				}
			}
			if !slices.Equal(targets, tc.targets) {
				t.Fatalf("the upstream received %q, want %q", targets, tc.targets)
			}
			g.checkForwardedWasInspected(t)
		})
	}
}
