package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// bearer returns the token of an Authorization: Bearer header, or none
// when the request has several Authorization headers (RFC 9110 allows
// one; which one a proxy in front reads is its choice, atk14j F2).
func bearer(r *http.Request) string {
	vs := r.Header["Authorization"]
	if len(vs) != 1 {
		return ""
	}
	v, _ := httpjson.Bearer(vs[0])
	return v
}

// fail maps a domain error to its status: the one place that decides.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, lock.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, lock.ErrConflict):
		httpjson.Error(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, errTooLarge):
		httpjson.TooLarge(w, err.Error())
	case errors.Is(err, lock.ErrInvalid), errors.Is(err, errBadRequest):
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
	default:
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

var errBadRequest = errors.New("bad request")

// errTooLarge is a body over its limit: 413, as for the lock check.
var errTooLarge = errors.New("body is over 64 KiB")

// badRequestError is a 400 whose message is msg alone: one line, which
// is what a client shows (errors.Join put "bad request\n" before it).
type badRequestError string

func (e badRequestError) Error() string        { return string(e) }
func (e badRequestError) Is(target error) bool { return target == errBadRequest }

func badRequest(msg string) error { return badRequestError(msg) }

// readJSON decodes an optional body into v. Text that neither database
// can store the same way (invalid UTF-8, NUL written as \u0000) is
// refused with 400 naming the field (decodeStrict), for every admin and
// owner route at once.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return errTooLarge
	}
	if err != nil {
		return badRequest("body: cannot be read")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := decodeStrict(body, v); err != nil {
		return badRequest("body: " + err.Error())
	}
	return nil
}

// --- applications ---

type createAppResponse struct {
	lock.Application
	SigningKey lock.NewKey `json:"signing_key"`
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) error {
	var in lock.ApplicationInput
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	app, key, err := h.svc.CreateApplication(r.Context(), in)
	if err != nil {
		return err
	}
	h.log.Info("application created", "app", app.ID, "name", app.Name, "key", key.ID)
	httpjson.Write(w, http.StatusCreated, createAppResponse{Application: app, SigningKey: key})
	return nil
}

func (h *Handler) listApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := h.svc.Applications(r.Context())
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"applications": apps})
	return nil
}

func (h *Handler) getApp(w http.ResponseWriter, r *http.Request) error {
	app, err := h.svc.Application(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, app)
	return nil
}

func (h *Handler) updateApp(w http.ResponseWriter, r *http.Request) error {
	var in lock.ApplicationInput
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	app, err := h.svc.UpdateApplication(r.Context(), r.PathValue("app"), in)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, app)
	return nil
}

