package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/storetest"
)

// What an integration reported about an account, it reads back with a
// token for that account — the AWS IAM responder's record of the role
// sessions a person signed in through, read by another process.
func TestIntegrationEventsReadBack(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			a := newAPI(t, b)
			app := a.createApp("AWS", "https://aws.example")
			tok := a.token(app.SigningKey.Secret, "https://aws.example", "ana")
			for _, body := range []string{
				`{"source":"aws-iam-role-session","detail":{"role":"admin","session":"ana"}}`,
				`{"source":"aws-iam-responder","detail":{"result":"locked"}}`,
				`{"source":"aws-iam-role-session","detail":{"role":"readonly","session":"ana"}}`,
			} {
				if code, _, raw := a.check("/api/v1/integration-events", "x-nl3-authorization-token", tok, body); code != 201 {
					t.Fatalf("report: %d %s", code, raw)
				}
			}
			get := func(query, token string) (int, string) {
				req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/integration-events"+query, nil)
				if token != "" {
					req.Header.Set("x-nl3-authorization-token", token)
				}
				resp, err := a.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				data, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(data)
			}
			code, body := get("?source=aws-iam-role-session", tok)
			if code != 200 || strings.Count(body, `"source":"aws-iam-role-session"`) != 2 || strings.Index(body, "readonly") > strings.Index(body, `"admin"`) || strings.Contains(body, "locked") {
				t.Fatalf("by source: %d %s", code, body)
			}
			if code, body := get("?limit=1", tok); code != 200 || strings.Count(body, `"id"`) != 1 {
				t.Fatalf("limit: %d %s", code, body)
			}
			// Another account's token reads nothing of ana's.
			if code, body := get("", a.token(app.SigningKey.Secret, "https://aws.example", "bob")); code != 200 || body != "{\"events\":[]}\n" {
				t.Fatalf("bob: %d %s", code, body)
			}
			for _, tt := range []struct {
				query, token string
				want         int
			}{
				{"", "", 401},
				{"", a.token("c2VjcmV0LWtleS0wMTIzNDU2Nzg5YWJjZGVm", "https://aws.example", "ana"), 401},
				{"?limit=x", tok, 400},
				{"?source=" + strings.Repeat("s", 101), tok, 400},
			} {
				if code, body := get(tt.query, tt.token); code != tt.want || !strings.Contains(body, `"error"`) {
					t.Errorf("%q: %d %s, want %d", tt.query, code, body, tt.want)
				}
			}
		})
	}
}
