package main

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// lockgate check reached through another address than lockgate's public
// URL: --audience signs aud as the public URL, and a 401 (the API says
// only "Unauthorized", by design) names the iss and aud it signed and
// what to do, instead of a bare "answered 401".
func TestCheckAudienceAndRefusal(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	const public = "https://lock.example.com"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(r.Header.Get("x-nl3-authorization-token"), claims, func(*jwt.Token) (any, error) { return key, nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(public))
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unauthorized","message":"Unauthorized"}`))
			return
		}
		w.Write([]byte(`{"locked":true,"status":"locked"}`))
	}))
	defer srv.Close()
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600)
	base := []string{"check", "--server", srv.URL, "--issuer", "https://app.example", "--user", "alice", "--key-file", keyFile}
	_, stderr, code := runCLI(t, nil, base...)
	if code != 1 || !strings.Contains(stderr, "aud "+srv.URL) || !strings.Contains(stderr, "--audience PUBLIC_URL") || !strings.Contains(stderr, "iss https://app.example") {
		t.Errorf("401: exit %d\n%s", code, stderr)
	}
	out, stderr, code := runCLI(t, nil, append(base, "--audience", public, "-o", "json")...)
	if code != 0 || !strings.Contains(out, `"locked": true`) {
		t.Errorf("--audience: exit %d\n%s%s", code, out, stderr)
	}
}

// --for takes days with a rest (1d12h) and says the limit in days before
// asking the server (which answered "192h0m0s is outside 0..168h0m0s").
func TestForFlag(t *testing.T) {
	runCLICases(t, []cliCase{
		{"over the limit", []string{"account", "unlock", "app_x", "alice", "--for", "8d", "--server", "http://127.0.0.1:1", "--token", strings.Repeat("t", 40)}, 2, []string{`"8d" is 8d: a timed unlock lasts at most 7d (168h)`}},
		{"days and hours", []string{"account", "unlock", "app_x", "alice", "--for", "1d12h", "--server", "http://127.0.0.1:1", "--token", strings.Repeat("t", 40)}, 1, []string{"cannot reach lockgate"}},
	})
}