func (h *Handler) deleteApp(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteApplication(r.Context(), r.PathValue("app")); err != nil {
		return err
	}
	h.log.Info("application deleted", "app", r.PathValue("app"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// usernameCollisions lists the accounts of an application that caseless
// matching would make one: what an admin resolves before switching it.
func (h *Handler) usernameCollisions(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.svc.UsernameCollisions(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []lock.Collision{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"collisions": cs})
	return nil
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := h.svc.Keys(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"keys": keys})
	return nil
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request) error {
	key, err := h.svc.RotateKey(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	h.log.Info("signing key added", "app", r.PathValue("app"), "key", key.ID)
	httpjson.Write(w, http.StatusCreated, key)
	return nil
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RevokeKey(r.Context(), r.PathValue("app"), r.PathValue("key")); err != nil {
		return err
	}
	h.log.Info("signing key revoked", "app", r.PathValue("app"), "key", r.PathValue("key"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- accounts ---

func (h *Handler) statuses(accs []lock.Account) []lock.AccountStatus {
	out := make([]lock.AccountStatus, len(accs))
	for i, a := range accs {
		out[i] = h.svc.Status(a)
	}
	return out
}

func (h *Handler) listAppAccounts(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.svc.Application(r.Context(), r.PathValue("app")); err != nil {
		return err
	}
	accs, err := h.svc.Accounts(r.Context(), r.PathValue("app"), "")
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"accounts": h.statuses(accs)})
	return nil
}

func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request) error {
	acc, err := h.svc.Account(r.Context(), r.PathValue("app"), r.PathValue("user"))
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.svc.Status(acc))
	return nil
}

func (h *Handler) setOwner(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		PersonID string `json:"person_id"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	acc, err := h.svc.AssignAccount(r.Context(), r.PathValue("app"), r.PathValue("user"), in.PersonID)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.svc.Status(acc))
	return nil
}

// lockInput is the body of lock and unlock: "for" is a Go duration
// ("15m") and applies to unlock only. It is a pointer so that an empty
// string is told from an absent field: "" is no duration, and taking it as
// "unlock for good" would leave the account open with no end.
type lockInput struct {
	For    *string `json:"for"`
	Reason string  `json:"reason"`
}

func (h *Handler) target(w http.ResponseWriter, r *http.Request, lockIt bool) (lock.Target, error) {
	var in lockInput
	if err := readJSON(w, r, &in); err != nil {
		return lock.Target{}, err
	}
	t := lock.Target{Lock: lockIt, Reason: in.Reason}
	if in.For != nil {
		d, err := time.ParseDuration(*in.For)
		if err != nil || d <= 0 {
			return t, badRequest("for: " + strconv.Quote(*in.For) + " is not a positive duration such as 15m")
		}
		t.For = d
	}
	return t, nil
}

func (h *Handler) actor(r *http.Request, name string) lock.Actor {
	return lock.Actor{Name: name, IP: clientIP(r)}
}

func (h *Handler) lockAccount(lockIt bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := h.target(w, r, lockIt)
		if err != nil {
			return err
		}
		acc, err := h.svc.SetLock(r.Context(), r.PathValue("app"), r.PathValue("user"), t, h.actor(r, "admin"))
		if err != nil {
			return err
		}
		h.log.Info("lock state set", "app", acc.AppID, "account", acc.ID, "lock", lockIt, "for", t.For, "actor", "admin", "remote", clientIP(r))
		httpjson.Write(w, http.StatusOK, h.svc.Status(acc))
		return nil
	}
}

func (h *Handler) accountHistory(w http.ResponseWriter, r *http.Request) error {
	acc, err := h.svc.Account(r.Context(), r.PathValue("app"), r.PathValue("user"))
	if err != nil {
		return err
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	hist, err := h.svc.History(r.Context(), acc.ID, limit)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"history": hist})
	return nil
}

func (h *Handler) accountEvents(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.svc.Application(r.Context(), r.PathValue("app")); err != nil {
		return err
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	evs, err := h.svc.AccountEvents(r.Context(), r.PathValue("app"), r.PathValue("user"), limit)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"events": evs})
	return nil
}

// --- persons ---

func (h *Handler) createPerson(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.svc.CreatePerson(r.Context(), in.Name, in.Email)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusCreated, p)
	return nil
}

func (h *Handler) listPersons(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.svc.Persons(r.Context())
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"persons": ps})
	return nil
}

func (h *Handler) getPerson(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.Person(r.Context(), r.PathValue("person"))
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, p)
	return nil
}

func (h *Handler) deletePerson(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeletePerson(r.Context(), r.PathValue("person")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) personAccounts(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.svc.Person(r.Context(), r.PathValue("person")); err != nil {
		return err
	}
	accs, err := h.svc.Accounts(r.Context(), "", r.PathValue("person"))
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"accounts": h.statuses(accs)})
	return nil
}

func (h *Handler) personToken(w http.ResponseWriter, r *http.Request) error {
	in, err := readTokenInput(w, r)
	if err != nil {
		return err
	}
	tok, secret, err := h.svc.IssuePersonToken(r.Context(), r.PathValue("person"), in)
	if err != nil {
		return err
	}
	h.log.Info("token created", "token", tok.ID, "name", tok.Name, "scope", tok.Scope, "person", tok.PersonID, "by", tokenFrom(r.Context()).ID)
	httpjson.Write(w, http.StatusCreated, newTokenResponse{Token: tok, Secret: secret})
	return nil
}

func (h *Handler) lockPerson(lockIt bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := h.target(w, r, lockIt)
		if err != nil {
			return err
		}
		accs, err := h.svc.SetLockAll(r.Context(), r.PathValue("person"), t, h.actor(r, "admin"))
		if err != nil {
			return err
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"accounts": h.statuses(accs)})
		return nil
	}
}

// --- webhooks ---

// webhookResponse is a new webhook with its secret. Its URL is shown as
// given (the caller just sent it); listings redact it.
type webhookResponse struct {
	ID        string    `json:"id"`
	OwnerKind string    `json:"owner_kind"`
	OwnerID   string    `json:"owner_id"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
	Secret    string    `json:"secret"`
}

func (h *Handler) addWebhook(kind, param string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			URL string `json:"url"`
		}
		if err := readJSON(w, r, &in); err != nil {
			return err
		}
		hook, secret, err := h.svc.AddWebhook(r.Context(), kind, r.PathValue(param), in.URL)
		if err != nil {
			return err
		}
		h.log.Info("webhook added", "webhook", hook.ID, "owner", hook.OwnerID, "url", lock.RedactURL(hook.URL))
		httpjson.Write(w, http.StatusCreated, webhookResponse{ID: hook.ID, OwnerKind: hook.OwnerKind, OwnerID: hook.OwnerID, URL: lock.RedactURL(hook.URL), CreatedAt: hook.CreatedAt, Secret: secret})
		return nil
	}
}

