// Package iamtest is an IAM API test server: it speaks IAM's Query
// protocol with XML answers, as the AWS SDK expects, for every operation
// the lockout responder calls. It keeps users, access keys (with last-use
// times), managed and inline policies and tags, enforces the quotas the
// responder must cope with, injects faults on demand, and answers "would
// this request be allowed" by evaluating a principal's effective policies
// with iampolicy.
package iamtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/lockgate/lockgate/iampolicy"
)

// Quotas IAM enforces that matter to the responder.
const (
	DefaultManagedPoliciesPerUser = 10
	InlineUserPolicyBytes         = 2048  // all inline user policies, whitespace not counted
	InlineRolePolicyBytes         = 10240 // all inline role policies, whitespace not counted
	TagsPerEntity                 = 50
)

// Server is a fake IAM. The zero value is not usable; use New.
type Server struct {
	Account string
	// PageSize limits every List answer, so callers must follow markers.
	PageSize int

	mu       sync.Mutex
	users    map[string]*User
	roles    map[string]*Role
	managed  map[string]string // ARN → document
	faults   []fault
	calls    []string
	keyOwner map[string]string // access key id → user
}

// User is an IAM user.
type User struct {
	Name, ID     string
	Keys         []*Key
	Inline       map[string]string
	Attached     []string
	Tags         map[string]string
	LoginProfile bool
	// ManagedLimit is the user's quota of attached managed policies.
	ManagedLimit int
}

// Key is an access key.
type Key struct {
	ID, Status string
	Created    time.Time
	LastUsed   time.Time // zero: never used
}

// Role is an IAM role.
type Role struct {
	Name, ID string
	Inline   map[string]string
	Attached []string
	Tags     map[string]string
}

type fault struct {
	action, code string
	times        int
}

// New returns an empty IAM for account.
func New(account string) *Server {
	return &Server{Account: account, PageSize: 100, users: map[string]*User{}, roles: map[string]*Role{}, managed: map[string]string{}, keyOwner: map[string]string{}}
}

// Start serves the API on a loopback httptest server.
func (s *Server) Start() *httptest.Server { return httptest.NewServer(s) }

func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + strings.ToUpper(hex.EncodeToString(b))
}

// AddUser creates a user with n active access keys.
func (s *Server) AddUser(name string, keys int) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{Name: name, ID: newID("AIDA"), Inline: map[string]string{}, Tags: map[string]string{}, LoginProfile: true, ManagedLimit: DefaultManagedPoliciesPerUser}
	for range keys {
		k := &Key{ID: newID("AKIA"), Status: "Active", Created: time.Now().UTC().Truncate(time.Second)}
		u.Keys = append(u.Keys, k)
		s.keyOwner[k.ID] = name
	}
	s.users[name] = u
	return u
}

// AddRole creates a role.
func (s *Server) AddRole(name string) *Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Role{Name: name, ID: newID("AROA"), Inline: map[string]string{}, Tags: map[string]string{}}
	s.roles[name] = r
	return r
}

// AddManagedPolicy creates a customer managed policy and returns its ARN.
func (s *Server) AddManagedPolicy(name, doc string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := "arn:aws:iam::" + s.Account + ":policy/" + name
	s.managed[arn] = doc
	return arn
}

// AttachRolePolicy attaches a managed policy to a role.
func (s *Server) AttachRolePolicy(role, arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[role].Attached = append(s.roles[role].Attached, arn)
}

// Fail makes the next n calls of action (or of every action, with "*")
// fail with code (LimitExceeded, NoSuchEntity, Throttling, ServiceFailure
// for a 500, …).
func (s *Server) Fail(action, code string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{action, code, n})
}

// Calls returns the actions called so far, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Do runs f with the server locked, for tests to read or set state.
func (s *Server) Do(f func(users map[string]*User, roles map[string]*Role)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.users, s.roles)
}

// apiError is an IAM error answer.
type apiError struct {
	status     int
	code, msg  string
	senderSide bool
}

func errorOf(code, msg string) *apiError {
	status := map[string]int{"NoSuchEntity": 404, "LimitExceeded": 409, "EntityAlreadyExists": 409, "Throttling": 400, "InvalidInput": 400, "MalformedPolicyDocument": 400, "ServiceFailure": 500, "ServiceUnavailable": 503}[code]
	if status == 0 {
		status = 400
	}
	return &apiError{status: status, code: code, msg: msg, senderSide: status < 500}
}

