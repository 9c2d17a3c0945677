package httpapi_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/httpapi"
)

// TestInvalidTextIs400Everywhere sends NUL and invalid UTF-8 in the path
// and the query of every route, and NUL in the JSON bodies of the routes
// that take one: each is a 400 with the one error body, never a 500 (the
// red team found 39 of 43 such requests answered 500 on PostgreSQL).
func TestInvalidTextIs400Everywhere(t *testing.T) {
	for _, b := range []string{"postgres", "sqlite"} {
		t.Run(b, func(t *testing.T) {
			a := newAPI(t, b)
			app := a.createApp("A", "https://a.example")
			var person struct{ ID string }
			a.do("POST", "/api/v1/admin/persons", adminToken, map[string]string{"name": "Ann"}, &person)
			h := a.srv.Config.Handler.(*httpapi.Handler)
			param := regexp.MustCompile(`\{[a-z]+\}`)
			n := 0
			for _, pattern := range h.Routes() {
				method, path, _ := strings.Cut(pattern, " ")
				if !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/nl3/") {
					continue
				}
				var cases []string
				if param.MatchString(path) {
					cases = append(cases, param.ReplaceAllString(path, "a%00b"), param.ReplaceAllString(path, "a%ffb"))
				}
				cases = append(cases, param.ReplaceAllString(path, "x")+"?user=%00", param.ReplaceAllString(path, "x")+"?app=%c3%28")
				for _, p := range cases {
					req, _ := http.NewRequest(method, a.srv.URL+p, strings.NewReader("{}"))
					req.Header.Set("Authorization", "Bearer "+adminToken)
					resp, err := a.srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					n++
					if resp.StatusCode != 400 || !strings.Contains(string(body), `"error":"bad_request"`) {
						t.Errorf("%s %s: %d %s", method, p, resp.StatusCode, body)
					}
				}
			}
			bodies := []struct{ method, path, body string }{
				{"POST", "/api/v1/admin/applications", `{"name":"a\u0000b","issuers":["https://n.example"]}`},
				{"POST", "/api/v1/admin/applications", `{"name":"x","issuers":["https://n.example/\u0000"]}`},
				{"PATCH", "/api/v1/admin/applications/" + app.ID, `{"locked_message":"a\u0000"}`},
				{"POST", "/api/v1/admin/persons", `{"name":"Ann","email":"a\u0000@x"}`},
				{"POST", "/api/v1/admin/applications/" + app.ID + "/accounts/alice/lock", `{"reason":"\u0000"}`},
				{"PUT", "/api/v1/admin/applications/" + app.ID + "/accounts/alice/owner", `{"person_id":"\u0000"}`},
				{"POST", "/api/v1/admin/applications/" + app.ID + "/webhooks", `{"url":"https://h.example/\u0000"}`},
				{"POST", "/api/v1/admin/tokens", `{"name":"\u0000","scope":"admin"}`},
				{"POST", "/api/v1/admin/persons/" + person.ID + "/tokens", `{"name":"a\u0000"}`},
				{"POST", "/api/v1/admin/persons", "{\"name\":\"Ann\xff\"}"},
			}
			for _, bb := range bodies {
				code := a.do(bb.method, bb.path, adminToken, bb.body, nil)
				n++
				if code != 400 {
					t.Errorf("%s %s %q: %d, want 400", bb.method, bb.path, bb.body, code)
				}
			}
			if n < 100 {
				t.Fatalf("only %d requests: the route table was not walked", n)
			}
		})
	}
}
