package iampolicy

import (
	"regexp"
	"strings"

	"github.com/lockgate/lockgate/internal/jsontree"
)

// principals is a compiled Principal or NotPrincipal element.
type principals struct {
	any       bool     // "*" or {"AWS": "*"}
	accounts  []string // 12-digit account ids (from ids or :root ARNs)
	arns      []principalARN
	services  []string
	federated []string
	canonical []string
	// onlyAny: the element is exactly "*" or {"AWS": "*"} (RCPs require it).
	onlyAny bool
}

// principalARN is an IAM or STS principal ARN from a Principal element.
type principalARN struct {
	arn       string
	kind      PrincipalType // User, RoleSession (for role/…), FederatedUser, or Inferred for assumed-role/…
	role      bool          // a role's ARN (names every session of the role)
	session   bool          // an assumed-role session's ARN
	partition string
	account   string
	name      string // a role's name: the last segment of its path
	hasPath   bool   // a role ARN with a path (role/service-role/x)
}

var (
	accountRe      = regexp.MustCompile(`^[0-9]{12}$`)
	principalARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[!-~]+$`)
	serviceRe      = regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$`)
	canonicalRe    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func (p *parser) principals(path string, n *node) *principals {
	pr := &principals{}
	if n.Kind == jsontree.String {
		if n.Str != "*" {
			p.errorf(path, "%q: a string Principal must be \"*\"; write {\"AWS\": …}, {\"Service\": …}, {\"Federated\": …} or {\"CanonicalUser\": …}", n.Str)
		}
		pr.any, pr.onlyAny = true, true
		return pr
	}
	if n.Kind != jsontree.Object || len(n.Keys) == 0 {
		p.errorf(path, "must be \"*\" or a non-empty object, not %s", kindName(n))
		return pr
	}
	count := 0
	for i, k := range n.Keys {
		kp := pathKey(path, k)
		vals := p.strings(kp, n.Vals[i])
		for j, v := range vals {
			count++
			ep := elemPath(kp, n.Vals[i], j)
			if strings.Contains(v, "${") {
				p.errorf(ep, "%q: policy variables are not allowed in a principal", v)
				continue
			}
			switch k {
			case "AWS":
				switch {
				case v == "*":
					pr.any = true
				case accountRe.MatchString(v):
					pr.accounts = append(pr.accounts, v)
				case principalARNRe.MatchString(v):
					if hasWildcard(v) {
						p.errorf(ep, "%q: wildcards are not allowed in a principal ARN (use \"*\" with a condition on aws:PrincipalArn)", v)
						continue
					}
					pa, ok := compilePrincipalARN(v)
					switch {
					case !ok:
						p.errorf(ep, "%q is not the ARN of a user, role, role session, federated user or account", v)
					case pa.account != "" && pa.name == "" && pa.kind == PrincipalRoot:
						pr.accounts = append(pr.accounts, pa.account)
					default:
						pr.arns = append(pr.arns, pa)
					}
				default:
					p.errorf(ep, "%q is not \"*\", a 12-digit account id or an IAM/STS principal ARN", v)
				}
			case "Service":
				if v != "*" && !serviceRe.MatchString(v) {
					p.errorf(ep, "%q is not a service principal such as s3.amazonaws.com", v)
					continue
				}
				pr.services = append(pr.services, v)
			case "Federated":
				pr.federated = append(pr.federated, v)
			case "CanonicalUser":
				if !canonicalRe.MatchString(v) {
					p.errorf(ep, "%q is not a canonical user id (64 hex digits)", v)
					continue
				}
				pr.canonical = append(pr.canonical, v)
			default:
				p.errorf(kp, "unknown principal type (AWS, Service, Federated or CanonicalUser)")
			}
		}
	}
	pr.onlyAny = pr.any && count == 1
	return pr
}

// compilePrincipalARN reads an IAM or STS principal ARN.
func compilePrincipalARN(v string) (principalARN, bool) {
	parts, _ := arnParts(v)
	pa := principalARN{arn: v, partition: parts[0], account: parts[3]}
	res := parts[4]
	switch {
	case parts[1] == "iam" && res == "root":
		pa.kind = PrincipalRoot
	case parts[1] == "iam" && strings.HasPrefix(res, "user/"):
		pa.kind = PrincipalUser
	case parts[1] == "iam" && strings.HasPrefix(res, "role/") && len(res) > len("role/"):
		pa.kind, pa.role = PrincipalRoleSession, true
		path := res[len("role/"):]
		pa.name = path[strings.LastIndexByte(path, '/')+1:]
		pa.hasPath = strings.Contains(path, "/")
	case parts[1] == "sts" && strings.HasPrefix(res, "assumed-role/") && strings.Count(res, "/") == 2:
		pa.kind, pa.session = PrincipalRoleSession, true
	case parts[1] == "sts" && strings.HasPrefix(res, "federated-user/"):
		pa.kind = PrincipalFederatedUser
	default:
		return pa, false
	}
	return pa, pa.name != "" || !pa.role
}

