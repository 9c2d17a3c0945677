package iamtest

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/lockgate/lockgate/iampolicy"
)

// AuthorizeRequest asks whether a principal's request would be allowed.
type AuthorizeRequest struct {
	// User, or Role with Session, names the principal.
	User    string `json:"user,omitempty"`
	Role    string `json:"role,omitempty"`
	Session string `json:"session,omitempty"`
	// AccessKeyID is set when the request is signed with a long-term key;
	// otherwise it is signed with temporary credentials issued at
	// IssuedAt.
	AccessKeyID string            `json:"access_key_id,omitempty"`
	IssuedAt    time.Time         `json:"issued_at,omitzero"`
	Action      string            `json:"action"`
	Resource    string            `json:"resource"`
	Context     map[string]string `json:"context,omitempty"`
}

// AuthorizeResult is the answer.
type AuthorizeResult struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
}

// Authorize decides a request as IAM would: an inactive or unknown access
// key fails authentication; otherwise the principal's inline and attached
// policies decide, with aws:userid, aws:username and (for temporary
// credentials) aws:TokenIssueTime in the context.
func (s *Server) Authorize(req AuthorizeRequest) AuthorizeResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := &iampolicy.Context{}
	for k, v := range req.Context {
		ctx.Set(k, v)
	}
	var inline map[string]string
	var attached []string
	principal := ""
	switch {
	case req.User != "":
		u, ok := s.users[req.User]
		if !ok {
			return AuthorizeResult{Reason: "no such user"}
		}
		if req.AccessKeyID != "" {
			k := findKey(u, req.AccessKeyID)
			if k == nil || k.Status != "Active" {
				return AuthorizeResult{Reason: "InvalidClientTokenId: the access key is inactive or unknown"}
			}
		}
		inline, attached, principal = u.Inline, u.Attached, "arn:aws:iam::"+s.Account+":user/"+u.Name
		ctx.Set("aws:userid", u.ID)
		ctx.Set("aws:username", u.Name)
	case req.Role != "":
		r, ok := s.roles[req.Role]
		if !ok {
			return AuthorizeResult{Reason: "no such role"}
		}
		inline, attached, principal = r.Inline, r.Attached, "arn:aws:sts::"+s.Account+":assumed-role/"+r.Name+"/"+req.Session
		ctx.Set("aws:userid", r.ID+":"+req.Session)
	default:
		return AuthorizeResult{Reason: "no principal"}
	}
	if req.AccessKeyID == "" {
		ctx.SetTime("aws:TokenIssueTime", req.IssuedAt)
	}
	set := iampolicy.Set{}
	names := make([]string, 0, len(inline))
	for n := range inline {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p, err := s.parse(inline[n])
		if err != nil {
			return AuthorizeResult{Reason: "inline policy " + n + ": " + err.Error()}
		}
		set.Identity = append(set.Identity, iampolicy.Named{Name: n, Policy: p})
	}
	for _, arn := range attached {
		p, err := s.parse(s.managed[arn])
		if err != nil {
			return AuthorizeResult{Reason: "managed policy " + arn + ": " + err.Error()}
		}
		set.Identity = append(set.Identity, iampolicy.Named{Name: arn, Policy: p})
	}
	res := set.Evaluate(&iampolicy.Request{Principal: principal, Action: req.Action, Resource: req.Resource, Context: ctx, Time: time.Now()})
	return AuthorizeResult{Allowed: res.Decision == iampolicy.Allowed, Reason: res.String()}
}

// parse is iampolicy.Parse of doc, once per document; s.mu is held.
func (s *Server) parse(doc string) (*iampolicy.Policy, error) {
	if p, ok := s.parsed[doc]; ok {
		return p, nil
	}
	p, err := iampolicy.Parse([]byte(doc))
	if err != nil {
		return nil, err
	}
	if s.parsed == nil {
		s.parsed = map[string]*iampolicy.Policy{}
	}
	s.parsed[doc] = p
	return p, nil
}

func findKey(u *User, id string) *Key {
	for _, k := range u.Keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	var req AuthorizeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	json.NewEncoder(w).Encode(s.Authorize(req))
}
