package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/lockclient"
)

const ownerCookie = "__Host-lockgate-portal"

// signedIn enrols a person with a password and returns their browser.
func (e *env) signedIn(name string, usernames ...string) (*client, lock.Person) {
	e.t.Helper()
	p := e.person(name, strings.ToLower(name)+"@example.com", usernames...)
	c := e.client()
	c.enrolPassword(e.enrolLink(p.ID), strings.ToLower(name))
	return c, p
}

// Every form post without the session's CSRF token, with a wrong one, or
// from another origin is refused and changes nothing; so are the sign-in
// forms without their double-submitted token (login CSRF).
func TestCSRFRefused(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, p := e.signedIn("Carol", "carol")
	ctx := context.Background()
	acc, _ := e.svc.Account(ctx, e.app.ID, "carol")
	unlocked := func() bool {
		a, _ := e.svc.AccountByID(ctx, acc.ID)
		return !a.LockedAt(time.Now())
	}
	if !unlocked() {
		t.Fatal("the account starts locked")
	}
	good := c.csrf("/portal/")
	cases := []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", url.Values{}, nil},
		{"empty token", url.Values{"csrf": {""}}, nil},
		{"wrong token", url.Values{"csrf": {good[:len(good)-2] + "xx"}}, nil},
		{"another session's token", url.Values{"csrf": {e.mustOtherCSRF()}}, nil},
		{"right token, another origin", url.Values{"csrf": {good}}, http.Header{"Origin": {"https://evil.example"}}},
		{"right token, marked cross-site", url.Values{"csrf": {good}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"right token, null origin", url.Values{"csrf": {good}}, http.Header{"Origin": {"null"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.header = tc.header
			defer func() { c.header = http.Header{} }()
			res := c.post("/portal/lock-all", tc.form)
			if res.status != http.StatusForbidden {
				t.Fatalf("lock-all: %d", res.status)
			}
			if !unlocked() {
				t.Fatal("a refused post locked the account")
			}
		})
	}
	// The same token, same origin: accepted.
	if res := c.post("/portal/lock-all", url.Values{"csrf": {good}}); res.status != http.StatusSeeOther || unlocked() {
		t.Fatalf("the right token was refused: %d", res.status)
	}
	// The JSON endpoints check the header token.
	c.header = http.Header{"X-CSRF-Token": {"wrong"}}
	if res := c.do("POST", "/portal/passkey/register/begin", strings.NewReader("{}"), "application/json"); res.status != http.StatusForbidden {
		t.Fatalf("passkey registration with a wrong header token: %d", res.status)
	}
	c.header = http.Header{}
	// Sign-in forms: no pre-session cookie, or a value that differs.
	anon := e.client()
	if res := anon.post("/portal/sign-in", url.Values{"login": {"carol"}, "password": {password}, "code": {"000000"}, "csrf": {"forged-forged-forged-forged-forged-forged"}}); res.status != http.StatusForbidden {
		t.Fatalf("sign-in without the pre-session cookie: %d", res.status)
	}
	anon.csrf("/portal/sign-in")
	if res := anon.post("/console/sign-in", url.Values{"token": {adminToken}, "csrf": {"forged-forged-forged-forged-forged-forged"}}); res.status != http.StatusForbidden {
		t.Fatalf("console sign-in with a token differing from the cookie: %d", res.status)
	}
	_ = p
}

// mustOtherCSRF is the CSRF token of another person's session.
func (e *env) mustOtherCSRF() string {
	c, _ := e.signedIn("Other"+strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""), "x"+time.Now().Format("150405.000000"))
	return c.csrf("/portal/")
}

