package vpn_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/geo/geotest"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/internal/vpn"
)

// lockgate is a real lock service with one application.
type lockgate struct {
	URL, Issuer, KeyFile string
	lock                 func(username string)
}

func startLockgate(t *testing.T) lockgate {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg := server.Default()
	cfg.DataDir = config.Path(t.TempDir())
	cfg.AdminToken = "admin-token-DskHD4RTAPWCnDze4dHkmqa7E"
	cfg.PublicURLs = []string{"http://" + srv.Listener.Addr().String()}
	s, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	name, issuer := "VPN", "https://vpn.example"
	app, nk, err := s.Service().CreateApplication(context.Background(), lock.ApplicationInput{Name: &name, Issuers: []string{issuer}})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(nk.Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return lockgate{URL: srv.URL, Issuer: issuer, KeyFile: keyFile, lock: func(u string) {
		if _, err := s.Service().SetLock(context.Background(), app.ID, u, lock.Target{Lock: true}, lock.Actor{Name: "test"}); err != nil {
			t.Fatal(err)
		}
	}}
}

// cityDB is the test City database.
func cityDB(t testing.TB) *geo.DB {
	t.Helper()
	db, err := geo.Open(geo.Config{DatabaseFile: config.Path(geotest.Write(t, geotest.City, geotest.Records))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func provision(t testing.TB, c vpn.Config, o vpn.Options) *vpn.Handler {
	t.Helper()
	if o.Geo == nil {
		o.Geo = cityDB(t)
	}
	h, probs := vpn.Provision(c, o)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if err := h.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
