// Package portal serves the web pages people use: the owner portal
// (/portal/), where a person signs in with a passkey or a password and a
// TOTP code to lock, unlock and watch their accounts, and the admin
// console (/console/), where an admin token is exchanged for a session to
// manage applications, persons, tokens and the gateway. Pages are
// rendered on the server (html/template, embedded); every action is a
// form post that works without JavaScript, which only adds passkeys, the
// countdown and live attempts. Sessions live in lockgate's store, behind
// Secure, HttpOnly, SameSite=Strict cookies.
package portal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Store is what the portal keeps beside the lock service's data.
type Store interface {
	lock.PortalStore
}

// Gateway is what the console shows of the WAF gateway and may ask of it:
// its admin endpoints (read in-process) and a reload.
type Gateway interface {
	Endpoints() []endpoint.Endpoint
	Reload() error
}

// Options configure a Portal.
type Options struct {
	Config  Config
	Service *lock.Service
	Store   Store
	Box     lock.Sealer
	// Gateway is nil when no gateway runs.
	Gateway Gateway
	Logger  *slog.Logger
	Now     func() time.Time
}

// Portal serves the owner portal and the admin console.
type Portal struct {
	cfg     Config
	origin  *url.URL
	svc     *lock.Service
	st      Store
	box     lock.Sealer
	gw      Gateway
	log     *slog.Logger
	now     func() time.Time
	wa      *webauthn.WebAuthn
	pages   map[string]*template.Template
	limiter *limiter
	policy  lock.UnlockRequestPolicy
}

// New returns a Portal; o.Config.Origin must be set (the server fills it
// with the first public URL when the file does not).
func New(o Options) (*Portal, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	origin, wa, err := passkeys(o.Config.Origin)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	if wa == nil {
		o.Logger.Warn("portal: passkeys need a host name, not an IP address: sign-in is by password and TOTP only; open the portal at a name (http://localhost:PORT works) and set portal.origin to it", "origin", origin.String())
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	now := func() time.Time { return o.Now().UTC() }
	return &Portal{
		cfg: o.Config, origin: origin, svc: o.Service, st: o.Store, box: o.Box, gw: o.Gateway, log: o.Logger, now: now, wa: wa, pages: pages,
		limiter: newLimiter(o.Config.SignIn.FailureBurst, o.Config.SignIn.FailureRefill.Std(), now),
		policy:  lock.UnlockRequestPolicy{Timeout: o.Config.UnlockRequests.Timeout.Std(), UnlockFor: o.Config.UnlockRequests.UnlockFor.Std()},
	}, nil
}

// passkeys reads the portal's origin and builds its passkey (WebAuthn)
// relying party; wa is nil at an IP address. Passkeys are bound to a
// domain: at an IP address (the default http://127.0.0.1:8080) the
// portal runs with passwords only.
func passkeys(o string) (origin *url.URL, wa *webauthn.WebAuthn, err error) {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return nil, nil, fmt.Errorf("origin %q is not a URL", o)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
			return nil, nil, fmt.Errorf("origin %q: %q is not a port", o, p)
		}
	}
	origin = &url.URL{Scheme: u.Scheme, Host: u.Host}
	if net.ParseIP(u.Hostname()) != nil {
		return origin, nil, nil
	}
	wa, err = webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "lockgate",
		RPOrigins:     []string{origin.String()},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("passkeys for %s: %w", origin, err)
	}
	return origin, wa, nil
}

// CheckOrigin reports why New would refuse origin (the portal's origin,
// or the public URL it follows), building the passkey configuration as
// New does, without side effects: config validate calls it.
func CheckOrigin(origin string) error {
	_, _, err := passkeys(origin)
	return err
}

