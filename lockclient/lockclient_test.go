package lockclient_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/lockclient"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func client(t *testing.T, url string, failOpen bool) *lockclient.Client {
	t.Helper()
	c, err := lockclient.New(lockclient.Config{APIURI: url, Issuer: "https://app.example", SigningKey: key, FailOpen: failOpen, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenClaims(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c, _ := lockclient.New(lockclient.Config{APIURI: "https://lock.example", Issuer: "https://app.example", SigningKey: key, KeyID: "key_1", Now: func() time.Time { return now }})
	tok, err := c.Token("alice")
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != "key_1" || claims["iss"] != "https://app.example" || claims["aud"] != "https://lock.example" || claims["sub"] != "alice" ||
		claims["iat"].(float64) != float64(now.Unix()-60) || claims["exp"].(float64) != float64(now.Unix()+300) {
		t.Fatalf("claims %v header %v", claims, parsed.Header)
	}
}

func TestFailureModes(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		failOpen   bool
		wantLocked bool
		wantFailed bool
		wantCalls  int32
	}{
		{"locked", 200, `{"locked":true,"status":"locked","sessionID":"s"}`, false, true, false, 1},
		{"unlocked", 200, `{"locked":false}`, false, false, false, 1},
		{"locked as a string", 200, `{"locked":"true"}`, false, true, false, 1},
		{"201 is an answer too", 201, `{"locked":false}`, false, false, false, 1},
		// The seed read a missing field as unlocked and removed the lock.
		{"no locked field fails closed", 200, `{"message":"boom"}`, false, true, true, 3},
		{"not JSON fails closed", 200, `<html>`, false, true, true, 3},
		{"locked is a number", 200, `{"locked":1}`, false, true, true, 3},
		{"5xx retried then fails closed", 503, `{}`, false, true, true, 3},
		{"5xx fails open when configured", 503, `{}`, true, false, true, 3},
		{"401 not retried", 401, `{"error":"unauthorized"}`, false, true, true, 1},
		{"429 retried", 429, `{}`, false, true, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if r.Header.Get("x-nl3-authorization-token") == "" || r.URL.Path != lockclient.DefaultPath {
					t.Errorf("request %s without token", r.URL.Path)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			d, err := client(t, srv.URL, tt.failOpen).Check(context.Background(), lockclient.Request{Username: "alice"})
			if d.Locked != tt.wantLocked || d.Failed != tt.wantFailed || (err != nil) != tt.wantFailed {
				t.Fatalf("Check = %+v, %v; want locked=%v failed=%v", d, err, tt.wantLocked, tt.wantFailed)
			}
			if calls.Load() != tt.wantCalls {
				t.Fatalf("%d calls, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
}

// A redirect is never followed, with the default client or the
// caller's: the token header would go to the redirect's target, and its
// answer is not the lock service's.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-nl3-authorization-token") != "" {
			leaked.Add(1)
		}
		io.WriteString(w, `{"locked":false}`)
	}))
	defer elsewhere.Close()
	for _, status := range []int{301, 302, 307, 308} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, status)
		}))
		for _, hc := range []*http.Client{nil, {}} {
			c, err := lockclient.New(lockclient.Config{APIURI: srv.URL, Issuer: "https://app.example", SigningKey: key, Backoff: time.Millisecond, HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Check(context.Background(), lockclient.Request{Username: "alice"})
			if err == nil || !d.Locked || !d.Failed {
				t.Errorf("%d (own client %v): Check = %+v, %v; want a fail-closed failure", status, hc != nil, d, err)
			}
		}
		srv.Close()
	}
	if n := leaked.Load(); n != 0 {
		t.Fatalf("the token reached the redirect's target %d times", n)
	}
}

func TestUnreachableFailsClosed(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	d, err := client(t, url, false).Check(context.Background(), lockclient.Request{Username: "alice"})
	if err == nil || !d.Locked || !d.Failed {
		t.Fatalf("Check = %+v, %v; want fail-closed", d, err)
	}
}

