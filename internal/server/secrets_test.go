package server

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// iamConfig writes testdata/iam-responder.yaml with webhook_secret set to
// secret, beside a valid signing key, and returns its path.
func iamConfig(t *testing.T, secret string) string {
	t.Helper()
	data, err := os.ReadFile("testdata/iam-responder.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(dir, "aws.key"), []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(data), "WEBHOOK", `"`+strings.ReplaceAll(secret, `"`, `\"`)+`"`, 1)
	path := filepath.Join(dir, "lockgate.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The webhook secret verifies the lock.changed pushes that lock and
// unlock IAM users: a placeholder copied from the docs ("…") or a short
// value would let anyone who can reach POST /events/lock-changed forge
// them. lockgate config validate (Load + Provision) refuses both, at the
// key's path and line, without repeating the value.
func TestWebhookSecretRefusesWeakValues(t *testing.T) {
	generated := base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")) // as lockgate webhook add makes (32 bytes)
	for _, tc := range []struct {
		secret string
		want   string // in the error; "" when accepted
	}{
		{"…", "placeholder"},
		{"...", "placeholder"},
		{"x", "placeholder"},
		{"<the webhook secret>", "placeholder"},
		{"CHANGEME-CHANGEME-CHANGEME-CHANGEME-42", "placeholder"},
		{"REPLACE-with-the-webhook-secret-shown-once", "placeholder"},
		{"${LOCKGATE_WEBHOOK_SECRET}", "placeholder"},
		{"a8Fq2ZpL0wXc", "is 12 bytes, at least 32"},
		{generated[:31], "is 31 bytes, at least 32"},
		{generated, ""},
	} {
		t.Run(tc.secret, func(t *testing.T) {
			path := iamConfig(t, tc.secret)
			cfg, src, err := Load(path, func(string) string { return "" })
			if err == nil {
				_, err = Provision(cfg, src, nil, Options{})
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("a secret as lockgate issues it is refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("webhook_secret %q accepted", tc.secret)
			}
			msg := err.Error()
			if !strings.Contains(msg, path+":8:") || !strings.Contains(msg, "iam_responder.webhook_secret") || !strings.Contains(msg, tc.want) {
				t.Errorf("want the problem at %s:8 naming iam_responder.webhook_secret and %q; got\n%s", path, tc.want, msg)
			}
			if len(tc.secret) > 3 && strings.Contains(strings.ReplaceAll(msg, path, ""), tc.secret) {
				t.Errorf("the error repeats the secret: %s", msg)
			}
		})
	}
}

// The environment's value is checked as the file's is.
func TestWebhookSecretFromEnvironment(t *testing.T) {
	path := iamConfig(t, "")
	env := map[string]string{"LOCKGATE_WEBHOOK_SECRET": "…"}
	cfg, src, err := Load(path, func(k string) string { return env[k] })
	if err == nil {
		_, err = Provision(cfg, src, nil, Options{})
	}
	if err == nil || !strings.Contains(err.Error(), "iam_responder.webhook_secret") {
		t.Fatalf("LOCKGATE_WEBHOOK_SECRET=… accepted: %v", err)
	}
}

// A placeholder admin token or master key (the Kubernetes Secret's, a
// README's) is public: serve refuses it before creating anything.
func TestPlaceholderServerSecretsRefused(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"admin_token", "REPLACE-with-openssl-rand-hex-32"},
		{"admin_token", "CHANGEME-0123456789abcdef0123456789abcdef"},
		{"admin_token", "<paste-openssl-rand-hex-32-output-here-please>"},
		{"master_key", "REPLACE-with-openssl-rand-base64-32"},
	} {
		cfg := testConfig(t)
		if tc.key == "admin_token" {
			cfg.AdminToken = tc.value
		} else {
			cfg.MasterKey = tc.value
		}
		_, err := Provision(cfg, nil, nil, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.key+": refused: it looks like a placeholder") {
			t.Errorf("%s %q: %v", tc.key, tc.value, err)
		}
	}
}

// config validate reads the responder's signing key as serve does (trim,
// base64, 128 bits): an empty or short key file was "ok" for validate
// and refused by serve only after the data directory, the master key
// and the admin token had been created.
func TestSigningKeyFileCheckedAsServeReadsIt(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"empty", "", "holds a 0-byte key"},
		{"short", base64.StdEncoding.EncodeToString([]byte("12345")), "holds a 5-byte key: at least 16 bytes"},
		{"not base64", "this is not a key!", "not a base64 signing key"},
		{"good", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")) + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := iamConfig(t, base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
			if err := os.WriteFile(filepath.Join(filepath.Dir(path), "aws.key"), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, src, err := Load(path, func(string) string { return "" })
			if err == nil {
				_, err = Provision(cfg, src, nil, Options{})
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("a good key refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), "iam_responder.signing_key_file: aws.key: "+tc.want) && !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}

// A master key is judged decoded too: base64 hides the words and
// sequences the text check looks for (atk14f F11).
func TestWeakMasterKeyBytesRefused(t *testing.T) {
	for _, raw := range [][]byte{
		[]byte("change-me-change-me-change-me-12"),
		[]byte("0123456789abcdef0123456789abcdef"),
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31},
	} {
		cfg := testConfig(t)
		cfg.MasterKey = base64.StdEncoding.EncodeToString(raw)
		_, err := Provision(cfg, nil, nil, Options{})
		if err == nil || !strings.Contains(err.Error(), "master_key") || !strings.Contains(err.Error(), "not random") {
			t.Errorf("master key %q: %v", raw, err)
		}
	}
}
