package gateway

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// identityAuthorizer allows every request and sets identity headers for
// the upstream, as the authz authorizer does after stripping the
// client's own.
type identityAuthorizer struct{}

var identityHeaders = map[string]string{
	"X-Lockgate-Principal": "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b",
	"X-Lockgate-Username":  "cognitouser",
	"X-Lockgate-Groups":    "pet-veterinarian",
}

func (identityAuthorizer) Authorize(_ http.ResponseWriter, r *http.Request, _ netip.Addr) bool {
	for h := range identityHeaders {
		r.Header.Del(h)
	}
	for h, v := range identityHeaders {
		r.Header.Set(h, v)
	}
	return true
}

// Issue 18: "Allowed requests reach the upstream with identity headers
// (principal, groups, chosen claims)". RFC 9110 §7.6.1 lets a client name
// any header in Connection as hop-by-hop, and a proxy removes the headers
// named there — but the identity headers are the gateway's own, set after
// the client's were stripped: a client naming them must not make an
// allowed request reach the upstream with no identity (atk-authz S2).
// Written on a raw socket: a client library would not send such a
// Connection header.
func TestIdentityHeadersSurviveClientConnectionHeader(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(r.Header)
	}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfgPath, []byte(`gateway:
  listen: 127.0.0.1:0
  trusted_proxies: ["127.0.0.1/32"]
  routes:
    - name: api
      path_prefix: /
      upstreams: [`+up.URL+`]
      authorizer: ident
`), 0o600)
	gw, err := New(Options{Registry: prometheus.NewRegistry(), Load: func() (Snapshot, error) {
		s, err := loadSnapshot(cfgPath)
		s.Authorizer = func(name string) Authorizer {
			if name == "ident" {
				return identityAuthorizer{}
			}
			return nil
		}
		return s, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() { srv.Close(); gw.Close() })

	for _, conn := range []string{
		"close",
		"close, X-Lockgate-Principal, X-Lockgate-Groups, X-Lockgate-Username",
		"X-Lockgate-Principal",
		"keep-alive, x-lockgate-groups",
	} {
		t.Run(conn, func(t *testing.T) {
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET /h HTTP/1.1\r\nHost: api.example\r\nX-Forwarded-For: 192.0.2.10\r\nConnection: "+conn+"\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var got http.Header
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			var missing []string
			for h, v := range identityHeaders {
				if got.Get(h) != v {
					missing = append(missing, h+"="+got.Get(h))
				}
			}
			if len(missing) > 0 {
				t.Fatalf("the upstream received %s, want %v (Connection: %s)", strings.Join(missing, ", "), identityHeaders, conn)
			}
		})
	}
}