// TestAgainstLockgate runs the client against a real lockgate.
func TestAgainstLockgate(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	cfg := server.Default()
	cfg.DataDir = config.Path(t.TempDir())
	cfg.AdminToken = "admin-token-uE8jERLWtxNTzkB8PbhLQYf"
	cfg.PublicURLs = []string{"http://" + srv.Listener.Addr().String()}
	s, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv.Config.Handler = s.Handler()
	srv.Start()
	defer srv.Close()
	svc := s.Service()
	name := "Demo"
	app, nk, err := svc.CreateApplication(context.Background(), lock.ApplicationInput{Name: &name, Issuers: []string{"https://demo.example"}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := lockclient.DecodeKey(nk.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"", "/nl3/api/v1/accountProtectionCheck"} {
		c, _ := lockclient.New(lockclient.Config{APIURI: srv.URL, Path: path, Issuer: "https://demo.example", SigningKey: k, KeyID: nk.ID})
		d, err := c.Check(context.Background(), lockclient.Request{Username: "bob", UserIP: "1.1.1.1", IntegrationType: "awsiamuser"})
		if err != nil || d.Locked || d.SessionID == "" {
			t.Fatalf("%q first check: %+v %v", path, d, err)
		}
	}
	if _, err := svc.SetLock(context.Background(), app.ID, "bob", lock.Target{Lock: true}, lock.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	c, _ := lockclient.New(lockclient.Config{APIURI: srv.URL, Issuer: "https://demo.example", SigningKey: k})
	if d, err := c.Check(context.Background(), lockclient.Request{Username: "bob"}); err != nil || !d.Locked || d.Failed {
		t.Fatalf("after lock: %+v %v", d, err)
	}
	if err := c.Report(context.Background(), "bob", "aws-iam-responder", map[string]any{"result": "locked"}); err != nil {
		t.Fatalf("report: %v", err)
	}
	evs, err := svc.AccountEvents(context.Background(), app.ID, "bob", 10)
	if err != nil || len(evs) != 1 || evs[0].Source != "aws-iam-responder" || string(evs[0].Detail) != `{"result":"locked"}` {
		t.Fatalf("reported events: %+v %v", evs, err)
	}
	read, err := c.Events(context.Background(), "bob", "aws-iam-responder", 5)
	if err != nil || len(read) != 1 || read[0].Source != "aws-iam-responder" || string(read[0].Detail) != `{"result":"locked"}` {
		t.Fatalf("events read back: %+v %v", read, err)
	}
	wrong, _ := lockclient.New(lockclient.Config{APIURI: srv.URL, Issuer: "https://demo.example", SigningKey: key})
	// The refusal names the URL that refused: the integration-events one,
	// not the lock check's.
	if err := wrong.Report(context.Background(), "bob", "x", nil); !errors.Is(err, lockclient.ErrUnauthorized) || !strings.Contains(err.Error(), srv.URL+"/api/v1/integration-events") {
		t.Fatalf("a report signed with the wrong key: %v", err)
	}
	if _, err := wrong.Events(context.Background(), "bob", "", 0); !errors.Is(err, lockclient.ErrUnauthorized) || !strings.Contains(err.Error(), "/api/v1/integration-events") {
		t.Fatalf("events with the wrong key: %v", err)
	}
	if d, err := wrong.Check(context.Background(), lockclient.Request{Username: "bob"}); err == nil || !d.Locked {
		t.Fatalf("wrong key: %+v %v", d, err)
	}
}

func TestDecodeKey(t *testing.T) {
	k, err := lockclient.DecodeKey(base64.StdEncoding.EncodeToString(key) + "\n")
	if err != nil || string(k) != string(key) {
		t.Fatalf("DecodeKey: %v", err)
	}
	if _, err := lockclient.DecodeKey("not base64!"); err == nil {
		t.Fatal("accepted non-base64")
	}
	if _, err := lockclient.New(lockclient.Config{APIURI: "x", Issuer: "y", SigningKey: []byte("short")}); err == nil {
		t.Fatal("accepted a short key")
	}
}

// Audience signs aud for a service reached at another address than its
// public URL (kubectl port-forward to a lockgate whose public URL is
// https://lock.example.com): the token goes to APIURI, aud is Audience.
func TestAudience(t *testing.T) {
	var aud atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims := jwt.MapClaims{}
		jwt.ParseWithClaims(r.Header.Get("x-nl3-authorization-token"), claims, func(*jwt.Token) (any, error) { return key, nil }, jwt.WithValidMethods([]string{"HS256"}))
		aud.Store(claims["aud"])
		io.WriteString(w, `{"locked":false}`)
	}))
	defer srv.Close()
	for _, tc := range []struct{ audience, want string }{{"", srv.URL}, {"https://lock.example.com", "https://lock.example.com"}} {
		c, err := lockclient.New(lockclient.Config{APIURI: srv.URL, Audience: tc.audience, Issuer: "https://app.example", SigningKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Check(context.Background(), lockclient.Request{Username: "alice"}); err != nil {
			t.Fatal(err)
		}
		if got := aud.Load(); got != tc.want {
			t.Errorf("Audience %q: aud %v, want %s", tc.audience, got, tc.want)
		}
	}
}
