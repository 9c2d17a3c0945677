package portal

import (
	"context"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/lockgate/lockgate/internal/lock"
)

// enrolSessionLifetime bounds the set-up that follows a link.
const enrolSessionLifetime = 30 * time.Minute

// CreateEnrolLink issues a one-time link for a person to set up how they
// sign in; the link (its secret) is returned here and never again.
func (p *Portal) CreateEnrolLink(ctx context.Context, personID, createdBy string) (string, lock.EnrolLink, error) {
	if _, err := p.svc.Person(ctx, personID); err != nil {
		return "", lock.EnrolLink{}, err
	}
	secret := randomString(32)
	now := p.now()
	l := lock.EnrolLink{ID: "enr_" + randomHex(16), Hash: hashSecret(secret), PersonID: personID, CreatedBy: createdBy, CreatedAt: now, ExpiresAt: now.Add(p.cfg.EnrolLinkLifetime.Std())}
	if err := p.st.CreateEnrolLink(ctx, l); err != nil {
		return "", lock.EnrolLink{}, err
	}
	p.log.Info("portal: enrolment link issued", "link", l.ID, "person", personID, "by", createdBy, "expires", l.ExpiresAt)
	return p.origin.String() + "/portal/enrol?t=" + secret, l, nil
}

// enrolPage shows what a link is for; it does not use the link (link
// previews and scanners open links too): the button does.
func (p *Portal) enrolPage(w http.ResponseWriter, r *http.Request) {
	t := r.URL.Query().Get("t")
	data := map[string]any{"Title": "Set up sign-in", "PreCSRF": preToken(w, r), "Token": t}
	if t != "" {
		l, err := p.st.EnrolLinkByHash(r.Context(), hashSecret(t))
		if err != nil || !l.UsedAt.IsZero() || !p.now().Before(l.ExpiresAt) {
			data["Error"] = "This link is not valid: it was used, it expired, or it was copied wrong. Ask your administrator for a new one."
			delete(data, "Token")
			p.render(w, r, http.StatusGone, "enrol", nil, data)
			return
		}
	}
	p.render(w, r, http.StatusOK, "enrol", nil, data)
}

// enrolStart uses the link, once, and opens a short enrolment session.
func (p *Portal) enrolStart(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !checkPre(r) {
		p.refuse(w, r, http.StatusForbidden, "csrf", csrfRefused)
		return
	}
	data := map[string]any{"Title": "Set up sign-in", "PreCSRF": preToken(w, r)}
	src := sourceKey(r)
	if wait, blocked := p.limiter.blocked(src); blocked {
		p.tooMany(w, r, "enrol", wait, data)
		return
	}
	l, err := p.st.UseEnrolLink(r.Context(), hashSecret(r.PostFormValue("t")), p.now())
	if errors.Is(err, lock.ErrNotFound) {
		p.limiter.fail(src)
		p.log.Warn("portal: enrolment link refused (unknown, used or expired)", "remote", clientIP(r))
		data["Error"] = "This link is not valid: it was used, it expired, or it was copied wrong. Ask your administrator for a new one."
		p.render(w, r, http.StatusGone, "enrol", nil, data)
		return
	}
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	if _, err := p.startSession(w, r, ownerCookie, lock.WebSession{Kind: lock.SessionEnrol, PersonID: l.PersonID, Method: "enrol-link"}, enrolSessionLifetime); err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.log.Info("portal: enrolment link used", "link", l.ID, "person", l.PersonID, "remote", clientIP(r))
	http.Redirect(w, r, "/portal/enrol/setup", http.StatusSeeOther)
}