// A session identifier planted in the browser before sign-in (session
// fixation) is revoked at sign-in: the browser gets a new one, and the
// planted one opens nothing. The enrolment session is replaced the same
// way when enrolment completes.
func TestSessionFixation(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	victim := e.person("Vic", "vic@example.com", "vic")
	c := e.client()
	link := e.enrolLink(victim.ID)
	u, _ := url.Parse(link)
	c.submit(u.Path+"?"+u.RawQuery, "/portal/enrol", url.Values{"t": {u.Query().Get("t")}})
	enrolSession := c.cookies[ownerCookie]
	page := c.get("/portal/enrol/setup")
	secret := secretOnPage.FindStringSubmatch(page.body)[1]
	code := totpCode(t, secret, time.Now())
	c.submit("/portal/enrol/setup", "/portal/enrol/password", url.Values{"login": {"vic"}, "password": {password}, "confirm": {password}, "code": {code}})
	if got := c.cookies[ownerCookie]; got == "" || got == enrolSession {
		t.Fatal("the enrolment session's identifier was kept after enrolment")
	}
	old := e.client()
	old.cookies[ownerCookie] = enrolSession
	if res := old.get("/portal/enrol/setup"); res.status != http.StatusSeeOther {
		t.Fatalf("the enrolment session still works: %d", res.status)
	}

	// An attacker signs in as themself and plants their session's cookie
	// in the victim's browser, then the victim signs in.
	attacker, _ := e.signedIn("Mallory", "mallory")
	planted := attacker.cookies[ownerCookie]
	browser := e.client()
	browser.cookies[ownerCookie] = planted
	// The sign-in page sends a signed-in browser on; the form is posted
	// all the same (the victim's other tab).
	res := browser.submit("/portal/enrol", "/portal/sign-in", url.Values{"login": {"vic"}, "password": {password}, "code": {totpCode(t, secret, time.Now().Add(30*time.Second))}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", res.status, res.body)
	}
	fresh := browser.cookies[ownerCookie]
	if fresh == planted || fresh == "" {
		t.Fatal("sign-in kept the planted session identifier")
	}
	if res := attacker.get("/portal/"); res.status != http.StatusSeeOther {
		t.Fatalf("the planted session still works after the victim signed in: %d", res.status)
	}
	if res := browser.get("/portal/"); res.status != 200 || !strings.Contains(res.body, "Vic") {
		t.Fatalf("the victim's new session: %d", res.status)
	}
	// A made-up identifier is never adopted.
	made := e.client()
	made.cookies[ownerCookie] = "attacker-chosen-value-0123456789abcdef"
	if res := made.get("/portal/"); res.status != http.StatusSeeOther {
		t.Fatalf("a made-up session identifier opened the portal: %d", res.status)
	}
}

// The session cookie: __Host- prefixed, Secure, HttpOnly, SameSite=Strict,
// path /, no domain; and it carries no person's data (only a random
// secret, whose hash is what the store keeps).
func TestCookieAttributes(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	p := e.person("Dora", "dora@example.com", "dora")
	c := e.client()
	link := e.enrolLink(p.ID)
	u, _ := url.Parse(link)
	pre := c.get(u.Path + "?" + u.RawQuery)
	res := c.post("/portal/enrol", url.Values{"t": {u.Query().Get("t")}, "csrf": {c.cookies["__Host-lockgate-pre"]}})
	all := append(pre.header.Values("Set-Cookie"), res.header.Values("Set-Cookie")...)
	if len(all) < 2 {
		t.Fatalf("cookies set: %q", all)
	}
	for _, raw := range all {
		for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
			if !strings.Contains(raw, want) {
				t.Errorf("cookie %q lacks %s", raw, want)
			}
		}
		if !strings.HasPrefix(raw, "__Host-") || strings.Contains(strings.ToLower(raw), "domain=") {
			t.Errorf("cookie %q is not a __Host- cookie without a domain", raw)
		}
		if strings.Contains(raw, p.ID) || strings.Contains(raw, "dora") {
			t.Errorf("cookie %q carries the person", raw)
		}
	}
}

