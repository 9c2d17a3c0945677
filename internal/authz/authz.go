// Package authz is lockgate's fine-grained authorization: it verifies
// JSON Web Tokens of Amazon Cognito user pools and OpenID Connect issuers
// against their published keys, maps the user's groups to IAM policy
// documents, and decides each request on its execute-api ARN with the
// iampolicy engine — what API Gateway does with a Lambda authorizer that
// returns the policies of the user's groups (seed 003, third post). It
// serves the gateway (Authorizer.Authorize after the WAF) and the Lambda
// authorizer (Authorizer.Lambda), with API Gateway's answers.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockgate/lockgate/iampolicy"
	"github.com/lockgate/lockgate/problem"
)

// Locks answers whether a user's account at a lockgate application is
// locked now for a request from client — its lock state, and the
// geo-fences of the account and its person, as the lock-check API
// answers — with the message to answer.
type Locks interface {
	Locked(ctx context.Context, app, username string, client netip.Addr) (locked bool, message string, err error)
}

// CountryFunc maps an address to its ISO country code ("" unknown): the
// geo package's lookup, or any other.
type CountryFunc func(netip.Addr) string

// Options are what the service needs besides its configuration.
type Options struct {
	// HTTPClient fetches JWK sets and discovery documents (10 s timeout
	// when nil).
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
	Country    CountryFunc
}

// Service holds the issuers, the group policies and the named
// authorizers of an authz section.
type Service struct {
	cfg         Config
	log         *slog.Logger
	now         func() time.Time
	country     CountryFunc
	groups      *groups
	authorizers map[string]*Authorizer
	locks       Locks
}

