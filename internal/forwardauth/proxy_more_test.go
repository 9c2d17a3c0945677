package forwardauth

import (
	"net/http"
	"testing"

	"github.com/lockgate/lockgate/internal/waflog"
)

// inspectedAsSent checks the headers lockgate inspected for the request
// of "headers anyone can write …" (forged copies of each, from
// 127.0.0.12) against what the application got: the proxy's X-Real-IP,
// and none of the others (atk20f F5: the documented configurations set
// the same lines on the request to lockgate as on the application's).
func inspectedAsSent(t *testing.T, headers []waflog.Header) {
	t.Helper()
	got := map[string][]string{}
	for _, h := range headers {
		got[http.CanonicalHeaderKey(h.Name)] = append(got[http.CanonicalHeaderKey(h.Name)], h.Value)
	}
	if v := got["X-Real-Ip"]; len(v) != 1 || v[0] != "127.0.0.12" {
		t.Errorf("lockgate inspected X-Real-IP %q, want the proxy's 127.0.0.12", v)
	}
	for _, name := range []string{"Forwarded", "True-Client-Ip", "Cf-Connecting-Ip", "X-Client-Ip", "X-Forwarded-Port", "X-Forwarded-Prefix"} {
		if v, ok := got[name]; ok {
			t.Errorf("lockgate inspected %s %q, which the application never gets", name, v)
		}
	}
}
