package httpapi

import (
	"net/http"
	"strconv"

	"github.com/lockgate/lockgate/internal/httpjson"
)

// forceParam reads ?force=: absent is false; anything but a boolean is
// refused rather than taken for false.
func forceParam(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("force")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("force: " + strconv.Quote(v) + " is not true or false")
	}
	return b, nil
}

// deleteAccount deletes an account (a locked one only with ?force=true:
// deleting frees the name). The log line is the audit record: the
// account's row is gone, its history stays.
func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	force, err := forceParam(r)
	if err != nil {
		return err
	}
	acc, err := h.svc.DeleteAccount(r.Context(), r.PathValue("app"), r.PathValue("user"), force)
	if err != nil {
		return err
	}
	tok := tokenFrom(r.Context())
	h.log.Info("account deleted", "app", acc.AppID, "account", acc.ID, "username", acc.Username, "state", acc.State,
		"owner", acc.PersonID, "force", force, "actor", "admin", "token", tok.ID, "remote", clientIP(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renameAccount gives an account another name: {"username": "new"}.
func (h *Handler) renameAccount(w http.ResponseWriter, r *http.Request) error {
	force, err := forceParam(r)
	if err != nil {
		return err
	}
	var in struct {
		Username string `json:"username"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	before, acc, err := h.svc.RenameAccount(r.Context(), r.PathValue("app"), r.PathValue("user"), in.Username, force)
	if err != nil {
		return err
	}
	tok := tokenFrom(r.Context())
	h.log.Info("account renamed", "app", acc.AppID, "account", acc.ID, "from", before.Username, "to", acc.Username,
		"force", force, "actor", "admin", "token", tok.ID, "remote", clientIP(r))
	httpjson.Write(w, http.StatusOK, h.svc.Status(acc))
	return nil
}
