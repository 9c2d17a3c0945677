package iampolicy

import (
	"strings"
	"sync"
)

// Decision is the outcome of evaluating a request.
type Decision uint8

// The decisions.
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// MarshalText writes the decision as AWS names it.
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// bufPool holds scratch space for resolving policy variables, so a
// request with variables does not allocate in the steady state.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// evalState is what one evaluation works out once and every statement
// reads: the request, its resource ARN split into parts, its principal.
// It lives on the evaluating goroutine's stack.
type evalState struct {
	req    *Request
	res    [5]string
	resARN bool
	who    caller
	buf    *[]byte // from bufPool, taken when a variable needs it
}

func (e *evalState) init(req *Request, boundary bool) {
	e.req = req
	e.who.init(req, boundary)
	e.res, e.resARN = arnParts(req.Resource)
}

// scratch returns the buffer for resolving variables.
func (e *evalState) scratch() *[]byte {
	if e.buf == nil {
		e.buf = bufPool.Get().(*[]byte)
	}
	return e.buf
}

func (e *evalState) release() {
	if e.buf != nil {
		bufPool.Put(e.buf)
		e.buf = nil
	}
}

// resourceAccount is the account that owns the resource: ResourceAccount,
// else the resource ARN's account, else (S3 ARNs have none) the
// principal's.
func (e *evalState) resourceAccount() string {
	switch {
	case e.req.ResourceAccount != "":
		return e.req.ResourceAccount
	case e.resARN && e.res[3] != "":
		return e.res[3]
	}
	return e.who.account
}

// applies reports whether the statement applies to the request: its
// principal, action, resource and conditions all match. how says how the
// principal matched (for resource-based policies).
func (s *Statement) applies(e *evalState) (ok bool, how principalMatch) {
	how = matchDirect
	if s.principal != nil {
		if s.notPrincipal {
			if s.principal.exempts(&e.who) {
				return false, noMatch
			}
		} else {
			how = s.principal.match(&e.who)
			if how == noMatch || how == matchUnsure && s.Effect == Allow {
				return false, noMatch
			}
		}
	}
	if !s.matchAction(e.req.Action) {
		return false, noMatch
	}
	if s.hasResource {
		m, unresolved := s.matchResource(e)
		// A NotResource ARN whose variable has no value cannot be matched
		// against, which makes the statement invalid (AWS, "policy
		// variables with no value").
		if m == s.notResource || s.notResource && unresolved {
			return false, noMatch
		}
	}
	for i := range s.conditions {
		if !s.conditions[i].eval(e) {
			return false, noMatch
		}
	}
	return true, how
}

func (s *Statement) matchAction(action string) bool {
	for i := range s.actions {
		if s.actions[i].match(action) {
			return !s.notAction
		}
	}
	return s.notAction
}

// matchResource reports whether any pattern matches, and whether some
// pattern's variable had no value (that pattern matches nothing).
func (s *Statement) matchResource(e *evalState) (match, unresolved bool) {
	for i := range s.resources {
		rp := &s.resources[i]
		switch {
		case rp.any:
			return true, unresolved
		case !e.resARN:
		case rp.tmpl != nil:
			buf := e.scratch()
			b, ok := rp.tmpl.resolve((*buf)[:0], e.req.Context, true)
			*buf = b
			if !ok {
				// A variable with no value: this ARN matches nothing,
				// the statement's other ARNs still count.
				unresolved = true
				continue
			}
			parts := rp.parts
			parts[4] = bytesView(b)
			if arnPartsMatch(&parts, &e.res) {
				return true, unresolved
			}
		default:
			if rp.comp.match(&e.res) {
				return true, unresolved
			}
		}
	}
	return false, unresolved
}

// Match names a statement that took part in a decision.
type Match struct {
	PolicyType PolicyType `json:"policy_type"`
	Policy     string     `json:"policy"`
	Statement  string     `json:"statement"`
	Effect     Effect     `json:"-"`
	EffectName string     `json:"effect"`
}

// PolicyType is where a policy sits in AWS's evaluation.
type PolicyType string

// The policy types.
const (
	TypeIdentity PolicyType = "identity"
	TypeResource PolicyType = "resource"
	TypeSCP      PolicyType = "scp"
	TypeRCP      PolicyType = "rcp"
	TypeBoundary PolicyType = "boundary"
	TypeSession  PolicyType = "session"
)

