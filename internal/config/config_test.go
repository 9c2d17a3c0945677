package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	cfg, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.DataDir != "./lockgate-data" || cfg.PublicURLs[0] != "http://127.0.0.1:8080" || cfg.DatabaseURL != "" {
		t.Fatalf("defaults: %+v", cfg)
	}
	if cfg.SQLitePath() != "lockgate-data/lockgate.db" {
		t.Fatalf("sqlite path %q", cfg.SQLitePath())
	}
}

func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("listen: 127.0.0.1:7000\ndata_dir: /var/lib/lockgate\npublic_urls: [https://a.example, https://b.example]\nlock_check:\n  leeway: 30s\n"), 0o600)
	cfg, err := Load(path, env(map[string]string{
		"LOCKGATE_LISTEN":       "127.0.0.1:7001",
		"LOCKGATE_PUBLIC_URL":   "https://c.example, https://d.example",
		"LOCKGATE_DATABASE_URL": "postgres://db/lockgate",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7001" || cfg.DataDir != "/var/lib/lockgate" || strings.Join(cfg.PublicURLs, " ") != "https://c.example https://d.example" ||
		cfg.DatabaseURL != "postgres://db/lockgate" || cfg.LockCheck.Leeway.Std() != 30*time.Second || cfg.LockCheck.MaxTokenLifetime.Std() != 10*time.Minute {
		t.Fatalf("%+v", cfg)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"bad listen", "listen: x\n", []string{`listen (line 1): "x" is not host:port`}},
		{"bad port", "listen: 127.0.0.1:99999\n", []string{"listen (line 1)"}},
		{"public url", "public_urls: [ftp://a, https://ok.example, x]\n", []string{"public_urls[0] (line 1)", "public_urls[2] (line 1)"}},
		{"no public url", "public_urls: []\n", []string{"public_urls"}},
		{"database scheme", "database_url: mysql://x\n", []string{"database_url (line 1)"}},
		{"short admin token", "admin_token: abc\n", []string{"admin_token"}},
		{"both keys", "master_key: a\nmaster_key_file: /x\n", []string{"master_key (line 1): set master_key or master_key_file"}},
		{"log", "log:\n  format: xml\n  level: loud\n", []string{"log.format (line 2)", "log.level (line 3)"}},
		{"tls half", "tls:\n  cert_file: /x\n", []string{"tls (line 2)"}},
		{"leeway", "lock_check:\n  leeway: 1h\n", []string{"lock_check.leeway (line 2)"}},
		{"lifetime", "lock_check:\n  max_token_lifetime: 1s\n", []string{"lock_check.max_token_lifetime (line 2)"}},
		{"integration data over 16 KiB", "lock_check:\n  max_integration_data_kib: 64\n", []string{"lock_check.max_integration_data_kib (line 2)"}},
		{"webhooks", "webhooks:\n  timeout: 0s\n  max_attempts: 0\n", []string{"webhooks.timeout (line 2)", "webhooks.max_attempts (line 3)"}},
		{"unknown field", "listen: 127.0.0.1:1\nlissten: x\n", []string{"line 2: field lissten not found"}},
		{"not a duration", "shutdown_timeout: forever\n", []string{"line 1", "not a duration"}},
		{"wrong type", "listen: [1, 2]\n", []string{"line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tt.yaml), 0o600)
			_, err := Load(path, env(nil))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
