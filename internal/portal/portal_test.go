package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/lockclient"
)

// An owner enrols through a one-time link with a password and an
// authenticator app, signs in with both, sees their accounts, unlocks one
// for 15 minutes (a lock check then answers unlocked), sees an attempt,
// and locks everything.
func TestOwnerFlowWithoutJavaScript(t *testing.T) {
	e := start(t, nil)
	alice := e.person("Alice", "alice@example.com", "alice", "alice-admin")
	c := e.client()
	secret := c.enrolPassword(e.enrolLink(alice.ID), "alice@example.com")

	// A fresh browser signs in with the password and a code.
	b := e.client()
	res := b.signIn("ALICE@example.com", password, secret)
	if res.status != http.StatusSeeOther || res.location() != "/portal/" {
		t.Fatalf("sign-in: %d %s", res.status, res.body)
	}
	page := b.get("/portal/")
	if page.status != 200 || !strings.Contains(page.body, "alice-admin") || strings.Count(page.body, `class="badge locked"`) != 0 {
		t.Fatalf("accounts page: %d %s", page.status, page.body)
	}
	accs, _ := e.svc.Accounts(context.Background(), "", alice.ID)
	var id string
	for _, a := range accs {
		if a.Username == "alice" {
			id = a.ID
		}
	}
	res = b.submit("/portal/", "/portal/accounts/"+id+"/lock", nil)
	if res.status != http.StatusSeeOther {
		t.Fatalf("lock: %d %s", res.status, res.body)
	}
	if d := e.check(lockclient.Request{Username: "alice", UserIP: "203.0.113.9", UserDevice: "Firefox on Linux"}); !d.Locked {
		t.Fatal("locked from the portal, the check answers unlocked")
	}
	res = b.submit("/portal/", "/portal/accounts/"+id+"/unlock", url.Values{"minutes": {"15"}})
	if res.status != http.StatusSeeOther || res.location() != "/portal/?m=unlocked" {
		t.Fatalf("unlock: %d %s", res.status, res.body)
	}
	acc, _ := e.svc.AccountByID(context.Background(), id)
	if left := time.Until(acc.UnlockUntil); left < 14*time.Minute || left > 15*time.Minute {
		t.Fatalf("unlocked until %s: not 15 minutes from now", acc.UnlockUntil)
	}
	page = b.get("/portal/?m=unlocked")
	if !strings.Contains(page.body, "Unlocked until <time datetime=") || !strings.Contains(page.body, `data-left-for=`) || !strings.Contains(page.body, `<p class="flash" role="status">Unlocked.</p>`) {
		t.Fatalf("the page does not say until when: %s", page.body)
	}
	if d := e.check(lockclient.Request{Username: "alice", UserIP: "203.0.113.9"}); d.Locked {
		t.Fatal("unlocked for 15 minutes, the check answers locked")
	}
	// Only 5, 15 and 60 minutes.
	if res := b.submit("/portal/", "/portal/accounts/"+id+"/unlock", url.Values{"minutes": {"100000"}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("unlock for 100000 minutes: %d", res.status)
	}
	att := b.get("/portal/attempts")
	if !strings.Contains(att.body, "Firefox on Linux") || !regexp.MustCompile(`<tr data-id="att_[0-9a-f]+" class="locked"><td>[^<]+</td><td>Shop</td><td>alice</td><td>203.0.113.9</td>`).MatchString(att.body) {
		t.Fatalf("the attempt made while locked is not shown highlighted: %s", att.body)
	}
	res = b.submit("/portal/", "/portal/lock-all", nil)
	if res.status != http.StatusSeeOther || res.location() != "/portal/?m=locked-all" {
		t.Fatalf("lock all: %d", res.status)
	}
	accs, _ = e.svc.Accounts(context.Background(), "", alice.ID)
	for _, a := range accs {
		if !a.LockedAt(time.Now()) {
			t.Fatalf("after lock everything, %s is unlocked", a.Username)
		}
	}
	hist, _ := e.svc.History(context.Background(), id, 10)
	if len(hist) == 0 || !strings.HasPrefix(hist[0].Actor, "person:"+alice.ID) || hist[0].ActorIP != "127.0.0.1" {
		t.Fatalf("history does not name the person and address: %+v", hist)
	}
	// Sign out ends the session on the server.
	cookie := b.cookies["__Host-lockgate-portal"]
	b.submit("/portal/", "/portal/sign-out", nil)
	b.cookies["__Host-lockgate-portal"] = cookie
	if res := b.get("/portal/"); res.status != http.StatusSeeOther || res.location() != "/portal/sign-in" {
		t.Fatalf("a signed-out session still works: %d", res.status)
	}
}

// The unlock-request flow: a check answers locked; the integration asks
// for an unlock with the attempt's ID; the owner approves in the portal;
// the account is unlocked for the configured short time; the integration
// reads the request approved. A request of another account's token is
// not found; one past its timeout cannot be approved.
func TestUnlockRequests(t *testing.T) {
	e := start(t, nil)
	bob := e.person("Bob", "bob@example.com", "bob")
	other := e.person("Olga", "olga@example.com", "olga")
	_ = other
	ctx := context.Background()
	e.svc.SetLock(ctx, e.app.ID, "bob", lock.Target{Lock: true}, lock.Actor{Name: "test"})
	d := e.check(lockclient.Request{Username: "bob", UserIP: "198.51.100.7", UserDevice: "Safari on iPhone"})
	if !d.Locked {
		t.Fatal("not locked")
	}
	api := func(method, path, user, body string) response {
		t.Helper()
		tok, err := e.lc.Token(user)
		if err != nil {
			t.Fatal(err)
		}
		c := e.client()
		c.bearer = tok
		return c.do(method, path, strings.NewReader(body), "application/json")
	}
	if res := api("POST", "/api/v1/unlock-requests", "olga", `{"attempt_id":"`+d.SessionID+`"}`); res.status != http.StatusNotFound {
		t.Fatalf("another account's token asked for bob's attempt: %d %s", res.status, res.body)
	}
	// A lone surrogate escape is refused, naming the field, not decoded as U+FFFD.
	if res := api("POST", "/api/v1/unlock-requests", "bob", `{"attempt_id":"`+d.SessionID+`\udfff"}`); res.status != http.StatusBadRequest || !strings.Contains(res.body, "attempt_id: holds") {
		t.Fatalf("lone surrogate: %d %s", res.status, res.body)
	}
	res := api("POST", "/api/v1/unlock-requests", "bob", `{"attempt_id":"`+d.SessionID+`"}`)
	if res.status != http.StatusCreated || !strings.Contains(res.body, `"state":"pending"`) {
		t.Fatalf("request: %d %s", res.status, res.body)
	}
	id := regexp.MustCompile(`"id":"(ulr_[0-9a-f]+)"`).FindStringSubmatch(res.body)[1]
	// Asking again returns the same pending request.
	if again := api("POST", "/api/v1/unlock-requests", "bob", `{"attempt_id":"`+d.SessionID+`"}`); !strings.Contains(again.body, id) {
		t.Fatalf("a second request: %s", again.body)
	}

	c := e.client()
	secret := c.enrolPassword(e.enrolLink(bob.ID), "bob")
	_ = secret
	if page := c.get("/portal/"); !strings.Contains(page.body, "1 unlock request(s) wait for you") {
		t.Fatalf("no notice of the pending request: %s", page.body)
	}
	page := c.get("/portal/requests")
	if !strings.Contains(page.body, "Safari on iPhone") || !strings.Contains(page.body, "/portal/requests/"+id+"/approve") {
		t.Fatalf("requests page: %s", page.body)
	}
	if res := c.submit("/portal/requests", "/portal/requests/"+id+"/approve", nil); res.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.status, res.body)
	}
	acc, _ := e.svc.Account(ctx, e.app.ID, "bob")
	if acc.LockedAt(time.Now()) || time.Until(acc.UnlockUntil) > 5*time.Minute || time.Until(acc.UnlockUntil) < 4*time.Minute {
		t.Fatalf("approved: the account is %s until %s, not unlocked for 5 minutes", acc.State, acc.UnlockUntil)
	}
	if st := api("GET", "/api/v1/unlock-requests/"+id, "bob", ""); !strings.Contains(st.body, `"state":"approved"`) {
		t.Fatalf("status: %s", st.body)
	}
	if st := api("GET", "/api/v1/unlock-requests/"+id, "olga", ""); st.status != http.StatusNotFound {
		t.Fatalf("another account read the request: %d", st.status)
	}
	// Deciding twice is refused.
	if res := c.submit("/portal/requests", "/portal/requests/"+id+"/reject", nil); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("second decision: %d", res.status)
	}

	// A request left past its timeout expires.
	e.svc.SetLock(ctx, e.app.ID, "bob", lock.Target{Lock: true}, lock.Actor{Name: "test"})
	d = e.check(lockclient.Request{Username: "bob"})
	res = api("POST", "/api/v1/unlock-requests", "bob", `{"attempt_id":"`+d.SessionID+`"}`)
	id2 := regexp.MustCompile(`"id":"(ulr_[0-9a-f]+)"`).FindStringSubmatch(res.body)[1]
	e.clock.Advance(11 * time.Minute)
	if res := c.submit("/portal/requests", "/portal/requests/"+id2+"/approve", nil); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "expired") {
		t.Fatalf("approving an expired request: %d %s", res.status, res.body)
	}
	if acc, _ := e.svc.Account(ctx, e.app.ID, "bob"); !acc.LockedAt(e.clock.Now()) {
		t.Fatal("an expired request unlocked the account")
	}
}

