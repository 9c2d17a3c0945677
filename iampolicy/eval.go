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

// applies reports whether the statement applies to the request: its
// principal, action, resource and conditions all match. direct says how
// the principal matched (for resource-based policies).
func (s *Statement) applies(req *Request, buf *[]byte) (ok bool, how principalMatch) {
	how = matchDirect
	if s.principal != nil {
		how = s.principal.match(req)
		if s.notPrincipal {
			if how != noMatch {
				return false, noMatch
			}
			how = matchDirect
		} else if how == noMatch {
			return false, noMatch
		}
	}
	if !s.matchAction(req.Action) {
		return false, noMatch
	}
	if s.hasResource {
		m, unresolved := s.matchResource(req, buf)
		// A NotResource ARN whose variable has no value cannot be matched
		// against, which makes the statement invalid (AWS, "policy
		// variables with no value").
		if m == s.notResource || s.notResource && unresolved {
			return false, noMatch
		}
	}
	for i := range s.conditions {
		if !s.conditions[i].eval(req, buf) {
			return false, noMatch
		}
	}
	return true, how
}

func (s *Statement) matchAction(action string) bool {
	for _, a := range s.actions {
		if a == "*" || globFold(a, action) {
			return !s.notAction
		}
	}
	return s.notAction
}

// matchResource reports whether any pattern matches, and whether some
// pattern's variable had no value (that pattern matches nothing).
func (s *Statement) matchResource(req *Request, buf *[]byte) (match, unresolved bool) {
	for i := range s.resources {
		rp := &s.resources[i]
		switch {
		case rp.any:
			return true, unresolved
		case rp.tmpl != nil:
			b, ok := rp.tmpl.resolve((*buf)[:0], req.Context, true)
			*buf = b
			if !ok {
				// A variable with no value: this ARN matches nothing,
				// the statement's other ARNs still count.
				unresolved = true
				continue
			}
			parts := rp.parts
			parts[4] = bytesView(b)
			if arnMatch(&parts, req.Resource) {
				return true, unresolved
			}
		default:
			if arnMatch(&rp.parts, req.Resource) {
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
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	d := ImplicitDeny
	for _, s := range p.Statements {
		if ok, _ := s.applies(req, bp); ok {
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

// Validate checks that each policy fits its place: only resource-based
// policies name principals, and theirs must.
func (s *Set) Validate() error {
	var errs Errors
	check := func(t PolicyType, n Named, wantPrincipal bool) {
		if n.Policy == nil {
			errs = append(errs, Error{Path: string(t) + " " + n.Name, Msg: "no policy"})
			return
		}
		for _, st := range n.Policy.Statements {
			if st.HasPrincipal() != wantPrincipal {
				msg := "Principal and NotPrincipal belong only in resource-based policies"
				if wantPrincipal {
					msg = "a resource-based policy statement needs Principal or NotPrincipal"
				}
				errs = append(errs, Error{Path: string(t) + " " + n.Name + ": " + st.Label(), Msg: msg})
			}
			if !st.hasResource && t != TypeResource {
				errs = append(errs, Error{Path: string(t) + " " + n.Name + ": " + st.Label(), Msg: "needs Resource or NotResource"})
			}
		}
	}
	for _, n := range s.Identity {
		check(TypeIdentity, n, false)
	}
	if s.Resource != nil {
		check(TypeResource, *s.Resource, true)
	}
	for _, level := range s.SCPs {
		for _, n := range level {
			check(TypeSCP, n, false)
		}
	}
	for _, n := range s.RCPs {
		check(TypeRCP, n, true)
		if n.Policy == nil {
			continue
		}
		// AWS's RCP syntax: Allow only in RCPFullAWSAccess (attached
		// everywhere, and applied here implicitly); no NotAction or
		// NotPrincipal elements.
		for _, st := range n.Policy.Statements {
			where := string(TypeRCP) + " " + n.Name + ": " + st.Label()
			if st.Effect == Allow {
				errs = append(errs, Error{Path: where, Msg: "an RCP may only Deny: Allow is reserved to RCPFullAWSAccess, which always applies"})
			}
			if st.notAction {
				errs = append(errs, Error{Path: where, Msg: "RCPs do not support NotAction"})
			}
			if st.notPrincipal {
				errs = append(errs, Error{Path: where, Msg: "RCPs do not support NotPrincipal"})
			}
		}
	}
	if s.Boundary != nil {
		check(TypeBoundary, *s.Boundary, false)
	}
	for _, n := range s.Sessions {
		check(TypeSession, n, false)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// evaluator accumulates one policy type's verdict.
type verdict struct {
	deny, allow bool
	how         principalMatch // best principal match among resource allows
}

func (v *verdict) scan(t PolicyType, n *Named, req *Request, buf *[]byte, res *Result, keepAllows bool) {
	for _, s := range n.Policy.Statements {
		ok, how := s.applies(req, buf)
		if !ok {
			continue
		}
		if s.Effect == Deny {
			v.deny = true
			res.Matched = append(res.Matched, Match{PolicyType: t, Policy: n.Name, Statement: s.Label(), Effect: Deny, EffectName: "Deny"})
			continue
		}
		v.allow = true
		if how > v.how {
			v.how = how
		}
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
// policy wins; every SCP level must allow; within one account, a
// resource-based Allow that names the principal itself (a user, a role
// session, or "*") is enough; one that names the role of a session works
// like an identity Allow; one that names the account only delegates to
// the identity policies. Otherwise an identity-based Allow is needed,
// within the permissions boundary and every session policy.
// Across accounts both the identity-based and the resource-based policy
// must allow.
func (s *Set) EvaluateInto(req *Request, r *Result) {
	r.Matched = r.Matched[:0]
	r.Decision = ImplicitDeny
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)

	// Every policy is scanned for denies first: explicit deny wins
	// whatever allows.
	var identity, resource, boundary verdict
	deny := false
	for i := range s.Identity {
		identity.scan(TypeIdentity, &s.Identity[i], req, bp, r, true)
	}
	if s.Resource != nil {
		resource.scan(TypeResource, s.Resource, req, bp, r, true)
	}
	scpOK := true
	for _, level := range s.SCPs {
		var lv verdict
		for i := range level {
			lv.scan(TypeSCP, &level[i], req, bp, r, false)
		}
		deny = deny || lv.deny
		scpOK = scpOK && lv.allow
	}
	for i := range s.RCPs {
		var rv verdict
		rv.scan(TypeRCP, &s.RCPs[i], req, bp, r, false)
		deny = deny || rv.deny
	}
	if s.Boundary != nil {
		boundary.scan(TypeBoundary, s.Boundary, req, bp, r, false)
	}
	sessionOK := true
	for i := range s.Sessions {
		var sv verdict
		sv.scan(TypeSession, &s.Sessions[i], req, bp, r, false)
		deny = deny || sv.deny
		sessionOK = sessionOK && sv.allow
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
	boundaryOK := s.Boundary == nil || boundary.allow
	pa := req.principalAccount()
	sameAccount := pa == "" || pa == req.resourceAccount()
	switch {
	case sameAccount && resource.allow && resource.how == matchDirect:
		r.Decision = Allowed
		r.keep(isResourceMatch)
		r.Reason = "the resource-based policy allows the principal itself"
	case sameAccount && (identity.allow || resource.allow && resource.how == matchRole) && boundaryOK && sessionOK:
		r.Decision = Allowed
		r.Reason = "an identity-based Allow (or a resource-based Allow naming the role) applies, within any boundary and session policy"
	case !sameAccount && identity.allow && resource.allow && boundaryOK && sessionOK:
		r.Decision = Allowed
		r.Reason = "across accounts, both the identity-based and the resource-based policy allow it"
	default:
		r.Matched = r.Matched[:0]
		switch {
		case !identity.allow && !resource.allow:
			r.Reason = "no policy allows it"
		case !boundaryOK:
			r.Reason = "the permissions boundary does not allow it"
		case !sessionOK:
			r.Reason = "a session policy does not allow it"
		case !sameAccount && !resource.allow:
			r.Reason = "across accounts the resource-based policy must also allow it"
		default:
			r.Reason = "across accounts the identity-based policy must also allow it"
		}
	}
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