// Evaluate returns the effect of one policy on a request, ignoring every
// other policy type: ExplicitDeny when a Deny applies, Allowed when an
// Allow does, ImplicitDeny otherwise.
func (p *Policy) Evaluate(req *Request) Decision {
	var e evalState
	e.init(req, false)
	defer e.release()
	d := ImplicitDeny
	for _, s := range p.Statements {
		if ok, _ := s.applies(&e); ok {
			if s.Effect == Deny {
				return ExplicitDeny
			}
			d = Allowed
		}
	}
	return d
}

// Named is a policy with the name explanations use.
type Named struct {
	Name   string
	Policy *Policy
}

// Set is the policies that apply to a request, by type. A Set is
// immutable once built and safe for concurrent use.
type Set struct {
	Identity []Named
	// Resource is the resource-based policy, if any.
	Resource *Named
	// ResourceType is TypeTrust when Resource is a role trust policy (the
	// request assumes the role): a trust policy must allow the request
	// itself, whatever the identity policies say, and is checked as a
	// trust policy. Empty means TypeResource.
	ResourceType PolicyType
	// SCPs are service control policies by level of the organization, root
	// first; at every level some policy must allow. Empty: no
	// Organizations.
	SCPs [][]Named
	// RCPs are resource control policies. AWS attaches RCPFullAWSAccess to
	// every level and it cannot be detached, so RCPs only ever deny.
	RCPs []Named
	// Boundary is the principal's permissions boundary, if any.
	Boundary *Named
	// Sessions are the session policies, if any; every one must allow.
	Sessions []Named
}

// Result is a decision with the statements that made it.
type Result struct {
	Decision Decision `json:"decision"`
	// Matched names the statements that decided: the explicit denies, or
	// the allows that granted access.
	Matched []Match `json:"matched"`
	// Reason says in words why, for people.
	Reason string `json:"reason"`
}

// verdict accumulates one policy type's verdict.
type verdict struct {
	deny, allow bool
	// How resource-based Allows named the principal.
	direct, entity bool
}

func (v *verdict) scan(t PolicyType, n *Named, e *evalState, res *Result, keepAllows bool) {
	for _, s := range n.Policy.Statements {
		ok, how := s.applies(e)
		if !ok {
			continue
		}
		if s.Effect == Deny {
			v.deny = true
			res.Matched = append(res.Matched, Match{PolicyType: t, Policy: n.Name, Statement: s.Label(), Effect: Deny, EffectName: "Deny"})
			continue
		}
		v.allow = true
		v.direct = v.direct || how == matchDirect
		v.entity = v.entity || how == matchEntity
		if keepAllows {
			res.Matched = append(res.Matched, Match{PolicyType: t, Policy: n.Name, Statement: s.Label(), Effect: Allow, EffectName: "Allow"})
		}
	}
}

// Evaluate decides a request across every policy in the set.
func (s *Set) Evaluate(req *Request) Result {
	var r Result
	s.EvaluateInto(req, &r)
	return r
}