// A person reaches only their own accounts, requests, tokens, sessions,
// webhooks and passkeys: another's read as not found and stay as they
// are.
func TestNoAccessToAnothersAccounts(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.signedIn("Alice", "alice")
	bob, bobP := e.signedIn("Bob", "bob")
	bobAcc, _ := e.svc.Account(ctx, e.app.ID, "bob")
	e.svc.SetLock(ctx, e.app.ID, "bob", lock.Target{Lock: true}, lock.Actor{Name: "test"})
	d := e.check(lockclient.Request{Username: "bob", UserDevice: "bob's device"})
	tok, _ := e.lc.Token("bob")
	api := e.client()
	api.bearer = tok
	res := api.do("POST", "/api/v1/unlock-requests", strings.NewReader(`{"attempt_id":"`+d.SessionID+`"}`), "application/json")
	reqID := strings.Split(strings.Split(res.body, `"id":"`)[1], `"`)[0]
	bobTok, _, _ := e.svc.IssuePersonToken(ctx, bobP.ID, lock.TokenInput{Name: "bob's"})
	hook, _, err := e.svc.AddWebhook(ctx, "person", bobP.ID, "http://127.0.0.1:9/hook")
	if err != nil {
		t.Fatal(err)
	}
	bobSessions := bob.get("/portal/security").body
	bobSession := strings.Split(strings.Split(bobSessions, "/portal/security/sessions/")[1], "/")[0]

	for _, path := range []string{
		"/portal/accounts/" + bobAcc.ID + "/lock",
		"/portal/accounts/" + bobAcc.ID + "/unlock",
		"/portal/requests/" + reqID + "/approve",
		"/portal/requests/" + reqID + "/reject",
		"/portal/security/tokens/" + bobTok.ID + "/revoke",
		"/portal/security/sessions/" + bobSession + "/revoke",
		"/portal/settings/webhooks/" + hook.ID + "/delete",
		"/portal/security/passkeys/any/delete",
	} {
		res := alice.submit("/portal/", path, url.Values{"minutes": {"60"}})
		if res.status != http.StatusNotFound {
			t.Errorf("alice posted %s: %d", path, res.status)
		}
	}
	if a, _ := e.svc.AccountByID(ctx, bobAcc.ID); !a.LockedAt(time.Now()) {
		t.Error("alice unlocked bob's account")
	}
	if q, _ := e.svc.UnlockRequests(ctx, bobP.ID, 10); q[0].State != lock.RequestPending {
		t.Errorf("alice decided bob's request: %s", q[0].State)
	}
	if tk, _ := e.svc.TokenInfo(ctx, bobTok.ID); !tk.RevokedAt.IsZero() {
		t.Error("alice revoked bob's token")
	}
	if res := bob.get("/portal/"); res.status != 200 {
		t.Errorf("alice signed bob out: %d", res.status)
	}
	if hs, _ := e.svc.Webhooks(ctx, "person", bobP.ID); len(hs) != 1 {
		t.Error("alice removed bob's webhook")
	}
	// Bob's own settings page redacts credentials in his webhook URLs.
	if _, _, err := e.svc.AddWebhook(ctx, "person", bobP.ID, "http://user:pa55word@127.0.0.1:9/hook?token=SECRETQ"); err != nil {
		t.Fatal(err)
	}
	if page := bob.get("/portal/settings").body; strings.Contains(page, "pa55word") || strings.Contains(page, "SECRETQ") || !strings.Contains(page, "REDACTED") {
		t.Error("the settings page shows webhook credentials in clear")
	}
	for _, path := range []string{"/portal/", "/portal/attempts", "/portal/attempts.json", "/portal/requests", "/portal/settings", "/portal/security"} {
		if body := alice.get(path).body; strings.Contains(body, "bob") || strings.Contains(body, bobAcc.ID) {
			t.Errorf("alice's %s shows bob's data", path)
		}
	}
}

// Every portal answer carries a strict Content-Security-Policy (no inline
// script or style, nothing from elsewhere) and refuses framing.
func TestHeaders(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, _ := e.signedIn("Hana", "hana")
	anon := e.client()
	for _, tc := range []struct {
		c    *client
		path string
	}{
		{anon, "/portal/sign-in"}, {anon, "/portal/enrol"}, {anon, "/console/sign-in"}, {anon, "/portal/static/app.css"},
		{anon, "/portal/static/app.js"}, {anon, "/portal/attempts"}, {c, "/portal/"}, {c, "/portal/attempts"},
		{c, "/portal/settings"}, {c, "/portal/security"}, {c, "/portal/nope"}, {anon, "/console/nope"},
	} {
		res := tc.c.get(tc.path)
		h := res.header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", tc.path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
			t.Errorf("%s: CSP %q allows inline code or another origin", tc.path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", tc.path, h)
		}
		if strings.Contains(res.body, "<script>") || strings.Contains(res.body, " style=") || strings.Contains(res.body, "<style") {
			t.Errorf("%s: inline script or style in the page", tc.path)
		}
		if strings.Contains(res.body, "https://") && !strings.HasSuffix(tc.path, ".js") {
			for _, l := range strings.Split(res.body, "\n") {
				if strings.Contains(l, "src=\"https://") || strings.Contains(l, "href=\"https://") {
					t.Errorf("%s: external asset: %s", tc.path, l)
				}
			}
		}
	}
}

// Failed sign-ins are limited per address and per name: past the budget
// even the right password and code are answered 429 until it refills;
// every failure is logged with its reason, never with the password.
func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *server.Config) { c.Portal.SignIn.FailureBurst = 3 })
	p := e.person("Ivan", "ivan@example.com", "ivan")
	c := e.client()
	secret := c.enrolPassword(e.enrolLink(p.ID), "ivan")
	b := e.client()
	for i := 0; i < 3; i++ {
		if res := b.signIn("ivan", "wrong password "+string(rune('a'+i)), secret); res.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i, res.status)
		}
	}
	res := b.signIn("ivan", password, secret)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures the right password: %d", res.status)
	}
	log := e.log.String()
	if strings.Count(log, "portal: sign-in failed") != 3 || !strings.Contains(log, "reason=\"wrong password\"") || strings.Contains(log, "wrong password a") {
		t.Fatalf("the log: %s", log)
	}
	// The console is limited the same way.
	a := e.client()
	for i := 0; i < 3; i++ {
		a.submit("/console/sign-in", "/console/sign-in", url.Values{"token": {"lgt_nope"}})
	}
	if res := a.submit("/console/sign-in", "/console/sign-in", url.Values{"token": {adminToken}}); res.status != http.StatusTooManyRequests {
		t.Fatalf("console after 3 failures: %d", res.status)
	}
	// The budget refills.
	e.clock.Advance(5 * time.Minute)
	if res := b.signIn("ivan", password, secret); res.status != http.StatusSeeOther {
		t.Fatalf("after the refill: %d %s", res.status, res.body)
	}
}

