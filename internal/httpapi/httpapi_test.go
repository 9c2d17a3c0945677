package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/internal/storetest"
)

const adminToken = "test-admin-token-8V7i3DjMYViqCnhxahJC"

type api struct {
	t   testing.TB
	srv *httptest.Server
}

// newAPI starts lockgate on backend behind a real HTTP server. Its public
// URL is the test server's own.
func newAPI(t testing.TB, backend string) *api {
	t.Helper()
	return newAPIWith(t, backend, nil, server.Options{})
}

// newAPIWith is newAPI with the configuration changed by edit and the
// server's options.
func newAPIWith(t testing.TB, backend string, edit func(*server.Config), opts server.Options) *api {
	t.Helper()
	return newAPIWithLog(t, backend, edit, opts, io.Discard)
}

// syncBuffer is a log destination tests read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newAPIWithLog(t testing.TB, backend string, edit func(*server.Config), opts server.Options, log io.Writer) *api {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg := server.Default()
	cfg.DataDir = config.Path(t.TempDir())
	cfg.AdminToken = adminToken
	cfg.PublicURLs = []string{"http://" + srv.Listener.Addr().String()}
	if backend == "postgres" {
		cfg.DatabaseURL = storetest.PostgresSchema(t)
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := server.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(log, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); s.Close() })
	return &api{t: t, srv: srv}
}

func (a *api) do(method, path, token string, body any, out any) int {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

type createdApp struct {
	ID         string `json:"id"`
	SigningKey struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	} `json:"signing_key"`
}

func (a *api) createApp(name, issuer string) createdApp {
	a.t.Helper()
	var app createdApp
	if code := a.do("POST", "/api/v1/admin/applications", adminToken, map[string]any{"name": name, "issuers": []string{issuer}}, &app); code != 201 {
		a.t.Fatalf("create app: %d", code)
	}
	return app
}

// token signs like the seed's Python: HS256 over the base64-decoded key,
// float iat and exp.
func (a *api) token(secret, iss, sub string) string {
	key, _ := base64.StdEncoding.DecodeString(secret)
	now := float64(time.Now().UnixMicro()) / 1e6
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	c, _ := json.Marshal(map[string]any{"iss": iss, "aud": a.srv.URL, "sub": sub, "iat": now - 60, "exp": now + 300})
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *api) check(path, header, token, body string) (int, map[string]any, string) {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.srv.URL+path, strings.NewReader(body))
	if header == "Authorization" {
		req.Header.Set(header, "Bearer "+token)
	} else if token != "" {
		req.Header.Set(header, token)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m, string(raw)
}

func TestLockCheckHTTP(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			a := newAPI(t, b)
			app := a.createApp("Demo", "https://demo.example")
			tok := a.token(app.SigningKey.Secret, "https://demo.example", "alice")
			body := `{"userIP":"8.8.8.8","userDevice":"Mozilla/5.0","userLocation":"","integrationType":"awsiamuser","integrationData":{"city":"x"}}`
			paths := []string{"/api/v1/lock-check", "/nl3/api/v1/accountProtectionCheck", "/nl3/api/v1/sdk/accountLockCheck"}
			for _, p := range paths {
				for _, hdr := range []string{"x-nl3-authorization-token", "Authorization"} {
					code, m, raw := a.check(p, hdr, tok, body)
					if code != 200 || m["locked"] != false || m["status"] != "unlocked" || !strings.HasPrefix(m["sessionID"].(string), "att_") {
						t.Fatalf("%s via %s: %d %s", p, hdr, code, raw)
					}
					if _, ok := m["message"]; !ok || len(m) != 4 {
						t.Fatalf("answer fields: %s", raw)
					}
				}
			}
			if code := a.do("POST", "/api/v1/admin/applications/"+app.ID+"/accounts/alice/lock", adminToken, map[string]string{"reason": "test"}, nil); code != 200 {
				t.Fatalf("lock: %d", code)
			}
			code, m, raw := a.check(paths[1], "x-nl3-authorization-token", tok, "")
			if code != 200 || m["locked"] != true || m["status"] != "locked" || m["message"] == "" {
				t.Fatalf("after lock: %d %s", code, raw)
			}
			var page struct {
				Attempts []struct {
					UserIP       string          `json:"user_ip"`
					UserLocation string          `json:"user_location"`
					Data         json.RawMessage `json:"integration_data"`
					Locked       bool            `json:"locked"`
				} `json:"attempts"`
			}
			a.do("GET", "/api/v1/admin/attempts?app="+app.ID+"&limit=10", adminToken, nil, &page)
			if len(page.Attempts) != 7 || !page.Attempts[0].Locked || page.Attempts[1].UserLocation != "US" || string(page.Attempts[1].Data) != `{"city":"x"}` {
				t.Fatalf("attempts: %+v", page.Attempts)
			}
		})
	}
}