// Run sends alert mails and drops expired sessions and ceremonies until
// ctx ends.
func (p *Portal) Run(ctx context.Context) error {
	// Made before the first sign-in, so that the first unknown name is
	// not slower to refuse than a wrong password.
	dummyHash()
	t := time.NewTicker(p.cfg.AlertInterval.Std())
	defer t.Stop()
	for {
		if err := p.st.Expire(ctx, p.now()); err != nil && ctx.Err() == nil {
			p.log.Error("portal: dropping expired sessions", "error", err)
		}
		if err := p.sendAlerts(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("portal: alert mails", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Endpoints are the portal's routes on the main listener. The pages are
// Public to the route table: they authenticate with the portal's own
// session cookies, not bearer tokens. The enrolment-link API is an admin
// route; the unlock-request API is authenticated like a lock check.
func (p *Portal) Endpoints() []endpoint.Endpoint {
	pub := func(pattern string, h http.HandlerFunc) endpoint.Endpoint {
		return endpoint.Endpoint{Pattern: pattern, Access: endpoint.Public, Handler: p.secure(h)}
	}
	own := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) endpoint.Endpoint {
		return pub(pattern, p.owner(h))
	}
	adm := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) endpoint.Endpoint {
		return pub(pattern, p.admin(h))
	}
	eps := []endpoint.Endpoint{
		pub("GET /portal/static/{file}", p.static),
		pub("GET /console/static/{file}", p.static),
		pub("GET /portal/", p.notFound),
		pub("GET /console/", p.notFound),
		pub("GET /portal/sign-in", p.signInPage),
		pub("POST /portal/sign-in", p.signInPassword),
		pub("POST /portal/passkey/login/begin", p.passkeyLoginBegin),
		pub("POST /portal/passkey/login/finish", p.passkeyLoginFinish),
		pub("POST /portal/sign-out", p.signOut(ownerCookie)),
		pub("GET /portal/enrol", p.enrolPage),
		pub("POST /portal/enrol", p.enrolStart),
		pub("GET /portal/enrol/setup", p.enrol(p.enrolSetup)),
		pub("POST /portal/enrol/password", p.enrol(p.enrolPassword)),
		pub("GET /portal/enrol/totp.png", p.enrol(p.enrolQR)),
		pub("POST /portal/passkey/register/begin", p.passkeyRegisterBegin),
		pub("POST /portal/passkey/register/finish", p.passkeyRegisterFinish),

		own("GET /portal/{$}", p.accountsPage),
		own("POST /portal/accounts/{account}/lock", p.lockAccount(true)),
		own("POST /portal/accounts/{account}/unlock", p.lockAccount(false)),
		own("POST /portal/lock-all", p.lockAll),
		own("GET /portal/attempts", p.attemptsPage),
		own("GET /portal/attempts.json", p.attemptsJSON),
		own("GET /portal/requests", p.requestsPage),
		own("POST /portal/requests/{id}/approve", p.decide(true)),
		own("POST /portal/requests/{id}/reject", p.decide(false)),
		own("GET /portal/settings", p.settingsPage),
		own("POST /portal/settings/geofence", p.setFence),
		own("POST /portal/settings/geofence/delete", p.deleteFence),
		own("POST /portal/settings/webhooks", p.addWebhook),
		own("POST /portal/settings/webhooks/{id}/delete", p.deleteWebhook),
		own("POST /portal/settings/email", p.setEmail),
		own("POST /portal/settings/email/test", p.testEmail),
		own("GET /portal/security", p.securityPage),
		own("POST /portal/security/tokens", p.createToken),
		own("POST /portal/security/tokens/{id}/revoke", p.revokeToken),
		own("POST /portal/security/sessions/{id}/revoke", p.revokeSession),
		own("POST /portal/security/passkeys/{id}/delete", p.deletePasskey),

		pub("GET /console/sign-in", p.consoleSignInPage),
		pub("POST /console/sign-in", p.consoleSignIn),
		pub("POST /console/sign-out", p.signOut(adminCookie)),
		adm("GET /console/{$}", p.consoleHome),
		adm("GET /console/applications", p.consoleApps),
		adm("POST /console/applications", p.consoleCreateApp),
		adm("GET /console/applications/{app}", p.consoleApp),
		adm("POST /console/applications/{app}/keys", p.consoleRotateKey),
		adm("POST /console/applications/{app}/keys/{key}/revoke", p.consoleRevokeKey),
		adm("GET /console/persons", p.consolePersons),
		adm("POST /console/persons", p.consoleCreatePerson),
		adm("GET /console/persons/{person}", p.consolePerson),
		adm("POST /console/persons/{person}/enrol-link", p.consoleEnrolLink),
		adm("POST /console/persons/{person}/accounts", p.consoleAssign),
		adm("GET /console/accounts/{account}", p.consoleAccount),
		adm("GET /console/attempts", p.consoleAttempts),
		adm("GET /console/tokens", p.consoleTokens),
		adm("POST /console/tokens", p.consoleCreateToken),
		adm("POST /console/tokens/{id}/revoke", p.consoleRevokeToken),
		adm("GET /console/webhooks", p.consoleWebhooks),
		adm("GET /console/gateway", p.consoleGateway),
		adm("POST /console/gateway/reload", p.consoleReload),
	}
	return append(eps, p.apiEndpoints()...)
}

// contentSecurityPolicy allows the portal's own script, style and images
// and nothing else: no inline code, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the headers every portal answer carries and refuses a
// state-changing request another site sent: one whose Origin is not the
// portal's, or that the browser marks cross-site. The CSRF token of each
// form is checked beside this, by the handlers.
func (p *Portal) secure(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: with no-referrer Chrome sends Origin: null
		// on form posts, which the origin check below must refuse.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if p.origin.Scheme == "https" {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/portal/static/") && !strings.HasPrefix(r.URL.Path, "/console/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o != "" && o != p.origin.String() {
				p.log.Warn("portal: cross-origin post refused", "origin", o, "path", r.URL.Path, "remote", clientIP(r))
				p.refuse(w, r, http.StatusForbidden, "forbidden", "cross-origin request refused")
				return
			}
			if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				p.refuse(w, r, http.StatusForbidden, "forbidden", "cross-site request refused")
				return
			}
		}
		next(w, r)
	}
}

