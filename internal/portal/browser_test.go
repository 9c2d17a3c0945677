package portal_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/lockclient"
)

// chromium finds Debian's chromium; with CI=true its absence fails the
// test, elsewhere it skips with the command that installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (CI=true): apt-get install chromium")
	}
	t.Skip("chromium is not installed: apt-get install chromium")
	return ""
}

// browser starts headless Chromium with a profile of its own.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := chromium(t)
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 900))
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// shots is where screenshots go: LOCKGATE_SCREENSHOTS (docs/portal to
// refresh the committed ones), else the test's temporary directory.
func shots(t *testing.T) string {
	if d := os.Getenv("LOCKGATE_SCREENSHOTS"); d != "" {
		if !filepath.IsAbs(d) {
			d = filepath.Join("..", "..", d)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// run is chromedp.Do failing the test.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
		t.Fatalf("browser at %s: %v", loc, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// shot saves a full-page screenshot as dir/name.png.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func clearCookies(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
}

// TestInChromium drives the portal and the console in headless Chromium:
// enrolment with a passkey (Chrome's virtual authenticator), passkey
// sign-in, an unlock for 15 minutes with its countdown, an attempt
// appearing live (its attacker-chosen device text shown as text), lock
// everything, enrolment and sign-in with a password and TOTP, a phone-
// sized page, and an admin rotating a signing key with overlap.
func TestInChromium(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	ctx := context.Background()
	dir := shots(t)
	wikiName := "Wiki"
	wiki, _, err := e.svc.CreateApplication(ctx, lock.ApplicationInput{Name: &wikiName, Issuers: []string{"https://wiki.example"}})
	if err != nil {
		t.Fatal(err)
	}
	alice := e.person("Alice Example", "alice@example.com", "alice", "alice.ops")
	if _, err := e.svc.AssignAccount(ctx, wiki.ID, "alice", alice.ID); err != nil {
		t.Fatal(err)
	}
	bob := e.person("Bob Example", "bob@example.com", "bob")
	b := browser(t)

	if _, err := chromedp.Call(b, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	auth, err := chromedp.Call(b, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		t.Fatal(err)
	}

	// Enrolment through the link, with a passkey.
	link := e.enrolLink(alice.ID)
	run(t, b, chromedp.Navigate(link), chromedp.WaitVisible(`form[action="/portal/enrol"] button`))
	shot(t, b, dir, "enrol")
	run(t, b, chromedp.Click(`form[action="/portal/enrol"] button`), chromedp.WaitVisible(`#passkey-register`))
	shot(t, b, dir, "enrol-setup")
	run(t, b, chromedp.Click(`#passkey-register`), chromedp.WaitVisible(`ul.accounts`))
	if got := text(t, b, ".flash"); !strings.Contains(got, "Sign-in is set up") {
		t.Fatalf("after enrolment: %q", got)
	}
	creds, err := chromedp.Call(b, webauthn.GetCredentials, webauthn.GetCredentialsParams(auth))
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %+v (%v)", creds, err)
	}

	// Sign out, then in again with the passkey alone.
	run(t, b, chromedp.Click(`form.signout button`), chromedp.WaitVisible(`#passkey-signin`))
	if got := text(t, b, ".flash"); got != "You are signed out." {
		t.Fatalf("after sign-out: %q", got)
	}
	// The keyboard reaches the skip link first.
	run(t, b, chromedp.KeyEvent("\t"))
	if cls := eval[string](t, b, `document.activeElement.className`); cls != "skip" {
		t.Fatalf("the first Tab focuses %q, not the skip link", cls)
	}
	shot(t, b, dir, "sign-in")
	run(t, b, chromedp.Click(`#passkey-signin`), chromedp.WaitVisible(`ul.accounts`))
	if n := eval[int](t, b, `document.querySelectorAll("ul.accounts li.account").length`); n != 3 {
		t.Fatalf("%d accounts shown, want 3", n)
	}

	// Unlock alice at Shop for 15 minutes: the countdown runs.
	shopAlice, _ := e.svc.Account(ctx, e.app.ID, "alice")
	run(t, b, chromedp.Click(`#acc-`+shopAlice.ID+` button[value="15"]`), chromedp.WaitVisible(`.flash`))
	state := text(t, b, `#acc-`+shopAlice.ID+` .state`)
	if !regexp.MustCompile(`Unlocked until \d\d:\d\d`).MatchString(state) {
		t.Fatalf("state after unlock: %q", state)
	}
	run(t, b, chromedp.WaitReady(`#acc-`+shopAlice.ID+` [data-left-for]`))
	left := eval[string](t, b, `document.querySelector("#acc-`+shopAlice.ID+` [data-left-for]").textContent`)
	if !regexp.MustCompile(`^1[45]:\d\d left$`).MatchString(left) {
		t.Fatalf("countdown %q", left)
	}
	if a, _ := e.svc.AccountByID(ctx, shopAlice.ID); a.LockedAt(time.Now()) || time.Until(a.UnlockUntil) < 14*time.Minute {
		t.Fatal("the account is not unlocked for 15 minutes")
	}
	shot(t, b, dir, "accounts")

	// The same page on a phone: nothing wider than the screen.
	run(t, b, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	run(t, b, chromedp.Navigate(e.base+"/portal/"), chromedp.WaitVisible(`ul.accounts`))
	if wide := eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`); wide {
		t.Fatal("the accounts page scrolls sideways on a phone")
	}
	shot(t, b, dir, "accounts-phone")
	run(t, b, chromedp.EmulateViewport(1100, 900))

	// An attempt appears live; its device, chosen by whoever signs in, is
	// shown as text and runs nothing.
	e.svc.SetLock(ctx, e.app.ID, "alice.ops", lock.Target{Lock: true}, lock.Actor{Name: "test"})
	e.check(lockclient.Request{Username: "alice.ops", UserIP: "198.51.100.23", UserDevice: "Chrome on Windows"})
	run(t, b, chromedp.Navigate(e.base+"/portal/attempts"), chromedp.WaitVisible(`#attempts tr.locked`))
	payload := `<img src=x onerror="window.__xss=1">Firefox on Android`
	e.check(lockclient.Request{Username: "alice", UserIP: "203.0.113.50", UserDevice: payload})
	run(t, b, chromedp.WaitVisible(`#attempts tr.fresh`))
	if got := text(t, b, `#attempts tr.fresh td:nth-child(6)`); got != payload {
		t.Fatalf("live attempt device %q", got)
	}
	if n := eval[int](t, b, `document.querySelectorAll("#attempts img").length + (window.__xss ? 100 : 0)`); n != 0 {
		t.Fatal("the attempt's device text became markup")
	}
	shot(t, b, dir, "attempts")

	// An unlock request waits, then the settings and security pages.
	d := e.check(lockclient.Request{Username: "alice.ops", UserIP: "198.51.100.23", UserDevice: "Chrome on Windows"})
	tok, _ := e.lc.Token("alice.ops")
	api := e.client()
	api.bearer = tok
	if res := api.do("POST", "/api/v1/unlock-requests", strings.NewReader(`{"attempt_id":"`+d.SessionID+`"}`), "application/json"); res.status != 201 {
		t.Fatalf("unlock request: %d %s", res.status, res.body)
	}
	run(t, b, chromedp.Navigate(e.base+"/portal/requests"), chromedp.WaitVisible(`tr.pending`))
	shot(t, b, dir, "requests")
	run(t, b, chromedp.Navigate(e.base+"/portal/settings"), chromedp.WaitVisible(`#countries`),
		chromedp.SendKeys(`#countries`, "DE, FR"), chromedp.Click(`form[action="/portal/settings/geofence"] button`), chromedp.WaitVisible(`.flash`))
	shot(t, b, dir, "settings")
	run(t, b, chromedp.Navigate(e.base+"/portal/security"), chromedp.WaitVisible(`#tname`))
	shot(t, b, dir, "security")

	// Lock everything.
	run(t, b, chromedp.Navigate(e.base+"/portal/"), chromedp.WaitVisible(`ul.accounts`), chromedp.Click(`form.lockall button`), chromedp.WaitVisible(`.flash`))
	accs, _ := e.svc.Accounts(ctx, "", alice.ID)
	for _, a := range accs {
		if !a.LockedAt(time.Now()) {
			t.Fatalf("after lock everything %s is unlocked", a.Username)
		}
	}
	if n := eval[int](t, b, `document.querySelectorAll("li.account.is-locked").length`); n != 3 {
		t.Fatalf("%d accounts shown locked", n)
	}

	// Bob enrols with a password and an authenticator app, and signs in.
	clearCookies(t, b)
	run(t, b, chromedp.Navigate(e.enrolLink(bob.ID)), chromedp.Click(`form[action="/portal/enrol"] button`), chromedp.WaitVisible(`#totp-secret`))
	secret := text(t, b, `#totp-secret`)
	run(t, b, chromedp.SendKeys(`#password`, password), chromedp.SendKeys(`#confirm`, password),
		chromedp.SendKeys(`#code`, totpCode(t, secret, e.clock.Now())), chromedp.Click(`form[action="/portal/enrol/password"] button`), chromedp.WaitVisible(`ul.accounts`))
	run(t, b, chromedp.Click(`form.signout button`), chromedp.WaitVisible(`#login`),
		chromedp.SendKeys(`#login`, "bob@example.com"), chromedp.SendKeys(`#password`, password),
		chromedp.SendKeys(`#code`, totpCode(t, secret, e.clock.Now().Add(30*time.Second))),
		chromedp.Click(`form[action="/portal/sign-in"] button`), chromedp.WaitVisible(`ul.accounts`))
	if who := text(t, b, `.who`); who != "Bob Example" {
		t.Fatalf("signed in as %q", who)
	}

	// An admin signs in to the console and rotates Shop's key: the new key
	// works at once, the old one until it is revoked.
	clearCookies(t, b)
	run(t, b, chromedp.Navigate(e.base+"/console/sign-in"), chromedp.WaitVisible(`#token`))
	shot(t, b, dir, "console-sign-in")
	run(t, b, chromedp.SendKeys(`#token`, adminToken), chromedp.Click(`form[action="/console/sign-in"] button`), chromedp.WaitVisible(`.stats`))
	shot(t, b, dir, "console-home")
	run(t, b, chromedp.Navigate(e.base+"/console/applications/"+e.app.ID), chromedp.Click(`#rotate`), chromedp.WaitVisible(`#new-secret`))
	newSecret := text(t, b, `#new-secret`)
	shot(t, b, dir, "console-rotate")
	key, _ := lockclient.DecodeKey(newSecret)
	lc2, _ := lockclient.New(lockclient.Config{APIURI: e.base, Issuer: "https://shop.example", SigningKey: key, Retries: -1})
	if _, err := lc2.Check(ctx, lockclient.Request{Username: "bob"}); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	if _, err := e.lc.Check(ctx, lockclient.Request{Username: "bob"}); err != nil {
		t.Fatalf("the old key during the overlap: %v", err)
	}
	run(t, b, chromedp.Click(`button[aria-label="Revoke key `+e.key.ID+`"]`), chromedp.WaitVisible(`.flash`))
	if _, err := e.lc.Check(ctx, lockclient.Request{Username: "bob"}); err == nil {
		t.Fatal("the revoked key still works")
	}
	run(t, b, chromedp.Navigate(e.base+"/console/attempts?locked=on"), chromedp.WaitVisible(`#attempts`))
	shot(t, b, dir, "console-attempts")
	run(t, b, chromedp.Navigate(e.base+"/console/persons/"+alice.ID), chromedp.WaitVisible(`h1`))
	shot(t, b, dir, "console-person")
	if _, err := url.Parse(e.base); err != nil {
		t.Fatal(err)
	}
}
