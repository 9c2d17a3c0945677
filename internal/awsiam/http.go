package awsiam

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/webhook"
)

// Handler serves the responder over HTTP:
//
//   - POST /events/aws-signin: an EventBridge event, as API destinations
//     send it, authenticated by a secret header;
//   - POST /events/lock-changed: the lock service's signed lock.changed
//     webhook, applied at once to the IAM user of that name and to every
//     role session the person was seen on (read from the lock service,
//     where the Lambda function records them too), so locking an account
//     ends its AWS access without waiting for the next sign-in.
type Handler struct {
	R             *Responder
	EventsSecret  string
	EventsHeader  string // DefaultEventsHeader when empty
	WebhookSecret string
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

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	header := h.EventsHeader
	if header == "" {
		header = DefaultEventsHeader
	}
	got := r.Header.Get(header)
	if h.EventsSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.EventsSecret)) != 1 {
		writeError(w, http.StatusUnauthorized, "unauthorized", "the events secret header is missing or wrong")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, httpjson.PayloadTooLarge, "event over 256 KiB")
		return
	}
	if err := httpjson.CheckSurrogates(body); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "event: "+err.Error())
		return
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

// iamUserName is IAM's pattern and length for user names: a lockgate
// account named otherwise cannot be an IAM user, and is not asked about.
var iamUserName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// Outcomes answers a push: one outcome per principal acted on.
type Outcomes struct {
	Outcomes []Outcome `json:"outcomes"`
	Error    string    `json:"error,omitempty"`
}

func (h *Handler) lockChanged(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, httpjson.PayloadTooLarge, "event over 256 KiB")
		return
	}
	if h.WebhookSecret == "" {
		writeError(w, http.StatusUnauthorized, "unauthorized", "no webhook secret configured")
		return
	}
	if err := webhook.Verify([]byte(h.WebhookSecret), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", "bad signature")
		return
	}
	var ev lockChange
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.Change.Username == "" || ev.Data.Change.At.IsZero() {
		writeError(w, http.StatusBadRequest, "bad_request", "not a lock.changed event")
		return
	}
	if err := httpjson.CheckSurrogates(body); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "event: "+err.Error())
		return
	}
	if ev.Type != "lock.changed" {
		writeJSON(w, http.StatusOK, Outcomes{Outcomes: []Outcome{{Result: "skipped", Reason: "event type " + ev.Type}}})
		return
	}
	c := ev.Data.Change
	var ans Outcomes
	status := http.StatusOK
	var targets []Target
	if h.R.Sessions != nil {
		ts, err := h.R.Sessions.Sessions(r.Context(), c.Username)
		if err != nil {
			// The role sessions are unknown now: answer 5xx so the lock
			// service delivers the change again.
			status = http.StatusBadGateway
			ans.Error = "reading the person's role sessions at the lock service failed: " + err.Error()
		}
		targets = ts
	}
	if iamUserName.MatchString(c.Username) {
		targets = append(targets, Target{User: c.Username})
	}
	for _, t := range targets {
		out, err := h.R.Apply(r.Context(), t, c.To == "locked", c.At, "lock.changed pushed by the lock service")
		if err != nil && principalMissing(out, err) {
			out = Outcome{Target: t, Result: "skipped", Reason: "no such IAM principal"}
			err = nil
		}
		if err != nil {
			status = http.StatusBadGateway
		}
		ans.Outcomes = append(ans.Outcomes, out)
	}
	if len(targets) == 0 {
		ans.Outcomes = append(ans.Outcomes, Outcome{Result: "skipped", Reason: "no IAM user of that name, and no role session of that person recorded"})
	}
	writeJSON(w, status, ans)
}

// principalMissing reports whether the user or role itself is gone: the
// call that names it first answered NoSuchEntity.
func principalMissing(out Outcome, err error) bool {
	if errorCode(err) != "NoSuchEntity" {
		return false
	}
	for _, a := range out.Actions {
		if a.Error != "" {
			return a.Op == "ListUserTags" || a.Op == "GetRole" || a.Op == "PutRolePolicy"
		}
	}
	return false
}