// Provision builds the service from its section without side effects:
// every value checked, jwks_file and the group policy file read and
// compiled; keys at URLs are fetched when first needed. Problems are at
// paths relative to the section.
func Provision(cfg Config, opts Options) (*Service, problem.List) {
	probs := cfg.Validate()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Service{cfg: cfg, log: opts.Logger, now: opts.Now, country: opts.Country, authorizers: map[string]*Authorizer{}}
	ttl := cfg.Groups.CacheTTL.Std()
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	s.groups = newGroups(nil, ttl, opts.Now)
	if cfg.Groups.Source == "file" && cfg.Groups.File != "" {
		fs, fp := LoadFile(string(cfg.Groups.File))
		// At the key that names the file, each saying where in it.
		probs = append(probs, problem.Within("groups.file", fp.Err())...)
		if fs != nil {
			s.groups.store = fs
		}
	}
	issuers := map[string]*issuer{}
	for i, ic := range cfg.Issuers {
		if len(ic.validate("")) > 0 {
			continue
		}
		is, err := newIssuer(ic.withDefaults(), opts.HTTPClient, opts.Now, func(name string, err error) {
			s.log.Error("authz: fetching the keys of an issuer failed; tokens signed with keys not held are refused", "issuer", name, "error", err)
		})
		if err != nil {
			probs.Addf(fmt.Sprintf("issuers[%d].jwks_file", i), "%v", err)
			continue
		}
		issuers[ic.Name] = is
	}
	for _, ac := range cfg.Authorizers {
		ac = ac.withDefaults()
		a := &Authorizer{svc: s, cfg: ac, cache: newTokenCache(ac.MaxTokens),
			arnPrefix: "arn:aws:execute-api:" + ac.Region + ":" + ac.Account + ":" + ac.APIID + "/" + ac.Stage + "/"}
		for _, n := range ac.Issuers {
			if is := issuers[n]; is != nil {
				a.v.issuers = append(a.v.issuers, is)
			}
		}
		a.strip = map[string]bool{headerKey(ac.Headers.Principal): true, headerKey(ac.Headers.Username): true, headerKey(ac.Headers.Groups): true}
		for h := range ac.Headers.Claims {
			a.strip[headerKey(h)] = true
		}
		s.authorizers[ac.Name] = a
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return s, nil
}

// Source is where the group policies come from: store, file or dynamodb.
func (s *Service) Source() string {
	if s.cfg.Groups.Source == "" {
		return "store"
	}
	return s.cfg.Groups.Source
}

// SetStore gives the service its group policy store (lockgate's database
// or the DynamoDB table), once opened. Until then every authorized
// request answers 500: nothing is allowed without policies.
func (s *Service) SetStore(st Store) {
	s.groups.store = st
	s.groups.changed()
}

// SetLocks gives the service the lock service, for authorizers with a
// lock check. Without it they answer 500.
func (s *Service) SetLocks(l Locks) { s.locks = l }

// Authorizer returns the named authorizer, or nil.
func (s *Service) Authorizer(name string) *Authorizer { return s.authorizers[name] }

// Names lists the authorizers.
func (s *Service) Names() []string {
	var out []string
	for n := range s.authorizers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Authorizer decides requests for one API: tokens of its issuers, the
// policies of the users' groups, and the execute-api ARNs of its region,
// account, API and stage.
type Authorizer struct {
	svc       *Service
	cfg       AuthorizerConfig
	v         verifier
	cache     *tokenCache
	arnPrefix string
	strip     map[string]bool
	// contextClaims are passed in a Lambda answer's context.
	contextClaims []string
}

// SetContextClaims names the claims a Lambda answer passes in its
// context; call it before the first decision.
func (a *Authorizer) SetContextClaims(claims []string) { a.contextClaims = claims }

// Outcome is what a decision says.
type Outcome uint8

// The outcomes.
const (
	Allow        Outcome = iota
	Unauthorized         // no token, or a token that does not verify: 401
	ImplicitDeny         // no statement allows: 403
	ExplicitDeny         // a statement denies: 403
	Locked               // the account is locked: 403 with the application's message
	BadRequest           // a path that is not canonical: 400
	Failed               // a broken policy, a store or lock service that fails: 500
)

var outcomeNames = [...]string{"Allow", "Unauthorized", "ImplicitDeny", "ExplicitDeny", "Locked", "BadRequest", "Failed"}

func (o Outcome) String() string { return outcomeNames[o] }

// Decision is the outcome for one request, with what it was decided on.
type Decision struct {
	Outcome Outcome
	// Resource is the execute-api ARN decided on.
	Resource string
	// Subject, Username and Groups are the token's, when it verified.
	Subject  string
	Username string
	Groups   []string
	// Message is the locked message, for Locked.
	Message string
	// Err says why, for logs (never sent to the client).
	Err error

	headers [][2]string
}

// Allowed reports whether the request may go on.
func (d *Decision) Allowed() bool { return d.Outcome == Allow }

// API Gateway's bodies for its answers (aws-formats.md).
var (
	bodyUnauthorized = []byte(`{"message":"Unauthorized"}`)
	bodyDeny         = []byte(`{"Message":"User is not authorized to access this resource"}`)
	bodyExplicitDeny = []byte(`{"Message":"User is not authorized to access this resource with an explicit deny"}`)
	bodyFailed       = []byte(`{"message":null}`)
	bodyBadRequest   = []byte(`{"message":"Bad Request"}`)
)

// Write sends the answer for a decision that is not Allow, as API
// Gateway words it.
func (d *Decision) Write(w http.ResponseWriter) {
	status, body := http.StatusInternalServerError, bodyFailed
	switch d.Outcome {
	case Unauthorized:
		status, body = http.StatusUnauthorized, bodyUnauthorized
	case ImplicitDeny:
		status, body = http.StatusForbidden, bodyDeny
	case ExplicitDeny:
		status, body = http.StatusForbidden, bodyExplicitDeny
	case Locked:
		status = http.StatusForbidden
		body = []byte(`{"Message":` + strconv.Quote(d.Message) + `}`)
	case BadRequest:
		status, body = http.StatusBadRequest, bodyBadRequest
	case Failed:
		w.Header().Set("x-amzn-ErrorType", "AuthorizerConfigurationException")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// Decide authorizes r from client: the token of its Authorization header
// (verified once, then cached with its compiled policies), the
// execute-api ARN of its method and path, and the condition keys of this
// request. It never writes to the request.
func (a *Authorizer) Decide(r *http.Request, client netip.Addr) Decision {
	path, ok := canonicalPath(r)
	if !ok {
		return Decision{Outcome: BadRequest, Err: fmt.Errorf("path %q is not canonical", r.URL.EscapedPath())}
	}
	if !canonicalMethod(r.Method) {
		return Decision{Outcome: BadRequest, Err: fmt.Errorf("method %q is not an upper-case token", r.Method)}
	}
	d := Decision{Resource: a.arnPrefix + r.Method + path}
	ctx := r.Context()
	e, err := a.entry(ctx, bearer(r.Header.Get("Authorization")))
	if err != nil {
		d.Err = err
		d.Outcome = Failed
		if errors.Is(err, ErrUnauthorized) {
			d.Outcome = Unauthorized
		}
		return d
	}
	d.Subject, d.Username, d.Groups = e.id.Subject, e.id.Username, e.id.Groups
	if e.err != nil {
		d.Outcome, d.Err = Failed, e.err
		return d
	}
	now := a.svc.now()
	req := iampolicy.Request{Action: "execute-api:Invoke", Resource: d.Resource, Context: a.context(e.id, client, now, r.TLS != nil), Time: now}
	var res iampolicy.Result
	e.set.EvaluateInto(&req, &res)
	switch res.Decision {
	case iampolicy.ExplicitDeny:
		d.Outcome, d.Err = ExplicitDeny, errors.New(res.String())
		return d
	case iampolicy.ImplicitDeny:
		d.Outcome, d.Err = ImplicitDeny, errors.New(res.String())
		return d
	}
	if app := a.cfg.LockCheck.Application; app != "" {
		if a.svc.locks == nil {
			d.Outcome, d.Err = Failed, errors.New("the lock check is configured but no lock service is open")
			return d
		}
		locked, msg, err := a.svc.locks.Locked(ctx, app, e.id.Username, client)
		switch {
		case err != nil:
			d.Outcome, d.Err = Failed, fmt.Errorf("lock check: %w", err)
			return d
		case locked:
			d.Outcome, d.Message, d.Err = Locked, msg, errors.New("the account is locked")
			return d
		}
	}
	d.Outcome, d.headers = Allow, e.id.Headers
	return d
}

// context is the condition keys of one request: the token's (cached)
// and this request's own. Keys are written lower case, as Context keeps
// them, so that setting them does not allocate.
func (a *Authorizer) context(id *identity, client netip.Addr, now time.Time, tls bool) *iampolicy.Context {
	c := &iampolicy.Context{}
	if client.IsValid() {
		c.Set("aws:sourceip", client.String())
		if a.svc.country != nil {
			if cc := a.svc.country(client); cc != "" {
				c.Set(countryKeyLower, cc)
			}
		}
	}
	cur, epoch := timeStrings(now)
	c.Set("aws:currenttime", cur)
	c.Set("aws:epochtime", epoch)
	if tls {
		c.Set("aws:securetransport", "true")
	} else {
		c.Set("aws:securetransport", "false")
	}
	c.Set("aws:userid", id.Subject)
	if id.Username != "" {
		c.Set("aws:username", id.Username)
	}
	for _, kv := range id.tagKeys {
		c.Set(kv[0], kv[1])
	}
	return c
}

// timeStrings formats aws:CurrentTime and aws:EpochTime, once a second.
func timeStrings(now time.Time) (string, string) {
	sec := now.Unix()
	if t := lastTime.Load(); t != nil && t.sec == sec {
		return t.cur, t.epoch
	}
	t := &formattedTime{sec: sec, cur: now.UTC().Format(time.RFC3339), epoch: strconv.FormatInt(sec, 10)}
	lastTime.Store(t)
	return t.cur, t.epoch
}

type formattedTime struct {
	sec        int64
	cur, epoch string
}

var lastTime atomic.Pointer[formattedTime]

// CountryKey is the condition key holding the client's country.
const (
	CountryKey      = "lockgate:SourceCountry"
	countryKeyLower = "lockgate:sourcecountry"
)

// entry returns the token's cached verification and policies, verifying
// and compiling them on first sight.
func (a *Authorizer) entry(ctx context.Context, token string) (*entry, error) {
	k := tokenKey(token)
	now := a.svc.now()
	gen := a.svc.groups.gen.Load()
	if e := a.cache.get(k, now, gen); e != nil {
		return e, nil
	}
	claims, is, err := a.v.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	id, err := a.identity(claims, is)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	e := &entry{id: id, gen: gen, expires: now.Add(a.cfg.CacheTTL.Std())}
	if id.Exp.Before(e.expires) {
		e.expires = id.Exp
	}
	named, docs, err := a.svc.groups.policies(ctx, id.Groups)
	var broken *BrokenPolicyError
	switch {
	case errors.As(err, &broken):
		e.err = err
	case err != nil:
		return nil, err // the store failed: nothing cached, the next request tries again
	default:
		e.set, e.docs = &iampolicy.Set{Identity: named}, docs
	}
	a.cache.put(k, e, now)
	return e, nil
}

// identity reads what the authorizer uses from verified claims.
func (a *Authorizer) identity(claims jwt.MapClaims, is *issuer) (*identity, error) {
	id := &identity{Tags: map[string]string{}, Claims: map[string]string{}}
	id.Subject, _ = claims["sub"].(string)
	if is.username != "" {
		id.Username, _ = claims[is.username].(string)
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		id.Exp = exp.Time
	}
	groups, err := stringList(claims[a.cfg.GroupsClaim])
	if _, one := claims[a.cfg.GroupsClaim].(string); one {
		// Cognito writes the claim as a JSON array even for one group;
		// a string is not what the docs promise to accept, and reading
		// "a,b" as one group or as two would both be guesses.
		err = errors.New("is a string, not a list of strings")
	}
	if err != nil {
		// Groups are what policies hang on, Deny included: a claim that
		// cannot be read is refused rather than read as no group.
		return nil, fmt.Errorf("claim %s: %v", a.cfg.GroupsClaim, err)
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if !seen[g] {
			seen[g] = true
			id.Groups = append(id.Groups, g)
		}
	}
	for _, name := range a.contextClaims {
		if v, ok := scalar(claims[name]); ok {
			id.Claims[name] = v
		} else if l, err := stringList(claims[name]); err == nil && l != nil {
			id.Claims[name] = strings.Join(l, ",")
		}
	}
	for tag, claim := range a.cfg.PrincipalTags {
		if v, ok := scalar(claims[claim]); ok {
			id.Tags[tag] = v
			id.tagKeys = append(id.tagKeys, [2]string{strings.ToLower("aws:PrincipalTag/" + tag), v})
		}
	}
	h := a.cfg.Headers
	id.Headers = append(id.Headers, [2]string{h.Principal, headerValue(id.Subject)}, [2]string{h.Groups, headerList(id.Groups)})
	if id.Username != "" {
		id.Headers = append(id.Headers, [2]string{h.Username, headerValue(id.Username)})
	}
	names := make([]string, 0, len(h.Claims))
	for name := range h.Claims {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := claims[h.Claims[name]]
		if s, ok := scalar(v); ok {
			id.Headers = append(id.Headers, [2]string{name, headerValue(s)})
		} else if l, err := stringList(v); err == nil && len(l) > 0 {
			id.Headers = append(id.Headers, [2]string{name, headerList(l)})
		}
	}
	return id, nil
}

// stringList reads a claim holding strings: a JSON array of strings, or
// one string. Absent is empty.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("element %d is %T, not a string", i, x)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%T is not a list of strings", v)
}

// scalar formats a string, number or boolean claim.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// headerValue percent-encodes what a header value cannot carry
// (controls) and the % that escapes them.
func headerValue(s string) string { return escapeValue(s, false) }

// headerList joins values with commas, each percent-encoded as
// headerValue does and its own commas too, so the list reads back
// unambiguously.
func headerList(vs []string) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escapeValue(v, true))
	}
	return b.String()
}

func escapeValue(s string, comma bool) string {
	special := func(c byte) bool { return c < 0x20 || c == 0x7f || c == '%' || comma && c == ',' }
	clean := true
	for i := 0; i < len(s); i++ {
		if special(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; special(c) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
