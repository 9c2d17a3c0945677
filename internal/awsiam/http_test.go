package awsiam

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/webhook"
)

func TestHandlerAuth(t *testing.T) {
	g := newRig(t)
	g.admin("anaya", 1)
	h := &Handler{R: g.r, EventsSecret: "events-secret-AMDkb3DnKV", WebhookSecret: "hook-secret-of-more-than-16-bytes"}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	event, _ := os.ReadFile("testdata/iam-user-success.eventbridge.json")
	do := func(path string, hdr map[string]string, body string) int {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	change := `{"id":"evt_1","type":"lock.changed","data":{"change":{"username":"anaya","to":"locked","at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}}}`
	loneChange := strings.Replace(change, `"anaya"`, `"anaya\ud800"`, 1)
	signed := func(secret, body string, ts time.Time) map[string]string {
		return map[string]string{webhook.HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10), webhook.HeaderSignature: webhook.Sign([]byte(secret), ts.Unix(), []byte(body))}
	}
	tests := []struct {
		name, path string
		hdr        map[string]string
		body       string
		want       int
	}{
		{"no events secret", "/events/aws-signin", nil, string(event), 401},
		{"wrong events secret", "/events/aws-signin", map[string]string{"X-Lockgate-Events-Secret": "nope"}, string(event), 401},
		{"events secret", "/events/aws-signin", map[string]string{"X-Lockgate-Events-Secret": "events-secret-AMDkb3DnKV"}, string(event), 200},
		{"unsigned push", "/events/lock-changed", nil, change, 401},
		{"push signed with another secret", "/events/lock-changed", signed("other", change, time.Now()), change, 401},
		{"replayed push", "/events/lock-changed", signed("hook-secret-of-more-than-16-bytes", change, time.Now().Add(-10*time.Minute)), change, 401},
		{"not a change", "/events/lock-changed", signed("hook-secret-of-more-than-16-bytes", `{"type":"x"}`, time.Now()), `{"type":"x"}`, 400},
		// Lone surrogate escapes, which encoding/json would turn into U+FFFD.
		{"lone surrogate in a push", "/events/lock-changed", signed("hook-secret-of-more-than-16-bytes", loneChange, time.Now()), loneChange, 400},
		{"lone surrogate in an event", "/events/aws-signin", map[string]string{"X-Lockgate-Events-Secret": "events-secret-AMDkb3DnKV"}, strings.Replace(string(event), `"detail"`, `"x\udc00":1,"detail"`, 1), 400},
		{"signed push", "/events/lock-changed", signed("hook-secret-of-more-than-16-bytes", change, time.Now()), change, 200},
	}
	for _, tt := range tests {
		if got := do(tt.path, tt.hdr, tt.body); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := strings.Join(keyStatus(g, "anaya"), ","); got != "Inactive" {
		t.Fatalf("the signed push did not lock: %s", got)
	}
}

func signedPush(t *testing.T, url, secret, user, to string, at time.Time) (int, Outcomes) {
	t.Helper()
	body := `{"id":"evt_1","type":"lock.changed","data":{"change":{"username":"` + user + `","to":"` + to + `","at":"` + at.UTC().Format(time.RFC3339Nano) + `"}}}`
	req, _ := http.NewRequest("POST", url+"/events/lock-changed", strings.NewReader(body))
	now := time.Now()
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), now.Unix(), []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans Outcomes
	json.NewDecoder(resp.Body).Decode(&ans)
	return resp.StatusCode, ans
}

// A push for a person reaches every role session recorded in the book by
// any process (the Lambda function recorded this one), and the IAM user
// of that name when there is one.
func TestPushReachesRecordedRoleSessions(t *testing.T) {
	g := newRig(t)
	role := g.iam.AddRole("admin")
	g.iam.AttachRolePolicy("admin", g.adminP)
	other := g.iam.AddRole("readonly")
	g.iam.AttachRolePolicy("readonly", g.adminP)
	g.book.Remember(context.Background(), Target{Role: "admin", RoleID: role.ID, SessionName: "ana"})
	g.book.Remember(context.Background(), Target{Role: "readonly", RoleID: other.ID, SessionName: "ana"})
	mux := http.NewServeMux()
	(&Handler{R: g.r, WebhookSecret: "hook-secret-of-more-than-16-bytes"}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, ans := signedPush(t, srv.URL, "hook-secret-of-more-than-16-bytes", "ana", "locked", g.clock)
	if code != 200 || len(ans.Outcomes) != 3 {
		t.Fatalf("%d %+v", code, ans)
	}
	for _, o := range ans.Outcomes[:2] {
		if o.Result != "locked" {
			t.Fatalf("%+v", ans)
		}
	}
	if o := ans.Outcomes[2]; o.Target.User != "ana" || o.Result != "skipped" {
		t.Fatalf("no IAM user ana: %+v", o)
	}
	if g.sessionAllowed("admin", "ana", g.clock) || g.sessionAllowed("readonly", "ana", g.clock) || !g.sessionAllowed("admin", "bob", g.clock) {
		t.Fatal("the push did not lock exactly ana's role sessions")
	}
	// A lockgate account name IAM cannot hold is not asked about.
	code, ans = signedPush(t, srv.URL, "hook-secret-of-more-than-16-bytes", "ana maria", "locked", g.clock)
	if code != 200 || len(ans.Outcomes) != 1 || ans.Outcomes[0].Result != "skipped" {
		t.Fatalf("%d %+v", code, ans)
	}
}