func TestLockCheckRejections(t *testing.T) {
	a := newAPI(t, "sqlite")
	app := a.createApp("Demo", "https://demo.example")
	good := a.token(app.SigningKey.Secret, "https://demo.example", "alice")
	other := a.createApp("Other", "https://other.example")
	forged := a.token(other.SigningKey.Secret, "https://demo.example", "alice")
	huge := good + strings.Repeat("A", 1<<20-len(good))

	var generic string
	tests := []struct {
		name, token, body string
		want              int
	}{
		{"no token", "", "", 401},
		{"forged with another app's key", forged, "", 401},
		{"1 MiB token", huge, "", 401},
		{"malformed JSON", good, `{"userIP":`, 400},
		{"wrong type", good, `{"userIP": 5}`, 400},
		{"not an object", good, `[1,2]`, 400},
		{"trailing data", good, `{} {}`, 400},
		{"body over 64 KiB", good, `{"userDevice":"` + strings.Repeat("x", 64<<10) + `"}`, 413},
		{"unknown fields are fine", good, `{"somethingElse": 1}`, 200},
		{"empty body is fine", good, ``, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, raw := a.check("/api/v1/lock-check", "x-nl3-authorization-token", tt.token, tt.body)
			if code != tt.want {
				t.Fatalf("status %d, want %d (%s)", code, tt.want, raw)
			}
			if code == 401 {
				// One answer for every token problem: the reason is logged.
				if generic == "" {
					generic = raw
				}
				if raw != generic {
					t.Fatalf("401 bodies differ: %q vs %q", raw, generic)
				}
			}
		})
	}
}

