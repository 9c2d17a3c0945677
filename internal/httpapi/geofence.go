package httpapi

import (
	"net/http"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// fenceOwner finds whose fence a request is about.
type fenceOwner func(r *http.Request, p lock.Person) (kind, id string, err error)

// geoFenceEndpoints are the geo-fence routes: the owner's own (their
// person, one of their accounts) and the admins' (any person, any
// account).
func (h *Handler) geoFenceEndpoints(
	adm func(string, func(http.ResponseWriter, *http.Request) error) endpoint.Endpoint,
	own func(string, func(http.ResponseWriter, *http.Request, lock.Person) error) endpoint.Endpoint,
) []endpoint.Endpoint {
	me := func(_ *http.Request, p lock.Person) (string, string, error) { return lock.FenceOwnerPerson, p.ID, nil }
	myAccount := func(r *http.Request, p lock.Person) (string, string, error) {
		acc, err := h.myAccount(r, p)
		return lock.FenceOwnerAccount, acc.ID, err
	}
	person := func(r *http.Request, _ lock.Person) (string, string, error) {
		return lock.FenceOwnerPerson, r.PathValue("person"), nil
	}
	account := func(r *http.Request, _ lock.Person) (string, string, error) {
		acc, err := h.svc.Account(r.Context(), r.PathValue("app"), r.PathValue("user"))
		return lock.FenceOwnerAccount, acc.ID, err
	}
	var eps []endpoint.Endpoint
	for _, o := range []struct {
		path  string
		owner fenceOwner
		admin bool
	}{
		{"/api/v1/me/geofence", me, false},
		{"/api/v1/me/accounts/{account}/geofence", myAccount, false},
		{"/api/v1/admin/persons/{person}/geofence", person, true},
		{"/api/v1/admin/applications/{app}/accounts/{user}/geofence", account, true},
	} {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			f := h.geoFence(m, o.owner, o.admin)
			if o.admin {
				eps = append(eps, adm(m+" "+o.path, func(w http.ResponseWriter, r *http.Request) error { return f(w, r, lock.Person{}) }))
			} else {
				eps = append(eps, own(m+" "+o.path, f))
			}
		}
	}
	return eps
}

// geoFence serves one method on one owner's fence. PUT replaces the fence
// ({"countries": ["US"], "regions": ["CA-QC"], "message": "…"}); DELETE
// removes it (204).
func (h *Handler) geoFence(method string, owner fenceOwner, admin bool) func(http.ResponseWriter, *http.Request, lock.Person) error {
	return func(w http.ResponseWriter, r *http.Request, p lock.Person) error {
		kind, id, err := owner(r, p)
		if err != nil {
			return err
		}
		switch method {
		case "GET":
			f, err := h.svc.GeoFence(r.Context(), kind, id)
			if err != nil {
				return err
			}
			httpjson.Write(w, http.StatusOK, f)
		case "PUT":
			var in lock.GeoFenceInput
			if err := readJSON(w, r, &in); err != nil {
				return err
			}
			who := "owner:" + p.ID
			if admin {
				who = "admin"
			}
			f, err := h.svc.SetGeoFence(r.Context(), kind, id, in, h.actor(r, who))
			if err != nil {
				return err
			}
			httpjson.Write(w, http.StatusOK, f)
		case "DELETE":
			if err := h.svc.DeleteGeoFence(r.Context(), kind, id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
		}
		return nil
	}
}