// EvaluateInto is Evaluate reusing r's storage, for callers that decide
// many requests: in the steady state it does not allocate.
//
// The rules, from AWS's policy evaluation logic: an explicit Deny in any
// policy wins; every SCP level must allow (SCPs apply to the principals
// of an account: users, roles and root users, not services or outside
// identities). Within one account, a resource-based Allow that names the
// principal itself (a user, the root user, a role session, a federated
// user, a service, or "*") is enough; one that names the role of a
// session, or the IAM user who federated, works like an identity Allow;
// one that names the account only delegates to the identity policies.
// Otherwise an identity-based Allow is needed, within the permissions
// boundary and every session policy. The root user has every identity
// permission; a federated user has none without a session policy.
// Across accounts both the identity side and the resource-based policy
// must allow.
func (s *Set) EvaluateInto(req *Request, r *Result) {
	r.Matched = r.Matched[:0]
	r.Decision = ImplicitDeny
	var e evalState
	e.init(req, s.Boundary != nil)
	defer e.release()
	who := &e.who

	// Every policy is scanned for denies first: explicit deny wins
	// whatever allows.
	var identity, resource, boundary verdict
	deny := false
	for i := range s.Identity {
		identity.scan(TypeIdentity, &s.Identity[i], &e, r, true)
	}
	if s.Resource != nil {
		resource.scan(TypeResource, s.Resource, &e, r, true)
	}
	scpOK := true
	if who.inAccount() {
		for _, level := range s.SCPs {
			var lv verdict
			for i := range level {
				lv.scan(TypeSCP, &level[i], &e, r, false)
			}
			deny = deny || lv.deny
			scpOK = scpOK && lv.allow
		}
	}
	for i := range s.RCPs {
		var rv verdict
		rv.scan(TypeRCP, &s.RCPs[i], &e, r, false)
		deny = deny || rv.deny
	}
	if s.Boundary != nil {
		boundary.scan(TypeBoundary, s.Boundary, &e, r, false)
	}
	sessionOK := true
	for i := range s.Sessions {
		var sv verdict
		sv.scan(TypeSession, &s.Sessions[i], &e, r, false)
		deny = deny || sv.deny
		sessionOK = sessionOK && sv.allow
	}
	if who.typ == PrincipalFederatedUser && len(s.Sessions) == 0 {
		// GetFederationToken: "if you do not pass any session policies,
		// then the resulting federated user session has no permissions".
		sessionOK = false
	}
	deny = deny || identity.deny || resource.deny || boundary.deny
	if deny {
		r.Decision = ExplicitDeny
		r.keep(isDeny)
		r.Reason = "an explicit Deny applies"
		return
	}
	if !scpOK {
		r.Matched = r.Matched[:0]
		r.Reason = "no service control policy at some level of the organization allows it"
		return
	}
	if s.ResourceType == TypeTrust && !resource.allow {
		// "IAM role trust policies and KMS key policies are exceptions
		// to this logic, because they must explicitly allow access for
		// principals."
		r.Matched = r.Matched[:0]
		r.Reason = "the role's trust policy does not allow it"
		return
	}
	limitsOK := (s.Boundary == nil || boundary.allow) && sessionOK
	var identityAllows bool
	switch {
	case who.typ == PrincipalRoot, who.typ == PrincipalFederatedUser && isRootARN(who.source):
		// "All requests are implicitly denied with the exception of the
		// AWS account root user, which has full access."
		identityAllows = true
	case who.inAccount():
		identityAllows = identity.allow
	}
	sameAccount := who.account == "" || who.account == e.resourceAccount()
	switch {
	case sameAccount && resource.direct:
		r.Decision = Allowed
		r.keep(isResourceMatch)
		r.Reason = "the resource-based policy allows the principal itself"
	case sameAccount && (identityAllows || resource.entity) && limitsOK:
		r.Decision = Allowed
		r.Reason = "an identity-based Allow (or a resource-based Allow naming the role or the federating user) applies, within any boundary and session policy"
		if who.typ == PrincipalRoot {
			r.Reason = "the root user has full access in its own account"
		}
	case !sameAccount && identityAllows && limitsOK && resource.allow:
		r.Decision = Allowed
		r.Reason = "across accounts, both the identity side and the resource-based policy allow it"
	default:
		r.Matched = r.Matched[:0]
		switch {
		case !identityAllows && !resource.allow:
			r.Reason = "no policy allows it"
			if who.typ == PrincipalFederatedUser && len(s.Sessions) == 0 {
				r.Reason = "a federated user without session policies has no permissions, and no resource-based policy names the session"
			}
		case s.Boundary != nil && !boundary.allow:
			r.Reason = "the permissions boundary does not allow it"
		case !sessionOK:
			r.Reason = "a session policy does not allow it"
			if len(s.Sessions) == 0 {
				r.Reason = "a federated user without session policies has no permissions"
			}
		case !sameAccount && !resource.allow:
			r.Reason = "across accounts the resource-based policy must also allow it"
		default:
			r.Reason = "across accounts the identity-based policy must also allow it"
		}
	}
}

func isRootARN(arn string) bool {
	parts, ok := arnParts(arn)
	return ok && parts[1] == "iam" && parts[4] == "root"
}

// keep drops the matches that do not satisfy ok.
func (r *Result) keep(ok func(Match) bool) {
	out := r.Matched[:0]
	for _, m := range r.Matched {
		if ok(m) {
			out = append(out, m)
		}
	}
	r.Matched = out
}

func isDeny(m Match) bool          { return m.Effect == Deny }
func isResourceMatch(m Match) bool { return m.PolicyType == TypeResource }

// String is the decision and the statements, for people.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(r.Decision.String())
	b.WriteString(": ")
	b.WriteString(r.Reason)
	for _, m := range r.Matched {
		b.WriteString("\n  ")
		b.WriteString(m.EffectName)
		b.WriteString(" by ")
		b.WriteString(string(m.PolicyType))
		b.WriteString(" policy ")
		b.WriteString(m.Policy)
		b.WriteString(", ")
		b.WriteString(m.Statement)
	}
	return b.String()
}
