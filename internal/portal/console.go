package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

func (p *Portal) consoleHome(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	apps, err := p.svc.Applications(ctx)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	persons, err := p.svc.Persons(ctx)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	recent, err := p.attempts(ctx, lock.AttemptFilter{Limit: 10})
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	data := map[string]any{"Title": "Overview", "Apps": len(apps), "Persons": len(persons), "Attempts": recent}
	if p.gw != nil {
		data["Gateway"] = p.gatewayStatus(r)
	}
	p.render(w, r, http.StatusOK, "console-home", s, data)
}

// --- applications and keys ---

func (p *Portal) consoleApps(w http.ResponseWriter, r *http.Request, s *session) {
	apps, err := p.svc.Applications(r.Context())
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.render(w, r, http.StatusOK, "console-apps", s, map[string]any{"Title": "Applications", "Apps": apps})
}

func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' })
}

// consoleCreateApp creates an application; its first key's secret is on
// this answer only.
func (p *Portal) consoleCreateApp(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PostFormValue("name")
	app, key, err := p.svc.CreateApplication(r.Context(), lock.ApplicationInput{Name: &name, Issuers: lines(r.PostFormValue("issuers"))})
	if err != nil {
		if errors.Is(err, lock.ErrInvalid) {
			apps, _ := p.svc.Applications(r.Context())
			p.render(w, r, http.StatusUnprocessableEntity, "console-apps", s, map[string]any{"Title": "Applications", "Apps": apps, "Error": err.Error()})
			return
		}
		p.fail(w, r, s, err)
		return
	}
	p.log.Info("console: application created", "app", app.ID, "by", s.TokenID)
	p.renderApp(w, r, s, app.ID, map[string]any{"NewKey": key})
}

func (p *Portal) consoleApp(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderApp(w, r, s, r.PathValue("app"), map[string]any{})
}

func (p *Portal) renderApp(w http.ResponseWriter, r *http.Request, s *session, id string, data map[string]any) {
	ctx := r.Context()
	app, err := p.svc.Application(ctx, id)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	keys, err := p.svc.Keys(ctx, id)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	accs, err := p.svc.Accounts(ctx, id, "")
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	statuses := make([]lock.AccountStatus, len(accs))
	for i, a := range accs {
		statuses[i] = p.svc.Status(a)
	}
	data["Title"], data["App"], data["Keys"], data["Accounts"] = app.Name, app, keys, statuses
	p.render(w, r, http.StatusOK, "console-app", s, data)
}

// consoleRotateKey adds a key beside the current ones (which stay valid
// until revoked: the overlap integrations move over in); its secret is on
// this answer only.
func (p *Portal) consoleRotateKey(w http.ResponseWriter, r *http.Request, s *session) {
	key, err := p.svc.RotateKey(r.Context(), r.PathValue("app"))
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.log.Info("console: signing key added", "app", r.PathValue("app"), "key", key.ID, "by", s.TokenID)
	p.renderApp(w, r, s, r.PathValue("app"), map[string]any{"NewKey": key})
}

func (p *Portal) consoleRevokeKey(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.svc.RevokeKey(r.Context(), r.PathValue("app"), r.PathValue("key")); err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.log.Info("console: signing key revoked", "app", r.PathValue("app"), "key", r.PathValue("key"), "by", s.TokenID)
	done(w, r, "/console/applications/"+r.PathValue("app"), "key-revoked")
}

// --- persons and accounts ---

func (p *Portal) consolePersons(w http.ResponseWriter, r *http.Request, s *session) {
	ps, err := p.svc.Persons(r.Context())
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.render(w, r, http.StatusOK, "console-persons", s, map[string]any{"Title": "Persons", "Persons": ps})
}

func (p *Portal) consoleCreatePerson(w http.ResponseWriter, r *http.Request, s *session) {
	pe, err := p.svc.CreatePerson(r.Context(), r.PostFormValue("name"), strings.TrimSpace(r.PostFormValue("email")))
	if err != nil {
		if errors.Is(err, lock.ErrInvalid) {
			ps, _ := p.svc.Persons(r.Context())
			p.render(w, r, http.StatusUnprocessableEntity, "console-persons", s, map[string]any{"Title": "Persons", "Persons": ps, "Error": err.Error()})
			return
		}
		p.fail(w, r, s, err)
		return
	}
	done(w, r, "/console/persons/"+pe.ID, "")
}

func (p *Portal) consolePerson(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderPerson(w, r, s, http.StatusOK, map[string]any{})
}

