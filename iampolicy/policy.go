// Package iampolicy parses, validates and evaluates AWS IAM policies:
// identity-based, resource-based, service and resource control policies,
// permissions boundaries and session policies, with the whole condition
// language and policy variables, as AWS documents them.
//
// Parse validates a document and compiles it once; a *Policy is
// immutable and safe for concurrent use. A Set groups policies by type and
// decides a Request as AWS does: Allow, ExplicitDeny or ImplicitDeny,
// naming the statements that decided.
package iampolicy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/lockgate/lockgate/internal/jsontree"
)

// Effect is a statement's effect.
type Effect uint8

// The effects.
const (
	Allow Effect = iota + 1
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "?"
}

// Versions of the policy language.
const (
	Version2012 = "2012-10-17"
	// Version2008 keeps ${…} as literal text; it is what AWS assumes when
	// a document has no Version.
	Version2008 = "2008-10-17"
)

// Policy is a parsed, validated and compiled policy document.
type Policy struct {
	Version    string
	ID         string
	Statements []*Statement
	// array: Statement is a JSON array (paths are Statement[i]).
	array      bool
	hasVersion bool
	size       int
}

// Statement is one compiled statement.
type Statement struct {
	// Sid is the statement's Sid; Index its position in the document.
	Sid   string
	Index int
	Effect
	label string
	path  string // the statement's JSON path, for validation by type

	principal    *principals // nil: no Principal element
	notPrincipal bool

	actions    []pattern
	actionSrcs []string // as written
	actionList bool     // written as a JSON array
	notAction  bool

	resources   []resourcePattern // nil with hasResource false: no Resource element
	hasResource bool
	notResource bool

	conditions []condition
}

// Label names the statement for explanations: its Sid, or its index.
func (s *Statement) Label() string { return s.label }

// HasPrincipal reports whether the statement has Principal or
// NotPrincipal (only resource-based policies may).
func (s *Statement) HasPrincipal() bool { return s.principal != nil }

type resourcePattern struct {
	any    bool       // "*"
	parts  [5]string  // as written (the resource part empty with tmpl)
	comp   arnPattern // parts compiled, without tmpl
	tmpl   *template  // the resource part, when it holds variables
	source string
}

// parser collects every problem instead of stopping at the first.
type parser struct {
	errs    Errors
	version string
}

