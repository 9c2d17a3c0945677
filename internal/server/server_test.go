package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/storetest"
	"github.com/lockgate/lockgate/internal/webhook"
)

var quiet = slog.New(slog.DiscardHandler)

func testConfig(t *testing.T) Config {
	cfg := Default()
	cfg.DataDir = config.Path(t.TempDir())
	cfg.AdminToken = "server-admin-token-kn5SbJwTdiXw6tLEUu"
	// Test receivers listen on loopback, which webhooks may not reach
	// unless allowed.
	cfg.Webhooks.AllowNetworks = []string{"127.0.0.0/8"}
	return cfg
}

// TestPostgresDataDirMadePrivate (atk14 F12): with PostgreSQL the data
// directory holds only the master key file, and is made 0700 whatever it
// was before, as with SQLite.
func TestPostgresDataDirMadePrivate(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.DatabaseURL = storetest.PostgresSchema(t)
	dir := filepath.Join(t.TempDir(), "pgdata")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	cfg.DataDir = config.Path(dir)
	s, err := Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "master.key"): 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", p, fi.Mode().Perm(), want)
		}
	}
}

func TestWrongMasterKeyRefused(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	s, err := Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The same key file again: fine.
	s, err = Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Another random key (a key of zeros is refused earlier, as no secret).
	other := make([]byte, 32)
	rand.Read(other)
	cfg.MasterKey = base64.StdEncoding.EncodeToString(other)
	if _, err := Open(ctx, cfg, quiet, Options{}); err == nil || !strings.Contains(err.Error(), "not the key the database was created with") {
		t.Fatalf("wrong master key: %v", err)
	}
}

func TestFirstAdminTokenGeneratedOnce(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.AdminToken = ""
	s, err := Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := s.AdminToken
	s.Close()
	if !strings.HasPrefix(first, "lgt_") {
		t.Fatalf("first start token %q", first)
	}
	s, err = Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.AdminToken != "" {
		t.Fatal("a second start generated another token")
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile config.Path) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = config.Path(filepath.Join(dir, "cert.pem")), config.Path(filepath.Join(dir, "key.pem"))
	os.WriteFile(string(certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(string(keyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return certFile, keyFile
}

// serve runs s on a loopback listener until the test ends.
func serve(t *testing.T, s *Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestTLS(t *testing.T) {
	cfg := testConfig(t)
	cfg.TLS.CertFile, cfg.TLS.KeyFile = selfSigned(t, t.TempDir())
	s, err := Open(context.Background(), cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("status %d, tls %v", resp.StatusCode, resp.TLS != nil)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP answered on the TLS port")
	}
}

// TestWebhookWiring: a lock change made through the running server
// reaches a configured webhook, signed, through the outbox.
func TestWebhookWiring(t *testing.T) {
	got := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer recv.Close()
	cfg := testConfig(t)
	s, err := Open(context.Background(), cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	ctx := context.Background()
	name := "A"
	app, _, err := s.Service().CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://a.example"}})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.Service().AddWebhook(ctx, "application", app.ID, recv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service().SetLock(ctx, app.ID, "alice", lock.Target{Lock: true}, lock.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		body := <-bodies
		if err := webhook.Verify([]byte(secret), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			t.Fatalf("signature: %v", err)
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Change lock.LockChange `json:"change"`
			} `json:"data"`
		}
		json.Unmarshal(body, &ev)
		if ev.Type != "lock.changed" || ev.Data.Change.Username != "alice" || ev.Data.Change.To != lock.StateLocked {
			t.Fatalf("event %s", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivered within 5s")
	}
}

func TestReadyzFailsWithoutStorage(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(context.Background(), cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	s.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with storage closed: %d", resp.StatusCode)
	}
}

// The gateway over TLS speaks HTTP/2 to clients that offer it.
func TestGatewayHTTP2OverTLS(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "upstream") }))
	defer up.Close()
	cfg := testConfig(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gwAddr := ln.Addr().String()
	ln.Close()
	cfg.Gateway.Listen = gwAddr
	cfg.Gateway.TLS.CertFile, cfg.Gateway.TLS.KeyFile = selfSigned(t, t.TempDir())
	cfg.Gateway.Routes = []gateway.RouteConfig{{Name: "app", Upstreams: []string{up.URL}}}
	s, err := Open(context.Background(), cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	var resp *http.Response
	for range 50 {
		if resp, err = client.Get("https://" + gwAddr + "/x"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || string(body) != "upstream" {
		t.Fatalf("%d %s %q", resp.StatusCode, resp.Proto, body)
	}
}
