package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// endpoints is the API's own part of the route table.
func (h *Handler) endpoints() []endpoint.Endpoint {
	pub := func(pattern string, f http.HandlerFunc) endpoint.Endpoint {
		return endpoint.Endpoint{Pattern: pattern, Access: endpoint.Public, Handler: f}
	}
	adm := func(pattern string, f func(http.ResponseWriter, *http.Request) error) endpoint.Endpoint {
		access := endpoint.Admin
		if strings.HasPrefix(pattern, "GET ") {
			access = endpoint.AdminRead
		}
		return endpoint.Endpoint{Pattern: pattern, Access: access, Handler: h.errors(f)}
	}
	own := func(pattern string, f func(http.ResponseWriter, *http.Request, lock.Person) error) endpoint.Endpoint {
		return endpoint.Endpoint{Pattern: pattern, Access: endpoint.Owner, Handler: h.errors(func(w http.ResponseWriter, r *http.Request) error {
			return f(w, r, personFrom(r.Context()))
		})}
	}
	eps := []endpoint.Endpoint{
		pub("GET /healthz", h.healthz),
		pub("GET /readyz", h.readyz),
		pub("POST /api/v1/integration-events", h.integrationEvent),
		pub("GET /api/v1/integration-events", h.integrationEvents),
	}
	// The lock check, at lockgate's path and at the two paths Next Level3
	// integrations call, so they work by changing only their API URI.
	for _, p := range []string{"/api/v1/lock-check", "/nl3/api/v1/accountProtectionCheck", "/nl3/api/v1/sdk/accountLockCheck"} {
		eps = append(eps, pub("POST "+p, h.lockCheck))
	}
	eps = append(eps, h.geoFenceEndpoints(adm, own)...)
	return append(eps,
		adm("POST /api/v1/admin/applications", h.createApp),
		adm("GET /api/v1/admin/applications", h.listApps),
		adm("GET /api/v1/admin/applications/{app}", h.getApp),
		adm("PATCH /api/v1/admin/applications/{app}", h.updateApp),
		adm("DELETE /api/v1/admin/applications/{app}", h.deleteApp),
		adm("GET /api/v1/admin/applications/{app}/username-collisions", h.usernameCollisions),
		adm("GET /api/v1/admin/applications/{app}/keys", h.listKeys),
		adm("POST /api/v1/admin/applications/{app}/keys", h.rotateKey),
		adm("DELETE /api/v1/admin/applications/{app}/keys/{key}", h.revokeKey),
		adm("GET /api/v1/admin/applications/{app}/accounts", h.listAppAccounts),
		adm("GET /api/v1/admin/applications/{app}/accounts/{user}", h.getAccount),
		adm("DELETE /api/v1/admin/applications/{app}/accounts/{user}", h.deleteAccount),
		adm("POST /api/v1/admin/applications/{app}/accounts/{user}/rename", h.renameAccount),
		adm("PUT /api/v1/admin/applications/{app}/accounts/{user}/owner", h.setOwner),
		adm("POST /api/v1/admin/applications/{app}/accounts/{user}/lock", h.lockAccount(true)),
		adm("POST /api/v1/admin/applications/{app}/accounts/{user}/unlock", h.lockAccount(false)),
		adm("GET /api/v1/admin/applications/{app}/accounts/{user}/history", h.accountHistory),
		adm("GET /api/v1/admin/applications/{app}/accounts/{user}/events", h.accountEvents),
		adm("POST /api/v1/admin/applications/{app}/webhooks", h.addWebhook("application", "app")),
		adm("GET /api/v1/admin/applications/{app}/webhooks", h.listWebhooks("application", "app")),
		adm("DELETE /api/v1/admin/webhooks/{id}", h.deleteWebhook),
		adm("POST /api/v1/admin/persons", h.createPerson),
		adm("GET /api/v1/admin/persons", h.listPersons),
		adm("GET /api/v1/admin/persons/{person}", h.getPerson),
		adm("DELETE /api/v1/admin/persons/{person}", h.deletePerson),
		adm("GET /api/v1/admin/persons/{person}/accounts", h.personAccounts),
		adm("POST /api/v1/admin/persons/{person}/tokens", h.personToken),
		adm("POST /api/v1/admin/persons/{person}/lock", h.lockPerson(true)),
		adm("POST /api/v1/admin/persons/{person}/unlock", h.lockPerson(false)),
		adm("POST /api/v1/admin/persons/{person}/webhooks", h.addWebhook("person", "person")),
		adm("GET /api/v1/admin/persons/{person}/webhooks", h.listWebhooks("person", "person")),
		adm("GET /api/v1/admin/attempts", h.listAttempts),
		adm("POST /api/v1/admin/tokens", h.createToken),
		adm("GET /api/v1/admin/tokens", h.listTokens),
		adm("GET /api/v1/admin/tokens/{id}", h.getToken),
		adm("DELETE /api/v1/admin/tokens/{id}", h.revokeToken),

		own("GET /api/v1/me", h.me),
		own("GET /api/v1/me/accounts", h.myAccounts),
		own("POST /api/v1/me/accounts/{account}/lock", h.myLock(true)),
		own("POST /api/v1/me/accounts/{account}/unlock", h.myLock(false)),
		own("POST /api/v1/me/lock-all", h.myLockAll(true)),
		own("POST /api/v1/me/unlock-all", h.myLockAll(false)),
		own("GET /api/v1/me/accounts/{account}/history", h.myHistory),
		own("GET /api/v1/me/attempts", h.myAttempts),
		own("GET /api/v1/me/accounts/{account}/events", h.myEvents),
	)
}

