package forwardauth

import (
	"net/http"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

// FuzzFromHTTP: whatever a proxy (or whoever reaches the port) sends,
// reading the original request neither panics nor yields a request
// without a method, an origin-form path or a client address; the host is
// the one the proxy says (never the subrequest's own), the version one
// of HTTP's.
func FuzzFromHTTP(f *testing.F) {
	f.Add("GET", "/login?x=1", "shop.example", "192.0.2.1, 127.0.0.1", "https")
	f.Add("", "", "", "", "")
	f.Add("POST", "http://evil/", "[::1]:80", "not-an-ip", "HTTPS")
	f.Add("GET", "/#frag?x", "h", "::ffff:192.0.2.1", "http")
	f.Add("GET", "/", "", "192.0.2.1", "HTTP/1.0")
	s := &state{cfg: Config{ClientIPHeader: "X-Forwarded-For"}, trusted: newTrusted("127.0.0.1/32"), hops: newTrusted("127.0.0.1/32", "198.51.100.0/24")}
	f.Fuzz(func(t *testing.T, method, uri, host, xff, proto string) {
		for _, hs := range []headerSet{nginxHeaders, caddyHeaders, traefikHeaders} {
			r, _ := http.NewRequest(http.MethodGet, "http://lockgate/nginx", nil)
			r.Header.Set(hs.method, method)
			r.Header.Set(hs.uri, uri)
			r.Header.Set(hs.host, host)
			r.Header.Set(hs.proto, proto)
			if hs.version != "" {
				r.Header.Set(hs.version, proto)
			}
			r.Header.Set("X-Forwarded-For", xff)
			o := new(original)
			if err := s.fromHTTP(o, Nginx, hs, r); err != nil {
				continue
			}
			if o.method == "" || !strings.HasPrefix(o.uri, "/") || !o.client.IsValid() || strings.Contains(o.uri, "?") {
				t.Fatalf("accepted %+v", o)
			}
			if o.host != host || !strings.HasPrefix(o.proto, "HTTP/") || len(o.proto) != len("HTTP/1.1") {
				t.Fatalf("host %q, version %q from %q, %q", o.host, o.proto, host, proto)
			}
			_ = o.httpRequest(t.Context())
		}
	})
}

// FuzzFromCheck: Envoy's attributes, however odd, never panic.
func FuzzFromCheck(f *testing.F) {
	f.Add("GET", "/a?b=c", "shop.example", "192.0.2.1", "body", int64(4))
	f.Add("", "", "", "", "", int64(-1))
	f.Add("GET", "x", "h", "fe80::1%eth0", "", int64(0))
	f.Fuzz(func(t *testing.T, method, path, host, source, body string, size int64) {
		req := envoyCheck(source, method, path, map[string]string{":path": path, "cookie": body}, body)
		req.Attributes.Request.Http.Host, req.Attributes.Request.Http.Size = host, size
		o, err := fromCheck(req)
		if err != nil {
			return
		}
		if o.method == "" || !strings.HasPrefix(o.uri, "/") || !o.client.IsValid() || o.bodySize < int64(len(o.body)) {
			t.Fatalf("accepted %+v", o)
		}
		_ = o.httpRequest(t.Context())
		_, _ = fromCheck(&authv3.CheckRequest{})
	})
}
