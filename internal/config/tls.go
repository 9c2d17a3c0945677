package config

import (
	"crypto/tls"
	"os"

	"github.com/lockgate/lockgate/problem"
)

// TLS serves HTTPS when both files are set.
type TLS struct {
	CertFile Path `yaml:"cert_file"`
	KeyFile  Path `yaml:"key_file"`
}

// Enabled reports whether a certificate is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Load reads the certificate and key, so that a missing file or a
// certificate that does not match its key is found when the
// configuration is checked, not at the first handshake. It returns nil
// when TLS is off. Problems are at paths relative to the TLS section.
func (t TLS) Load() (*tls.Config, problem.List) {
	var probs problem.List
	if !t.Enabled() {
		return nil, nil
	}
	cert, okc := readFile(&probs, "cert_file", t.CertFile, "key_file")
	key, okk := readFile(&probs, "key_file", t.KeyFile, "cert_file")
	if !okc || !okk {
		return nil, probs
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		probs.Addf("cert_file", "%s with %s: %v", t.CertFile, t.KeyFile, err)
		return nil, probs
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func readFile(probs *problem.List, path string, p Path, other string) ([]byte, bool) {
	if p == "" {
		probs.Addf(path, "required with %s", other)
		return nil, false
	}
	data, err := os.ReadFile(string(p))
	if err != nil {
		probs.Addf(path, "%v", err)
		return nil, false
	}
	return data, true
}
