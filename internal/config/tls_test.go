package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate and its key.
func writePair(t *testing.T, dir, name string) (cert, key Path) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	cert, key = Path(filepath.Join(dir, name+".crt")), Path(filepath.Join(dir, name+".key"))
	os.WriteFile(string(cert), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(string(key), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return cert, key
}

func TestTLSLoad(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "a")
	_, otherKey := writePair(t, dir, "b")
	for _, tc := range []struct {
		name string
		tls  TLS
		want string // "" ok; else path: substring
	}{
		{"off", TLS{}, ""},
		{"good", TLS{cert, key}, ""},
		{"no key", TLS{CertFile: cert}, "key_file: required with cert_file"},
		{"no cert", TLS{KeyFile: key}, "cert_file: required with key_file"},
		{"missing cert", TLS{Path(filepath.Join(dir, "none.crt")), key}, "cert_file: open "},
		{"missing key", TLS{cert, Path(filepath.Join(dir, "none.key"))}, "key_file: open "},
		{"mismatch", TLS{cert, otherKey}, "cert_file: " + string(cert) + " with " + string(otherKey) + ": tls: private key does not match public key"},
		{"not pem", TLS{key, key}, "cert_file: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, probs := tc.tls.Load()
			if tc.want == "" {
				if len(probs) > 0 || (tc.tls.Enabled() && cfg == nil) {
					t.Fatalf("%v", probs)
				}
				return
			}
			if !strings.Contains(probs.Error(), tc.want) {
				t.Fatalf("got %q, want %q", probs.Error(), tc.want)
			}
		})
	}
}
