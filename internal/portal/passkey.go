package portal

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// ceremonyLifetime bounds a WebAuthn ceremony from its options to its
// answer.
const ceremonyLifetime = 5 * time.Minute

// waUser is a person as the WebAuthn library sees them: the user handle
// is the person's ID.
type waUser struct {
	p     lock.Person
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte { return []byte(u.p.ID) }
func (u *waUser) WebAuthnName() string {
	if u.p.Email != "" {
		return u.p.Email
	}
	return u.p.Name
}
func (u *waUser) WebAuthnDisplayName() string                { return u.p.Name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (p *Portal) waUser(r *http.Request, personID string) (*waUser, []lock.Passkey, error) {
	person, err := p.svc.Person(r.Context(), personID)
	if err != nil {
		return nil, nil, err
	}
	keys, err := p.st.Passkeys(r.Context(), personID)
	if err != nil {
		return nil, nil, err
	}
	u := &waUser{p: person}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(k.Credential), &c); err != nil {
			return nil, nil, err
		}
		u.creds = append(u.creds, c)
	}
	return u, keys, nil
}

// ceremony is what the server keeps between a ceremony's options and the
// browser's answer: single-use, bound to the browser by a cookie and, for
// a registration, to the session that began it.
type ceremony struct {
	Kind    string               `json:"kind"` // login or register
	Session string               `json:"session,omitempty"`
	Data    webauthn.SessionData `json:"data"`
}

func (p *Portal) saveCeremony(w http.ResponseWriter, r *http.Request, c ceremony) error {
	id := randomString(32)
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := p.st.PutChallenge(r.Context(), hashSecret(id), string(b), p.now().Add(ceremonyLifetime)); err != nil {
		return err
	}
	setCookie(w, ceremonyCookie, id, ceremonyLifetime)
	return nil
}

func (p *Portal) takeCeremony(w http.ResponseWriter, r *http.Request, kind string) (ceremony, bool) {
	ck, err := r.Cookie(ceremonyCookie)
	if err != nil || len(ck.Value) > 100 {
		return ceremony{}, false
	}
	clearCookie(w, ceremonyCookie)
	data, err := p.st.TakeChallenge(r.Context(), hashSecret(ck.Value), p.now())
	if err != nil {
		return ceremony{}, false
	}
	var c ceremony
	if json.Unmarshal([]byte(data), &c) != nil || c.Kind != kind {
		return ceremony{}, false
	}
	return c, true
}

func jsonFail(w http.ResponseWriter, status int, code, msg string) {
	httpjson.Error(w, status, code, msg)
}

// noPasskeys answers a passkey call when the portal has none (its origin
// is an IP address).
func (p *Portal) noPasskeys(w http.ResponseWriter) bool {
	if p.wa != nil {
		return false
	}
	jsonFail(w, http.StatusNotFound, "no_passkeys", "passkeys need the portal to be served at a host name (portal.origin)")
	return true
}

// passkeyLoginBegin answers the options of a discoverable sign-in: any
// passkey of this site may answer, and names its person.
func (p *Portal) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	if p.noPasskeys(w) {
		return
	}
	if !checkPre(r) {
		jsonFail(w, http.StatusForbidden, "csrf", "the page's security token is missing or wrong: reload the page")
		return
	}
	if wait, blocked := p.limiter.blocked(sourceKey(r)); blocked {
		jsonFail(w, http.StatusTooManyRequests, "rate_limited", "too many failed sign-ins from here: try again in "+wait.Round(time.Second).String())
		return
	}
	opts, sd, err := p.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err == nil {
		err = p.saveCeremony(w, r, ceremony{Kind: "login", Data: *sd})
	}
	if err != nil {
		p.log.Error("portal: passkey sign-in options", "error", err)
		jsonFail(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	httpjson.Write(w, http.StatusOK, opts)
}

// passkeyLoginFinish checks the browser's assertion and signs in.
func (p *Portal) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	if p.noPasskeys(w) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !checkPre(r) {
		jsonFail(w, http.StatusForbidden, "csrf", "the page's security token is missing or wrong: reload the page")
		return
	}
	src := sourceKey(r)
	if wait, blocked := p.limiter.blocked(src); blocked {
		jsonFail(w, http.StatusTooManyRequests, "rate_limited", "too many failed sign-ins from here: try again in "+wait.Round(time.Second).String())
		return
	}
	failed := func(reason string) {
		p.limiter.fail(src)
		p.log.Warn("portal: sign-in failed", "method", "passkey", "reason", reason, "remote", clientIP(r))
		jsonFail(w, http.StatusUnauthorized, "sign_in_failed", "sign-in with this passkey failed")
	}
	c, ok := p.takeCeremony(w, r, "login")
	if !ok {
		failed("no ceremony in progress, or it expired or was used")
		return
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(r.Body)
	if err != nil {
		failed("unparsable assertion: " + err.Error())
		return
	}
	var keys []lock.Passkey
	user, cred, err := p.wa.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
		u, ks, err := p.waUser(r, string(handle))
		keys = ks
		return u, err
	}, c.Data, parsed)
	if err != nil {
		failed("assertion refused: " + errorDetail(err))
		return
	}
	if cred.Authenticator.CloneWarning {
		failed("the sign count went back: the authenticator may be cloned")
		return
	}
	person := user.(*waUser).p
	id := base64.RawURLEncoding.EncodeToString(cred.ID)
	for _, k := range keys {
		if k.ID == id {
			b, _ := json.Marshal(cred)
			if err := p.st.UpdatePasskey(r.Context(), id, string(b), p.now()); err != nil {
				p.log.Error("portal: recording a passkey's use", "error", err)
			}
		}
	}
	if _, err := p.startSession(w, r, ownerCookie, lock.WebSession{Kind: lock.SessionOwner, PersonID: person.ID, Method: "passkey"}, p.cfg.SessionLifetime.Std()); err != nil {
		jsonFail(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	p.log.Info("portal: signed in", "method", "passkey", "person", person.ID, "passkey", id, "remote", clientIP(r))
	httpjson.Write(w, http.StatusOK, map[string]string{"redirect": "/portal/"})
}

func errorDetail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return pe.Details + ": " + pe.DevInfo
	}
	return err.Error()
}

