package config

import (
	"crypto/tls"
	"os"
	"time"

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

// CertWarnings says what a reader should know about the certificate of
// c (as Load returns it): that it has expired, or is not valid yet, with
// the date. Clients refuse such a certificate, but it is a warning, not
// a problem: serve starts with it, so that a restart while a renewal is
// late does not also stop clients that do not verify (health checks,
// a proxy with verification off). Paths are relative to the TLS section.
func CertWarnings(c *tls.Config, now time.Time) problem.List {
	var out problem.List
	if c == nil {
		return nil
	}
	for _, pair := range c.Certificates {
		leaf := pair.Leaf
		if leaf == nil {
			continue
		}
		switch {
		case now.After(leaf.NotAfter):
			out.Addf("cert_file", "the certificate for %s expired on %s: clients that verify it refuse the connection", certName(leaf.Subject.CommonName, leaf.DNSNames), leaf.NotAfter.UTC().Format(time.RFC3339))
		case now.Before(leaf.NotBefore):
			out.Addf("cert_file", "the certificate for %s is not valid before %s: clients that verify it refuse the connection", certName(leaf.Subject.CommonName, leaf.DNSNames), leaf.NotBefore.UTC().Format(time.RFC3339))
		}
	}
	return out
}

func certName(cn string, dns []string) string {
	if len(dns) > 0 {
		return dns[0]
	}
	if cn != "" {
		return cn
	}
	return "(no name)"
}
