package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/lockgate/lockgate/internal/lock"
)

// The person's own credentials: owner-API tokens, sessions, passkeys.

func (p *Portal) securityPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderSecurity(w, r, s, http.StatusOK, map[string]any{})
}

func (p *Portal) renderSecurity(w http.ResponseWriter, r *http.Request, s *session, status int, data map[string]any) {
	ctx := r.Context()
	toks, err := p.svc.Tokens(ctx, lock.TokenFilter{PersonID: s.PersonID})
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	sessions, err := p.st.WebSessions(ctx, lock.SessionOwner, s.PersonID, p.now())
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	keys, err := p.st.Passkeys(ctx, s.PersonID)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	if l, err := p.st.LoginOf(ctx, s.PersonID); err == nil {
		data["Login"] = l
	}
	data["Title"], data["Tokens"], data["Sessions"], data["Passkeys"] = "Security", toks, sessions, keys
	p.render(w, r, status, "security", s, data)
}

// createToken issues an owner-API token; its secret is on this answer only.
func (p *Portal) createToken(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	tok, secret, err := p.svc.IssuePersonToken(r.Context(), s.PersonID, lock.TokenInput{Name: name})
	if err != nil {
		if errors.Is(err, lock.ErrInvalid) {
			p.renderSecurity(w, r, s, http.StatusUnprocessableEntity, map[string]any{"TokenError": err.Error()})
			return
		}
		p.fail(w, r, s, err)
		return
	}
	p.log.Info("portal: owner token issued", "person", s.PersonID, "token", tok.ID)
	p.renderSecurity(w, r, s, http.StatusOK, map[string]any{"NewToken": tok, "NewSecret": secret})
}

func (p *Portal) revokeToken(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	t, err := p.svc.TokenInfo(r.Context(), id)
	if err == nil && t.PersonID != s.PersonID {
		err = lock.ErrNotFound
	}
	if err == nil {
		_, err = p.svc.RevokeToken(r.Context(), id)
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	done(w, r, "/portal/security", "token-revoked")
}

func (p *Portal) revokeSession(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	sessions, err := p.st.WebSessions(r.Context(), lock.SessionOwner, s.PersonID, p.now())
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	for _, x := range sessions {
		if x.ID != id {
			continue
		}
		if err := p.st.RevokeWebSession(r.Context(), id, p.now()); err != nil {
			p.fail(w, r, s, err)
			return
		}
		p.log.Info("portal: session revoked", "person", s.PersonID, "session", id, "by", s.ID)
		if id == s.ID {
			clearCookie(w, ownerCookie)
			done(w, r, "/portal/sign-in", "signed-out")
			return
		}
		done(w, r, "/portal/security", "session-revoked")
		return
	}
	p.fail(w, r, s, lock.ErrNotFound)
}

func (p *Portal) deletePasskey(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.st.DeletePasskey(r.Context(), s.PersonID, r.PathValue("id")); err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.log.Info("portal: passkey removed", "person", s.PersonID, "passkey", r.PathValue("id"))
	done(w, r, "/portal/security", "passkey-deleted")
}