func noSuch(kind, name string) *apiError {
	return errorOf("NoSuchEntity", fmt.Sprintf("The %s with name %s cannot be found.", kind, name))
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/lockgate-test/authorize" {
		s.serveAuthorize(w, r)
		return
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeError(w, errorOf("InvalidInput", "POST a form"))
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeError(w, &apiError{status: 403, code: "MissingAuthenticationToken", msg: "Request is missing Authentication Token", senderSide: true})
		return
	}
	action := r.PostForm.Get("Action")
	s.mu.Lock()
	s.calls = append(s.calls, action)
	for i := range s.faults {
		f := &s.faults[i]
		if (f.action == action || f.action == "*") && f.times > 0 {
			f.times--
			s.mu.Unlock()
			writeError(w, errorOf(f.code, "injected fault"))
			return
		}
	}
	result, aerr := s.call(action, r.PostForm)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	var b strings.Builder
	fmt.Fprintf(&b, `<%sResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`, action)
	if result != nil {
		writeXML(&b, action+"Result", result)
	}
	fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, newID("req-"), action)
	w.Write([]byte(b.String()))
}

func writeError(w http.ResponseWriter, e *apiError) {
	typ := "Sender"
	if !e.senderSide {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		typ, e.code, html.EscapeString(e.msg), newID("req-"))
}

// el is an ordered XML element list; values are strings, el, or []el and
// []string (written as <member> items).
type el []kv

type kv struct {
	k string
	v any
}

