package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// tokenInput is the body that creates a token: expires_in is a Go
// duration ("720h"), expires_at an RFC 3339 time; neither means no expiry.
type tokenInput struct {
	Name      string `json:"name"`
	Scope     string `json:"scope"`
	PersonID  string `json:"person_id"`
	ExpiresIn string `json:"expires_in"`
	ExpiresAt string `json:"expires_at"`
}

func readTokenInput(w http.ResponseWriter, r *http.Request) (lock.TokenInput, error) {
	var in tokenInput
	if err := readJSON(w, r, &in); err != nil {
		return lock.TokenInput{}, err
	}
	out := lock.TokenInput{Name: in.Name, Scope: lock.Scope(in.Scope), PersonID: in.PersonID}
	switch {
	case in.ExpiresIn != "" && in.ExpiresAt != "":
		return out, badRequest("give expires_in or expires_at, not both")
	case in.ExpiresIn != "":
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil || d <= 0 {
			return out, badRequest("expires_in: " + strconv.Quote(in.ExpiresIn) + " is not a positive duration such as 720h")
		}
		out.ExpiresAt = time.Now().Add(d)
	case in.ExpiresAt != "":
		t, err := time.Parse(time.RFC3339Nano, in.ExpiresAt)
		if err != nil {
			return out, badRequest("expires_at: " + strconv.Quote(in.ExpiresAt) + " is not an RFC 3339 time")
		}
		out.ExpiresAt = t
	}
	return out, nil
}

// newTokenResponse is a token with its secret, answered once.
type newTokenResponse struct {
	lock.Token
	Secret string `json:"token"`
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) error {
	in, err := readTokenInput(w, r)
	if err != nil {
		return err
	}
	tok, secret, err := h.svc.CreateToken(r.Context(), in)
	if err != nil {
		return err
	}
	h.log.Info("token created", "token", tok.ID, "name", tok.Name, "scope", tok.Scope, "person", tok.PersonID, "by", tokenFrom(r.Context()).ID)
	httpjson.Write(w, http.StatusCreated, newTokenResponse{Token: tok, Secret: secret})
	return nil
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := lock.TokenFilter{PersonID: q.Get("person"), Scope: lock.Scope(q.Get("scope"))}
	if v := q.Get("include_revoked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("include_revoked: " + strconv.Quote(v) + " is not true or false")
		}
		f.IncludeRevoked = b
	}
	toks, err := h.svc.Tokens(r.Context(), f)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"tokens": toks})
	return nil
}

func (h *Handler) getToken(w http.ResponseWriter, r *http.Request) error {
	tok, err := h.svc.TokenInfo(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, tok)
	return nil
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) error {
	tok, err := h.svc.RevokeToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	h.log.Info("token revoked", "token", tok.ID, "name", tok.Name, "by", tokenFrom(r.Context()).ID, "remote", clientIP(r))
	httpjson.Write(w, http.StatusOK, tok)
	return nil
}
