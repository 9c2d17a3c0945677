package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestLoneSurrogatesRefused: JSON bodies holding the escape of a lone
// UTF-16 surrogate were decoded with U+FFFD in its place and accepted;
// every body of the lock check and the admin and owner APIs is now
// refused with 400 naming the field, and a surrogate pair still works.
func TestLoneSurrogatesRefused(t *testing.T) {
	a := newAPI(t, "sqlite")
	app := a.createApp("A", "https://a.example")
	var person struct{ ID string }
	a.do("POST", "/api/v1/admin/persons", adminToken, map[string]string{"name": "Ann"}, &person)
	a.do("PUT", "/api/v1/admin/applications/"+app.ID+"/accounts/ann/owner", adminToken, map[string]string{"person_id": person.ID}, nil)
	var ptok struct{ Token string }
	a.do("POST", "/api/v1/admin/persons/"+person.ID+"/tokens", adminToken, `{"name":"t"}`, &ptok)
	check := a.token(app.SigningKey.Secret, "https://a.example", "alice")
	for _, tt := range []struct {
		method, path, token, body, field string
	}{
		{"POST", "/api/v1/lock-check", check, `{"userIP":"1.2.3.4","userDevice":"\ud800"}`, "userDevice"},
		{"POST", "/nl3/api/v1/accountProtectionCheck", check, `{"integrationData":{"a":["x","\udfff"]}}`, "integrationData.a[1]"},
		{"POST", "/api/v1/admin/applications", adminToken, `{"name":"x\ud800y","issuers":["https://n.example"]}`, "name"},
		{"POST", "/api/v1/admin/applications", adminToken, `{"name":"x","issuers":["https://n.example/\uDBFF\u0041"]}`, "issuers[0]"},
		{"PATCH", "/api/v1/admin/applications/" + app.ID, adminToken, `{"locked_message":"\udc00\ud800"}`, "locked_message"},
		{"POST", "/api/v1/admin/persons", adminToken, `{"name":"Ann","email":"a\ud800@x.example"}`, "email"},
		{"POST", "/api/v1/admin/applications/" + app.ID + "/accounts/alice/lock", adminToken, `{"reason":"\udfff"}`, "reason"},
		{"POST", "/api/v1/admin/applications/" + app.ID + "/webhooks", adminToken, `{"url":"https://h.example/\ud800"}`, "url"},
		{"POST", "/api/v1/admin/tokens", adminToken, `{"name":"\ud800","scope":"admin"}`, "name"},
		{"POST", "/api/v1/me/lock-all", ptok.Token, `{"reason":"\ud800"}`, "reason"},
		{"POST", "/api/v1/integration-events", check, `{"source":"aws-iam","detail":{"d":"\ud800"}}`, "detail.d"},
	} {
		t.Run(tt.method+" "+tt.path+" "+tt.field, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, a.srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := a.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(body), `"error":"bad_request"`) || !strings.Contains(string(body), tt.field+": holds \\\\u") || !strings.Contains(string(body), "lone UTF-16 surrogate") {
				t.Fatalf("%s: %d %s, want 400 naming %s", tt.body, resp.StatusCode, body, tt.field)
			}
		})
	}
	// A surrogate pair is one character, and is kept.
	var p struct{ ID, Name string }
	if code := a.do("POST", "/api/v1/admin/persons", adminToken, `{"name":"Ann \ud83d\ude00"}`, &p); code != 201 || p.Name != "Ann \U0001F600" {
		t.Fatalf("surrogate pair: %d %+v", code, p)
	}
}