func writeXML(b *strings.Builder, name string, v any) {
	b.WriteString("<" + name + ">")
	switch v := v.(type) {
	case string:
		b.WriteString(html.EscapeString(v))
	case el:
		for _, c := range v {
			writeXML(b, c.k, c.v)
		}
	case []el:
		for _, m := range v {
			writeXML(b, "member", m)
		}
	case []string:
		for _, m := range v {
			writeXML(b, "member", m)
		}
	}
	b.WriteString("</" + name + ">")
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// page cuts items to the page size from the marker (an index).
func (s *Server) page(n int, form url.Values) (from, to int, marker string) {
	from, _ = strconv.Atoi(form.Get("Marker"))
	size := s.PageSize
	if m, err := strconv.Atoi(form.Get("MaxItems")); err == nil && m < size {
		size = m
	}
	to = min(n, from+size)
	if to < n {
		marker = strconv.Itoa(to)
	}
	return from, to, marker
}

func paged(items []el, marker string, listName string) el {
	out := el{{listName, items}, {"IsTruncated", strconv.FormatBool(marker != "")}}
	if marker != "" {
		out = append(out, kv{"Marker", marker})
	}
	return out
}

func tagList(form url.Values) map[string]string {
	tags := map[string]string{}
	for i := 1; ; i++ {
		k := form.Get(fmt.Sprintf("Tags.member.%d.Key", i))
		if k == "" {
			return tags
		}
		tags[k] = form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
}

func tagKeys(form url.Values) []string {
	var keys []string
	for i := 1; ; i++ {
		k := form.Get(fmt.Sprintf("TagKeys.member.%d", i))
		if k == "" {
			return keys
		}
		keys = append(keys, k)
	}
}

// docSize is a policy's size as IAM counts it: without white space.
func docSize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func (s *Server) call(action string, f url.Values) (el, *apiError) {
	user := func() (*User, *apiError) {
		u, ok := s.users[f.Get("UserName")]
		if !ok {
			return nil, noSuch("user", f.Get("UserName"))
		}
		return u, nil
	}
	role := func() (*Role, *apiError) {
		r, ok := s.roles[f.Get("RoleName")]
		if !ok {
			return nil, noSuch("role", f.Get("RoleName"))
		}
		return r, nil
	}
	// entity is the user or role an action names (…User… or …Role…
	// actions): its inline policies and tags.
	entity := func() (inline, tags map[string]string, err *apiError) {
		if strings.Contains(action, "User") {
			u, err := user()
			if err != nil {
				return nil, nil, err
			}
			return u.Inline, u.Tags, nil
		}
		r, err := role()
		if err != nil {
			return nil, nil, err
		}
		return r.Inline, r.Tags, nil
	}
	switch action {
	case "GetUser":
		u, err := user()
		if err != nil {
			return nil, err
		}
		return el{{"User", el{{"Path", "/"}, {"UserName", u.Name}, {"UserId", u.ID}, {"Arn", "arn:aws:iam::" + s.Account + ":user/" + u.Name}, {"CreateDate", ts(time.Now())}}}}, nil
	case "ListAccessKeys":
		u, err := user()
		if err != nil {
			return nil, err
		}
		from, to, marker := s.page(len(u.Keys), f)
		var items []el
		for _, k := range u.Keys[from:to] {
			items = append(items, el{{"UserName", u.Name}, {"AccessKeyId", k.ID}, {"Status", k.Status}, {"CreateDate", ts(k.Created)}})
		}
		return paged(items, marker, "AccessKeyMetadata"), nil
	case "UpdateAccessKey":
		u, err := user()
		if err != nil {
			return nil, err
		}
		st := f.Get("Status")
		if st != "Active" && st != "Inactive" {
			return nil, errorOf("InvalidInput", "Status must be Active or Inactive")
		}
		for _, k := range u.Keys {
			if k.ID == f.Get("AccessKeyId") {
				k.Status = st
				return nil, nil
			}
		}
		return nil, noSuch("access key", f.Get("AccessKeyId"))
	case "GetAccessKeyLastUsed":
		owner, ok := s.keyOwner[f.Get("AccessKeyId")]
		if !ok {
			return nil, errorOf("AccessDenied", "no such key")
		}
		for _, k := range s.users[owner].Keys {
			if k.ID == f.Get("AccessKeyId") {
				used := el{{"ServiceName", "N/A"}, {"Region", "N/A"}}
				if !k.LastUsed.IsZero() {
					used = el{{"LastUsedDate", ts(k.LastUsed)}, {"ServiceName", "s3"}, {"Region", "us-east-1"}}
				}
				return el{{"UserName", owner}, {"AccessKeyLastUsed", used}}, nil
			}
		}
		return nil, errorOf("AccessDenied", "no such key")
	case "PutUserPolicy", "PutRolePolicy":
		doc := f.Get("PolicyDocument")
		if _, err := iampolicy.Parse([]byte(doc)); err != nil {
			return nil, errorOf("MalformedPolicyDocument", err.Error())
		}
		inline, _, err := entity()
		if err != nil {
			return nil, err
		}
		limit := InlineUserPolicyBytes
		if action == "PutRolePolicy" {
			limit = InlineRolePolicyBytes
		}
		total := docSize(doc)
		for name, d := range inline {
			if name != f.Get("PolicyName") {
				total += docSize(d)
			}
		}
		if total > limit {
			return nil, errorOf("LimitExceeded", fmt.Sprintf("Maximum policy size of %d bytes exceeded", limit))
		}
		inline[f.Get("PolicyName")] = doc
		return nil, nil
	case "GetUserPolicy", "GetRolePolicy":
		inline, _, err := entity()
		if err != nil {
			return nil, err
		}
		owner := "UserName"
		if action == "GetRolePolicy" {
			owner = "RoleName"
		}
		doc, ok := inline[f.Get("PolicyName")]
		if !ok {
			return nil, noSuch("policy", f.Get("PolicyName"))
		}
		// IAM answers policy documents URL-encoded.
		return el{{owner, f.Get(owner)}, {"PolicyName", f.Get("PolicyName")}, {"PolicyDocument", url.QueryEscape(doc)}}, nil
	case "DeleteUserPolicy", "DeleteRolePolicy":
		inline, _, err := entity()
		if err != nil {
			return nil, err
		}
		if _, ok := inline[f.Get("PolicyName")]; !ok {
			return nil, noSuch("policy", f.Get("PolicyName"))
		}
		delete(inline, f.Get("PolicyName"))
		return nil, nil
	case "ListUserPolicies", "ListRolePolicies":
		inline, _, err := entity()
		if err != nil {
			return nil, err
		}
		var names []string
		for n := range inline {
			names = append(names, n)
		}
		sort.Strings(names)
		from, to, marker := s.page(len(names), f)
		out := el{{"PolicyNames", names[from:to]}, {"IsTruncated", strconv.FormatBool(marker != "")}}
		if marker != "" {
			out = append(out, kv{"Marker", marker})
		}
		return out, nil
	case "AttachUserPolicy":
		u, err := user()
		if err != nil {
			return nil, err
		}
		arn := f.Get("PolicyArn")
		if _, ok := s.managed[arn]; !ok {
			return nil, errorOf("NoSuchEntity", "Policy "+arn+" does not exist or is not attachable.")
		}
		if slices.Contains(u.Attached, arn) {
			return nil, nil
		}
		if len(u.Attached) >= u.ManagedLimit {
			return nil, errorOf("LimitExceeded", fmt.Sprintf("Cannot exceed quota for PoliciesPerUser: %d", u.ManagedLimit))
		}
		u.Attached = append(u.Attached, arn)
		return nil, nil
	case "DetachUserPolicy":
		u, err := user()
		if err != nil {
			return nil, err
		}
		i := slices.Index(u.Attached, f.Get("PolicyArn"))
		if i < 0 {
			return nil, errorOf("NoSuchEntity", "Policy "+f.Get("PolicyArn")+" was not found.")
		}
		u.Attached = slices.Delete(u.Attached, i, i+1)
		return nil, nil
	case "ListAttachedUserPolicies":
		u, err := user()
		if err != nil {
			return nil, err
		}
		from, to, marker := s.page(len(u.Attached), f)
		var items []el
		for _, arn := range u.Attached[from:to] {
			items = append(items, el{{"PolicyName", arn[strings.LastIndex(arn, "/")+1:]}, {"PolicyArn", arn}})
		}
		return paged(items, marker, "AttachedPolicies"), nil
	case "TagUser", "TagRole":
		_, tags, err := entity()
		if err != nil {
			return nil, err
		}
		add := tagList(f)
		n := len(tags)
		for k := range add {
			if _, ok := tags[k]; !ok {
				n++
			}
		}
		if n > TagsPerEntity {
			return nil, errorOf("LimitExceeded", "The number of tags has reached the maximum limit.")
		}
		for k, v := range add {
			if len(k) > 128 || len(v) > 256 {
				return nil, errorOf("InvalidInput", "tag key or value too long")
			}
			tags[k] = v
		}
		return nil, nil
	case "UntagUser", "UntagRole":
		_, tags, err := entity()
		if err != nil {
			return nil, err
		}
		for _, k := range tagKeys(f) {
			delete(tags, k)
		}
		return nil, nil
	case "ListUserTags", "ListRoleTags":
		_, tags, err := entity()
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		from, to, marker := s.page(len(keys), f)
		var items []el
		for _, k := range keys[from:to] {
			items = append(items, el{{"Key", k}, {"Value", tags[k]}})
		}
		return paged(items, marker, "Tags"), nil
	case "DeleteLoginProfile":
		u, err := user()
		if err != nil {
			return nil, err
		}
		if !u.LoginProfile {
			return nil, noSuch("login profile for user", u.Name)
		}
		u.LoginProfile = false
		return nil, nil
	case "GetRole":
		r, err := role()
		if err != nil {
			return nil, err
		}
		return el{{"Role", el{{"Path", "/"}, {"RoleName", r.Name}, {"RoleId", r.ID}, {"Arn", "arn:aws:iam::" + s.Account + ":role/" + r.Name}, {"CreateDate", ts(time.Now())}, {"MaxSessionDuration", "3600"}}}}, nil
	}
	return nil, errorOf("InvalidAction", "lockgate's IAM test server does not implement "+action)
}

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
		p, err := iampolicy.Parse([]byte(inline[n]))
		if err != nil {
			return AuthorizeResult{Reason: "inline policy " + n + ": " + err.Error()}
		}
		set.Identity = append(set.Identity, iampolicy.Named{Name: n, Policy: p})
	}
	for _, arn := range attached {
		p, err := iampolicy.Parse([]byte(s.managed[arn]))
		if err != nil {
			return AuthorizeResult{Reason: "managed policy " + arn + ": " + err.Error()}
		}
		set.Identity = append(set.Identity, iampolicy.Named{Name: arn, Policy: p})
	}
	res := set.Evaluate(&iampolicy.Request{Principal: principal, Action: req.Action, Resource: req.Resource, Context: ctx, Time: time.Now()})
	return AuthorizeResult{Allowed: res.Decision == iampolicy.Allowed, Reason: res.String()}
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