func (p *Portal) renderPerson(w http.ResponseWriter, r *http.Request, s *session, status int, data map[string]any) {
	ctx := r.Context()
	pe, err := p.svc.Person(ctx, r.PathValue("person"))
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	accs, err := p.myAccounts(ctx, pe.ID)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	toks, err := p.svc.Tokens(ctx, lock.TokenFilter{PersonID: pe.ID})
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	keys, err := p.st.Passkeys(ctx, pe.ID)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	_, loginErr := p.st.LoginOf(ctx, pe.ID)
	apps, _ := p.svc.Applications(ctx)
	data["Title"], data["Person"], data["Accounts"], data["Tokens"], data["Passkeys"], data["HasPassword"], data["Apps"] =
		pe.Name, pe, accs, toks, len(keys), loginErr == nil, apps
	p.render(w, r, status, "console-person", s, data)
}

// consoleEnrolLink issues a one-time enrolment link, shown on this answer
// only.
func (p *Portal) consoleEnrolLink(w http.ResponseWriter, r *http.Request, s *session) {
	url, l, err := p.CreateEnrolLink(r.Context(), r.PathValue("person"), "console: "+s.TokenID)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.renderPerson(w, r, s, http.StatusOK, map[string]any{"EnrolURL": url, "EnrolExpires": l.ExpiresAt})
}

func (p *Portal) consoleAssign(w http.ResponseWriter, r *http.Request, s *session) {
	person := r.PathValue("person")
	if _, err := p.svc.AssignAccount(r.Context(), r.PostFormValue("app"), strings.TrimSpace(r.PostFormValue("username")), person); err != nil {
		if errors.Is(err, lock.ErrInvalid) || errors.Is(err, lock.ErrNotFound) {
			p.renderPerson(w, r, s, http.StatusUnprocessableEntity, map[string]any{"AssignError": err.Error()})
			return
		}
		p.fail(w, r, s, err)
		return
	}
	done(w, r, "/console/persons/"+person, "account-assigned")
}

// consoleAccount shows an account's lock history and what responders
// (the IAM responder, the geo-fence) recorded about it.
func (p *Portal) consoleAccount(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	acc, err := p.svc.AccountByID(ctx, r.PathValue("account"))
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	hist, err := p.svc.History(ctx, acc.ID, 100)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	events, err := p.svc.AccountEvents(ctx, acc.AppID, acc.Username, 100)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.render(w, r, http.StatusOK, "console-account", s, map[string]any{
		"Title": acc.Username, "Account": p.svc.Status(acc), "App": p.appNames(ctx)[acc.AppID], "History": hist, "Events": events,
	})
}

// --- attempts ---

func (p *Portal) consoleAttempts(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := lock.AttemptFilter{AppID: q.Get("app"), Username: strings.TrimSpace(q.Get("username")), PersonID: q.Get("person"), Before: q.Get("before"), Limit: 100}
	var errs []string
	parse := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse("2006-01-02T15:04", v)
		if err != nil {
			errs = append(errs, name+": "+v+" is not a date and time (2006-01-02T15:04, UTC)")
		}
		return t
	}
	f.Since, f.Until = parse("since"), parse("until")
	list, err := p.attempts(r.Context(), f)
	if err != nil {
		if errors.Is(err, lock.ErrInvalid) {
			errs = append(errs, err.Error())
		} else {
			p.fail(w, r, s, err)
			return
		}
	}
	next := ""
	if len(list) == f.Limit {
		next = list[len(list)-1].ID
	}
	if q.Get("locked") == "on" {
		list = slices.DeleteFunc(list, func(a attemptView) bool { return !a.Locked })
	}
	apps, _ := p.svc.Applications(r.Context())
	persons, _ := p.svc.Persons(r.Context())
	p.render(w, r, http.StatusOK, "console-attempts", s, map[string]any{
		"Title": "Attempts", "Attempts": list, "Next": next, "Q": q, "Apps": apps, "Persons": persons, "Errors": errs,
	})
}

// --- tokens ---

func (p *Portal) consoleTokens(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderTokens(w, r, s, http.StatusOK, map[string]any{})
}

func (p *Portal) renderTokens(w http.ResponseWriter, r *http.Request, s *session, status int, data map[string]any) {
	toks, err := p.svc.Tokens(r.Context(), lock.TokenFilter{IncludeRevoked: r.URL.Query().Get("revoked") == "on"})
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	data["Title"], data["Tokens"] = "Tokens", toks
	p.render(w, r, status, "console-tokens", s, data)
}

// consoleCreateToken issues an admin token; its secret is on this answer
// only.
func (p *Portal) consoleCreateToken(w http.ResponseWriter, r *http.Request, s *session) {
	tok, secret, err := p.svc.CreateToken(r.Context(), lock.TokenInput{Name: r.PostFormValue("name"), Scope: lock.Scope(r.PostFormValue("scope"))})
	if err != nil {
		if errors.Is(err, lock.ErrInvalid) {
			p.renderTokens(w, r, s, http.StatusUnprocessableEntity, map[string]any{"Error": err.Error()})
			return
		}
		p.fail(w, r, s, err)
		return
	}
	p.log.Info("console: token created", "token", tok.ID, "scope", tok.Scope, "by", s.TokenID)
	p.renderTokens(w, r, s, http.StatusOK, map[string]any{"NewToken": tok, "NewSecret": secret})
}