func (h *Handler) listWebhooks(kind, param string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		hooks, err := h.svc.Webhooks(r.Context(), kind, r.PathValue(param))
		if err != nil {
			return err
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"webhooks": hooks})
		return nil
	}
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- attempts ---

// attemptFilter reads app, user, person, since, until (RFC 3339), before
// (an attempt id) and limit from the query.
func attemptFilter(r *http.Request) (lock.AttemptFilter, error) {
	q := r.URL.Query()
	f := lock.AttemptFilter{AppID: q.Get("app"), Username: q.Get("user"), PersonID: q.Get("person"), Before: q.Get("before")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, badRequest(p.name + ": " + strconv.Quote(v) + " is not an RFC 3339 time")
			}
			*p.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, badRequest("limit: " + strconv.Quote(v) + " is not 1..1000")
		}
		f.Limit = n
	}
	return f, nil
}

type attemptsPage struct {
	Attempts []lock.Attempt `json:"attempts"`
	// Next is the "before" value of the following page; empty at the end.
	Next string `json:"next,omitempty"`
}

func (h *Handler) writeAttempts(w http.ResponseWriter, r *http.Request, f lock.AttemptFilter) error {
	as, err := h.svc.Attempts(r.Context(), f)
	if err != nil {
		return err
	}
	page := attemptsPage{Attempts: as}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(as) == limit {
		page.Next = as[len(as)-1].ID
	}
	httpjson.Write(w, http.StatusOK, page)
	return nil
}

func (h *Handler) listAttempts(w http.ResponseWriter, r *http.Request) error {
	f, err := attemptFilter(r)
	if err != nil {
		return err
	}
	return h.writeAttempts(w, r, f)
}

// --- owner API ---

func (h *Handler) me(w http.ResponseWriter, r *http.Request, p lock.Person) error {
	httpjson.Write(w, http.StatusOK, p)
	return nil
}

func (h *Handler) myAccounts(w http.ResponseWriter, r *http.Request, p lock.Person) error {
	accs, err := h.svc.Accounts(r.Context(), "", p.ID)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"accounts": h.statuses(accs)})
	return nil
}

// myAccount returns the account only if p owns it; another person's
// account is reported as not found, not forbidden, to reveal nothing.
func (h *Handler) myAccount(r *http.Request, p lock.Person) (lock.Account, error) {
	acc, err := h.svc.AccountByID(r.Context(), r.PathValue("account"))
	if err != nil {
		return lock.Account{}, err
	}
	if acc.PersonID != p.ID {
		return lock.Account{}, lock.ErrNotFound
	}
	return acc, nil
}

func (h *Handler) myLock(lockIt bool) func(http.ResponseWriter, *http.Request, lock.Person) error {
	return func(w http.ResponseWriter, r *http.Request, p lock.Person) error {
		acc, err := h.myAccount(r, p)
		if err != nil {
			return err
		}
		t, err := h.target(w, r, lockIt)
		if err != nil {
			return err
		}
		acc, err = h.svc.SetLock(r.Context(), acc.AppID, acc.Username, t, h.actor(r, "owner:"+p.ID))
		if err != nil {
			return err
		}
		httpjson.Write(w, http.StatusOK, h.svc.Status(acc))
		return nil
	}
}

func (h *Handler) myLockAll(lockIt bool) func(http.ResponseWriter, *http.Request, lock.Person) error {
	return func(w http.ResponseWriter, r *http.Request, p lock.Person) error {
		t, err := h.target(w, r, lockIt)
		if err != nil {
			return err
		}
		accs, err := h.svc.SetLockAll(r.Context(), p.ID, t, h.actor(r, "owner:"+p.ID))
		if err != nil {
			return err
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"accounts": h.statuses(accs)})
		return nil
	}
}

func (h *Handler) myHistory(w http.ResponseWriter, r *http.Request, p lock.Person) error {
	acc, err := h.myAccount(r, p)
	if err != nil {
		return err
	}
	hist, err := h.svc.History(r.Context(), acc.ID, 100)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"history": hist})
	return nil
}

func (h *Handler) myEvents(w http.ResponseWriter, r *http.Request, p lock.Person) error {
	acc, err := h.myAccount(r, p)
	if err != nil {
		return err
	}
	evs, err := h.svc.AccountEvents(r.Context(), acc.AppID, acc.Username, 100)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"events": evs})
	return nil
}

func (h *Handler) myAttempts(w http.ResponseWriter, r *http.Request, p lock.Person) error {
	f, err := attemptFilter(r)
	if err != nil {
		return err
	}
	f.PersonID = p.ID // whatever the query said
	return h.writeAttempts(w, r, f)
}