// static serves the embedded style sheet and script.
func (p *Portal) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	data, err := fs.ReadFile(staticFiles, "static/"+name)
	if err != nil || strings.Contains(name, "/") {
		p.refuse(w, r, http.StatusNotFound, "not_found", "no such file")
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	default:
		p.refuse(w, r, http.StatusNotFound, "not_found", "no such file")
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(data)
}

// refuse answers an error the way the asker reads it: a browser (its
// Accept names text/html: a page load or a form post) gets the portal's
// error page, anything else lockgate's JSON error body with code.
func (p *Portal) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if !wantsHTML(r) {
		httpjson.Error(w, status, code, msg)
		return
	}
	p.render(w, r, status, "error", nil, map[string]any{"Title": http.StatusText(status), "Message": msg})
}

// wantsHTML reports whether the request's Accept header names text/html.
func wantsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/html") {
				return true
			}
		}
	}
	return false
}

// csrfRefused is the answer to a form post without its security token.
const csrfRefused = "the form's security token is missing or wrong: reload the page and try again"

func (p *Portal) notFound(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusNotFound, "error", nil, map[string]any{"Title": "Not found", "Message": "There is no such page."})
}

// fail answers an error on a page: the domain's errors as what they
// mean, anything else logged and answered 500 without detail.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side; it has been logged."
	switch {
	case errors.Is(err, lock.ErrNotFound):
		status, msg = http.StatusNotFound, "Not found."
	case errors.Is(err, lock.ErrInvalid), errors.Is(err, lock.ErrConflict):
		status, msg = http.StatusUnprocessableEntity, err.Error()
	default:
		p.log.Error("portal: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	p.render(w, r, status, "error", s, map[string]any{"Message": msg})
}