// Mount adds endpoints to the route table, each with its per-route
// metrics, the check of its path and query, and the access check its
// Access names. Every component's endpoints on the main listener go
// through here: there is one table and one authentication.
func (h *Handler) Mount(eps ...endpoint.Endpoint) {
	for _, e := range eps {
		route := e.Pattern
		if _, p, ok := strings.Cut(route, " "); ok {
			route = p
		}
		handler := e.Handler
		switch e.Access {
		case endpoint.Admin, endpoint.AdminRead:
			handler = h.requireAdmin(e.Access, handler)
		case endpoint.Owner:
			handler = h.requireOwner(handler)
		}
		h.mux.Handle(e.Pattern, h.metrics.instrument(route, validURL(handler)))
		h.routes = append(h.routes, e.Pattern)
	}
}

// Routes lists the patterns mounted, in order.
func (h *Handler) Routes() []string { return append([]string(nil), h.routes...) }

// validURL refuses a request whose path or query holds invalid UTF-8 or
// NUL with 400, before any handler or database sees it: PostgreSQL
// refuses such text with an error, SQLite would store it.
func validURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanString(r.URL.Path) {
			httpjson.Error(w, http.StatusBadRequest, "bad_request", "path: invalid UTF-8 or a NUL character")
			return
		}
		if r.URL.RawQuery != "" {
			q, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil {
				httpjson.Error(w, http.StatusBadRequest, "bad_request", "query: "+err.Error())
				return
			}
			for k, vs := range q {
				for _, v := range append(vs, k) {
					if !cleanString(v) {
						httpjson.Error(w, http.StatusBadRequest, "bad_request", "query: invalid UTF-8 or a NUL character in "+strconvQuote(k))
						return
					}
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func cleanString(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func strconvQuote(s string) string {
	if !cleanString(s) {
		return "a parameter name"
	}
	return `"` + s + `"`
}

// errors runs f and maps its error to an answer.
func (h *Handler) errors(f func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			h.fail(w, r, err)
		}
	}
}

// requireAdmin lets through requests bearing an admin token whose scope
// covers access: admin for everything, admin:read for AdminRead routes.
// Failures are logged (never with the token) and limited per source
// address.
func (h *Handler) requireAdmin(access endpoint.Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := h.authenticate(w, r, "admin")
		if !ok {
			return
		}
		switch {
		case tok.Scope == lock.ScopeAdmin:
		case tok.Scope == lock.ScopeAdminRead && access == endpoint.AdminRead:
		default:
			h.log.Warn("admin request refused: token scope too narrow", "token", tok.ID, "scope", tok.Scope, "method", r.Method, "path", r.URL.Path, "remote", clientIP(r))
			msg := "this token (scope " + string(tok.Scope) + ") may not do this: it needs scope admin"
			if tok.Scope == lock.ScopePerson {
				msg = "this is a person's token: the admin API needs an admin token"
			}
			httpjson.Error(w, http.StatusForbidden, "forbidden", msg)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
	})
}

// authenticate finds the request's token, answering 429, 401 or 500
// itself when it cannot.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, realm string) (lock.Token, bool) {
	ip := clientIP(r)
	src := source(ip)
	if wait, blocked := h.failures.blocked(src); blocked {
		w.Header().Set("Retry-After", retryAfter(wait))
		httpjson.Error(w, http.StatusTooManyRequests, "rate_limited", "too many failed authentications from this address: retry after "+retryAfter(wait)+"s")
		return lock.Token{}, false
	}
	given := bearer(r)
	tok, err := h.svc.Authenticate(r.Context(), given)
	if errors.Is(err, lock.ErrUnauthorized) {
		h.failures.fail(src)
		h.log.Warn("authentication failed", "realm", realm, "reason", err.Error(), "method", r.Method, "path", r.URL.Path, "remote", ip)
		w.Header().Set("WWW-Authenticate", `Bearer realm="lockgate-`+realm+`"`)
		msg := "this endpoint needs a token: send Authorization: Bearer <token>"
		if given != "" {
			msg = "the token given is not valid (unknown, revoked or expired)"
		}
		httpjson.Error(w, http.StatusUnauthorized, "unauthorized", msg)
		return lock.Token{}, false
	}
	if err != nil {
		h.fail(w, r, err)
		return lock.Token{}, false
	}
	return tok, true
}

type personKey struct{}
type tokenKey struct{}

// requireOwner lets through requests bearing a person's token, with the
// person in the request's context.
func (h *Handler) requireOwner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := h.authenticate(w, r, "owner")
		if !ok {
			return
		}
		if tok.Scope != lock.ScopePerson {
			httpjson.Error(w, http.StatusForbidden, "forbidden", "this is an admin token: the owner API needs a person's token")
			return
		}
		p, err := h.svc.Person(r.Context(), tok.PersonID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), personKey{}, p), tokenKey{}, tok)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func personFrom(ctx context.Context) lock.Person {
	p, _ := ctx.Value(personKey{}).(lock.Person)
	return p
}

// tokenFrom is the token the request authenticated with.
func tokenFrom(ctx context.Context) lock.Token {
	t, _ := ctx.Value(tokenKey{}).(lock.Token)
	return t
}
