package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed pair valid from notBefore to notAfter.
func writeCert(t *testing.T, dir string, notBefore, notAfter time.Time) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shop.example.com"},
		DNSNames: []string{"shop.example.com"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
}

// atk9f F19: an expired (or not yet valid) certificate passed validate
// without a word and serve served it. It is a warning with the date, from
// validate and in serve's log: clients that verify refuse it, but a
// restart while a renewal is late should not stop the rest.
func TestCertificateDatesWarned(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name                string
		notBefore, notAfter time.Time
		want                string
	}{
		{"valid", time.Now().Add(-day), time.Now().Add(day), ""},
		{"expired", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC), "the certificate for shop.example.com expired on 2020-01-02T00:00:00Z"},
		{"not yet valid", time.Now().Add(30 * day), time.Now().Add(60 * day), "the certificate for shop.example.com is not valid before "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCert(t, dir, tc.notBefore, tc.notAfter)
			file := filepath.Join(dir, "lockgate.yaml")
			yaml := "listen: 127.0.0.1:0\ndata_dir: ./data\nadmin_token: server-admin-token-kn5SbJwTdiXw6tLEUu\ntls:\n  cert_file: cert.pem\n  key_file: key.pem\ngateway:\n  listen: 127.0.0.1:0\n  tls:\n    cert_file: cert.pem\n    key_file: key.pem\n  routes:\n    - name: shop\n      path_prefix: /\n      upstreams: [http://127.0.0.1:1]\n"
			if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			noEnv := func(string) string { return "" }
			warnings, err := Validate(file, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(warnings) != 0 {
					t.Errorf("warnings for a valid certificate: %v", warnings)
				}
				return
			}
			got := warnings.Error()
			for _, w := range []string{file + ":5:14: tls.cert_file: " + tc.want, file + ":10:16: gateway.tls.cert_file: " + tc.want} {
				if !strings.Contains(got, w) {
					t.Errorf("warnings\n%s\nlack %q", got, w)
				}
			}

			// serve says it too, at start.
			cfg, src, err := Load(file, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s, err := Provision(cfg, src, slog.New(slog.NewTextHandler(&logs, nil)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s.Run(ctx, nil) // says it before anything else; stops at once

			if !strings.Contains(logs.String(), "level=WARN msg=\"configuration: "+file+":5:14: tls.cert_file: "+tc.want) {
				t.Errorf("serve's log does not say it:\n%s", logs.String())
			}
		})
	}
}
