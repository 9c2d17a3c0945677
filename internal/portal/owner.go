package portal

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// actor names a person acting through the portal, for the lock history.
func actor(r *http.Request, s *session) lock.Actor {
	return lock.Actor{Name: "person:" + s.PersonID + " (portal)", IP: clientIP(r)}
}

// accountView is an account as the portal shows it.
type accountView struct {
	ID, App, Username string
	Locked            bool
	Until             time.Time // zero: not a timed unlock
}

// appNames maps application IDs to names.
func (p *Portal) appNames(ctx context.Context) map[string]string {
	apps, _ := p.svc.Applications(ctx)
	m := make(map[string]string, len(apps))
	for _, a := range apps {
		m[a.ID] = a.Name
	}
	return m
}

func (p *Portal) myAccounts(ctx context.Context, personID string) ([]accountView, error) {
	accs, err := p.svc.Accounts(ctx, "", personID)
	if err != nil {
		return nil, err
	}
	names := p.appNames(ctx)
	out := make([]accountView, 0, len(accs))
	for _, a := range accs {
		st := p.svc.Status(a)
		v := accountView{ID: a.ID, App: names[a.AppID], Username: a.Username, Locked: st.Locked}
		if st.UnlockUntil != nil {
			v.Until = *st.UnlockUntil
		}
		if v.App == "" {
			v.App = a.AppID
		}
		out = append(out, v)
	}
	return out, nil
}

// ownAccount returns the session's person's account id; another
// person's account reads as not found.
func (p *Portal) ownAccount(ctx context.Context, s *session, id string) (lock.Account, error) {
	a, err := p.svc.AccountByID(ctx, id)
	if err == nil && a.PersonID != s.PersonID {
		err = lock.ErrNotFound
	}
	return a, err
}

func (p *Portal) accountsPage(w http.ResponseWriter, r *http.Request, s *session) {
	accs, err := p.myAccounts(r.Context(), s.PersonID)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	reqs, err := p.svc.UnlockRequests(r.Context(), s.PersonID, 20)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	pending := 0
	for _, q := range reqs {
		if q.State == lock.RequestPending {
			pending++
		}
	}
	p.render(w, r, http.StatusOK, "accounts", s, map[string]any{"Title": "My accounts", "Accounts": accs, "Pending": pending})
}

// unlockMinutes are the portal's timed unlocks.
var unlockMinutes = map[string]time.Duration{"5": 5 * time.Minute, "15": 15 * time.Minute, "60": time.Hour}

func (p *Portal) lockAccount(lockIt bool) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		acc, err := p.ownAccount(r.Context(), s, r.PathValue("account"))
		if err != nil {
			p.fail(w, r, s, err)
			return
		}
		t := lock.Target{Lock: lockIt, Reason: "from the portal"}
		flash := "locked"
		if !lockIt {
			d, ok := unlockMinutes[r.PostFormValue("minutes")]
			if !ok {
				p.fail(w, r, s, errors.Join(lock.ErrInvalid, errors.New("unlock for 5, 15 or 60 minutes")))
				return
			}
			t.For, flash = d, "unlocked"
		}
		if _, err := p.svc.SetLockByID(r.Context(), acc.ID, t, actor(r, s)); err != nil {
			p.fail(w, r, s, err)
			return
		}
		done(w, r, "/portal/", flash)
	}
}

func (p *Portal) lockAll(w http.ResponseWriter, r *http.Request, s *session) {
	if _, err := p.svc.SetLockAll(r.Context(), s.PersonID, lock.Target{Lock: true, Reason: "lock everything, from the portal"}, actor(r, s)); err != nil {
		p.fail(w, r, s, err)
		return
	}
	done(w, r, "/portal/", "locked-all")
}

// attemptView is an attempt as the portal shows it.
type attemptView struct {
	ID       string    `json:"id"`
	At       time.Time `json:"at"`
	App      string    `json:"app"`
	Username string    `json:"username"`
	IP       string    `json:"ip"`
	Country  string    `json:"country"`
	Device   string    `json:"device"`
	Locked   bool      `json:"locked"`
}