// An enrolment link works once and only until it expires; viewing it
// does not use it (link scanners open links).
func TestEnrolLinkSingleUseAndExpiring(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	p := e.person("Jo", "jo@example.com", "jo")
	link := e.enrolLink(p.ID)
	u, _ := url.Parse(link)
	if !strings.HasPrefix(link, e.base+"/portal/enrol?t=") {
		t.Fatalf("link %s", link)
	}
	c := e.client()
	for range 3 {
		if res := c.get(u.Path + "?" + u.RawQuery); res.status != 200 || !strings.Contains(res.body, "Start set-up") {
			t.Fatalf("viewing the link: %d", res.status)
		}
	}
	if res := c.submit(u.Path+"?"+u.RawQuery, "/portal/enrol", url.Values{"t": {u.Query().Get("t")}}); res.status != http.StatusSeeOther {
		t.Fatalf("first use: %d", res.status)
	}
	d := e.client()
	if res := d.get(u.Path + "?" + u.RawQuery); res.status != http.StatusGone {
		t.Fatalf("viewing a used link: %d", res.status)
	}
	res := d.submit("/portal/enrol", "/portal/enrol", url.Values{"t": {u.Query().Get("t")}})
	if res.status != http.StatusGone || d.cookies[ownerCookie] != "" {
		t.Fatalf("second use: %d", res.status)
	}
	// Expired.
	link = e.enrolLink(p.ID)
	u, _ = url.Parse(link)
	e.clock.Advance(72*time.Hour + time.Minute)
	if res := d.submit("/portal/enrol", "/portal/enrol", url.Values{"t": {u.Query().Get("t")}}); res.status != http.StatusGone {
		t.Fatalf("expired link: %d", res.status)
	}
	// A made-up one.
	if res := d.submit("/portal/enrol", "/portal/enrol", url.Values{"t": {"made-up"}}); res.status != http.StatusGone {
		t.Fatalf("made-up link: %d", res.status)
	}
}

// The console: an admin token is exchanged for a session; admin:read may
// look but not change; a person's token is refused; revoking the token
// ends the session.
func TestConsoleSessions(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	ctx := context.Background()
	readTok, readSecret, _ := e.svc.CreateToken(ctx, lock.TokenInput{Name: "viewer", Scope: lock.ScopeAdminRead})
	p := e.person("Kim", "kim@example.com")
	_, personSecret, _ := e.svc.IssuePersonToken(ctx, p.ID, lock.TokenInput{})

	signIn := func(token string) (*client, response) {
		c := e.client()
		return c, c.submit("/console/sign-in", "/console/sign-in", url.Values{"token": {token}})
	}
	if _, res := signIn(personSecret); res.status != http.StatusUnauthorized {
		t.Fatalf("a person's token opened the console: %d", res.status)
	}
	r, res := signIn(readSecret)
	if res.status != http.StatusSeeOther {
		t.Fatalf("admin:read sign-in: %d %s", res.status, res.body)
	}
	if res := r.get("/console/applications"); res.status != 200 || !strings.Contains(res.body, "Shop") || strings.Contains(res.body, `action="/console/applications"`) {
		t.Fatalf("admin:read applications page: %d", res.status)
	}
	if res := r.submit("/console/", "/console/applications/"+e.app.ID+"/keys", nil); res.status != http.StatusForbidden {
		t.Fatalf("admin:read rotated a key: %d", res.status)
	}
	if keys, _ := e.svc.Keys(ctx, e.app.ID); len(keys) != 1 {
		t.Fatal("a key was added")
	}
	e.svc.RevokeToken(ctx, readTok.ID)
	if res := r.get("/console/"); res.status != http.StatusSeeOther {
		t.Fatalf("the console session outlived its token: %d", res.status)
	}
	// Owner cookies do not open the console, nor console cookies the portal.
	a, _ := signIn(adminToken)
	a.cookies[ownerCookie] = a.cookies["__Host-lockgate-console"]
	if res := a.get("/portal/"); res.status != http.StatusSeeOther {
		t.Fatalf("a console session opened the portal: %d", res.status)
	}
}
