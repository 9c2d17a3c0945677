package waf

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gaissmai/bart"

	"github.com/lockgate/lockgate/waf/ratelimit"
	"github.com/lockgate/lockgate/waf/transform"
)

// Options configure an Engine.
type Options struct {
	// Geo locates client addresses for GeoMatch statements and their
	// labels (a web ACL with a GeoMatch statement needs it). lockgate
	// passes its embedded country database; a region-aware one adds
	// region labels.
	Geo GeoLocator
	// IPSets holds the addresses of the IP sets IPSetReferenceStatements
	// name, by ARN.
	IPSets map[string][]netip.Prefix
	// IPReputation and AnonymousIP are the lists behind lockgate's
	// managed rule groups (the IP reputation and anonymous IP groups, by
	// AWS's names or lockgate's). nil means not given: a web ACL that
	// uses the group is refused; an empty, non-nil list matches nothing.
	IPReputation, AnonymousIP []netip.Prefix
	// RegexSets holds the patterns of regex pattern sets, by ARN.
	RegexSets map[string][]string
	// RuleGroups holds the rule groups RuleGroupReferenceStatements name,
	// by ARN.
	RuleGroups map[string]*RuleGroup
	// Counter makes the counter of each rate-based rule; in memory (at
	// most MaxKeys keys) when nil.
	Counter func(RateRule) ratelimit.Counter
	// MaxKeys bounds the keys an in-memory counter tracks (0: 100,000).
	MaxKeys int
	// BodyLimit is how much of a body is inspected: 16 KiB by default, at
	// most 64 KiB.
	BodyLimit int
	// Account names the web ACL's account in label namespaces; from the
	// ARN when it has one.
	Account string
	Now     func() time.Time
}

// RateRule describes a rate-based rule to Options.Counter.
type RateRule struct {
	// Name is the rule's name; a rule group's rules are prefixed with
	// the group's name and a slash.
	Name string
	// Definition is the rule's RateBasedStatement as JSON: a caller
	// reloading a web ACL can keep the counters of rules whose
	// definition did not change.
	Definition []byte
	Window     time.Duration
	Limit      int64
}

// Engine evaluates requests against a compiled web ACL. It is safe for
// concurrent use.
type Engine struct {
	acl        *WebACL
	rules      []*crule
	ns         string // label namespace: awswaf:ACCOUNT:webacl:NAME:
	now        func() time.Time
	bodyLimit  int
	defaultAct action
	needsBody  bool // some rule inspects Body or JsonBody
	geo        GeoLocator
}

// BodyLimit is how many bytes of a body the engine inspects.
func (e *Engine) BodyLimit() int { return e.bodyLimit }

// InspectsBody reports whether some rule inspects the body: callers need
// not read it otherwise.
func (e *Engine) InspectsBody() bool { return e.needsBody }