func (p *Portal) attempts(ctx context.Context, f lock.AttemptFilter) ([]attemptView, error) {
	list, err := p.svc.Attempts(ctx, f)
	if err != nil {
		return nil, err
	}
	names := p.appNames(ctx)
	out := make([]attemptView, 0, len(list))
	for _, a := range list {
		app := names[a.AppID]
		if app == "" {
			app = a.AppID
		}
		out = append(out, attemptView{ID: a.ID, At: a.At, App: app, Username: a.Username, IP: a.UserIP, Country: a.UserLocation, Device: a.UserDevice, Locked: a.Locked})
	}
	return out, nil
}

func (p *Portal) attemptsPage(w http.ResponseWriter, r *http.Request, s *session) {
	before := r.URL.Query().Get("before")
	list, err := p.attempts(r.Context(), lock.AttemptFilter{PersonID: s.PersonID, Before: before, Limit: 50})
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	next := ""
	if len(list) == 50 {
		next = list[len(list)-1].ID
	}
	p.render(w, r, http.StatusOK, "attempts", s, map[string]any{"Title": "Attempts", "Attempts": list, "Next": next, "Live": before == ""})
}

// attemptsJSON feeds the live attempts list: those newer than after.
func (p *Portal) attemptsJSON(w http.ResponseWriter, r *http.Request, s *session) {
	list, err := p.attempts(r.Context(), lock.AttemptFilter{PersonID: s.PersonID, Limit: 50})
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	after := r.URL.Query().Get("after")
	out := []attemptView{}
	for _, a := range list {
		if a.ID > after {
			out = append(out, a)
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"items": out})
}

func (p *Portal) requestsPage(w http.ResponseWriter, r *http.Request, s *session) {
	reqs, err := p.svc.UnlockRequests(r.Context(), s.PersonID, 50)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	names := p.appNames(r.Context())
	type view struct {
		lock.UnlockRequest
		App string
	}
	list := make([]view, len(reqs))
	for i, q := range reqs {
		list[i] = view{q, names[q.AppID]}
	}
	p.render(w, r, http.StatusOK, "requests", s, map[string]any{"Title": "Unlock requests", "Requests": list, "UnlockFor": p.policy.UnlockFor})
}

func (p *Portal) decide(approve bool) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if _, err := p.svc.DecideUnlockRequest(r.Context(), s.PersonID, r.PathValue("id"), approve, p.policy, actor(r, s)); err != nil {
			p.fail(w, r, s, err)
			return
		}
		flash := "rejected"
		if approve {
			flash = "approved"
		}
		done(w, r, "/portal/requests", flash)
	}
}

// --- settings: geo-fence, webhooks, e-mail alerts ---

func (p *Portal) settingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderSettings(w, r, s, http.StatusOK, map[string]any{})
}

func (p *Portal) renderSettings(w http.ResponseWriter, r *http.Request, s *session, status int, data map[string]any) {
	ctx := r.Context()
	fence, err := p.svc.GeoFence(ctx, lock.FenceOwnerPerson, s.PersonID)
	if err == nil {
		data["Fence"] = fence
	} else if !errors.Is(err, lock.ErrNotFound) {
		p.fail(w, r, s, err)
		return
	}
	hooks, err := p.svc.Webhooks(ctx, "person", s.PersonID)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	// Credentials in a URL show as REDACTED, as in the admin API and the
	// console: the page is read at the owner's screen and kept in caches.
	for i := range hooks {
		hooks[i].URL = lock.RedactURL(hooks[i].URL)
	}
	if a, err := p.st.AlertEmail(ctx, s.PersonID); err == nil {
		data["Email"] = a
	} else if !errors.Is(err, lock.ErrNotFound) {
		p.fail(w, r, s, err)
		return
	}
	data["Title"], data["Webhooks"], data["SMTP"] = "Settings", hooks, p.cfg.SMTP.Addr != ""
	p.render(w, r, status, "settings", s, data)
}

// codes splits a list of ISO codes typed with commas or spaces.
func codes(s string) []string {
	return strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\r' || r == '\t' })
}