func TestAdminAPI(t *testing.T) {
	a := newAPI(t, "sqlite")
	for _, tok := range []string{"", "wrong-token-rrUweZsLSc"} {
		if code := a.do("GET", "/api/v1/admin/applications", tok, nil, nil); code != 401 {
			t.Fatalf("token %q: %d, want 401", tok, code)
		}
	}
	app := a.createApp("Demo", "https://demo.example")
	var got map[string]any
	a.do("GET", "/api/v1/admin/applications/"+app.ID, adminToken, nil, &got)
	if raw, _ := json.Marshal(got); strings.Contains(string(raw), app.SigningKey.Secret) || strings.Contains(string(raw), "sealed") {
		t.Fatalf("application shows its secret: %s", raw)
	}
	tests := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"duplicate issuer", "POST", "/api/v1/admin/applications", map[string]any{"name": "x", "issuers": []string{"https://demo.example"}}, 409},
		{"no issuer", "POST", "/api/v1/admin/applications", map[string]any{"name": "x"}, 400},
		{"bad policy", "POST", "/api/v1/admin/applications", map[string]any{"name": "x", "issuers": []string{"https://x.example"}, "unknown_account": "maybe"}, 400},
		{"bad JSON", "POST", "/api/v1/admin/applications", `{"name":`, 400},
		{"update settings", "PATCH", "/api/v1/admin/applications/" + app.ID, map[string]any{"unknown_account": "locked", "locked_message": "Locked by owner"}, 200},
		{"missing app", "GET", "/api/v1/admin/applications/app_nope", nil, 404},
		{"rotate", "POST", "/api/v1/admin/applications/" + app.ID + "/keys", nil, 201},
		{"revoke first key", "DELETE", "/api/v1/admin/applications/" + app.ID + "/keys/" + app.SigningKey.ID, nil, 204},
		{"revoke again", "DELETE", "/api/v1/admin/applications/" + app.ID + "/keys/" + app.SigningKey.ID, nil, 404},
		{"unlock for empty duration", "POST", "/api/v1/admin/applications/" + app.ID + "/accounts/bob/unlock", map[string]string{"for": ""}, 400},
		{"unlock for bad duration", "POST", "/api/v1/admin/applications/" + app.ID + "/accounts/bob/unlock", map[string]string{"for": "soon"}, 400},
		{"unlock for too long", "POST", "/api/v1/admin/applications/" + app.ID + "/accounts/bob/unlock", map[string]string{"for": "720h"}, 400},
		{"unlock for 15m", "POST", "/api/v1/admin/applications/" + app.ID + "/accounts/bob/unlock", map[string]string{"for": "15m"}, 200},
		{"username with slash", "POST", "/api/v1/admin/applications/" + app.ID + "/accounts/dom%2Fbob/lock", nil, 200},
		{"history", "GET", "/api/v1/admin/applications/" + app.ID + "/accounts/bob/history", nil, 200},
		{"attempts bad time", "GET", "/api/v1/admin/attempts?since=yesterday", nil, 400},
		{"attempts bad limit", "GET", "/api/v1/admin/attempts?limit=5000", nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := a.do(tt.method, tt.path, adminToken, tt.body, nil); code != tt.want {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.path, code, tt.want)
			}
		})
	}
	var st map[string]any
	a.do("GET", "/api/v1/admin/applications/"+app.ID+"/accounts/dom%2Fbob", adminToken, nil, &st)
	if st["username"] != "dom/bob" || st["locked"] != true {
		t.Fatalf("escaped username: %v", st)
	}
	// The revoked key no longer signs; unknown accounts now answer locked.
	if code, _, _ := a.check("/api/v1/lock-check", "x-nl3-authorization-token", a.token(app.SigningKey.Secret, "https://demo.example", "zed"), ""); code != 401 {
		t.Fatalf("revoked key: %d", code)
	}
	if code := a.do("DELETE", "/api/v1/admin/applications/"+app.ID, adminToken, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
}

