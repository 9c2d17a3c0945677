package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo/geotest"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/lockclient"
)

// A person's geo-fence, set through the owner API: a check from outside it
// answers locked with the fence's message and records why; a sign-in from
// a new country sends attempt.new_country; admins fence accounts; codes
// are checked.
func TestGeoFence(t *testing.T) {
	ctx := context.Background()
	events := make(chan string, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Country string `json:"country"`
				Reason  string `json:"reason"`
			} `json:"data"`
		}
		json.Unmarshal(body, &ev)
		events <- ev.Type + " " + ev.Data.Country + ev.Data.Reason
	}))
	defer hook.Close()

	cfg := testConfig(t)
	cfg.Geo.DatabaseFile = config.Path(geotest.Write(t, geotest.City, geotest.Records))
	s, err := Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + serve(t, s)
	svc := s.Service()
	name := "Shop"
	app, nk, err := svc.CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreatePerson(ctx, "Alice", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AssignAccount(ctx, app.ID, "alice", p.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AddWebhook(ctx, "person", p.ID, hook.URL); err != nil {
		t.Fatal(err)
	}
	_, ownerToken, err := svc.IssuePersonToken(ctx, p.ID, lock.TokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := lockclient.DecodeKey(nk.Secret)
	lc, _ := lockclient.New(lockclient.Config{APIURI: base, Issuer: "https://shop.example", SigningKey: key, Retries: -1})
	check := func(ip string) lockclient.Decision {
		t.Helper()
		d, err := lc.Check(ctx, lockclient.Request{Username: "alice", UserIP: ip})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Before any fence: US, then GB, a new country for Alice.
	if d := check("8.8.8.8"); d.Locked {
		t.Fatal("locked without a fence")
	}
	if d := check("81.2.69.142"); d.Locked {
		t.Fatal("locked without a fence")
	}
	if code, body := call("PUT", "/api/v1/me/geofence", ownerToken, `{"countries":["us"],"regions":["CA-QC"],"message":"Sign in from home, or call the help desk."}`); code != 200 || !strings.Contains(body, `"countries":["US"]`) {
		t.Fatalf("owner PUT: %d %s", code, body)
	}
	for _, tt := range []struct {
		ip     string
		locked bool
	}{
		{"8.8.8.8", false},              // US
		{"2001:4860:4860::8888", false}, // US, IPv6
		{"24.48.0.1", false},            // CA-QC, an allowed region
		{"81.2.69.142", true},           // GB
		{"9.9.9.9", true},               // nowhere known: fails closed
		{"not an address", true},        // cannot be placed
		{"", true},                      // no userIP
	} {
		d := check(tt.ip)
		if d.Locked != tt.locked {
			t.Errorf("%q: locked %v", tt.ip, d.Locked)
		}
		if tt.locked && d.Message != "Sign in from home, or call the help desk." {
			t.Errorf("%q: message %q", tt.ip, d.Message)
		}
	}
	// Why, in the account's history.
	evs, err := svc.AccountEvents(ctx, app.ID, "alice", 10)
	if err != nil || len(evs) != 4 || evs[len(evs)-1].Source != "geo-fence" || !strings.Contains(string(evs[len(evs)-1].Detail), `"country":"GB"`) ||
		!strings.Contains(string(evs[len(evs)-1].Detail), "outside the person's allowed countries") {
		t.Errorf("history: %+v %v", evs, err)
	}

	// Admins fence an account; both fences apply.
	if code, body := call("PUT", "/api/v1/admin/applications/"+app.ID+"/accounts/alice/geofence", cfg.AdminToken, `{"regions":["US-CA"]}`); code != 200 {
		t.Fatalf("admin PUT: %d %s", code, body)
	}
	if d := check("24.48.0.1"); !d.Locked {
		t.Error("CA-QC passed the account's US-CA fence")
	}
	if d := check("8.8.8.8"); d.Locked {
		t.Error("US-CA refused")
	}
	for _, tt := range []struct{ path, token, body, want string }{
		{"/api/v1/me/geofence", ownerToken, `{"countries":["UK"]}`, `countries[0]: \"UK\" is not the ISO 3166-1 code: use GB`},
		{"/api/v1/me/geofence", ownerToken, `{"regions":["California"]}`, `is not an ISO 3166-2 code`},
		{"/api/v1/me/geofence", ownerToken, `{}`, `at least one`},
		{"/api/v1/admin/persons/per_nobody/geofence", cfg.AdminToken, `{"countries":["US"]}`, `not_found`},
	} {
		if code, body := call("PUT", tt.path, tt.token, tt.body); code == 200 || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s: %d %s", tt.path, tt.body, code, body)
		}
	}
	if code, body := call("GET", "/api/v1/admin/persons/"+p.ID+"/geofence", ownerToken, ""); code != 403 {
		t.Errorf("an owner token on the admin API: %d %s", code, body)
	}
	if code, _ := call("DELETE", "/api/v1/me/geofence", ownerToken, ""); code != 204 {
		t.Errorf("owner DELETE: %d", code)
	}
	if code, _ := call("GET", "/api/v1/me/geofence", ownerToken, ""); code != 404 {
		t.Errorf("after DELETE: %d", code)
	}

	// attempt.new_country went out once, for GB, and attempt.locked
	// events say why.
	// US was Alice's first country (no event); GB and CA were new.
	newCountry, lockedWhy := map[string]int{}, false
	timeout := time.After(20 * time.Second)
	for len(newCountry) < 2 || !lockedWhy {
		select {
		case e := <-events:
			switch {
			case strings.HasPrefix(e, "attempt.new_country"):
				newCountry[strings.TrimPrefix(e, "attempt.new_country ")]++
				if e != "attempt.new_country GB" && e != "attempt.new_country CA" {
					t.Errorf("event %q", e)
				}
			case strings.HasPrefix(e, "attempt.locked geo-fence: userIP is in GB"):
				lockedWhy = true
			}
		case <-timeout:
			t.Fatalf("webhooks: new_country %v, locked with a reason %v", newCountry, lockedWhy)
		}
	}
	for c, n := range newCountry {
		if n != 1 {
			t.Errorf("%d new_country events for %s", n, c)
		}
	}
}
