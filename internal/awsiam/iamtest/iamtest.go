// Package iamtest is an IAM API test server: it speaks IAM's Query
// protocol with XML answers, as the AWS SDK expects, for every operation
// the lockout responder calls. Every request is checked against IAM's
// service model (testdata/model.json) before it is acted on — required
// members, patterns, lengths, enums and list sizes — and refused with
// ValidationError in IAM's words when it breaks one; IAM's documented
// quotas are enforced with IAM's error codes. It keeps users, access keys
// (with last-use times), managed and inline policies and tags, injects
// faults on demand, and answers "would this request be allowed" by
// evaluating a principal's effective policies with iampolicy.
package iamtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lockgate/lockgate/iampolicy"
)

// IAM's quotas, from "IAM and AWS STS quotas"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
const (
	// "Managed policies attached to an IAM user | 10 | 20" and "Managed
	// policies attached to an IAM role | 10 | 20" (default, maximum).
	DefaultManagedPolicies = 10
	MaxManagedPolicies     = 20
	// "the total aggregate policy size (the sum size of all inline
	// policies) per entity cannot exceed": 2,048 characters for a user,
	// 10,240 for a role; "IAM does not count white space".
	InlineUserPolicyChars = 2048
	InlineRolePolicyChars = 10240
	// "Tags that can be attached to an IAM user | 50", "… an IAM role | 50".
	TagsPerEntity = 50
	// "Access keys assigned to an IAM user | 2".
	AccessKeysPerUser = 2
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
	// parsed holds each policy document Authorize has parsed: tests
	// authorize thousands of times against the same few documents, and
	// parsing them again each time was most of the cost.
	parsed map[string]*iampolicy.Policy
}

// User is an IAM user.
type User struct {
	Name, ID     string
	Keys         []*Key
	Inline       map[string]string
	Attached     []string
	Tags         map[string]string
	LoginProfile bool
	// ManagedLimit is the user's quota of attached managed policies
	// (DefaultManagedPolicies unless raised, at most MaxManagedPolicies).
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
	Name, ID     string
	Inline       map[string]string
	Attached     []string
	Tags         map[string]string
	ManagedLimit int
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

// newID makes an IAM-style unique id: the prefix and 16 upper-case
// hexadecimal digits (20 characters, as IAM's ids are).
func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + strings.ToUpper(hex.EncodeToString(b))
}

// AddUser creates a user with n active access keys. More keys than IAM's
// quota of AccessKeysPerUser is a mistake in the test and panics.
func (s *Server) AddUser(name string, keys int) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{Name: name, ID: newID("AIDA"), Inline: map[string]string{}, Tags: map[string]string{}, LoginProfile: true, ManagedLimit: DefaultManagedPolicies}
	s.users[name] = u
	for range keys {
		if _, err := s.createKey(u); err != nil {
			panic("iamtest: AddUser: " + err.msg)
		}
	}
	return u
}

// CreateAccessKey adds an active key to user, within IAM's quota.
func (s *Server) CreateAccessKey(user string) (*Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[user]
	if !ok {
		return nil, noSuch("user", user)
	}
	k, err := s.createKey(u)
	if err != nil {
		return nil, err
	}
	return k, nil
}

func (s *Server) createKey(u *User) (*Key, *apiError) {
	if len(u.Keys) >= AccessKeysPerUser {
		return nil, errorOf("LimitExceeded", fmt.Sprintf("Cannot exceed quota for AccessKeysPerUser: %d", AccessKeysPerUser))
	}
	k := &Key{ID: newID("AKIA"), Status: "Active", Created: time.Now().UTC().Truncate(time.Second)}
	u.Keys = append(u.Keys, k)
	s.keyOwner[k.ID] = u.Name
	return k, nil
}

// AddRole creates a role.
func (s *Server) AddRole(name string) *Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Role{Name: name, ID: newID("AROA"), Inline: map[string]string{}, Tags: map[string]string{}, ManagedLimit: DefaultManagedPolicies}
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

// AttachUserPolicy attaches a managed policy to a user, within its quota.
func (s *Server) AttachUserPolicy(user, arn string) error {
	return s.setup("AttachUserPolicy", "UserName", user, arn)
}

// AttachRolePolicy attaches a managed policy to a role, within its quota.
func (s *Server) AttachRolePolicy(role, arn string) error {
	return s.setup("AttachRolePolicy", "RoleName", role, arn)
}

// setup runs an action as a request would, for test set-up.
func (s *Server) setup(action, nameKey, name, arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	form := map[string][]string{nameKey: {name}, "PolicyArn": {arn}}
	if err := iamModel.validate(action, form); err != nil {
		return err
	}
	if _, err := s.call(action, form); err != nil {
		return err
	}
	return nil
}

// Fail makes the next n calls of action (or of every action, with "*")
// fail with code (LimitExceeded, NoSuchEntity, Throttling, ServiceFailure
// for a 500, …). A code the model does not let the action return makes
// the server answer 500 with an iamtest error instead.
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

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// Code is the error's IAM code (ValidationError, LimitExceeded, …).
func (e *apiError) Code() string { return e.code }

// errorOf builds an error answer, with the HTTP status and fault side the
// model gives the code (400 Sender for the common errors it lacks).
func errorOf(code, msg string) *apiError {
	e := &apiError{status: 400, code: code, msg: msg, senderSide: true}
	if s := iamModel.errors[code]; s != nil {
		e.status, e.senderSide = s.Error.Status, s.Error.SenderFault
	}
	switch code {
	case "ServiceUnavailable":
		e.status, e.senderSide = 503, false
	case "InternalFailure":
		e.status, e.senderSide = 500, false
	case "AccessDenied", "MissingAuthenticationToken", "InvalidClientTokenId":
		e.status = 403
	}
	return e
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
		writeError(w, errorOf("ValidationError", "POST a form"))
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeError(w, errorOf("MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	action := r.PostForm.Get("Action")
	if action == "" {
		writeError(w, errorOf("MissingAction", "Missing Action"))
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, action)
	// IAM checks a request against its model before anything else.
	if err := iamModel.validate(action, r.PostForm); err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	for i := range s.faults {
		f := &s.faults[i]
		if (f.action == action || f.action == "*") && f.times > 0 {
			f.times--
			s.mu.Unlock()
			writeError(w, s.checked(action, errorOf(f.code, "injected fault")))
			return
		}
	}
	result, aerr := s.call(action, r.PostForm)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, s.checked(action, aerr))
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

// checked refuses to send an error the model does not let action return:
// the double would be lying about IAM.
func (s *Server) checked(action string, e *apiError) *apiError {
	if iamModel.allows(action, e.code) {
		return e
	}
	return &apiError{status: 500, code: "InternalFailure", msg: fmt.Sprintf("iamtest: %s answered %s, which the IAM model does not list for it", action, e.code)}
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
func (s *Server) page(n int, form map[string][]string) (from, to int, marker string) {
	from, _ = strconv.Atoi(get(form, "Marker"))
	from = min(max(from, 0), n)
	size := s.PageSize
	if m, err := strconv.Atoi(get(form, "MaxItems")); err == nil && m < size {
		size = m
	}
	to = min(n, from+size)
	if to < n {
		marker = strconv.Itoa(to)
	}
	return from, to, marker
}

func get(form map[string][]string, k string) string {
	if v := form[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func paged(items []el, marker string, listName string) el {
	out := el{{listName, items}, {"IsTruncated", strconv.FormatBool(marker != "")}}
	if marker != "" {
		out = append(out, kv{"Marker", marker})
	}
	return out
}
