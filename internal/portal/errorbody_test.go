package portal_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/server"
)

// The portal's refusals are lockgate's JSON error body, or its HTML error
// page for a browser (Accept: text/html), never Go's text/plain (atk9f
// F10: the static 404 and the form posts' 401 and 403 were text/plain).
func TestPortalRefusalsAreJSONOrPage(t *testing.T) {
	e := start(t, func(c *server.Config) { c.Portal.Enabled = true })
	tests := []struct {
		name, method, path, body string
		html                     bool
		status                   int
		code                     string
	}{
		{"static file that does not exist", "GET", "/portal/static/nope.css", "", false, 404, "not_found"},
		{"post without a session", "POST", "/portal/lock-all", "", false, 401, "unauthorized"},
		{"sign-in without its form token", "POST", "/portal/sign-in", "x=1", false, 403, "csrf"},
		{"post without a session, from a browser", "POST", "/portal/lock-all", "", true, 401, ""},
		{"sign-in without its form token, from a browser", "POST", "/portal/sign-in", "x=1", true, 403, ""},
		{"static file that does not exist, from a browser", "GET", "/portal/static/nope.css", "", true, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.base+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.html {
				req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			ct := resp.Header.Get("Content-Type")
			if tt.html {
				if !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), "<html") {
					t.Errorf("a browser got %s %q, want the error page", ct, body)
				}
				return
			}
			var eb struct{ Error, Message string }
			if ct != "application/json" || json.Unmarshal(body, &eb) != nil || eb.Error != tt.code || eb.Message == "" {
				t.Errorf("got %s %q, want JSON with code %q", ct, body, tt.code)
			}
		})
	}
}
