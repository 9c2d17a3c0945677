package gateway

import (
	"io"
	"net/http"
	"testing"
)

// atk20f F8: a route with path_case: insensitive refuses (400) a path
// that a case-insensitive upstream (IIS) serves under it but that is
// routed elsewhere; without it such a path reaches the other route's
// upstream.
func TestPathCaseInsensitive(t *testing.T) {
	open, priv := echoUpstream(t, "open"), echoUpstream(t, "priv")
	yaml := func(pathCase string) string {
		return `gateway:
  listen: 127.0.0.1:0
  routes:
    - name: open
      upstreams: [` + open.URL + `]
    - name: priv
      path_prefix: /priv/
      upstreams: [` + priv.URL + `]
` + pathCase + `waf: {}
`
	}
	for _, tc := range []struct {
		name, pathCase string
		escaped        string // what answers a path escaping priv
	}{
		{"insensitive", "      path_case: insensitive\n", "400"},
		{"sensitive", "", "open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, yaml(tc.pathCase))
			for path, want := range map[string]string{
				"/priv/x": "priv", "/x": "open", "/PRIV/x": tc.escaped, "/Priv/x": tc.escaped,
				"/priv./x": tc.escaped, "/priv::$DATA/x": tc.escaped, "/PRIV~1/x": tc.escaped,
			} {
				resp, err := http.Get(f.srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				got := resp.Header.Get("X-Upstream")
				if resp.StatusCode == http.StatusBadRequest {
					got = "400"
				}
				if got != want {
					t.Errorf("%s: %d from %q, want %s", path, resp.StatusCode, resp.Header.Get("X-Upstream"), want)
				}
			}
		})
	}
}