func (p *parser) errorf(path, format string, args ...any) {
	p.errs = append(p.errs, Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Parse validates and compiles a policy document. The error, when not
// nil, is an Errors listing every problem with its JSON path.
func Parse(data []byte) (*Policy, error) {
	root, err := decodeJSON(data)
	if err != nil {
		return nil, jsontree.Problems(err)
	}
	p := &parser{}
	pol := p.policy(root)
	if pol != nil {
		pol.hasVersion = root.Get("Version") != nil
		pol.size = len(data)
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return pol, nil
}

// MustParse is Parse for policies known to be valid; it panics otherwise.
func MustParse(doc string) *Policy {
	p, err := Parse([]byte(doc))
	if err != nil {
		panic(err)
	}
	return p
}

func (p *parser) policy(root *node) *Policy {
	if root.Kind != jsontree.Object {
		p.errorf("", "a policy is a JSON object, not %s", kindName(root))
		return nil
	}
	pol := &Policy{Version: Version2008}
	for i, k := range root.Keys {
		v := root.Vals[i]
		switch k {
		case "Version":
			if v.Kind != jsontree.String || (v.Str != Version2012 && v.Str != Version2008) {
				p.errorf("Version", "%s is not %q or %q", show(v), Version2012, Version2008)
				continue
			}
			pol.Version = v.Str
		case "Id":
			if v.Kind != jsontree.String {
				p.errorf("Id", "must be a string, not %s", kindName(v))
			}
			pol.ID = v.Str
		case "Statement":
		default:
			p.errorf(pathKey("", k), "unknown element (a policy has Version, Id and Statement)")
		}
	}
	p.version = pol.Version
	st := root.Get("Statement")
	switch {
	case st == nil:
		p.errorf("Statement", "required")
	case st.Kind == jsontree.Object:
		if s := p.statement("Statement", 0, st); s != nil {
			pol.Statements = append(pol.Statements, s)
		}
	case st.Kind == jsontree.Array:
		pol.array = true
		if len(st.Vals) == 0 {
			p.errorf("Statement", "must not be empty")
		}
		if len(st.Vals) > maxStatements {
			p.errorf("Statement", "%d statements, over the limit of %d", len(st.Vals), maxStatements)
			return pol
		}
		sids := map[string]int{}
		for i, sn := range st.Vals {
			path := pathIndex("Statement", i)
			s := p.statement(path, i, sn)
			if s == nil {
				continue
			}
			if s.Sid != "" {
				if j, dup := sids[s.Sid]; dup {
					p.errorf(path+".Sid", "%q is also the Sid of Statement[%d]; Sids must be unique", s.Sid, j)
				}
				sids[s.Sid] = i
			}
			pol.Statements = append(pol.Statements, s)
		}
	default:
		p.errorf("Statement", "must be an object or an array of objects, not %s", kindName(st))
	}
	return pol
}

func show(n *node) string {
	if n.Kind == jsontree.String {
		return fmt.Sprintf("%q", n.Str)
	}
	if n.Kind == jsontree.Number || n.Kind == jsontree.Bool {
		return n.Str
	}
	return kindName(n)
}

func (p *parser) statement(path string, index int, n *node) *Statement {
	if n.Kind != jsontree.Object {
		p.errorf(path, "a statement is an object, not %s", kindName(n))
		return nil
	}
	s := &Statement{Index: index, path: path}
	known := map[string]bool{"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true, "Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true}
	for _, k := range n.Keys {
		if !known[k] {
			p.errorf(pathKey(path, k), "unknown element")
		}
	}
	if v := n.Get("Sid"); v != nil {
		// Which characters a Sid may hold depends on the policy type
		// (Validate): IAM takes letters and digits only, some services
		// spaces too.
		if v.Kind != jsontree.String {
			p.errorf(path+".Sid", "must be a string, not %s", kindName(v))
		} else {
			s.Sid = v.Str
		}
	}
	switch v := n.Get("Effect"); {
	case v == nil:
		p.errorf(path+".Effect", "required (Allow or Deny)")
	case v.Kind == jsontree.String && v.Str == "Allow":
		s.Effect = Allow
	case v.Kind == jsontree.String && v.Str == "Deny":
		s.Effect = Deny
	default:
		p.errorf(path+".Effect", "%s is not Allow or Deny", show(v))
	}

	pr, npr := n.Get("Principal"), n.Get("NotPrincipal")
	switch {
	case pr != nil && npr != nil:
		p.errorf(path, "has both Principal and NotPrincipal; use one")
	case pr != nil:
		s.principal = p.principals(path+".Principal", pr)
	case npr != nil:
		s.principal = p.principals(path+".NotPrincipal", npr)
		s.notPrincipal = true
		if s.Effect == Allow {
			p.errorf(path+".NotPrincipal", "AWS allows NotPrincipal only with \"Effect\": \"Deny\"")
		}
	}

	act, nact := n.Get("Action"), n.Get("NotAction")
	switch {
	case act != nil && nact != nil:
		p.errorf(path, "has both Action and NotAction; use one")
	case act == nil && nact == nil:
		p.errorf(path, "has neither Action nor NotAction")
	case act != nil:
		s.actionSrcs = p.actions(path+".Action", act)
	default:
		s.actionSrcs = p.actions(path+".NotAction", nact)
		s.notAction = true
	}
	for _, a := range s.actionSrcs {
		s.actions = append(s.actions, compilePattern(a, true))
	}
	if an := act; an != nil || nact != nil {
		if an == nil {
			an = nact
		}
		s.actionList = an.Kind == jsontree.Array
	}

	res, nres := n.Get("Resource"), n.Get("NotResource")
	switch {
	case res != nil && nres != nil:
		p.errorf(path, "has both Resource and NotResource; use one")
	case res != nil:
		s.resources, s.hasResource = p.resources(path+".Resource", res), true
	case nres != nil:
		s.resources, s.hasResource, s.notResource = p.resources(path+".NotResource", nres), true, true
	case pr == nil && npr == nil:
		// Identity-based policies need Resource, resource-based ones
		// Principal, trust policies at least Principal: no policy type
		// takes a statement with neither.
		p.errorf(path, "has neither Resource nor Principal: an identity-based policy statement needs Resource or NotResource, a resource-based one Principal or NotPrincipal")
	}

	if c := n.Get("Condition"); c != nil {
		s.conditions = p.conditions(path+".Condition", c)
	}
	s.label = s.Sid
	if s.label == "" {
		s.label = fmt.Sprintf("Statement[%d]", index)
	}
	return s
}

// strings reads a string or a non-empty array of strings.
func (p *parser) strings(path string, n *node) []string {
	switch n.Kind {
	case jsontree.String:
		return []string{n.Str}
	case jsontree.Array:
		if len(n.Vals) == 0 {
			p.errorf(path, "must not be an empty list")
			return nil
		}
		if len(n.Vals) > maxListLen {
			p.errorf(path, "%d entries, over the limit of %d", len(n.Vals), maxListLen)
			return nil
		}
		out := make([]string, 0, len(n.Vals))
		for i, v := range n.Vals {
			if v.Kind != jsontree.String {
				p.errorf(pathIndex(path, i), "must be a string, not %s", kindName(v))
				continue
			}
			out = append(out, v.Str)
		}
		return out
	}
	p.errorf(path, "must be a string or a list of strings, not %s", kindName(n))
	return nil
}

// elemPath names element i of a string-or-list element.
func elemPath(path string, n *node, i int) string {
	if n.Kind == jsontree.Array {
		return pathIndex(path, i)
	}
	return path
}

var actionRe = regexp.MustCompile(`^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$`)

func (p *parser) actions(path string, n *node) []string {
	vals := p.strings(path, n)
	out := make([]string, 0, len(vals))
	for i, a := range vals {
		ep := elemPath(path, n, i)
		switch {
		case a == "*":
		case strings.Contains(a, "${"):
			p.errorf(ep, "%q: policy variables are not allowed in actions", a)
			continue
		case !strings.Contains(a, ":"):
			p.errorf(ep, "%q has no service prefix (write service:action, such as s3:GetObject)", a)
			continue
		case !actionRe.MatchString(a):
			p.errorf(ep, "%q is not service:action (letters, digits and - in the service; letters, digits, * and ? in the action)", a)
			continue
		}
		out = append(out, a)
	}
	return out
}

func (p *parser) resources(path string, n *node) []resourcePattern {
	vals := p.strings(path, n)
	out := make([]resourcePattern, 0, len(vals))
	for i, r := range vals {
		ep := elemPath(path, n, i)
		if r == "*" {
			out = append(out, resourcePattern{any: true, source: r})
			continue
		}
		rp, ok := p.arnPattern(ep, r, true)
		if ok {
			out = append(out, rp)
		}
	}
	return out
}

// arnPattern compiles an ARN (with wildcards) as a resource or an ARN
// condition value. Variables are allowed only in the resource part.
func (p *parser) arnPattern(path, s string, vars bool) (resourcePattern, bool) {
	parts, ok := arnParts(s)
	if !ok {
		p.errorf(path, "%q is not an ARN (arn:partition:service:region:account:resource) or *", s)
		return resourcePattern{}, false
	}
	if parts[0] == "" || parts[1] == "" {
		p.errorf(path, "%q has an empty partition or service", s)
		return resourcePattern{}, false
	}
	if hasWildcard(parts[1]) || strings.Contains(parts[1], "${") {
		// IAM User Guide, Resource: "You can't use a wildcard in the
		// service segment that identifies the AWS product."
		p.errorf(path, "%q: the service segment (%q) cannot hold a wildcard", s, parts[1])
		return resourcePattern{}, false
	}
	rp := resourcePattern{parts: parts, source: s}
	for i := range 4 {
		if p.version == Version2012 && strings.Contains(parts[i], "${") {
			p.errorf(path, "%q: policy variables are allowed only in the resource part of an ARN", s)
			return resourcePattern{}, false
		}
	}
	if p.version == Version2012 && strings.Contains(parts[4], "${") {
		if !vars {
			p.errorf(path, "%q: policy variables are not allowed here", s)
			return resourcePattern{}, false
		}
		t, err := parseTemplate(parts[4])
		if err != nil {
			p.errorf(path, "%q: %v", s, err)
			return resourcePattern{}, false
		}
		rp.tmpl = t
		rp.parts[4] = ""
	}
	rp.comp = compileARN(rp.parts)
	return rp, true
}
