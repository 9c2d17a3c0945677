package awsiam

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/webhook"
)

// Sessions remembers which role each person signed in through, so a
// lock pushed by the lock service can reach a role session too.
type Sessions struct {
	mu sync.Mutex
	m  map[string]Target // by session name
}

// Remember notes a role session target.
func (s *Sessions) Remember(t Target) {
	if t.SessionName == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]Target{}
	}
	s.m[t.SessionName] = t
}

func (s *Sessions) lookup(name string) (Target, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[name]
	return t, ok
}

// Handler serves the responder over HTTP:
//
//   - POST /events/aws-signin: an EventBridge event, as API destinations
//     send it, authenticated by a secret header;
//   - POST /events/lock-changed: the lock service's signed lock.changed
//     webhook, applied at once, so locking an account ends its AWS access
//     without waiting for the next sign-in.
type Handler struct {
	R             *Responder
	EventsSecret  string
	EventsHeader  string // default X-Lockgate-Events-Secret
	WebhookSecret string
	Sessions      *Sessions
}

const maxEventBytes = 256 << 10

// Endpoints are the responder's routes on lockgate's main listener. They
// are public to the route table: each authenticates its caller itself
// (a shared secret header, a webhook signature).
func (h *Handler) Endpoints() []endpoint.Endpoint {
	return []endpoint.Endpoint{
		{Pattern: "POST /events/aws-signin", Access: endpoint.Public, Handler: http.HandlerFunc(h.signIn)},
		{Pattern: "POST /events/lock-changed", Access: endpoint.Public, Handler: http.HandlerFunc(h.lockChanged)},
	}
}

// Register adds the endpoints to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, e := range h.Endpoints() {
		mux.Handle(e.Pattern, e.Handler)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	header := h.EventsHeader
	if header == "" {
		header = "X-Lockgate-Events-Secret"
	}
	got := r.Header.Get(header)
	if h.EventsSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.EventsSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "event over 256 KiB"})
		return
	}
	if s, err := ParseSignIn(body); err == nil && s.Type == "AssumedRole" && h.Sessions != nil {
		h.Sessions.Remember(Target{Role: s.RoleName, RoleID: s.RoleID, SessionName: s.SessionName})
	}
	out, err := h.R.HandleEvent(r.Context(), body)
	if err != nil {
		// 5xx: EventBridge retries, and handling is idempotent.
		writeJSON(w, http.StatusBadGateway, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// lockChange is the part of a lock.changed event the responder reads.
type lockChange struct {
	Type string `json:"type"`
	Data struct {
		Change struct {
			Username string    `json:"username"`
			To       string    `json:"to"`
			At       time.Time `json:"at"`
		} `json:"change"`
	} `json:"data"`
}

func (h *Handler) lockChanged(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "event too large"})
		return
	}
	if h.WebhookSecret == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no webhook secret configured"})
		return
	}
	if err := webhook.Verify([]byte(h.WebhookSecret), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad signature"})
		return
	}
	var ev lockChange
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.Change.Username == "" || ev.Data.Change.At.IsZero() {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "not a lock.changed event"})
		return
	}
	if ev.Type != "lock.changed" {
		writeJSON(w, http.StatusOK, Outcome{Result: "skipped", Reason: "event type " + ev.Type})
		return
	}
	c := ev.Data.Change
	t := Target{User: c.Username}
	if h.Sessions != nil {
		if st, ok := h.Sessions.lookup(c.Username); ok {
			t = st
		}
	}
	out, err := h.R.Apply(r.Context(), t, c.To == "locked", c.At, "lock.changed pushed by the lock service")
	if err != nil {
		if errorCode(errors.Unwrap(err)) == "NoSuchEntity" || errorCode(err) == "NoSuchEntity" {
			writeJSON(w, http.StatusOK, Outcome{Target: t, Result: "skipped", Reason: "no such IAM principal"})
			return
		}
		writeJSON(w, http.StatusBadGateway, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
