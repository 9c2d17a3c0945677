package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: any file loads or is refused with an error; never a panic,
// and a loaded configuration always passes validation.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"", "listen: 127.0.0.1:9000\n", "public_urls: [https://a.example, https://b.example]\n",
		"lock_check:\n  leeway: 30s\n  max_token_lifetime: 5m\n", "log: {format: json, level: debug}\n",
		"listen: [1, 2]\n", "a: &a [*a, *a]\n", "webhooks:\n  max_attempts: -1\n", "\t\x00",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, func(string) string { return "" })
		if err == nil {
			if probs := cfg.Validate(); len(probs) > 0 {
				t.Fatalf("loaded a config with problems: %v", probs)
			}
		}
	})
}
