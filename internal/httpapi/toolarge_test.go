package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A body over its limit is 413 payload_too_large wherever it is sent
// (atk9f F9: the lock check answered 413 with code bad_request, the
// admin API 400 for the same size).
func TestBodyOverTheLimitIs413Everywhere(t *testing.T) {
	a := newAPI(t, "sqlite")
	app := a.createApp("Demo", "https://demo.example")
	good := a.token(app.SigningKey.Secret, "https://demo.example", "alice")
	big := `{"userIP":"` + strings.Repeat("a", 70<<10) + `"}`
	for _, tt := range []struct {
		name, path, header, token string
	}{
		{"lock check", "/api/v1/lock-check", "x-nl3-authorization-token", good},
		{"admin: create application", "/api/v1/admin/applications", "Authorization", "Bearer " + adminToken},
		{"integration event (rechk9)", "/api/v1/integration-events", "x-nl3-authorization-token", good},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", a.srv.URL+tt.path, strings.NewReader(big))
			req.Header.Set(tt.header, tt.token)
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = -1 // read to the limit, not refused by its length
			resp, err := a.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Error, Message string }
			if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != 413 || e.Error != "payload_too_large" || !strings.Contains(e.Message, "64 KiB") {
				t.Errorf("%d %s, want 413 payload_too_large saying the limit", resp.StatusCode, body)
			}
		})
	}
}
