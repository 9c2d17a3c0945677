package httpapi_test

import (
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/server"
)

// TestWebhookURLFormsRefusedAtRegistration: URLs whose host or port is
// written so that what registration vets is not what the HTTP client
// dials are refused with 400 and the reason, even where loopback is
// allowed (the refusal is of the form, not of the address).
func TestWebhookURLFormsRefusedAtRegistration(t *testing.T) {
	a := newAPIWith(t, "sqlite", func(c *server.Config) { c.Webhooks.AllowNetworks = []string{"127.0.0.0/8"} }, server.Options{})
	app := a.createApp("A", "https://a.example")
	for _, tt := range []struct {
		name, url, want string // want: "" accepted, else part of the message
	}{
		{"ASCII loopback, allowed", "http://127.0.0.1:8080/hook", ""},
		{"public name", "https://hooks.example.com/x", ""},
		{"port 65535", "https://hooks.example.com:65535/x", ""},
		{"full-width digits", "http://１２７.0.0.1/", "non-ASCII character U+FF11"},
		{"full-width digits, public", "http://hooks.example.com.１/", "non-ASCII character U+FF11"},
		{"ideographic full stop", "http://127。0。0。1/", "non-ASCII character U+3002"},
		{"full-width letters", "http://ｌｏｃａｌｈｏｓｔ/", "non-ASCII character"},
		{"IPv4-compatible IPv6", "http://[::127.0.0.1]/", "IPv6 form of the IPv4 address 127.0.0.1"},
		{"IPv4-compatible IPv6, hex", "http://[::7f00:1]:80/", "IPv6 form of the IPv4 address 127.0.0.1"},
		{"IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]/", "IPv6 form of the IPv4 address 127.0.0.1"},
		{"IPv4-mapped IPv6, public", "http://[::ffff:8.8.8.8]/", "IPv6 form of the IPv4 address 8.8.8.8"},
		{"IPv4-translated IPv6 (atk14 F5)", "http://[::ffff:0:127.0.0.1]:18430/c", "IPv6 form of the IPv4 address 127.0.0.1"},
		{"IPv4-translated IPv6, hex", "http://[::ffff:0:a9fe:a9fe]/", "IPv6 form of the IPv4 address 169.254.169.254"},
		{"port over 65535", "https://hooks.example.com:65536/x", "port 65536 is not between 1 and 65535"},
		{"port far over", "http://127.0.0.1:99999/", "port 99999 is not between 1 and 65535"},
		{"port 0", "https://hooks.example.com:0/x", "port 0 is not between 1 and 65535"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out map[string]any
			code := a.do("POST", "/api/v1/admin/applications/"+app.ID+"/webhooks", adminToken, map[string]string{"url": tt.url}, &out)
			msg, _ := out["message"].(string)
			switch {
			case tt.want == "" && code != 201:
				t.Fatalf("%s: %d %v, want 201", tt.url, code, out)
			case tt.want != "" && (code != 400 || !strings.Contains(msg, tt.want) || !strings.Contains(msg, "url:")):
				t.Fatalf("%s: %d %q, want 400 naming url and %q", tt.url, code, msg, tt.want)
			}
		})
	}
}
