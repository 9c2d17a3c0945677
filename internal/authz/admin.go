package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/httpjson"
)

// AdminPrefix is where the group policy endpoints live.
const AdminPrefix = "/api/v1/admin/authz/groups"

// maxPolicyBody bounds a PUT body: IAM's own policy size limits are far
// below (6,144 characters for a managed policy).
const maxPolicyBody = 1 << 20

// Endpoints are the admin endpoints of the group policies:
//
//	GET    …/groups          every group and its policy
//	GET    …/groups/{group}  one group's policy
//	PUT    …/groups/{group}  {"policy": {…}}: set it (checked first)
//	DELETE …/groups/{group}  remove it
func (s *Service) Endpoints() []endpoint.Endpoint {
	return []endpoint.Endpoint{
		{Pattern: "GET " + AdminPrefix, Access: endpoint.AdminRead, Handler: http.HandlerFunc(s.serveList)},
		{Pattern: "GET " + AdminPrefix + "/{group}", Access: endpoint.AdminRead, Handler: http.HandlerFunc(s.serveGet)},
		{Pattern: "PUT " + AdminPrefix + "/{group}", Access: endpoint.Admin, Handler: http.HandlerFunc(s.servePut)},
		{Pattern: "DELETE " + AdminPrefix + "/{group}", Access: endpoint.Admin, Handler: http.HandlerFunc(s.serveDelete)},
	}
}

func (s *Service) store(w http.ResponseWriter) Store {
	if s.groups.store == nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "unavailable", "the group policy store is not open")
		return nil
	}
	return s.groups.store
}

func (s *Service) serveList(w http.ResponseWriter, r *http.Request) {
	st := s.store(w)
	if st == nil {
		return
	}
	list, err := st.GroupPolicies(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	if list == nil {
		list = []GroupPolicy{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"groups": list, "source": s.Source()})
}

func (s *Service) serveGet(w http.ResponseWriter, r *http.Request) {
	st := s.store(w)
	if st == nil {
		return
	}
	p, err := st.GroupPolicy(r.Context(), r.PathValue("group"))
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, p)
}

func (s *Service) servePut(w http.ResponseWriter, r *http.Request) {
	st := s.store(w)
	if st == nil {
		return
	}
	group := r.PathValue("group")
	if err := CheckGroupName(group); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPolicyBody+1))
	if err != nil || len(data) > maxPolicyBody {
		httpjson.TooLarge(w, "the body is over 1 MiB")
		return
	}
	var in struct {
		Policy json.RawMessage `json:"policy"`
	}
	if err := json.Unmarshal(data, &in); err != nil || len(in.Policy) == 0 {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", `the body must be {"policy": <IAM policy document>}`)
		return
	}
	if err := httpjson.CheckSurrogates(data); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", "body: "+err.Error())
		return
	}
	if _, err := CompilePolicy(in.Policy); err != nil {
		httpjson.Error(w, http.StatusUnprocessableEntity, "invalid_policy", err.Error())
		return
	}
	var compact bytes.Buffer
	json.Compact(&compact, in.Policy)
	p := GroupPolicy{Group: group, Policy: compact.Bytes(), UpdatedAt: s.now().UTC()}
	if err := st.PutGroupPolicy(r.Context(), p); err != nil {
		s.fail(w, err)
		return
	}
	s.groups.changed()
	s.log.Info("authz: group policy set", "group", group)
	httpjson.Write(w, http.StatusOK, p)
}

func (s *Service) serveDelete(w http.ResponseWriter, r *http.Request) {
	st := s.store(w)
	if st == nil {
		return
	}
	group := r.PathValue("group")
	if err := st.DeleteGroupPolicy(r.Context(), group); err != nil {
		s.fail(w, err)
		return
	}
	s.groups.changed()
	s.log.Info("authz: group policy deleted", "group", group)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrGroupNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, ErrReadOnly):
		httpjson.Error(w, http.StatusConflict, "read_only", err.Error())
	default:
		s.log.Error("authz: group policy store", "error", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "the group policy store failed")
	}
}