func (p *Portal) consoleRevokeToken(w http.ResponseWriter, r *http.Request, s *session) {
	if _, err := p.svc.RevokeToken(r.Context(), r.PathValue("id")); err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.log.Info("console: token revoked", "token", r.PathValue("id"), "by", s.TokenID)
	if r.PathValue("id") == s.TokenID {
		clearCookie(w, adminCookie)
		done(w, r, "/console/sign-in", "signed-out")
		return
	}
	done(w, r, "/console/tokens", "token-revoked")
}

// --- webhooks and gateway ---

func (p *Portal) consoleWebhooks(w http.ResponseWriter, r *http.Request, s *session) {
	hooks, err := p.st.AllWebhooks(r.Context())
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	for i := range hooks {
		hooks[i].URL = lock.RedactURL(hooks[i].URL)
	}
	p.render(w, r, http.StatusOK, "console-webhooks", s, map[string]any{"Title": "Webhooks", "Webhooks": hooks})
}

// gatewayView is what the console shows of the gateway.
type gatewayView struct {
	LoadedAt string `json:"loaded_at"`
	Listen   string `json:"listen"`
	Routes   []struct {
		Name       string   `json:"name"`
		Host       string   `json:"host"`
		PathPrefix string   `json:"path_prefix"`
		Upstreams  []string `json:"upstreams"`
		WebACL     string   `json:"web_acl"`
		Rules      int      `json:"rules"`
	} `json:"routes"`
	Limited []limitedKey
	Error   string
}

type limitedKey struct {
	ACL, Rule, Key string
	Count          int64
}

// recorder keeps what an in-process handler answers.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (rc *recorder) Header() http.Header         { return rc.h }
func (rc *recorder) WriteHeader(status int)      { rc.status = status }
func (rc *recorder) Write(b []byte) (int, error) { return rc.body.Write(b) }

// gatewayCall runs one of the gateway's admin endpoints in-process and
// decodes its JSON answer.
func (p *Portal) gatewayCall(r *http.Request, pattern string, out any) error {
	for _, e := range p.gw.Endpoints() {
		if e.Pattern != pattern {
			continue
		}
		_, path, _ := strings.Cut(pattern, " ")
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, path, nil)
		if err != nil {
			return err
		}
		rc := &recorder{h: http.Header{}, status: http.StatusOK}
		e.Handler.ServeHTTP(rc, req)
		if rc.status != http.StatusOK {
			var e struct{ Message string }
			json.Unmarshal(rc.body.Bytes(), &e)
			return errors.New(pattern + ": " + e.Message)
		}
		return json.Unmarshal(rc.body.Bytes(), out)
	}
	return errors.New("the gateway has no endpoint " + pattern)
}

func (p *Portal) gatewayStatus(r *http.Request) gatewayView {
	var v gatewayView
	if err := p.gatewayCall(r, "GET /api/v1/admin/gateway/config", &v); err != nil {
		v.Error = err.Error()
		return v
	}
	var limited map[string]map[string][]struct {
		Key   string `json:"key"`
		Count int64  `json:"count"`
	}
	if err := p.gatewayCall(r, "GET /api/v1/admin/gateway/limited", &limited); err != nil {
		v.Error = err.Error()
		return v
	}
	for acl, rules := range limited {
		for rule, keys := range rules {
			for _, k := range keys {
				v.Limited = append(v.Limited, limitedKey{acl, rule, k.Key, k.Count})
			}
		}
	}
	slices.SortFunc(v.Limited, func(a, b limitedKey) int { return strings.Compare(a.ACL+a.Rule+a.Key, b.ACL+b.Rule+b.Key) })
	return v
}

func (p *Portal) consoleGateway(w http.ResponseWriter, r *http.Request, s *session) {
	data := map[string]any{"Title": "Gateway"}
	if p.gw != nil {
		data["Gateway"] = p.gatewayStatus(r)
	}
	p.render(w, r, http.StatusOK, "console-gateway", s, data)
}

func (p *Portal) consoleReload(w http.ResponseWriter, r *http.Request, s *session) {
	if p.gw == nil {
		p.fail(w, r, s, lock.ErrNotFound)
		return
	}
	if err := p.gw.Reload(); err != nil {
		p.render(w, r, http.StatusUnprocessableEntity, "console-gateway", s, map[string]any{"Title": "Gateway", "Gateway": p.gatewayStatus(r), "Error": "Reload refused; the running configuration keeps serving: " + err.Error()})
		return
	}
	p.log.Info("console: gateway reloaded", "by", s.TokenID)
	done(w, r, "/console/gateway", "reloaded")
}
