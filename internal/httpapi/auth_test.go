package httpapi_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/server"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type tokenOut struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Scope     string `json:"scope"`
	Token     string `json:"token"`
	RevokedAt string `json:"revoked_at"`
	LastUsed  string `json:"last_used_at"`
	Error     string `json:"error"`
}

// TestTokensOverHTTP: create, use, list and revoke tokens of each scope
// through the admin API.
func TestTokensOverHTTP(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			a := newAPI(t, b)
			var ro, full, bad tokenOut
			if code := a.do("POST", "/api/v1/admin/tokens", adminToken, map[string]string{"name": "dashboard", "scope": "admin:read", "expires_in": "720h"}, &ro); code != 201 || !strings.HasPrefix(ro.Token, "lgt_") {
				t.Fatalf("create read-only: %d %+v", code, ro)
			}
			if code := a.do("POST", "/api/v1/admin/tokens", adminToken, map[string]string{"name": "ci", "scope": "admin"}, &full); code != 201 {
				t.Fatalf("create admin: %d", code)
			}
			if code := a.do("POST", "/api/v1/admin/tokens", adminToken, map[string]string{"name": "x", "scope": "root"}, &bad); code != 400 {
				t.Fatalf("unknown scope: %d %+v", code, bad)
			}
			// Read-only: reads yes, writes 403; never the token-creating routes.
			if code := a.do("GET", "/api/v1/admin/applications", ro.Token, nil, nil); code != 200 {
				t.Fatalf("read-only GET: %d", code)
			}
			if code := a.do("GET", "/api/v1/admin/tokens", ro.Token, nil, nil); code != 200 {
				t.Fatalf("read-only token list: %d", code)
			}
			for _, w := range []struct{ method, path string }{
				{"POST", "/api/v1/admin/applications"}, {"POST", "/api/v1/admin/tokens"}, {"DELETE", "/api/v1/admin/tokens/" + full.ID},
				{"POST", "/api/v1/admin/persons"},
			} {
				if code := a.do(w.method, w.path, ro.Token, map[string]string{"name": "x"}, nil); code != 403 {
					t.Fatalf("read-only %s %s: %d, want 403", w.method, w.path, code)
				}
			}
			// The list shows names and scopes, never a secret.
			var list struct {
				Tokens []map[string]any `json:"tokens"`
			}
			a.do("GET", "/api/v1/admin/tokens", full.Token, nil, &list)
			if len(list.Tokens) != 3 {
				t.Fatalf("tokens: %+v", list.Tokens)
			}
			for _, tk := range list.Tokens {
				if _, ok := tk["token"]; ok || tk["name"] == "" || tk["created_at"] == nil {
					t.Fatalf("listed token: %v", tk)
				}
			}
			// Revoke: at once.
			var rv tokenOut
			if code := a.do("DELETE", "/api/v1/admin/tokens/"+ro.ID, full.Token, nil, &rv); code != 200 || rv.RevokedAt == "" {
				t.Fatalf("revoke: %d %+v", code, rv)
			}
			if code := a.do("GET", "/api/v1/admin/applications", ro.Token, nil, nil); code != 401 {
				t.Fatalf("revoked token: %d, want 401", code)
			}
			var got tokenOut
			a.do("GET", "/api/v1/admin/tokens/"+full.ID, full.Token, nil, &got)
			if got.LastUsed == "" {
				t.Fatalf("last use not recorded: %+v", got)
			}
			// A person's token: the owner API only, revocable.
			var ann struct{ ID string }
			a.do("POST", "/api/v1/admin/persons", adminToken, map[string]string{"name": "Ann"}, &ann)
			var pt tokenOut
			if code := a.do("POST", "/api/v1/admin/tokens", full.Token, map[string]string{"name": "ann laptop", "scope": "person", "person_id": ann.ID}, &pt); code != 201 {
				t.Fatalf("person token: %d", code)
			}
			if code := a.do("GET", "/api/v1/me", pt.Token, nil, nil); code != 200 {
				t.Fatalf("person token on owner API: %d", code)
			}
			if code := a.do("GET", "/api/v1/admin/applications", pt.Token, nil, nil); code != 403 {
				t.Fatalf("person token on admin API: %d", code)
			}
			a.do("DELETE", "/api/v1/admin/tokens/"+pt.ID, full.Token, nil, nil)
			if code := a.do("GET", "/api/v1/me", pt.Token, nil, nil); code != 401 {
				t.Fatalf("revoked person token: %d", code)
			}
		})
	}
}

// TestFailedAuthenticationsLimited: wrong tokens from one address get 401
// until the budget is spent, then 429 with Retry-After for every admin
// and owner request from that address (the right token included) until
// it refills; the log names the failures but never the token.
func TestFailedAuthenticationsLimited(t *testing.T) {
	c := &clock{t: time.Now()}
	var logs syncBuffer
	a := newAPIWithLog(t, "sqlite", func(cfg *server.Config) {
		cfg.Auth.FailureBurst = 3
		cfg.Auth.FailureRefill = config.Duration(10 * time.Second)
	}, server.Options{Now: c.Now}, &logs)
	const guess = "lgt_00000000000000000000000000000000_guessedguessedguessedguessedguessedguessed"
	for i := range 3 {
		if code := a.do("GET", "/api/v1/admin/applications", guess, nil, nil); code != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, code)
		}
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/admin/applications", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "10" {
		t.Fatalf("after 3 failures: %d Retry-After %q, want 429 and 10", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code := a.do("GET", "/api/v1/me", "whatever", nil, nil); code != 429 {
		t.Fatalf("owner API from the same address: %d", code)
	}
	// The lock check is not an admin route: not limited.
	if code, _, _ := a.check("/api/v1/lock-check", "x-nl3-authorization-token", "x", ""); code != 401 {
		t.Fatalf("lock check: %d", code)
	}
	c.Advance(10 * time.Second)
	if code := a.do("GET", "/api/v1/admin/applications", adminToken, nil, nil); code != 200 {
		t.Fatalf("after the refill: %d", code)
	}
	out := logs.String()
	if strings.Count(out, "authentication failed") != 3 || !strings.Contains(out, "remote=127.0.0.1") {
		t.Fatalf("failures not logged with the address:\n%s", out)
	}
	if strings.Contains(out, "guessed") || strings.Contains(out, adminToken) {
		t.Fatalf("a token reached the log:\n%s", out)
	}
}

// TestWeakAdminTokenRefusedAtStart: a configured token that could be
// guessed, or could never be sent, stops the start with the reason.
func TestWeakAdminTokenRefusedAtStart(t *testing.T) {
	for _, tok := range []string{strings.Repeat("a", 20), strings.Repeat("z", 40), " padded-admin-token-acjKidmD5K8xMVEbtM", strings.Repeat("k2", 130)} {
		cfg := server.Default()
		cfg.DataDir = config.Path(t.TempDir())
		cfg.AdminToken = tok
		_, err := server.Provision(cfg, nil, nil, server.Options{})
		if err == nil || !strings.Contains(err.Error(), "admin_token") {
			t.Errorf("%.20q…: %v", tok, err)
		}
	}
}
