package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo/geotest"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/vpn"
)

// lockgate serve answers POST /vpn/connect with a City database from the
// geo section and a lock check against another lockgate (the lock
// service the VPN's application is registered with).
func TestServeVPNConnect(t *testing.T) {
	ctx := context.Background()
	lockSvc, err := Open(ctx, testConfig(t), quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lockURL := "http://" + serve(t, lockSvc)
	name := "VPN"
	app, nk, err := lockSvc.Service().CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://vpn.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockSvc.Service().SetLock(ctx, app.ID, "mallory", lock.Target{Lock: true}, lock.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "vpn.key")
	os.WriteFile(keyFile, []byte(nk.Secret), 0o600)

	cfg := testConfig(t)
	cfg.Geo.DatabaseFile = config.Path(geotest.Write(t, geotest.City, geotest.Records))
	cfg.VPN = vpn.Config{Enabled: true, Secret: "vpn-secret-ECeZPQnxnWkMSNn8", AllowedRegions: []string{"US-CA"}, CheckLock: true,
		LockCheck: vpn.LockCheck{AppURI: "https://vpn.example", APIURI: lockURL, SigningKeyFile: config.Path(keyFile)}}
	s, err := Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + serve(t, s) + "/vpn/connect"
	post := func(secret string, body string) (int, vpn.Response, string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("X-Lockgate-VPN-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var r vpn.Response
		json.Unmarshal(raw, &r)
		return resp.StatusCode, r, string(raw)
	}
	ev := func(ip, user string) string {
		b, _ := json.Marshal(map[string]any{"connection-id": "cvpn-connection-1", "endpoint-id": "cvpn-endpoint-0123456789abcdef0",
			"username": user, "public-ip": ip, "schema-version": "v2"})
		return string(b)
	}
	for _, tt := range []struct {
		ip, user string
		allow    bool
		status   string
	}{
		{"8.8.8.8", "alice", true, vpn.StatusCompliant},
		{"24.48.0.1", "alice", false, vpn.ReasonCountry},
		{"8.8.8.8", "mallory", false, vpn.ReasonLocked},
	} {
		code, r, raw := post(cfg.VPN.Secret, ev(tt.ip, tt.user))
		if code != 200 || r.Allow != tt.allow || r.Statuses[len(r.Statuses)-1] != tt.status {
			t.Errorf("%s %s: %d %s", tt.ip, tt.user, code, raw)
		}
	}
	if code, _, raw := post("wrong", ev("8.8.8.8", "alice")); code != 401 || !bytes.Contains([]byte(raw), []byte(`"error":"unauthorized"`)) {
		t.Errorf("wrong secret: %d %s", code, raw)
	}
}

// config validate names the vpn section's problems with the others.
func TestVPNProvisionProblems(t *testing.T) {
	cfg := testConfig(t)
	cfg.Geo.DatabaseFile = "missing.mmdb"
	cfg.VPN = vpn.Config{Enabled: true}
	_, err := Provision(cfg, nil, quiet, Options{})
	if err == nil || !strings.Contains(err.Error(), "geo.database_file") {
		t.Fatalf("%v", err)
	}
	cfg.Geo.DatabaseFile = ""
	_, err = Provision(cfg, nil, quiet, Options{})
	for _, want := range []string{"vpn.secret: required", "vpn.allowed_countries: give"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
}