// At an IP address (the default public URL, http://127.0.0.1:8080) the
// portal runs without passkeys, which need a domain: the passkey parts of
// the pages are gone, the passkey calls answer 404, passwords work, and
// the log says how to get passkeys.
func TestOriginAtAnIPAddress(t *testing.T) {
	e := start(t, func(c *server.Config) {
		c.Portal.Origin = strings.Replace(c.PublicURLs[0], "localhost", "127.0.0.1", 1)
	})
	p := e.person("Ida", "ida@example.com", "ida")
	c := e.client()
	secret := c.enrolPassword(e.enrolLink(p.ID), "ida")
	if page := c.get("/portal/security"); strings.Contains(page.body, "passkey-register") {
		t.Fatal("the security page offers passkeys")
	}
	b := e.client()
	if page := b.get("/portal/sign-in"); strings.Contains(page.body, "passkey-signin") {
		t.Fatal("the sign-in page offers passkeys")
	}
	b.header.Set("X-CSRF-Token", b.cookies["__Host-lockgate-pre"])
	if res := b.do("POST", "/portal/passkey/login/begin", nil, ""); res.status != http.StatusNotFound {
		t.Fatalf("passkey sign-in at an IP origin: %d", res.status)
	}
	b.header = http.Header{}
	if res := b.signIn("ida", password, secret); res.status != http.StatusSeeOther {
		t.Fatalf("password sign-in: %d", res.status)
	}
	if !strings.Contains(e.log.String(), "passkeys need a host name") {
		t.Fatal("the log does not say why there are no passkeys")
	}
}
