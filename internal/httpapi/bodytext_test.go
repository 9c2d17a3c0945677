package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/storetest"
)

// TestLockCheckBodyText (atk14 F6): the lock check answered 200 to NUL and
// invalid UTF-8 in its body's strings, storing U+FFFD in their place and
// NUL verbatim in integrationData. docs/api.md: text that is not UTF-8,
// or holds NUL, in a JSON body is refused with 400 on every route. The
// message names the field and is one line (F7).
func TestLockCheckBodyText(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			a := newAPI(t, b)
			app := a.createApp("A", "https://a.example")
			tok := a.token(app.SigningKey.Secret, "https://a.example", "fzuser")
			for _, tt := range []struct {
				name, body, field string // field "" for accepted
			}{
				{"plain", `{"userIP":"1.2.3.4","userDevice":"Firefox é","integrationData":{"k":"\u00e9\n"}}`, ""},
				{"escaped NUL in userIP", `{"userIP":"a\u0000b"}`, "userIP"},
				{"invalid UTF-8 in userIP", "{\"userIP\":\"a\xffb\"}", "userIP"},
				{"overlong / in userDevice", "{\"userDevice\":\"a\xc0\xafb\"}", "userDevice"},
				{"CESU surrogate in userLocation", "{\"userLocation\":\"a\xed\xa0\x80b\"}", "userLocation"},
				{"NUL in integrationType", `{"integrationType":"\u0000"}`, "integrationType"},
				{"NUL in integrationData", `{"integrationData":{"k":"a\u0000b"}}`, "integrationData.k"},
				{"NUL in an integrationData key", `{"integrationData":{"a\u0000":1}}`, `integrationData.a\u0000`},
				{"invalid UTF-8 in integrationData", "{\"integrationData\":[\"ok\",\"\xfe\"]}", "integrationData[1]"},
				{"escaped NUL with other escapes", `{"userIP":"\"\\\u0000"}`, "userIP"},
			} {
				code, m, raw := a.check("/api/v1/lock-check", "x-nl3-authorization-token", tok, tt.body)
				if tt.field == "" {
					if code != 200 {
						t.Errorf("%s: %d %s", tt.name, code, raw)
					}
					continue
				}
				msg, _ := m["message"].(string)
				if code != 400 || m["error"] != "bad_request" || !strings.HasPrefix(msg, "body: "+tt.field+":") || strings.ContainsAny(msg, "\n\r") {
					t.Errorf("%s: %d %q, want 400 naming %s in one line", tt.name, code, raw, tt.field)
				}
			}
			// Nothing of the refused checks was recorded.
			var as struct{ Attempts []map[string]any }
			a.do("GET", "/api/v1/admin/attempts?user=fzuser", adminToken, nil, &as)
			if len(as.Attempts) != 1 {
				t.Fatalf("attempts of fzuser: %d, want the one accepted", len(as.Attempts))
			}
		})
	}
}

// TestBodyTextErrorsNameTheField (F7): the admin routes' 400s for NUL and
// invalid UTF-8 read "bad request\nbody: …" without the field.
func TestBodyTextErrorsNameTheField(t *testing.T) {
	a := newAPI(t, "sqlite")
	for _, tt := range []struct{ body, want string }{
		{`{"name":"Ann","email":"a\u0000@x"}`, "body: email: holds NUL"},
		{"{\"name\":\"Ann\xff\"}", "body: name: holds bytes that are not UTF-8"},
		{`{"name":"\ud800"}`, `body: name: holds \ud800`},
		{`{"name":`, "body: "},
	} {
		var e struct{ Error, Message string }
		code := a.do("POST", "/api/v1/admin/persons", adminToken, tt.body, &e)
		if code != 400 || e.Error != "bad_request" || !strings.HasPrefix(e.Message, tt.want) || strings.ContainsAny(e.Message, "\n\r") {
			t.Errorf("%q: %d %q, want 400 %q… in one line", tt.body, code, e.Message, tt.want)
		}
	}
}

// TestUnroutedAnswersJSON (F7): a path no route matches answered the
// mux's plain-text "404 page not found"; every API answers the one error
// body.
func TestUnroutedAnswersJSON(t *testing.T) {
	a := newAPI(t, "sqlite")
	for _, tt := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/me/accounts/APP/alice/history", 404, "not_found", ""},
		{"POST", "/nope", 404, "not_found", ""},
		{"GET", "/api/v1/lock-check", 405, "method_not_allowed", "POST"},
		{"DELETE", "/api/v1/admin/applications", 405, "method_not_allowed", "GET, HEAD, POST"},
	} {
		req, _ := http.NewRequest(tt.method, a.srv.URL+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := a.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"error":"`+tt.code+`"`) || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d %s %q Allow %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, resp.Header.Get("Allow"))
		}
	}
}