// principalMatch says how a request's principal matched a Principal
// element, which decides what a resource-based Allow is worth.
type principalMatch uint8

const (
	noMatch principalMatch = iota
	// matchAccount: the account was named. That delegates to the
	// account's identity policies: alone it grants nothing.
	matchAccount
	// matchUnsure: a role of the session's name with a path was named,
	// and the session's role path is not known. A Deny applies; an
	// Allow does not.
	matchUnsure
	// matchEntity: the role of a role session, or the IAM user who
	// federated a federated user, was named. It grants like an identity
	// policy does: within the boundary and the session policies.
	matchEntity
	// matchDirect: the principal itself (user, root user, role session,
	// federated user, service, identity provider) or "*" was named:
	// within one account that is enough.
	matchDirect
)

// match compares the request's principal with a Principal element.
func (pr *principals) match(c *caller) principalMatch {
	if pr.any {
		return matchDirect
	}
	best := noMatch
	switch c.typ {
	case PrincipalService:
		if contains(pr.services, c.arn) || contains(pr.services, "*") {
			return matchDirect
		}
		return noMatch
	case PrincipalWebIdentity, PrincipalSAML:
		if contains(pr.federated, c.arn) {
			return matchDirect
		}
		return noMatch
	case PrincipalAnonymous:
		return noMatch
	case PrincipalInferred:
		if c.arn != "" && (contains(pr.services, c.arn) || contains(pr.federated, c.arn) || contains(pr.canonical, c.arn)) {
			return matchDirect
		}
	}
	for i := range pr.arns {
		a := &pr.arns[i]
		if c.arn != "" && a.arn == c.arn && !a.role {
			return matchDirect
		}
		if m := a.matchRole(c); m > best {
			best = m
		}
		if c.typ == PrincipalFederatedUser && c.source != "" && a.arn == c.source && best < matchEntity {
			best = matchEntity
		}
	}
	if best == noMatch && c.account != "" && contains(pr.accounts, c.account) {
		best = matchAccount
		if c.typ == PrincipalRoot {
			// The account is the root user's identity.
			best = matchDirect
		}
	}
	return best
}

// matchRole compares a role ARN from a Principal element with a role
// session's role.
func (a *principalARN) matchRole(c *caller) principalMatch {
	if !a.role || c.typ != PrincipalRoleSession {
		return noMatch
	}
	if c.roleKnown {
		if a.arn == c.roleARN {
			return matchEntity
		}
		return noMatch
	}
	if a.name != c.roleName || a.account != c.account || a.partition != c.partition {
		return noMatch
	}
	if a.hasPath {
		return matchUnsure
	}
	return matchEntity
}

// exempts reports whether a NotPrincipal element exempts the principal
// from its Deny. AWS may check each identity of the principal in turn —
// the account, then the role, then the session — and denies at the
// first one not listed, so a principal is exempt only when every one of
// them is named. A principal with a permissions boundary is never
// exempt.
func (pr *principals) exempts(c *caller) bool {
	if c.boundary {
		return false
	}
	if pr.any {
		return true
	}
	named := func(arn string) bool {
		for i := range pr.arns {
			if pr.arns[i].arn == arn {
				return true
			}
		}
		return false
	}
	account := c.account != "" && contains(pr.accounts, c.account)
	switch c.typ {
	case PrincipalRoot:
		return account
	case PrincipalUser, PrincipalFederatedUser:
		return account && named(c.arn)
	case PrincipalRoleSession:
		// Exempt only when the role is surely listed: without the role's
		// ARN (its path) a path-less listing may name another role of the
		// same name, so the unknown errs toward denying.
		role := false
		for i := range pr.arns {
			if c.roleKnown && pr.arns[i].matchRole(c) == matchEntity {
				role = true
			}
		}
		return account && role && (c.arn == "" || named(c.arn))
	case PrincipalService:
		return contains(pr.services, c.arn) || contains(pr.services, "*")
	case PrincipalWebIdentity, PrincipalSAML:
		return contains(pr.federated, c.arn)
	case PrincipalInferred:
		return c.arn != "" && (contains(pr.canonical, c.arn) || contains(pr.services, c.arn) || contains(pr.federated, c.arn))
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
