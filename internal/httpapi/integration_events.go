package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// integrationEvents reads back what integrations reported about the
// token's account (?source=…&limit=…), newest first. Authenticated like a
// lock check.
func (h *Handler) integrationEvents(w http.ResponseWriter, r *http.Request) {
	token := httpjson.IntegrationToken(r)
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			httpjson.Error(w, http.StatusBadRequest, "bad_request", "limit: a positive number")
			return
		}
		limit = n
	}
	evs, err := h.svc.IntegrationEvents(r.Context(), token, r.URL.Query().Get("source"), limit)
	if errors.Is(err, lock.ErrUnauthorized) {
		h.log.Info("integration events: token rejected", "reason", err.Error(), "remote", clientIP(r))
		httpjson.Error(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if evs == nil {
		evs = []lock.AccountEvent{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"events": evs})
}
