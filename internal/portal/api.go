package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// EnrolLinkPath is the admin API route that issues enrolment links.
const EnrolLinkPath = "/api/v1/admin/persons/{person}/enrol-links"

// EnrolLinkAnswer is the admin API's answer: the link, shown once.
type EnrolLinkAnswer struct {
	ID        string    `json:"id"`
	PersonID  string    `json:"person_id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (p *Portal) apiEndpoints() []endpoint.Endpoint {
	return []endpoint.Endpoint{
		{Pattern: "POST " + EnrolLinkPath, Access: endpoint.Admin, Handler: http.HandlerFunc(p.apiEnrolLink)},
		{Pattern: "POST /api/v1/unlock-requests", Access: endpoint.Public, Handler: http.HandlerFunc(p.apiRequestUnlock)},
		{Pattern: "GET /api/v1/unlock-requests/{id}", Access: endpoint.Public, Handler: http.HandlerFunc(p.apiUnlockRequest)},
	}
}

func (p *Portal) apiEnrolLink(w http.ResponseWriter, r *http.Request) {
	// The link takes no input; a body, when one is sent, is still JSON
	// text as on every route, never taken as it comes (atk14f F4).
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", "body: over 64 KiB or unreadable")
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			httpjson.Error(w, http.StatusBadRequest, "bad_request", "body: not JSON: "+err.Error())
			return
		}
		if err := httpjson.CheckText(body); err != nil {
			httpjson.Error(w, http.StatusBadRequest, "bad_request", "body: "+err.Error())
			return
		}
	}
	url, l, err := p.CreateEnrolLink(r.Context(), r.PathValue("person"), "admin API from "+clientIP(r))
	if err != nil {
		p.apiFail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, EnrolLinkAnswer{ID: l.ID, PersonID: l.PersonID, URL: url, ExpiresAt: l.ExpiresAt})
}

// apiRequestUnlock is called by an integration that was answered locked:
// {"attempt_id": the lock check's sessionID}. The account's owner is
// asked in the portal (and by mail when they have alerts).
func (p *Portal) apiRequestUnlock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AttemptID string `json:"attempt_id"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		httpjson.TooLarge(w, "body is over 4 KiB")
		return
	}
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err == nil {
		// Invalid UTF-8 and NUL are refused naming the field, as on every
		// other route (atk14f F4: "\xff" became U+FFFD, "\u0000" an empty
		// attempt id).
		if err := httpjson.CheckText(body); err != nil {
			httpjson.Error(w, http.StatusBadRequest, "bad_request", "body: "+err.Error())
			return
		}
	}
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", `body: {"attempt_id": "att_…"} expected`)
		return
	}
	q, err := p.svc.RequestUnlock(r.Context(), httpjson.IntegrationToken(r), in.AttemptID, p.policy)
	if err != nil {
		p.apiFail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, q)
}

func (p *Portal) apiUnlockRequest(w http.ResponseWriter, r *http.Request) {
	q, err := p.svc.UnlockRequestStatus(r.Context(), httpjson.IntegrationToken(r), r.PathValue("id"))
	if err != nil {
		p.apiFail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, q)
}

func (p *Portal) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, lock.ErrUnauthorized):
		p.log.Info("portal API: token rejected", "reason", err.Error(), "remote", clientIP(r))
		httpjson.Error(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
	case errors.Is(err, lock.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, lock.ErrInvalid):
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, lock.ErrConflict):
		httpjson.Error(w, http.StatusConflict, "conflict", err.Error())
	default:
		p.log.Error("portal API failed", "path", r.URL.Path, "error", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "internal error")
	}
}