// registrationSession is the owner or enrolment session a passkey is
// being added in.
func (p *Portal) registrationSession(w http.ResponseWriter, r *http.Request) (*session, bool) {
	s, err := p.loadSession(r, ownerCookie, lock.SessionOwner)
	if errors.Is(err, errNoSession) {
		s, err = p.loadSession(r, ownerCookie, lock.SessionEnrol)
	}
	if err != nil {
		jsonFail(w, http.StatusUnauthorized, "unauthorized", "not signed in")
		return nil, false
	}
	if !checkCSRF(r, s.CSRF) {
		jsonFail(w, http.StatusForbidden, "csrf", "the page's security token is missing or wrong: reload the page")
		return nil, false
	}
	return s, true
}

// passkeyRegisterBegin answers the options to create a passkey for the
// session's person: a discoverable credential, none of theirs again.
func (p *Portal) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	if p.noPasskeys(w) {
		return
	}
	s, ok := p.registrationSession(w, r)
	if !ok {
		return
	}
	u, _, err := p.waUser(r, s.PersonID)
	var opts *protocol.CredentialCreation
	var sd *webauthn.SessionData
	if err == nil {
		opts, sd, err = p.wa.BeginRegistration(u,
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
			webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	}
	if err == nil {
		err = p.saveCeremony(w, r, ceremony{Kind: "register", Session: s.ID, Data: *sd})
	}
	if err != nil {
		p.log.Error("portal: passkey creation options", "error", err)
		jsonFail(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	httpjson.Write(w, http.StatusOK, opts)
}

// passkeyRegisterFinish keeps the new passkey. In an enrolment session it
// completes the enrolment: that session ends and a signed-in one begins.
func (p *Portal) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	if p.noPasskeys(w) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	s, ok := p.registrationSession(w, r)
	if !ok {
		return
	}
	c, ok := p.takeCeremony(w, r, "register")
	if !ok || c.Session != s.ID {
		jsonFail(w, http.StatusBadRequest, "no_ceremony", "no passkey creation in progress: start again")
		return
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(r.Body)
	if err != nil {
		jsonFail(w, http.StatusBadRequest, "bad_credential", "the browser's answer is not a passkey")
		return
	}
	u, _, err := p.waUser(r, s.PersonID)
	if err != nil {
		jsonFail(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	cred, err := p.wa.CreateCredential(u, c.Data, parsed)
	if err != nil {
		p.log.Warn("portal: passkey refused", "person", s.PersonID, "reason", errorDetail(err))
		jsonFail(w, http.StatusBadRequest, "bad_credential", "the passkey was refused")
		return
	}
	b, _ := json.Marshal(cred)
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" || len(name) > 100 {
		name = "Passkey of " + p.now().Format("2006-01-02")
	}
	key := lock.Passkey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), PersonID: s.PersonID, Name: name, Credential: string(b), CreatedAt: p.now()}
	if err := p.st.AddPasskey(r.Context(), key); err != nil {
		jsonFail(w, http.StatusConflict, "conflict", "this passkey is already registered")
		return
	}
	p.log.Info("portal: passkey added", "person", s.PersonID, "passkey", key.ID, "session", s.ID)
	if s.Kind == lock.SessionEnrol {
		if err := p.finishEnrolment(w, r, s, "passkey"); err != nil {
			jsonFail(w, http.StatusInternalServerError, "internal", "internal error")
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"redirect": "/portal/?m=enrolled"})
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"redirect": "/portal/security?m=passkey-added"})
}
