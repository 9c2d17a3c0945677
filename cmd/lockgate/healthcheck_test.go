package main

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The container's HEALTHCHECK: 0 when /readyz answers 200, 1 otherwise
// (nothing listening, or storage not ready), found from the same listen
// address serve uses.
func TestHealthcheck(t *testing.T) {
	addr := freeAddr(t)
	startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN=healthcheck-admin-token-xhpku433sC")
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

// Over TLS the loopback is not the certificate's name: the check found
// from the configuration does not verify it (and sends nothing secret);
// an explicit --server does.
func TestHealthcheckTLS(t *testing.T) {
	addr := freeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "lockgate.yaml")
	os.WriteFile(cfg, []byte("listen: "+addr+"\ntls:\n  cert_file: cert.pem\n  key_file: key.pem\n"), 0o600)
	if stdout, stderr, code := runCLI(t, nil, "healthcheck", "--config", cfg); code != 0 || !strings.Contains(stdout, "ok https://"+addr) {
		t.Errorf("from the configuration: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, nil, "healthcheck", "--server", srv.URL); code != 1 || !strings.Contains(stderr, "certificate") {
		t.Errorf("--server with an unverifiable certificate: exit %d\n%s%s", code, stdout, stderr)
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
