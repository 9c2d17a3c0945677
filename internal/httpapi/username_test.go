package httpapi_test

import (
	"net/url"
	"testing"
)

// TestUsernamesOverHTTP: with "alice" locked by the admin, every form a
// sign-in form might pass answers locked, and the admin finds the same
// account by any of them.
func TestUsernamesOverHTTP(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			a := newAPI(t, b)
			app := a.createApp("Demo", "https://demo.example")
			var st struct {
				ID       string `json:"id"`
				Username string `json:"username"`
				Locked   bool   `json:"locked"`
			}
			if code := a.do("POST", "/api/v1/admin/applications/"+app.ID+"/accounts/alice/lock", adminToken, nil, &st); code != 200 {
				t.Fatalf("lock: %d", code)
			}
			a.do("POST", "/api/v1/admin/applications/"+app.ID+"/accounts/jos%C3%A9/lock", adminToken, nil, nil)
			for _, form := range []string{"alice", "Alice", "ALICE", " alice", "alice\u200b", "ａlice", "jose\u0301"} {
				code, m, raw := a.check("/api/v1/lock-check", "x-nl3-authorization-token", a.token(app.SigningKey.Secret, "https://demo.example", form), "")
				if code != 200 || m["locked"] != true {
					t.Errorf("check %q: %d %s", form, code, raw)
				}
				var got struct{ ID string }
				if code := a.do("GET", "/api/v1/admin/applications/"+app.ID+"/accounts/"+url.PathEscape(form), adminToken, nil, &got); form != "jose\u0301" && (code != 200 || got.ID != st.ID) {
					t.Errorf("admin lookup %q: %d %s, want %s", form, code, got.ID, st.ID)
				}
			}
			// Switching to exact is allowed (no two accounts collide) and
			// makes the forms distinct again.
			if code := a.do("PATCH", "/api/v1/admin/applications/"+app.ID, adminToken, map[string]string{"username_match": "exact"}, nil); code != 200 {
				t.Fatalf("to exact: %d", code)
			}
			if _, m, _ := a.check("/api/v1/lock-check", "x-nl3-authorization-token", a.token(app.SigningKey.Secret, "https://demo.example", "ALICE"), ""); m["locked"] != false {
				t.Fatalf("exact: ALICE answered %v", m["locked"])
			}
			a.do("POST", "/api/v1/admin/applications/"+app.ID+"/accounts/ALICE/unlock", adminToken, nil, nil)
			var cs struct {
				Collisions []struct {
					Key      string   `json:"key"`
					Accounts []string `json:"accounts"`
				} `json:"collisions"`
			}
			a.do("GET", "/api/v1/admin/applications/"+app.ID+"/username-collisions", adminToken, nil, &cs)
			if len(cs.Collisions) != 1 || cs.Collisions[0].Key != "alice" {
				t.Fatalf("collisions: %+v", cs)
			}
			if code := a.do("PATCH", "/api/v1/admin/applications/"+app.ID, adminToken, map[string]string{"username_match": "caseless"}, nil); code != 409 {
				t.Fatalf("back to caseless with ALICE and alice: %d, want 409", code)
			}
		})
	}
}
