package iampolicy

import (
	"strings"
)

// PrincipalType says what kind of principal makes a request. AWS decides
// differently for each: the root user has full access in its account, a
// federated user has no permissions without session policies, a role
// session is named in policies by its role, and a service or an identity
// from outside AWS has no identity-based policies at all.
type PrincipalType uint8

// The principal types. The zero value means "infer it from
// Request.Principal".
const (
	PrincipalInferred PrincipalType = iota
	// PrincipalUser is an IAM user, arn:aws:iam::ACCOUNT:user/PATH/NAME.
	PrincipalUser
	// PrincipalRoot is the account root user, arn:aws:iam::ACCOUNT:root.
	PrincipalRoot
	// PrincipalRoleSession is a session of a role from AssumeRole,
	// AssumeRoleWithWebIdentity or AssumeRoleWithSAML:
	// arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION. Its role, with the
	// role's path, is Request.RoleARN.
	PrincipalRoleSession
	// PrincipalFederatedUser is a session from GetFederationToken:
	// arn:aws:sts::ACCOUNT:federated-user/NAME. The IAM user (or root
	// user) who called GetFederationToken is Request.FederatedBy; the
	// Set's identity policies and boundary are that user's.
	PrincipalFederatedUser
	// PrincipalService is an AWS service principal, as s3.amazonaws.com.
	PrincipalService
	// PrincipalWebIdentity is a user of an OpenID Connect provider
	// calling AssumeRoleWithWebIdentity; Principal is the provider, as
	// accounts.google.com or cognito-identity.amazonaws.com.
	PrincipalWebIdentity
	// PrincipalSAML is a user of a SAML provider calling
	// AssumeRoleWithSAML; Principal is the provider's ARN,
	// arn:aws:iam::ACCOUNT:saml-provider/NAME.
	PrincipalSAML
	// PrincipalAnonymous is an unauthenticated caller.
	PrincipalAnonymous
)

var principalTypeNames = [...]string{"", "user", "root", "role-session", "federated-user", "service", "web-identity", "saml", "anonymous"}

func (t PrincipalType) String() string {
	if int(t) < len(principalTypeNames) && t != PrincipalInferred {
		return principalTypeNames[t]
	}
	return "inferred"
}

// ParsePrincipalType reads a type as String writes it.
func ParsePrincipalType(s string) (PrincipalType, bool) {
	for i, n := range principalTypeNames {
		if n != "" && n == s {
			return PrincipalType(i), true
		}
	}
	return 0, false
}

// caller is the request's principal as AWS sees it: what it is, its
// account, and every name a Principal element can give it. It is worked
// out once per evaluation from the Request, by slicing strings only.
type caller struct {
	typ       PrincipalType
	arn       string // the principal's own ARN (or service, provider, canonical id)
	account   string
	partition string
	// A role session's role: its ARN with the path when Request.RoleARN
	// gives it (roleKnown); otherwise only its name, from the session ARN.
	roleARN   string
	roleName  string
	roleKnown bool
	// source is the IAM user (or root) who federated a federated user.
	source string
	// boundary: the principal has a permissions boundary attached.
	boundary bool
}

// callerOf works out the principal of req.
func callerOf(req *Request, boundary bool) caller {
	var c caller
	c.init(req, boundary)
	return c
}

// init works out the principal of req in place: evaluation keeps the
// caller on its stack.
func (c *caller) init(req *Request, boundary bool) {
	*c = caller{typ: req.PrincipalType, arn: req.Principal, account: req.PrincipalAccount, boundary: boundary}
	parts, isARN := arnParts(req.Principal)
	// An ARN's own form wins over PrincipalType: a user's ARN typed as
	// the root user must not get the root user's full access.
	if t := inferType(req.Principal, parts, isARN); c.typ == PrincipalInferred || isARN && t != PrincipalInferred {
		c.typ = t
	}
	if isARN {
		c.partition = parts[0]
		// The ARN's account wins over PrincipalAccount, as its form wins
		// over PrincipalType: a principal of account B given as A's must
		// not pass for same-account.
		if c.account == "" || parts[3] != "" {
			c.account = parts[3]
		}
	}
	switch c.typ {
	case PrincipalRoleSession:
		if isARN {
			if rest, ok := strings.CutPrefix(parts[4], "assumed-role/"); ok {
				c.roleName, _, _ = strings.Cut(rest, "/")
			} else if rest, ok := strings.CutPrefix(parts[4], "role/"); ok {
				// A role's own ARN stands for a session of it whose name
				// is not known.
				c.roleARN, c.roleKnown = req.Principal, true
				c.roleName = rest[strings.LastIndexByte(rest, '/')+1:]
				c.arn = ""
			}
		}
		if req.RoleARN != "" {
			c.roleARN, c.roleKnown = req.RoleARN, true
			if p, ok := arnParts(req.RoleARN); ok {
				c.roleName = p[4][strings.LastIndexByte(p[4], '/')+1:]
				if c.account == "" {
					c.account, c.partition = p[3], p[0]
				}
			}
		}
	case PrincipalFederatedUser:
		// STS makes a federated user in the account of the IAM user who
		// called GetFederationToken: a federating user of another account
		// cannot be this one's, and is not taken as its source.
		if p, ok := arnParts(req.FederatedBy); ok && (p[3] == c.account || c.account == "") {
			c.source = req.FederatedBy
		}
	case PrincipalService, PrincipalWebIdentity, PrincipalSAML, PrincipalAnonymous:
		// Not principals of an account: no identity-based policies, no
		// account to be in, no permissions boundary.
		c.account = ""
		c.boundary = false
	}
}

