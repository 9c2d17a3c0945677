package iampolicy

import (
	"github.com/lockgate/lockgate/internal/jsontree"
	"regexp"
	"strings"
)

// principals is a compiled Principal or NotPrincipal element.
type principals struct {
	any       bool     // "*" or {"AWS": "*"}
	accounts  []string // 12-digit account ids (from ids or :root ARNs)
	arns      []string // user, role, assumed-role, federated-user ARNs
	services  []string
	federated []string
	canonical []string
}

var (
	accountRe      = regexp.MustCompile(`^[0-9]{12}$`)
	principalARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[!-~]+$`)
	serviceRe      = regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$`)
)

func (p *parser) principals(path string, n *node) *principals {
	pr := &principals{}
	if n.Kind == jsontree.String {
		if n.Str != "*" {
			p.errorf(path, "%q: a string Principal must be \"*\"; write {\"AWS\": …}, {\"Service\": …}, {\"Federated\": …} or {\"CanonicalUser\": …}", n.Str)
		}
		pr.any = true
		return pr
	}
	if n.Kind != jsontree.Object || len(n.Keys) == 0 {
		p.errorf(path, "must be \"*\" or a non-empty object, not %s", kindName(n))
		return pr
	}
	for i, k := range n.Keys {
		kp := pathKey(path, k)
		vals := p.strings(kp, n.Vals[i])
		for j, v := range vals {
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
					parts, _ := arnParts(v)
					if parts[4] == "root" {
						pr.accounts = append(pr.accounts, parts[3])
					} else {
						pr.arns = append(pr.arns, v)
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
				if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(v) {
					p.errorf(ep, "%q is not a canonical user id (64 hex digits)", v)
					continue
				}
				pr.canonical = append(pr.canonical, v)
			default:
				p.errorf(kp, "unknown principal type (AWS, Service, Federated or CanonicalUser)")
			}
		}
	}
	return pr
}

// principalMatch says how a request's principal matched a Principal
// element, which decides what a resource-based Allow is worth.
type principalMatch uint8

const (
	noMatch principalMatch = iota
	// matchAccount: the account was named. That delegates to the
	// account's identity policies: alone it grants nothing.
	matchAccount
	// matchRole: the role of a role session was named. It grants like an
	// identity policy does, within the boundary and session policies.
	matchRole
	// matchDirect: the principal itself (user, role session, federated
	// user, service) or "*" was named: enough within the account.
	matchDirect
)

// match compares the request's principal with the element.
func (pr *principals) match(req *Request) principalMatch {
	if pr.any {
		return matchDirect
	}
	principal := req.Principal
	for _, s := range pr.services {
		if s == principal || s == "*" {
			return matchDirect
		}
	}
	for _, f := range pr.federated {
		if f == principal {
			return matchDirect
		}
	}
	for _, c := range pr.canonical {
		if c == principal {
			return matchDirect
		}
	}
	for _, a := range pr.arns {
		if a == principal {
			return matchDirect
		}
		// A role ARN names every session of the role.
		if role, ok := sessionRole(principal); ok && role == a {
			return matchRole
		}
	}
	acct := req.principalAccount()
	for _, a := range pr.accounts {
		if a == acct {
			return matchAccount
		}
	}
	return noMatch
}

// sessionRole maps arn:aws:sts::ACCT:assumed-role/ROLE/SESSION to the
// role's ARN arn:aws:iam::ACCT:role/ROLE. Roles with paths are named by
// their ARN with the path, which the session ARN does not carry; those
// are matched by name only.
func sessionRole(arn string) (string, bool) {
	parts, ok := arnParts(arn)
	if !ok || parts[1] != "sts" || !strings.HasPrefix(parts[4], "assumed-role/") {
		return "", false
	}
	rest := parts[4][len("assumed-role/"):]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return "", false
	}
	return "arn:" + parts[0] + ":iam::" + parts[3] + ":role/" + rest[:i], true
}