func TestOwnerAPI(t *testing.T) {
	a := newAPI(t, "sqlite")
	app := a.createApp("Demo", "https://demo.example")
	var ann, bob struct {
		ID string `json:"id"`
	}
	a.do("POST", "/api/v1/admin/persons", adminToken, map[string]string{"name": "Ann"}, &ann)
	a.do("POST", "/api/v1/admin/persons", adminToken, map[string]string{"name": "Bob"}, &bob)
	for _, p := range []struct{ user, person string }{{"ann", ann.ID}, {"ann.work", ann.ID}, {"bob", bob.ID}} {
		if code := a.do("PUT", "/api/v1/admin/applications/"+app.ID+"/accounts/"+p.user+"/owner", adminToken, map[string]string{"person_id": p.person}, nil); code != 200 {
			t.Fatalf("assign: %d", code)
		}
	}
	var tok struct {
		Token string `json:"token"`
	}
	a.do("POST", "/api/v1/admin/persons/"+ann.ID+"/tokens", adminToken, nil, &tok)
	if code := a.do("GET", "/api/v1/me", "", nil, nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code := a.do("GET", "/api/v1/me", adminToken, nil, nil); code != 403 {
		t.Fatalf("admin token on owner API: %d", code)
	}
	type accounts struct {
		Accounts []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
			Locked   bool   `json:"locked"`
		} `json:"accounts"`
	}
	var mine accounts
	a.do("GET", "/api/v1/me/accounts", tok.Token, nil, &mine)
	if len(mine.Accounts) != 2 {
		t.Fatalf("my accounts: %+v", mine)
	}
	var all accounts
	if code := a.do("POST", "/api/v1/me/lock-all", tok.Token, nil, &all); code != 200 || len(all.Accounts) != 2 || !all.Accounts[0].Locked || !all.Accounts[1].Locked {
		t.Fatalf("lock all: %d %+v", code, all)
	}
	if code := a.do("POST", "/api/v1/me/accounts/"+mine.Accounts[0].ID+"/unlock", tok.Token, map[string]string{"for": ""}, nil); code != 400 {
		t.Fatalf(`owner unlock {"for": ""}: %d, want 400 (an empty duration is not "for good")`, code)
	}
	var st map[string]any
	if code := a.do("POST", "/api/v1/me/accounts/"+mine.Accounts[0].ID+"/unlock", tok.Token, map[string]string{"for": "15m"}, &st); code != 200 || st["locked"] != false || st["unlock_until"] == nil {
		t.Fatalf("unlock for 15m: %d %v", code, st)
	}
	var bobs accounts
	a.do("GET", "/api/v1/admin/persons/"+bob.ID+"/accounts", adminToken, nil, &bobs)
	if code := a.do("POST", "/api/v1/me/accounts/"+bobs.Accounts[0].ID+"/lock", tok.Token, nil, nil); code != 404 {
		t.Fatalf("locking another person's account: %d, want 404", code)
	}
	a.check("/api/v1/lock-check", "x-nl3-authorization-token", a.token(app.SigningKey.Secret, "https://demo.example", "bob"), "")
	a.check("/api/v1/lock-check", "x-nl3-authorization-token", a.token(app.SigningKey.Secret, "https://demo.example", "ann"), "")
	var page struct {
		Attempts []struct {
			Username string `json:"username"`
		} `json:"attempts"`
	}
	a.do("GET", "/api/v1/me/attempts?person="+bob.ID, tok.Token, nil, &page)
	if len(page.Attempts) != 1 || page.Attempts[0].Username != "ann" {
		t.Fatalf("my attempts: %+v", page)
	}
	var hist struct {
		History []map[string]any `json:"history"`
	}
	a.do("GET", "/api/v1/me/accounts/"+mine.Accounts[0].ID+"/history", tok.Token, nil, &hist)
	if len(hist.History) != 2 || !strings.HasPrefix(hist.History[0]["actor"].(string), "owner:") {
		t.Fatalf("history: %+v", hist)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	a := newAPI(t, "sqlite")
	// Twice: the 200 series is looked up on its first count and kept.
	for _, p := range []string{"/healthz", "/readyz", "/healthz"} {
		if code := a.do("GET", p, "", nil, nil); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	a.check("/api/v1/lock-check", "x-nl3-authorization-token", "bad", "")
	a.check("/api/v1/lock-check", "x-nl3-authorization-token", "bad", "")
	resp, err := http.Get(a.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`lockgate_lock_checks_total{result="unauthorized"} 2`,
		`lockgate_http_requests_total{code="401",route="/api/v1/lock-check"} 2`,
		`lockgate_http_request_duration_seconds_count{route="/api/v1/lock-check"} 2`,
		`lockgate_http_requests_total{code="200",route="/healthz"} 2`,
		`lockgate_http_requests_total{code="200",route="/readyz"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// A series shows only once it has counted something.
	for _, unwanted := range []string{
		`lockgate_lock_checks_total{result="locked"}`,
		`lockgate_http_requests_total{code="200",route="/api/v1/lock-check"}`,
	} {
		if strings.Contains(string(body), unwanted) {
			t.Errorf("metrics show %s, which never counted", unwanted)
		}
	}
}