// InferPrincipalType reads the kind of principal from its ARN or name, as
// evaluation does when Request.PrincipalType is not set: PrincipalInferred
// when the form says nothing.
func InferPrincipalType(principal string) PrincipalType {
	parts, isARN := arnParts(principal)
	return inferType(principal, parts, isARN)
}

// inferType reads the kind of principal from its ARN or name.
func inferType(principal string, parts [5]string, isARN bool) PrincipalType {
	if !isARN {
		switch {
		case principal == "":
			return PrincipalInferred
		case serviceRe.MatchString(principal) && !strings.HasPrefix(principal, "cognito-identity."):
			return PrincipalService
		case strings.Contains(principal, "."):
			return PrincipalWebIdentity
		}
		return PrincipalInferred
	}
	res := parts[4]
	switch {
	case parts[1] == "iam" && res == "root":
		return PrincipalRoot
	case parts[1] == "iam" && strings.HasPrefix(res, "user/"):
		return PrincipalUser
	case parts[1] == "iam" && strings.HasPrefix(res, "role/"):
		return PrincipalRoleSession
	case parts[1] == "iam" && strings.HasPrefix(res, "saml-provider/"):
		return PrincipalSAML
	case parts[1] == "iam" && strings.HasPrefix(res, "oidc-provider/"):
		return PrincipalWebIdentity
	case parts[1] == "sts" && strings.HasPrefix(res, "assumed-role/"):
		return PrincipalRoleSession
	case parts[1] == "sts" && strings.HasPrefix(res, "federated-user/"):
		return PrincipalFederatedUser
	}
	return PrincipalInferred
}

// inAccount reports whether the principal belongs to an AWS account, so
// that SCPs and identity-based policies can apply to it.
func (c *caller) inAccount() bool {
	switch c.typ {
	case PrincipalService, PrincipalWebIdentity, PrincipalSAML, PrincipalAnonymous:
		return false
	}
	return true
}

// SetPrincipalKeys sets the global condition keys AWS derives from the
// principal, unless the context already has them: aws:PrincipalArn (a
// role session's is its role's ARN, with the path), aws:PrincipalAccount,
// aws:PrincipalType, aws:userid (ROLEID:SESSION for a role session,
// ACCOUNT:NAME for a federated user) and aws:username (IAM users only).
// Evaluation itself never invents keys: call this when building a
// request that should carry them.
func (r *Request) SetPrincipalKeys() {
	if r.Context == nil {
		r.Context = &Context{}
	}
	c := callerOf(r, false)
	set := func(k, v string) {
		if _, ok := r.Context.Get(k); !ok && v != "" {
			r.Context.Set(k, v)
		}
	}
	parts, _ := arnParts(r.Principal)
	name := parts[4][strings.LastIndexByte(parts[4], '/')+1:]
	switch c.typ {
	case PrincipalUser:
		set("aws:PrincipalArn", r.Principal)
		set("aws:PrincipalType", "User")
		set("aws:username", name)
		set("aws:userid", r.UniqueID)
	case PrincipalRoot:
		set("aws:PrincipalArn", r.Principal)
		set("aws:PrincipalType", "Account")
		set("aws:userid", c.account)
	case PrincipalRoleSession:
		if c.roleKnown {
			set("aws:PrincipalArn", c.roleARN)
		} else if c.roleName != "" {
			set("aws:PrincipalArn", "arn:"+c.partition+":iam::"+c.account+":role/"+c.roleName)
		}
		set("aws:PrincipalType", "AssumedRole")
		if r.UniqueID != "" && c.arn != "" {
			set("aws:userid", r.UniqueID+":"+name)
		}
	case PrincipalFederatedUser:
		set("aws:PrincipalArn", r.Principal)
		set("aws:PrincipalType", "FederatedUser")
		set("aws:userid", c.account+":"+name)
	case PrincipalAnonymous:
		set("aws:PrincipalType", "Anonymous")
		set("aws:userid", "anonymous")
	}
	if c.inAccount() {
		set("aws:PrincipalAccount", c.account)
	}
}
