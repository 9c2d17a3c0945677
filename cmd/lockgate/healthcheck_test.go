package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The container's HEALTHCHECK: 0 when /readyz answers 200, 1 otherwise
// (nothing listening, or storage not ready), found from the same listen
// address serve uses.
func TestHealthcheck(t *testing.T) {
	addr := freeAddr(t)
	startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN=healthcheck-admin-token-0123")
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"unavailable","message":"storage"}`, http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"ready, address from LOCKGATE_LISTEN", []string{"LOCKGATE_LISTEN=" + addr}, nil, 0, "ok http://" + addr + "/readyz"},
		{"ready, --server", nil, []string{"--server", "http://" + addr, "--path", "/healthz"}, 0, "ok"},
		{"ready, -o json", []string{"LOCKGATE_LISTEN=" + addr}, []string{"-o", "json"}, 0, `"ready": true`},
		{"nothing listening", []string{"LOCKGATE_LISTEN=" + freeAddr(t)}, nil, 1, "connection refused"},
		{"not ready", nil, []string{"--server", notReady.URL}, 1, "503 Service Unavailable"},
		{"LOCKGATE_SERVER is not this process", []string{"LOCKGATE_LISTEN=" + freeAddr(t), "LOCKGATE_SERVER=http://" + addr}, nil, 1, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tc.env, append([]string{"healthcheck"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}

func TestLoopbackURL(t *testing.T) {
	for _, tc := range []struct {
		listen string
		tls    bool
		want   string
	}{
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080"},
		{":8080", true, "https://127.0.0.1:8080"},
		{"[::]:8080", false, "http://[::1]:8080"},
		{"10.0.0.5:80", false, "http://10.0.0.5:80"},
	} {
		if got := loopbackURL(tc.listen, tc.tls); got != tc.want {
			t.Errorf("loopbackURL(%q, %v) = %q, want %q", tc.listen, tc.tls, got, tc.want)
		}
	}
}
