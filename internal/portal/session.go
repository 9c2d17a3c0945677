package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

// The cookies. __Host- makes the browser refuse them unless they are
// Secure, for path / and without a domain: no subdomain can set or
// shadow them.
const (
	ownerCookie    = "__Host-lockgate-portal"  // owner and enrolment sessions
	adminCookie    = "__Host-lockgate-console" // admin sessions
	preCookie      = "__Host-lockgate-pre"     // the sign-in forms' CSRF token
	ceremonyCookie = "__Host-lockgate-webauthn"
)

// session is a signed-in request's session with who it is for.
type session struct {
	lock.WebSession
	Person lock.Person // owner and enrolment sessions
	Token  lock.Token  // admin sessions
}

// ReadOnly reports whether an admin session may only look.
func (s *session) ReadOnly() bool {
	return s.Kind == lock.SessionAdmin && s.Token.Scope != lock.ScopeAdmin
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("portal: crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("portal: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(maxAge / time.Second),
	})
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// startSession signs a browser in: the session the cookie held before (if
// any) is revoked and a new one, with a new secret and a new CSRF token,
// takes its place, so that a session identifier planted before sign-in
// is worth nothing after it.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, cookie string, ws lock.WebSession, lifetime time.Duration) (lock.WebSession, error) {
	now := p.now()
	if c, err := r.Cookie(cookie); err == nil && c.Value != "" {
		if old, err := p.st.WebSessionByHash(r.Context(), hashSecret(c.Value)); err == nil {
			if err := p.st.RevokeWebSession(r.Context(), old.ID, now); err != nil {
				return lock.WebSession{}, err
			}
		}
	}
	secret := randomString(32)
	ws.ID = "ses_" + randomHex(16)
	ws.Hash = hashSecret(secret)
	ws.CSRF = randomString(32)
	ws.IP = clientIP(r)
	ws.UserAgent = truncate(r.UserAgent(), 300)
	ws.CreatedAt, ws.LastSeenAt, ws.ExpiresAt = now, now, now.Add(lifetime)
	if err := p.st.CreateWebSession(r.Context(), ws); err != nil {
		return lock.WebSession{}, err
	}
	setCookie(w, cookie, secret, lifetime)
	return ws, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n]
}

var errNoSession = errors.New("no session")

// loadSession finds the active session of kind the cookie names. Admin
// sessions end with their token: a revoked or expired token signs the
// console out at its next request.
func (p *Portal) loadSession(r *http.Request, cookie, kind string) (*session, error) {
	c, err := r.Cookie(cookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, errNoSession
	}
	ws, err := p.st.WebSessionByHash(r.Context(), hashSecret(c.Value))
	if errors.Is(err, lock.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := p.now()
	if ws.Kind != kind || !ws.ActiveAt(now) || now.Sub(ws.LastSeenAt) > p.cfg.IdleTimeout.Std() {
		return nil, errNoSession
	}
	s := &session{WebSession: ws}
	switch kind {
	case lock.SessionAdmin:
		tok, err := p.svc.TokenInfo(r.Context(), ws.TokenID)
		if err != nil || !tok.ActiveAt(now) || (tok.Scope != lock.ScopeAdmin && tok.Scope != lock.ScopeAdminRead) {
			p.st.RevokeWebSession(r.Context(), ws.ID, now)
			return nil, errNoSession
		}
		s.Token = tok
	default:
		if s.Person, err = p.svc.Person(r.Context(), ws.PersonID); err != nil {
			return nil, errNoSession
		}
	}
	if now.Sub(ws.LastSeenAt) >= time.Minute {
		p.st.TouchWebSession(r.Context(), ws.ID, now)
	}
	return s, nil
}

// checkCSRF compares the form's (or the X-CSRF-Token header's) token with
// want, in constant time.
func checkCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return want != "" && got != "" && equal(got, want)
}

// owner wraps a page of a signed-in person: no session redirects to the
// sign-in page, a post without the session's CSRF token is refused.
func (p *Portal) owner(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return p.withSession(ownerCookie, lock.SessionOwner, "/portal/sign-in", h)
}

// admin wraps a console page; a read-only token may not post (but may sign
// out, which is not wrapped).
func (p *Portal) admin(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return p.withSession(adminCookie, lock.SessionAdmin, "/console/sign-in", func(w http.ResponseWriter, r *http.Request, s *session) {
		if r.Method == http.MethodPost && s.ReadOnly() {
			p.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Message": "This console session's token has scope admin:read: it may look, not change."})
			return
		}
		h(w, r, s)
	})
}

// enrol wraps the pages of an enrolment session.
func (p *Portal) enrol(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return p.withSession(ownerCookie, lock.SessionEnrol, "/portal/enrol", h)
}

func (p *Portal) withSession(cookie, kind, signIn string, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := p.loadSession(r, cookie, kind)
		if errors.Is(err, errNoSession) {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, signIn, http.StatusSeeOther)
				return
			}
			p.refuse(w, r, http.StatusUnauthorized, "unauthorized", "not signed in")
			return
		}
		if err != nil {
			p.fail(w, r, nil, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !checkCSRF(r, s.CSRF) {
				p.log.Warn("portal: post without its CSRF token refused", "path", r.URL.Path, "session", s.ID, "remote", clientIP(r))
				p.refuse(w, r, http.StatusForbidden, "csrf", csrfRefused)
				return
			}
		}
		h(w, r, s)
	}
}

// preToken returns the sign-in forms' CSRF token, setting its cookie when
// the browser has none: a double-submitted value, so a login form cannot
// be posted from another site (login CSRF).
func preToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	v := randomString(32)
	setCookie(w, preCookie, v, 2*time.Hour)
	return v
}

// checkPre checks a sign-in form's double-submitted token.
func checkPre(r *http.Request) bool {
	c, err := r.Cookie(preCookie)
	return err == nil && checkCSRF(r, c.Value)
}

// signOut ends the session the cookie names.
func (p *Portal) signOut(cookie string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		to := "/portal/sign-in"
		kind := lock.SessionOwner
		if cookie == adminCookie {
			to, kind = "/console/sign-in", lock.SessionAdmin
		}
		s, err := p.loadSession(r, cookie, kind)
		if err == nil {
			if !checkCSRF(r, s.CSRF) {
				p.refuse(w, r, http.StatusForbidden, "csrf", csrfRefused)
				return
			}
			p.st.RevokeWebSession(r.Context(), s.ID, p.now())
			p.log.Info("portal: signed out", "session", s.ID, "kind", kind)
		}
		clearCookie(w, cookie)
		done(w, r, to, "signed-out")
	}
}