// pendingTOTP returns the enrolment's TOTP key, made on first need and
// kept sealed in the session.
func (p *Portal) pendingTOTP(r *http.Request, s *session) (*otp.Key, error) {
	if s.Data != "" {
		raw, err := p.box.Open(s.Data, "enrol:"+s.ID)
		if err != nil {
			return nil, err
		}
		return otp.NewKeyFromURL(string(raw))
	}
	account := s.Person.Email
	if account == "" {
		account = s.Person.Name
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "lockgate", AccountName: account, Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, err
	}
	sealed := p.box.Seal([]byte(key.URL()), "enrol:"+s.ID)
	if err := p.st.SetWebSessionData(r.Context(), s.ID, sealed); err != nil {
		return nil, err
	}
	s.Data = sealed
	return key, nil
}

func (p *Portal) enrolSetup(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderSetup(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderSetup(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string) {
	key, err := p.pendingTOTP(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	login := r.PostFormValue("login")
	if login == "" {
		login = s.Person.Email
	}
	p.render(w, r, status, "enrol-setup", s, map[string]any{
		"Title": "Set up sign-in", "Secret": key.Secret(), "Login": login, "Error": errMsg,
	})
}

// enrolQR is the TOTP key as a QR code for authenticator apps.
func (p *Portal) enrolQR(w http.ResponseWriter, r *http.Request, s *session) {
	key, err := p.pendingTOTP(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	img, err := key.Image(240, 240)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	png.Encode(w, img)
}

// enrolPassword sets the password and the TOTP key, once a code from the
// authenticator app proves the key was taken.
func (p *Portal) enrolPassword(w http.ResponseWriter, r *http.Request, s *session) {
	name := loginName(r.PostFormValue("login"))
	pw := r.PostFormValue("password")
	if name == "" || utf8.RuneCountInString(name) > 200 || strings.ContainsAny(name, " \t") {
		p.renderSetup(w, r, s, http.StatusUnprocessableEntity, "Choose a sign-in name without spaces (your e-mail address is a good one).")
		return
	}
	if err := checkNewPassword(pw, r.PostFormValue("confirm")); err != nil {
		p.renderSetup(w, r, s, http.StatusUnprocessableEntity, "Password: "+err.Error()+".")
		return
	}
	key, err := p.pendingTOTP(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	step, ok := totpStep(key.Secret(), r.PostFormValue("code"), p.now())
	if !ok {
		p.renderSetup(w, r, s, http.StatusUnprocessableEntity, "The code does not match: add the key to your authenticator app, then type the code it shows now.")
		return
	}
	l := lock.Login{PersonID: s.PersonID, Name: name, PasswordHash: hashPassword(pw), TOTPSealed: p.box.Seal([]byte(key.Secret()), "totp:"+s.PersonID), UpdatedAt: p.now()}
	if err := p.st.PutLogin(r.Context(), l); errors.Is(err, lock.ErrConflict) {
		p.renderSetup(w, r, s, http.StatusConflict, "That sign-in name is taken: choose another.")
		return
	} else if err != nil {
		p.fail(w, r, s, err)
		return
	}
	// The code just typed must not sign in a second time.
	if _, err := p.st.AcceptTOTPStep(r.Context(), s.PersonID, step); err != nil {
		p.fail(w, r, s, err)
		return
	}
	if err := p.finishEnrolment(w, r, s, "password+totp"); err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/portal/?m=enrolled", http.StatusSeeOther)
}

// finishEnrolment ends the enrolment session, signs out every other
// session of the person (a link is how an administrator resets someone's
// sign-in: whoever held the old one is out) and signs the browser in.
func (p *Portal) finishEnrolment(w http.ResponseWriter, r *http.Request, s *session, method string) error {
	now := p.now()
	if err := p.st.RevokeWebSessionsOf(r.Context(), s.PersonID, s.ID, now); err != nil {
		return err
	}
	if _, err := p.startSession(w, r, ownerCookie, lock.WebSession{Kind: lock.SessionOwner, PersonID: s.PersonID, Method: "enrolment (" + method + ")"}, p.cfg.SessionLifetime.Std()); err != nil {
		return err
	}
	p.log.Info("portal: enrolment complete", "person", s.PersonID, "method", method, "remote", clientIP(r))
	return nil
}