// New compiles a web ACL.
func New(acl *WebACL, opts Options) (*Engine, error) {
	e := &Engine{acl: acl, now: opts.Now, bodyLimit: opts.BodyLimit}
	if e.now == nil {
		e.now = time.Now
	}
	switch {
	case e.bodyLimit == 0:
		e.bodyLimit = 16 << 10
	case e.bodyLimit < 0 || e.bodyLimit > 64<<10:
		return nil, fmt.Errorf("waf: body inspection limit %d is outside 1..65536", e.bodyLimit)
	}
	account := opts.Account
	if account == "" {
		if parts := strings.Split(acl.ARN, ":"); len(parts) > 4 && parts[4] != "" {
			account = parts[4]
		} else {
			account = "000000000000"
		}
	}
	e.ns = "awswaf:" + account + ":webacl:" + acl.Name + ":"
	c := compiler{e: e, acl: acl, opts: opts, ns: e.ns, bodies: acl.CustomResponseBodies, account: account}
	e.geo = opts.Geo
	e.defaultAct = c.defaultAction()
	rules := append([]Rule(nil), acl.Rules...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
	for i := range rules {
		cr := c.rule(&rules[i], jsonPathRule(i))
		if cr != nil {
			e.rules = append(e.rules, cr)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return e, nil
}

func jsonPathRule(i int) string { return "Rules[" + strconv.Itoa(i) + "]" }

type compiler struct {
	e    *Engine
	acl  *WebACL
	opts Options
	errs Errors
	// ns and bodies are the label namespace and custom response bodies
	// of the rules being compiled: the web ACL's or a rule group's.
	ns      string
	bodies  map[string]CustomResponseBody
	prefix  string // counter name prefix inside a rule group
	account string
}

func (c *compiler) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *compiler) defaultAction() action {
	d := c.acl.DefaultAction
	if d.Block != nil {
		return c.block(d.Block)
	}
	a := action{kind: actAllow}
	if d.Allow != nil && d.Allow.CustomRequestHandling != nil {
		a.headers = d.Allow.CustomRequestHandling.InsertHeaders
	}
	return a
}

func (c *compiler) block(b *BlockAction) action {
	a := action{kind: actBlock, resp: b.CustomResponse}
	if b.CustomResponse != nil && b.CustomResponse.CustomResponseBodyKey != "" {
		body := c.bodies[b.CustomResponse.CustomResponseBodyKey]
		a.body = &body
	}
	return a
}

func (c *compiler) action(ra *RuleAction) action {
	switch {
	case ra.Block != nil:
		return c.block(ra.Block)
	case ra.Allow != nil:
		a := action{kind: actAllow}
		if ra.Allow.CustomRequestHandling != nil {
			a.headers = ra.Allow.CustomRequestHandling.InsertHeaders
		}
		return a
	}
	a := action{kind: actCount}
	if ra.Count != nil && ra.Count.CustomRequestHandling != nil {
		a.headers = ra.Count.CustomRequestHandling.InsertHeaders
	}
	return a
}

func (c *compiler) rule(r *Rule, path string) *crule {
	cr := &crule{name: r.Name, typ: "REGULAR"}
	for _, l := range r.RuleLabels {
		cr.labels = append(cr.labels, c.ns+l.Name)
	}
	if r.Action != nil {
		cr.act = c.action(r.Action)
	}
	s := &r.Statement
	sp := path + ".Statement"
	switch {
	case s.RateBasedStatement != nil:
		rb := s.RateBasedStatement
		cr.typ = "RATE_BASED"
		win := time.Duration(rb.EvaluationWindowSec) * time.Second
		if win == 0 {
			win = 300 * time.Second
		}
		rr := &rateRule{id: c.rateRuleID(r.Name), limit: rb.Limit, window: win, keyType: rb.AggregateKeyType, fwd: rb.ForwardedIPConfig}
		for _, k := range rb.CustomKeys {
			rr.keys = append(rr.keys, compileKey(k))
		}
		if rb.ScopeDownStatement != nil {
			rr.scope = c.statement(rb.ScopeDownStatement, sp+".RateBasedStatement.ScopeDownStatement")
		}
		if c.opts.Counter != nil {
			def, _ := json.Marshal(rb)
			rr.counter = c.opts.Counter(RateRule{Name: c.prefix + r.Name, Definition: def, Window: win, Limit: rb.Limit})
		} else {
			rr.counter = ratelimit.NewMemory(win, rb.Limit, c.opts.MaxKeys)
		}
		cr.rate = rr
	case s.ManagedRuleGroupStatement != nil:
		m := s.ManagedRuleGroupStatement
		g := managedGroups[managedKey(m.VendorName, m.Name)]
		cr.typ = "MANAGED_RULE_GROUP"
		cr.groupID = m.VendorName + "#" + m.Name
		mr := &managedRule{group: g, set: &bart.Lite{}}
		prefixes := c.opts.IPReputation
		if g.ipSet == anonymousIP {
			prefixes = c.opts.AnonymousIP
		}
		if prefixes == nil {
			flag := "ip-reputation"
			if g.ipSet == anonymousIP {
				flag = "anonymous-ip"
			}
			c.errorf(sp+".ManagedRuleGroupStatement", "managed group %s/%s needs its IP list, and none was given (a file of CIDRs: --%s on lockgate's command line, waf.%s_file in its configuration, Options.%s in Go)",
				m.VendorName, m.Name, flag, strings.ReplaceAll(flag, "-", "_"), g.ipSet)
		}
		for _, p := range prefixes {
			mr.set.Insert(p.Masked())
		}
		for _, x := range m.ExcludedRules {
			if x.Name == g.rule {
				mr.override, mr.excluded = &action{kind: actCount}, true
			}
		}
		for _, o := range m.RuleActionOverrides {
			if o.Name == g.rule {
				a := c.action(&o.ActionToUse)
				mr.override = &a
			}
		}
		if r.OverrideAction != nil && r.OverrideAction.Count != nil {
			mr.override = &action{kind: actCount} // the whole group counts
		}
		if m.ScopeDownStatement != nil {
			mr.scope = c.statement(m.ScopeDownStatement, sp+".ManagedRuleGroupStatement.ScopeDownStatement")
		}
		cr.managed = mr
	case s.RuleGroupReferenceStatement != nil:
		cr.typ = "GROUP"
		cr.groupID = s.RuleGroupReferenceStatement.ARN
		cr.group = c.ruleGroup(r, s.RuleGroupReferenceStatement, sp+".RuleGroupReferenceStatement")
	default:
		cr.stmt = c.statement(s, sp)
	}
	return cr
}

func (c *compiler) ruleGroup(r *Rule, ref *RuleGroupReferenceStatement, path string) *groupRule {
	g := &groupRule{overrides: map[string]action{}, excluded: map[string]bool{}, count: r.OverrideAction != nil && r.OverrideAction.Count != nil}
	if c.prefix != "" {
		c.errorf(path, "a rule group cannot reference another rule group")
		return g
	}
	rg, ok := c.opts.RuleGroups[ref.ARN]
	if !ok {
		c.errorf(path+".ARN", "no rule group %q is defined (in the configuration or a file)", ref.ARN)
		return g
	}
	names := map[string]bool{}
	for _, gr := range rg.Rules {
		names[gr.Name] = true
	}
	for i, x := range ref.ExcludedRules {
		if !names[x.Name] {
			c.errorf(fmt.Sprintf("%s.ExcludedRules[%d].Name", path, i), "rule group %q has no rule %q", rg.Name, x.Name)
		}
		g.overrides[x.Name] = action{kind: actCount}
		g.excluded[x.Name] = true
	}
	saved := *c
	account := c.account // a group's labels carry its own account
	if parts := strings.Split(ref.ARN, ":"); len(parts) > 4 && parts[4] != "" {
		account = parts[4]
	}
	c.ns = "awswaf:" + account + ":rulegroup:" + rg.Name + ":"
	if rg.LabelNamespace != "" {
		c.ns = rg.LabelNamespace
	}
	c.bodies, c.prefix = rg.CustomResponseBodies, rg.Name+"/"
	for i, o := range ref.RuleActionOverrides {
		if !names[o.Name] {
			c.errorf(fmt.Sprintf("%s.RuleActionOverrides[%d].Name", path, i), "rule group %q has no rule %q", rg.Name, o.Name)
		}
		g.overrides[o.Name] = c.action(&o.ActionToUse)
	}
	rules := append([]Rule(nil), rg.Rules...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
	for i := range rules {
		g.rules = append(g.rules, c.rule(&rules[i], fmt.Sprintf("RuleGroup %s.Rules[%d]", rg.Name, i)))
	}
	c.ns, c.bodies, c.prefix = saved.ns, saved.bodies, saved.prefix
	return g
}

// --- statements ---

func (c *compiler) statement(s *Statement, path string) matcher {
	switch {
	case s.ByteMatchStatement != nil:
		b := s.ByteMatchStatement
		return &byteMatch{field: c.field(&b.FieldToMatch, path+".ByteMatchStatement.FieldToMatch"), tt: types(b.TextTransformations),
			search: b.SearchString, pos: b.PositionalConstraint}
	case s.RegexMatchStatement != nil:
		r := s.RegexMatchStatement
		return &regexMatch{field: c.field(&r.FieldToMatch, path+".RegexMatchStatement.FieldToMatch"), tt: types(r.TextTransformations), re: regexp.MustCompile(r.RegexString)}
	case s.RegexPatternSetReferenceStatement != nil:
		r := s.RegexPatternSetReferenceStatement
		patterns, ok := c.opts.RegexSets[r.ARN]
		if !ok {
			c.errorf(path+".RegexPatternSetReferenceStatement.ARN", "no regex pattern set %q is defined (in the configuration or a file)", r.ARN)
		}
		m := &regexSetMatch{field: c.field(&r.FieldToMatch, path+".RegexPatternSetReferenceStatement.FieldToMatch"), tt: types(r.TextTransformations)}
		for i, p := range patterns {
			re, err := regexp.Compile(p)
			if err != nil {
				c.errorf(path+".RegexPatternSetReferenceStatement.ARN", "pattern %d of %q is not a regular expression lockgate can run (RE2): %v", i, r.ARN, err)
				continue
			}
			m.res = append(m.res, re)
		}
		return m
	case s.SqliMatchStatement != nil:
		q := s.SqliMatchStatement
		return &sqliMatch{field: c.field(&q.FieldToMatch, path+".SqliMatchStatement.FieldToMatch"), tt: types(q.TextTransformations), high: q.SensitivityLevel == "HIGH", level: q.SensitivityLevel}
	case s.XssMatchStatement != nil:
		x := s.XssMatchStatement
		return &xssMatch{field: c.field(&x.FieldToMatch, path+".XssMatchStatement.FieldToMatch"), tt: types(x.TextTransformations)}
	case s.SizeConstraintStatement != nil:
		z := s.SizeConstraintStatement
		return &sizeMatch{field: c.field(&z.FieldToMatch, path+".SizeConstraintStatement.FieldToMatch"), tt: types(z.TextTransformations), op: z.ComparisonOperator, size: z.Size}
	case s.GeoMatchStatement != nil:
		g := s.GeoMatchStatement
		if c.opts.Geo == nil {
			c.errorf(path+".GeoMatchStatement", "GeoMatch needs a geolocation database (Options.Geo)")
		}
		return newGeoMatch(g, c.opts.Geo)
	case s.IPSetReferenceStatement != nil:
		r := s.IPSetReferenceStatement
		prefixes, ok := c.opts.IPSets[r.ARN]
		if !ok {
			c.errorf(path+".IPSetReferenceStatement.ARN", "no IP set %q is defined (in the configuration or a file)", r.ARN)
		}
		set := &bart.Lite{}
		for _, p := range prefixes {
			set.Insert(p.Masked())
		}
		return &ipSetMatch{set: set, fwd: r.IPSetForwardedIPConfig}
	case s.LabelMatchStatement != nil:
		k := s.LabelMatchStatement.Key
		return &labelMatch{scope: s.LabelMatchStatement.Scope, key: k, ctx: c.ns, qualified: strings.HasPrefix(k, "awswaf:")}
	case s.AndStatement != nil, s.OrStatement != nil:
		cs := s.AndStatement
		name := "AndStatement"
		if cs == nil {
			cs, name = s.OrStatement, "OrStatement"
		}
		m := &compound{and: name == "AndStatement"}
		for i := range cs.Statements {
			m.parts = append(m.parts, c.statement(&cs.Statements[i], fmt.Sprintf("%s.%s.Statements[%d]", path, name, i)))
		}
		return m
	case s.NotStatement != nil:
		return &notMatch{inner: c.statement(&s.NotStatement.Statement, path+".NotStatement.Statement")}
	}
	c.errorf(path, "statement not implemented")
	return never{}
}

type never struct{}

func (never) match(*evalState) bool { return false }

func types(ts []TextTransformation) []transform.Func {
	var out []transform.Func
	for _, t := range ts {
		if t.Type != "NONE" {
			out = append(out, transform.Get(t.Type))
		}
	}
	return out
}

// stringBytes gives a string's bytes in the evaluation's scratch buffer
// (no allocation once the buffer has grown).
func stringBytes(st *evalState, s string) []byte {
	st.buf = append(st.buf[:0], s...)
	return st.buf
}

func applyAll(b []byte, fns []transform.Func) []byte {
	for _, f := range fns {
		b = f(b)
	}
	return b
}

// rateRuleID is a rate-based rule's rateBasedRuleId. AWS's is an internal
// identifier; lockgate's is a UUID (version 8, RFC 9562) made from the web
// ACL's ARN, or its name, and the rule's name (a rule group's rules
// prefixed with the group's name), so that it is stable across restarts
// and the same in the gateway and in lockgate waf test.
func (c *compiler) rateRuleID(rule string) string {
	id := c.acl.ARN
	if id == "" {
		id = c.acl.Name
	}
	sum := sha256.Sum256([]byte(id + "\x00" + c.prefix + rule))
	sum[6] = sum[6]&0x0f | 0x80
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
