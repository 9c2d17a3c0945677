package iampolicy

import (
	"fmt"
	"strings"
)

// TypeTrust is a role trust policy: the resource-based policy of an IAM
// role, which says who may assume it. It takes no part in a Set.
const TypeTrust PolicyType = "trust"

// PolicyTypes lists every type Validate knows, for help texts.
var PolicyTypes = []PolicyType{TypeIdentity, TypeResource, TypeSCP, TypeRCP, TypeBoundary, TypeSession, TypeTrust}

// ParsePolicyType reads a policy type's name.
func ParsePolicyType(s string) (PolicyType, bool) {
	for _, t := range PolicyTypes {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// Validate checks the policy against the grammar of one policy type, as
// AWS would when the policy is stored: where principals may and must be
// named, which elements the type supports, which characters a Sid may
// hold. Parse has already checked what every type shares. The error,
// when not nil, is an Errors with each problem's JSON path.
func (p *Policy) Validate(t PolicyType) error {
	if errs := p.check(t, true); len(errs) > 0 {
		return errs
	}
	return nil
}

// InferType guesses a policy's type from its statements, and says why:
// statements naming principals make a resource-based policy, or a role
// trust policy when they allow only the actions of assuming a role;
// otherwise it is identity-based (the grammar boundaries and session
// policies share).
func (p *Policy) InferType() (PolicyType, string) {
	principals, assume := false, true
	for _, s := range p.Statements {
		principals = principals || s.principal != nil
		for _, a := range s.actionSrcs {
			assume = assume && !s.notAction && trustAction(a)
		}
	}
	switch {
	case principals && assume:
		return TypeTrust, "its statements name principals and allow only the actions of assuming a role"
	case principals:
		return TypeResource, "its statements name principals"
	}
	return TypeIdentity, "no statement names a principal; boundaries and session policies share this grammar, an SCP needs its own type"
}

// Validate checks that each policy fits its place in the set: where
// principals may and must be named, and the rules of each type that
// change what a policy means. It leaves out what only storing the policy
// in AWS would refuse (Validate(type) checks that too), so a policy
// written for another engine — an API Gateway authorizer's output, say —
// still evaluates.
func (s *Set) Validate() error {
	var errs Errors
	add := func(t PolicyType, n *Named) {
		if n.Policy == nil {
			errs = append(errs, Error{Path: string(t) + " " + n.Name, Msg: "no policy"})
			return
		}
		for _, e := range n.Policy.check(t, false) {
			e.Path = string(t) + " " + n.Name + ": " + e.Path
			errs = append(errs, e)
		}
	}
	for i := range s.Identity {
		add(TypeIdentity, &s.Identity[i])
	}
	if s.Resource != nil {
		switch s.ResourceType {
		case "", TypeResource:
			add(TypeResource, s.Resource)
		case TypeTrust:
			add(TypeTrust, s.Resource)
		default:
			errs = append(errs, Error{Path: "resource " + s.Resource.Name, Msg: fmt.Sprintf("ResourceType %q: a Set's resource-based policy is %q or %q", s.ResourceType, TypeResource, TypeTrust)})
		}
	}
	for _, level := range s.SCPs {
		for i := range level {
			add(TypeSCP, &level[i])
		}
	}
	for i := range s.RCPs {
		add(TypeRCP, &s.RCPs[i])
	}
	if s.Boundary != nil {
		add(TypeBoundary, s.Boundary)
	}
	for i := range s.Sessions {
		add(TypeSession, &s.Sessions[i])
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// trustActions are the actions a role trust policy may allow.
var trustActions = []string{"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext"}

// maxSessionPolicy is the plaintext limit of a session policy (STS API
// reference: "The plaintext that you use for both inline and managed
// session policies can't exceed 2,048 characters").
const maxSessionPolicy = 2048

// check lists the problems of p as a policy of type t; stored adds the
// rules AWS applies only when it stores a policy.
func (p *Policy) check(t PolicyType, stored bool) Errors {
	var errs Errors
	add := func(path, format string, args ...any) {
		errs = append(errs, Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if _, ok := ParsePolicyType(string(t)); !ok {
		add("", "unknown policy type %q", t)
		return errs
	}
	iamStored := t == TypeIdentity || t == TypeBoundary || t == TypeSession || t == TypeTrust
	if stored {
		if (t == TypeSCP || t == TypeRCP) && (!p.hasVersion || p.Version != Version2012) {
			add("Version", "every %s must have \"Version\": %q", strings.ToUpper(string(t)), Version2012)
		}
		if t == TypeSession && p.size > maxSessionPolicy {
			add("", "%d characters: a session policy's plaintext can't exceed %d", p.size, maxSessionPolicy)
		}
	}
	for _, s := range p.Statements {
		at := func(elem string) string {
			if elem == "" {
				return s.path
			}
			return s.path + "." + elem
		}
		principalElem := "Principal"
		if s.notPrincipal {
			principalElem = "NotPrincipal"
		}
		resourceElem := "Resource"
		if s.notResource {
			resourceElem = "NotResource"
		}
		actionElem := "Action"
		if s.notAction {
			actionElem = "NotAction"
		}
		switch t {
		case TypeIdentity, TypeBoundary, TypeSession, TypeSCP:
			if s.principal != nil {
				add(at(principalElem), "%s belongs only in resource-based policies: a %s applies to the principal it is attached to", principalElem, typeName(t))
			}
			if !s.hasResource {
				add(at(""), "needs Resource or NotResource")
			}
		case TypeResource, TypeRCP:
			if s.principal == nil {
				add(at(""), "a %s statement needs Principal or NotPrincipal", typeName(t))
			}
			if !s.hasResource {
				add(at(""), "needs Resource or NotResource")
			}
		case TypeTrust:
			if s.principal == nil {
				add(at(""), "a trust policy statement needs Principal: it says who may assume the role")
			}
			if s.notPrincipal {
				add(at("NotPrincipal"), "a role trust policy cannot use NotPrincipal")
			}
			if s.hasResource {
				add(at(resourceElem), "a role trust policy has no %s (IAM: \"Has prohibited field Resource\")", resourceElem)
			}
			if s.notAction {
				add(at("NotAction"), "a role trust policy names its actions with Action")
			}
			for i, a := range s.actionSrcs {
				if !trustAction(a) {
					add(at(elemIndex(actionElem, s.actionList, i)), "%q: a role trust policy may only allow sts:AssumeRole, sts:AssumeRoleWithSAML, sts:AssumeRoleWithWebIdentity, sts:TagSession, sts:SetSourceIdentity and sts:SetContext", a)
				}
			}
		}
		if t == TypeRCP {
			// RCP syntax: Allow only in RCPFullAWSAccess (attached
			// everywhere, and applied here implicitly); no NotAction or
			// NotPrincipal; the principal is "*", narrowed by conditions.
			if s.Effect == Allow {
				add(at("Effect"), "an RCP may only Deny: Allow is reserved to RCPFullAWSAccess, which always applies")
			}
			if s.notAction {
				add(at("NotAction"), "RCPs do not support NotAction")
			}
			if s.notPrincipal {
				add(at("NotPrincipal"), "RCPs do not support NotPrincipal")
			} else if s.principal != nil && !s.principal.onlyAny {
				add(at("Principal"), "an RCP's Principal must be \"*\": narrow it with conditions such as aws:PrincipalAccount")
			}
		}
		if stored && iamStored && s.Sid != "" && !alnum(s.Sid) {
			add(at("Sid"), "%q: IAM takes only letters (A-Z, a-z) and digits (0-9) in a Sid", s.Sid)
		}
	}
	return errs
}

func typeName(t PolicyType) string {
	switch t {
	case TypeIdentity:
		return "identity-based policy"
	case TypeResource:
		return "resource-based policy"
	case TypeSCP:
		return "service control policy"
	case TypeRCP:
		return "resource control policy"
	case TypeBoundary:
		return "permissions boundary"
	case TypeSession:
		return "session policy"
	}
	return string(t) + " policy"
}

func elemIndex(elem string, list bool, i int) string {
	if !list {
		return elem
	}
	return fmt.Sprintf("%s[%d]", elem, i)
}

// trustAction reports whether an action pattern names only actions a
// trust policy may allow.
func trustAction(a string) bool {
	a = strings.ToLower(a)
	if !strings.HasPrefix(a, "sts:") {
		return false
	}
	for _, t := range trustActions {
		if globFold(a, t) {
			return true
		}
	}
	return false
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