func (p *Portal) setFence(w http.ResponseWriter, r *http.Request, s *session) {
	in := lock.GeoFenceInput{Countries: codes(r.PostFormValue("countries")), Regions: codes(r.PostFormValue("regions")), Message: r.PostFormValue("message")}
	if _, err := p.svc.SetGeoFence(r.Context(), lock.FenceOwnerPerson, s.PersonID, in, actor(r, s)); err != nil {
		if errors.Is(err, lock.ErrInvalid) {
			p.renderSettings(w, r, s, http.StatusUnprocessableEntity, map[string]any{"FenceError": err.Error()})
			return
		}
		p.fail(w, r, s, err)
		return
	}
	done(w, r, "/portal/settings", "fence-saved")
}

func (p *Portal) deleteFence(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.svc.DeleteGeoFence(r.Context(), lock.FenceOwnerPerson, s.PersonID); err != nil && !errors.Is(err, lock.ErrNotFound) {
		p.fail(w, r, s, err)
		return
	}
	done(w, r, "/portal/settings", "fence-deleted")
}

// addWebhook registers a URL for the person's events; its signing secret
// is shown on this answer only.
func (p *Portal) addWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	hook, secret, err := p.svc.AddWebhook(r.Context(), "person", s.PersonID, strings.TrimSpace(r.PostFormValue("url")))
	if err != nil {
		if errors.Is(err, lock.ErrInvalid) {
			p.renderSettings(w, r, s, http.StatusUnprocessableEntity, map[string]any{"WebhookError": err.Error()})
			return
		}
		p.fail(w, r, s, err)
		return
	}
	p.renderSettings(w, r, s, http.StatusOK, map[string]any{"NewWebhook": hook, "NewSecret": secret})
}

func (p *Portal) deleteWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	hooks, err := p.svc.Webhooks(r.Context(), "person", s.PersonID)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	id := r.PathValue("id")
	for _, h := range hooks {
		if h.ID == id {
			if err := p.svc.DeleteWebhook(r.Context(), id); err != nil {
				p.fail(w, r, s, err)
				return
			}
			done(w, r, "/portal/settings", "webhook-deleted")
			return
		}
	}
	p.fail(w, r, s, lock.ErrNotFound)
}

func (p *Portal) setEmail(w http.ResponseWriter, r *http.Request, s *session) {
	addr, err := checkAddress(r.PostFormValue("address"))
	if err != nil {
		p.renderSettings(w, r, s, http.StatusUnprocessableEntity, map[string]any{"EmailError": err.Error()})
		return
	}
	// Mail about what happens from now on, not the attempts of the past.
	cursor := ""
	if last, err := p.svc.Attempts(r.Context(), lock.AttemptFilter{PersonID: s.PersonID, Limit: 1}); err == nil && len(last) > 0 {
		cursor = last[0].ID
	}
	a := lock.AlertEmail{PersonID: s.PersonID, Address: addr, Enabled: r.PostFormValue("enabled") == "on", Cursor: cursor, UpdatedAt: p.now()}
	if err := p.st.PutAlertEmail(r.Context(), a); err != nil {
		p.fail(w, r, s, err)
		return
	}
	done(w, r, "/portal/settings", "email-saved")
}

func (p *Portal) testEmail(w http.ResponseWriter, r *http.Request, s *session) {
	a, err := p.st.AlertEmail(r.Context(), s.PersonID)
	if err != nil {
		p.renderSettings(w, r, s, http.StatusUnprocessableEntity, map[string]any{"EmailError": "Save an address first."})
		return
	}
	if err := p.mail(a.Address, "lockgate: test alert", "This is a test of your lockgate alerts. Alerts about sign-in attempts on your locked accounts will come to this address.\n"); err != nil {
		p.log.Warn("portal: test e-mail failed", "person", s.PersonID, "error", err)
		p.renderSettings(w, r, s, http.StatusBadGateway, map[string]any{"EmailError": "The mail could not be sent: " + err.Error()})
		return
	}
	done(w, r, "/portal/settings", "email-sent")
}
