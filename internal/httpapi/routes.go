package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

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
		adm("GET /api/v1/admin/applications/{app}/keys", h.listKeys),
		adm("POST /api/v1/admin/applications/{app}/keys", h.rotateKey),
		adm("DELETE /api/v1/admin/applications/{app}/keys/{key}", h.revokeKey),
		adm("GET /api/v1/admin/applications/{app}/accounts", h.listAppAccounts),
		adm("GET /api/v1/admin/applications/{app}/accounts/{user}", h.getAccount),
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
// metrics and the access check its Access names. Every component's
// endpoints on the main listener go through here: there is one table and
// one authentication.
func (h *Handler) Mount(eps ...endpoint.Endpoint) {
	for _, e := range eps {
		route := e.Pattern
		if _, p, ok := strings.Cut(route, " "); ok {
			route = p
		}
		handler := e.Handler
		switch e.Access {
		case endpoint.Admin, endpoint.AdminRead:
			handler = h.requireAdmin(handler)
		case endpoint.Owner:
			handler = h.requireOwner(handler)
		}
		h.mux.Handle(e.Pattern, h.metrics.instrument(route, handler))
	}
}

// errors runs f and maps its error to an answer.
func (h *Handler) errors(f func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			h.fail(w, r, err)
		}
	}
}

// requireAdmin lets through requests bearing an admin token.
func (h *Handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, err := h.svc.IsAdmin(r.Context(), bearer(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lockgate-admin"`)
			msg := "this endpoint needs an admin token: send Authorization: Bearer <token>"
			if bearer(r) != "" {
				msg = "the admin token given is not valid (revoked, or not an admin token)"
			}
			httpjson.Error(w, http.StatusUnauthorized, "unauthorized", msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type personKey struct{}

// requireOwner lets through requests bearing a person's token, with the
// person in the request's context.
func (h *Handler) requireOwner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.svc.PersonByToken(r.Context(), bearer(r))
		if errors.Is(err, lock.ErrUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lockgate"`)
			msg := "this endpoint needs a person's token: send Authorization: Bearer <token>"
			if bearer(r) != "" {
				msg = "the token given is not a valid person's token"
			}
			httpjson.Error(w, http.StatusUnauthorized, "unauthorized", msg)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), personKey{}, p)))
	})
}

func personFrom(ctx context.Context) lock.Person {
	p, _ := ctx.Value(personKey{}).(lock.Person)
	return p
}
