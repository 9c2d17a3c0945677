package waf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/corazawaf/libinjection-go"
	"github.com/gaissmai/bart"

	"github.com/lockgate/lockgate/waf/ratelimit"
	"github.com/lockgate/lockgate/waf/transform"
)

// Request is the part of an HTTP request a web ACL inspects.
type Request struct {
	// ClientIP is the connection's address (or the client behind a
	// trusted proxy, as the caller decides).
	ClientIP netip.Addr
	Method   string
	// URI is the path as received (not decoded), without the query.
	URI string
	// Query is the raw query string, without '?'.
	Query    string
	Fragment string
	// Headers in the order received.
	Headers []Header
	// Body holds at most the inspection limit; BodySize is the whole
	// body's length.
	Body     []byte
	BodySize int64

	names []string // FillRequest's scratch
}

// cookie returns a cookie's value (names compared with case).
func (r *Request) cookie(name string) (string, bool) {
	for _, h := range r.Headers {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		for part := range strings.SplitSeq(h.Value, ";") {
			n, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if n == name {
				return v, true
			}
		}
	}
	return "", false
}

// queryArg returns the first value of a query argument (names compared
// without case, as AWS WAF does).
func (r *Request) queryArg(name string) (string, bool) {
	for q := r.Query; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		n, v, _ := strings.Cut(pair, "=")
		if strings.EqualFold(n, name) {
			return v, true
		}
	}
	return "", false
}

// Header is one request header.
type Header struct{ Name, Value string }

// header returns the first value of a header, names compared without case.
func (r *Request) header(name string) (string, bool) {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// Options configure an Engine.
type Options struct {
	// Country maps an IP to its ISO 3166 alpha-2 code ("" unknown). GeoMatch
	// needs it.
	Country func(netip.Addr) string
	// IPSets holds the addresses of IP sets, by ARN (IPSetReference) or by
	// name ("ip-reputation" and "anonymous-ip" back lockgate's managed
	// groups).
	IPSets map[string][]netip.Prefix
	// RegexSets holds the patterns of regex pattern sets, by ARN.
	RegexSets map[string][]string
	// RuleGroups holds the rule groups RuleGroupReferenceStatements name,
	// by ARN.
	RuleGroups map[string]*RuleGroup
	// Counter makes the counter of a rate-based rule; in-memory when nil.
	Counter func(rule string, window time.Duration, limit int64) ratelimit.Counter
	// RuleCounter, when set, is used instead of Counter and also gets the
	// rule's definition (its statement as JSON, rule group rules prefixed
	// with the group's name): a caller reloading a web ACL can keep the
	// counters of rules whose definition did not change.
	RuleCounter func(rule string, definition []byte, window time.Duration, limit int64) ratelimit.Counter
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
}

// BodyLimit is how many bytes of a body the engine inspects.
func (e *Engine) BodyLimit() int { return e.bodyLimit }

// InspectsBody reports whether some rule inspects the body: callers need
// not read it otherwise.
func (e *Engine) InspectsBody() bool { return e.needsBody }

type actionKind uint8

const (
	actAllow actionKind = iota + 1
	actBlock
	actCount
)

func (a actionKind) String() string {
	switch a {
	case actAllow:
		return "ALLOW"
	case actBlock:
		return "BLOCK"
	}
	return "COUNT"
}

type action struct {
	kind    actionKind
	headers []CustomHTTPHeader // Allow and Count insert these (x-amzn-waf- prefixed)
	resp    *CustomResponse
	body    *CustomResponseBody
}

// crule is a compiled rule.
type crule struct {
	name    string
	typ     string // REGULAR, RATE_BASED, MANAGED_RULE_GROUP
	act     action
	labels  []string
	stmt    matcher
	rate    *rateRule
	managed *managedRule
	group   *groupRule
}

// groupRule is a RuleGroupReferenceStatement: the group's rules compiled
// in its own label namespace, with the reference's overrides.
type groupRule struct {
	rules     []*crule
	overrides map[string]action // RuleActionOverrides and ExcludedRules (Count)
	count     bool              // OverrideAction Count
}

type rateRule struct {
	limit   int64
	window  time.Duration
	keyType string
	fwd     *ForwardedIPConfig
	scope   matcher
	counter ratelimit.Counter
	keys    []customKey // CUSTOM_KEYS
}

type managedRule struct {
	group    managedGroup
	set      *bart.Lite
	override *action // OverrideAction Count, or the rule's RuleActionOverride
	scope    matcher
}

// evalState is one evaluation's scratch.
type evalState struct {
	ctx    context.Context
	req    *Request
	eng    *Engine
	now    time.Time
	labels *[]string
	buf    []byte
	keyBuf []byte
	trace  *[]TraceStep
	count  int64 // a rate-based rule's count for the trace; -1 when none
}

// release drops the references to the request once evaluated.
func (st *evalState) release() { st.ctx, st.req, st.trace = nil, nil, nil }

// TraceStep is what one rule made of a request.
type TraceStep struct {
	Rule    string `json:"rule"`
	Type    string `json:"type"`
	Matched bool   `json:"matched"`
	// Action is the rule's action when it matched (COUNT continues).
	Action string `json:"action,omitempty"`
	// Count and Limit are a rate-based rule's count over the window
	// (this request included) and its limit, when it counted the request.
	Count int64 `json:"count,omitempty"`
	Limit int64 `json:"limit,omitempty"`
}

// EvaluateTrace is Evaluate that also reports each rule it ran, in order.
func (e *Engine) EvaluateTrace(ctx context.Context, req *Request) (Decision, []TraceStep) {
	var d Decision
	var trace []TraceStep
	d.st.trace = &trace
	e.EvaluateInto(ctx, req, &d)
	return d, trace
}

type matcher interface {
	match(st *evalState) bool
}

func (st *evalState) addLabel(l string) {
	for _, x := range *st.labels {
		if x == l {
			return
		}
	}
	*st.labels = append(*st.labels, l)
}

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
		rr := &rateRule{limit: rb.Limit, window: win, keyType: rb.AggregateKeyType, fwd: rb.ForwardedIPConfig}
		for _, k := range rb.CustomKeys {
			rr.keys = append(rr.keys, compileKey(k))
		}
		if rb.ScopeDownStatement != nil {
			rr.scope = c.statement(rb.ScopeDownStatement, sp+".RateBasedStatement.ScopeDownStatement")
		}
		if c.opts.RuleCounter != nil {
			def, _ := json.Marshal(rb)
			rr.counter = c.opts.RuleCounter(c.prefix+r.Name, def, win, rb.Limit)
		} else if c.opts.Counter != nil {
			rr.counter = c.opts.Counter(c.prefix+r.Name, win, rb.Limit)
		} else {
			rr.counter = ratelimit.NewMemory(win, rb.Limit, c.opts.MaxKeys)
		}
		cr.rate = rr
	case s.ManagedRuleGroupStatement != nil:
		m := s.ManagedRuleGroupStatement
		g := managedGroups[managedKey(m.VendorName, m.Name)]
		cr.typ = "MANAGED_RULE_GROUP"
		mr := &managedRule{group: g, set: &bart.Lite{}}
		prefixes, ok := c.opts.IPSets[g.ipSet]
		if !ok {
			c.errorf(sp+".ManagedRuleGroupStatement", "managed group %s/%s needs the %q IP set (a file of CIDRs)", m.VendorName, m.Name, g.ipSet)
		}
		for _, p := range prefixes {
			mr.set.Insert(p.Masked())
		}
		for _, x := range m.ExcludedRules {
			if x.Name == g.rule {
				mr.override = &action{kind: actCount}
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
		cr.group = c.ruleGroup(r, s.RuleGroupReferenceStatement, sp+".RuleGroupReferenceStatement")
	default:
		cr.stmt = c.statement(s, sp)
	}
	return cr
}

func (c *compiler) ruleGroup(r *Rule, ref *RuleGroupReferenceStatement, path string) *groupRule {
	g := &groupRule{overrides: map[string]action{}, count: r.OverrideAction != nil && r.OverrideAction.Count != nil}
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

// evalGroup runs a rule group's rules. Count matches are recorded in the
// group's entry; the first Allow or Block ends the group and, unless the
// reference overrides it to Count, the web ACL's evaluation.
func (e *Engine) evalGroup(st *evalState, r *crule, d *Decision) (action, bool) {
	g := r.group
	entry := -1
	record := func(m RuleMatch, terminating bool) {
		if entry < 0 {
			d.RuleGroups = append(d.RuleGroups, GroupMatch{RuleGroupID: r.name})
			entry = len(d.RuleGroups) - 1
		}
		if terminating {
			d.RuleGroups[entry].TerminatingRule = &m
		} else {
			d.RuleGroups[entry].NonTerminating = append(d.RuleGroups[entry].NonTerminating, m)
		}
	}
	for _, gr := range g.rules {
		act, matched := e.evalRule(st, gr, d)
		if !matched {
			continue
		}
		if o, ok := g.overrides[gr.name]; ok {
			act = o
		}
		for _, l := range gr.labels {
			st.addLabel(l)
		}
		if act.kind == actCount {
			record(RuleMatch{RuleID: gr.name, Action: "COUNT"}, false)
			d.InsertHeaders = append(d.InsertHeaders, act.headers...)
			continue
		}
		record(RuleMatch{RuleID: gr.name, Action: act.kind.String()}, true)
		if g.count {
			return action{kind: actCount}, true
		}
		return act, true
	}
	return action{}, false
}

// Evaluate decides a request.
func (e *Engine) Evaluate(ctx context.Context, req *Request) Decision {
	var d Decision
	e.EvaluateInto(ctx, req, &d)
	return d
}

// EvaluateInto is Evaluate reusing d's storage: for an allowed request
// that no rule matches it does not allocate.
func (e *Engine) EvaluateInto(ctx context.Context, req *Request, d *Decision) {
	d.reset()
	st := &d.st
	st.ctx, st.req, st.eng, st.now, st.labels = ctx, req, e, e.now(), &d.Labels
	defer st.release()
	for _, r := range e.rules {
		st.count = -1
		act, matched := e.evalRule(st, r, d)
		if st.trace != nil {
			step := TraceStep{Rule: r.name, Type: r.typ, Matched: matched}
			if r.rate != nil && st.count >= 0 {
				step.Count, step.Limit = st.count, r.rate.limit
			}
			if matched {
				step.Action = act.kind.String()
			}
			*st.trace = append(*st.trace, step)
		}
		if !matched {
			continue
		}
		for _, l := range r.labels {
			st.addLabel(l)
		}
		switch act.kind {
		case actCount:
			d.NonTerminating = append(d.NonTerminating, RuleMatch{RuleID: r.name, Action: "COUNT"})
			d.InsertHeaders = append(d.InsertHeaders, act.headers...)
		default:
			d.terminate(r.name, r.typ, act)
			return
		}
	}
	d.terminate("Default_Action", "REGULAR", e.defaultAct)
}

func (e *Engine) evalRule(st *evalState, r *crule, d *Decision) (action, bool) {
	switch {
	case r.rate != nil:
		return r.act, e.evalRate(st, r, d)
	case r.managed != nil:
		m := r.managed
		if m.scope != nil && !m.scope.match(st) {
			return action{}, false
		}
		if !m.set.Lookup(st.req.ClientIP) {
			return action{}, false
		}
		st.addLabel(m.group.label)
		act := action{kind: actBlock}
		if m.override != nil {
			act = *m.override
		}
		d.RuleGroups = append(d.RuleGroups, GroupMatch{RuleGroupID: r.name, TerminatingRule: &RuleMatch{RuleID: m.group.rule, Action: act.kind.String()}})
		return act, true
	case r.group != nil:
		return e.evalGroup(st, r, d)
	}
	return r.act, r.stmt.match(st)
}

// evalRate counts the request under its aggregation key (when it matches
// the scope-down and has every key component) and reports whether the
// key is over the limit.
func (e *Engine) evalRate(st *evalState, r *crule, d *Decision) bool {
	rr := r.rate
	if rr.scope != nil && !rr.scope.match(st) {
		return false
	}
	var key ratelimit.Key
	limitKey := rr.keyType
	switch rr.keyType {
	case "IP":
		key.IP = st.req.ClientIP
	case "FORWARDED_IP":
		v, ok := st.req.header(rr.fwd.HeaderName)
		if !ok {
			return false // header absent: the rule does not apply
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(strings.Split(v, ",")[0]))
		if err != nil {
			if rr.fwd.FallbackBehavior == "MATCH" {
				d.RateBased = append(d.RateBased, RateBasedMatch{RuleName: r.name, LimitKey: limitKey, LimitValue: "INVALID", MaxRateAllowed: rr.limit, EvaluationWindowSec: int64(rr.window / time.Second)})
				return true
			}
			return false
		}
		key.IP = ip.Unmap()
	case "CONSTANT":
		key.Text = "CONSTANT"
	case "CUSTOM_KEYS":
		limitKey = "CUSTOMKEYS"
		buf := st.keyBuf[:0]
		for i := range rr.keys {
			v, ok := rr.keys[i].value(st, rr.fwd)
			if !ok {
				return false // a component is missing: neither counted nor limited
			}
			buf = append(append(buf, v...), 0x1f)
		}
		st.keyBuf = buf
		key.Text = string(buf)
	}
	n, err := rr.counter.Hit(st.ctx, key, st.now)
	st.count = n
	if err != nil || n <= rr.limit {
		return false
	}
	m := RateBasedMatch{RuleName: r.name, LimitKey: limitKey, LimitValue: key.String(), MaxRateAllowed: rr.limit, EvaluationWindowSec: int64(rr.window / time.Second)}
	if rr.keys != nil {
		m.LimitValue = ""
		for i := range rr.keys {
			v, _ := rr.keys[i].value(st, rr.fwd)
			m.CustomValues = append(m.CustomValues, CustomValue{Key: rr.keys[i].logKey, Name: rr.keys[i].name, Value: string(v)})
		}
	}
	d.RateBased = append(d.RateBased, m)
	return true
}

// customKey is one component of a CUSTOM_KEYS aggregation key.
type customKey struct {
	kind   string // Header, Cookie, QueryArgument, QueryString, UriPath, HTTPMethod, IP, ForwardedIP, LabelNamespace
	logKey string // as AWS WAF logs it: HEADER, COOKIE, …
	name   string // header, cookie or argument name; label namespace
	tt     []transform.Func
}

func compileKey(k RateBasedKey) customKey {
	switch {
	case k.Header != nil:
		return customKey{kind: "Header", logKey: "HEADER", name: k.Header.Name, tt: types(k.Header.TextTransformations)}
	case k.Cookie != nil:
		return customKey{kind: "Cookie", logKey: "COOKIE", name: k.Cookie.Name, tt: types(k.Cookie.TextTransformations)}
	case k.QueryArgument != nil:
		return customKey{kind: "QueryArgument", logKey: "QUERY_ARGUMENT", name: k.QueryArgument.Name, tt: types(k.QueryArgument.TextTransformations)}
	case k.QueryString != nil:
		return customKey{kind: "QueryString", logKey: "QUERY_STRING", tt: types(k.QueryString.TextTransformations)}
	case k.UriPath != nil:
		return customKey{kind: "UriPath", logKey: "URIPATH", tt: types(k.UriPath.TextTransformations)}
	case k.HTTPMethod != nil:
		return customKey{kind: "HTTPMethod", logKey: "HTTP_METHOD"}
	case k.IP != nil:
		return customKey{kind: "IP", logKey: "IP"}
	case k.ForwardedIP != nil:
		return customKey{kind: "ForwardedIP", logKey: "FORWARDED_IP"}
	case k.LabelNamespace != nil:
		return customKey{kind: "LabelNamespace", logKey: "LABEL_NAMESPACE", name: k.LabelNamespace.Namespace}
	}
	return customKey{} // refused at load
}

// value is the key component's value for the request; ok is false when
// the request lacks it.
func (k *customKey) value(st *evalState, fwd *ForwardedIPConfig) (v []byte, ok bool) {
	req := st.req
	text := func(s string) ([]byte, bool) { return applyAll([]byte(s), k.tt), true }
	switch k.kind {
	case "Header":
		if h, found := req.header(k.name); found {
			return text(h)
		}
	case "Cookie":
		if c, found := req.cookie(k.name); found {
			return text(c)
		}
	case "QueryArgument":
		if a, found := req.queryArg(k.name); found {
			return text(a)
		}
	case "QueryString":
		if req.Query != "" {
			return text(req.Query)
		}
	case "UriPath":
		return text(req.URI)
	case "HTTPMethod":
		return []byte(req.Method), true
	case "IP":
		return req.ClientIP.AppendTo(nil), true
	case "ForwardedIP":
		ip, present, invalid := clientIP(st, fwd)
		if present && !invalid {
			return ip.AppendTo(nil), true
		}
	case "LabelNamespace":
		var out []byte
		for _, l := range *st.labels {
			if i := strings.Index(l, k.name); i >= 0 && (i == 0 || l[i-1] == ':') {
				if out != nil {
					out = append(out, ',')
				}
				out = append(out, l[i+len(k.name):]...)
			}
		}
		return out, out != nil
	}
	return nil, false
}

// Limited lists the keys a rate-based rule is limiting now, as
// GetRateBasedStatementManagedKeys does.
func (e *Engine) Limited(ctx context.Context, rule string) ([]ratelimit.KeyCount, error) {
	for _, r := range e.rules {
		if r.name == rule && r.rate != nil {
			return r.rate.counter.Limited(ctx, e.now())
		}
	}
	return nil, fmt.Errorf("waf: no rate-based rule %q", rule)
}

// --- statements ---

func (c *compiler) statement(s *Statement, path string) matcher {
	switch {
	case s.ByteMatchStatement != nil:
		b := s.ByteMatchStatement
		return &byteMatch{field: c.field(&b.FieldToMatch, path+".ByteMatchStatement.FieldToMatch"), tt: types(b.TextTransformations),
			search: []byte(b.SearchString), pos: b.PositionalConstraint}
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
		return &sqliMatch{field: c.field(&q.FieldToMatch, path+".SqliMatchStatement.FieldToMatch"), tt: types(q.TextTransformations), high: q.SensitivityLevel == "HIGH"}
	case s.XssMatchStatement != nil:
		x := s.XssMatchStatement
		return &xssMatch{field: c.field(&x.FieldToMatch, path+".XssMatchStatement.FieldToMatch"), tt: types(x.TextTransformations)}
	case s.SizeConstraintStatement != nil:
		z := s.SizeConstraintStatement
		return &sizeMatch{field: c.field(&z.FieldToMatch, path+".SizeConstraintStatement.FieldToMatch"), tt: types(z.TextTransformations), op: z.ComparisonOperator, size: z.Size}
	case s.GeoMatchStatement != nil:
		g := s.GeoMatchStatement
		if c.opts.Country == nil {
			c.errorf(path+".GeoMatchStatement", "GeoMatch needs a country lookup (Options.Country)")
		}
		return &geoMatch{countries: g.CountryCodes, fwd: g.ForwardedIPConfig, country: c.opts.Country}
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
		return &labelMatch{scope: s.LabelMatchStatement.Scope, key: s.LabelMatchStatement.Key}
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

type byteMatch struct {
	field  *field
	tt     []transform.Func
	search []byte
	pos    string
}

func (m *byteMatch) match(st *evalState) bool {
	r := m.field.each(st, func(v []byte) bool {
		v = applyAll(v, m.tt)
		switch m.pos {
		case "EXACTLY":
			return bytes.Equal(v, m.search)
		case "STARTS_WITH":
			return bytes.HasPrefix(v, m.search)
		case "ENDS_WITH":
			return bytes.HasSuffix(v, m.search)
		case "CONTAINS":
			return bytes.Contains(v, m.search)
		case "CONTAINS_WORD":
			return containsWord(v, m.search)
		}
		return false
	})
	return r
}

// containsWord: the search string appears with no letter, digit or
// underscore on either side.
func containsWord(v, w []byte) bool {
	isWord := func(c byte) bool {
		return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	for i := 0; ; {
		j := bytes.Index(v[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isWord(v[start-1])) && (end == len(v) || !isWord(v[end])) {
			return true
		}
		i = start + 1
	}
}

type regexMatch struct {
	field *field
	tt    []transform.Func
	re    *regexp.Regexp
}

func (m *regexMatch) match(st *evalState) bool {
	r := m.field.each(st, func(v []byte) bool { return m.re.Match(applyAll(v, m.tt)) })
	return r
}

type regexSetMatch struct {
	field *field
	tt    []transform.Func
	res   []*regexp.Regexp
}

func (m *regexSetMatch) match(st *evalState) bool {
	return m.field.each(st, func(v []byte) bool {
		v = applyAll(v, m.tt)
		for _, re := range m.res {
			if re.Match(v) {
				return true
			}
		}
		return false
	})
}

// sqliMatch detects SQL injection with libinjection's tokenizer and
// fingerprints. HIGH sensitivity also inspects the value with comments
// replaced and URL-decoded, catching obfuscated payloads at the price of
// more false positives, as AWS's HIGH level does.
type sqliMatch struct {
	field *field
	tt    []transform.Func
	high  bool
}

var highSQLi = []transform.Func{transform.Get("URL_DECODE"), transform.Get("REPLACE_COMMENTS")}

func (m *sqliMatch) match(st *evalState) bool {
	return m.field.each(st, func(v []byte) bool {
		v = applyAll(v, m.tt)
		if ok, _ := libinjection.IsSQLi(string(v)); ok {
			return true
		}
		if m.high {
			ok, _ := libinjection.IsSQLi(string(applyAll(v, highSQLi)))
			return ok
		}
		return false
	})
}

type xssMatch struct {
	field *field
	tt    []transform.Func
}

func (m *xssMatch) match(st *evalState) bool {
	return m.field.each(st, func(v []byte) bool { return libinjection.IsXSS(string(applyAll(v, m.tt))) })
}

type sizeMatch struct {
	field *field
	tt    []transform.Func
	op    string
	size  int64
}

func (m *sizeMatch) match(st *evalState) bool {
	// Oversize handling's verdict comes back as r too.
	r := m.field.each(st, func(v []byte) bool {
		n := int64(len(applyAll(v, m.tt)))
		if m.field.kind == "Body" && st.req.BodySize > n && len(m.tt) == 0 {
			n = st.req.BodySize
		}
		switch m.op {
		case "EQ":
			return n == m.size
		case "NE":
			return n != m.size
		case "LE":
			return n <= m.size
		case "LT":
			return n < m.size
		case "GE":
			return n >= m.size
		case "GT":
			return n > m.size
		}
		return false
	})
	return r
}

// clientIP is the address a statement inspects: the connection's, or the
// first address of a forwarded header. present is false when the header
// is missing (the statement does not match); invalid when it holds no IP.
func clientIP(st *evalState, fwd *ForwardedIPConfig) (ip netip.Addr, present, invalid bool) {
	if fwd == nil {
		return st.req.ClientIP, true, false
	}
	v, ok := st.req.header(fwd.HeaderName)
	if !ok {
		return netip.Addr{}, false, false
	}
	first, _, _ := strings.Cut(v, ",")
	a, err := netip.ParseAddr(strings.TrimSpace(first))
	if err != nil {
		return netip.Addr{}, true, true
	}
	return a.Unmap(), true, false
}

type geoMatch struct {
	countries []string
	fwd       *ForwardedIPConfig
	country   func(netip.Addr) string
}

func (m *geoMatch) match(st *evalState) bool {
	ip, present, invalid := clientIP(st, m.fwd)
	if !present {
		return false
	}
	if invalid {
		return m.fwd.FallbackBehavior == "MATCH"
	}
	cc := ""
	if m.country != nil {
		cc = m.country(ip)
	}
	if cc != "" {
		source := "clientip"
		if m.fwd != nil {
			source = "forwardedip"
		}
		st.addLabel("awswaf:" + source + ":geo:country:" + cc)
	}
	for _, c := range m.countries {
		if c == cc {
			return true
		}
	}
	return false
}

type ipSetMatch struct {
	set *bart.Lite
	fwd *IPSetForwardedIPConfig
}

func (m *ipSetMatch) match(st *evalState) bool {
	if m.fwd == nil {
		return m.set.Lookup(st.req.ClientIP)
	}
	v, ok := st.req.header(m.fwd.HeaderName)
	if !ok {
		return false
	}
	ips := strings.Split(v, ",")
	switch m.fwd.Position {
	case "FIRST":
		ips = ips[:1]
	case "LAST":
		ips = ips[len(ips)-1:]
	default: // ANY: at most the last 10
		if len(ips) > 10 {
			ips = ips[len(ips)-10:]
		}
	}
	valid := false
	for _, s := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		valid = true
		if m.set.Lookup(a.Unmap()) {
			return true
		}
	}
	if !valid {
		return m.fwd.FallbackBehavior == "MATCH"
	}
	return false
}

type labelMatch struct {
	scope, key string
}

func (m *labelMatch) match(st *evalState) bool {
	for _, l := range *st.labels {
		if m.scope == "NAMESPACE" {
			ns := l[:strings.LastIndexByte(l, ':')+1]
			if ns == m.key || strings.HasSuffix(ns, ":"+m.key) {
				return true
			}
			continue
		}
		if l == m.key || strings.HasSuffix(l, ":"+m.key) {
			return true
		}
	}
	return false
}

type compound struct {
	and   bool
	parts []matcher
}

func (m *compound) match(st *evalState) bool {
	for _, p := range m.parts {
		if p.match(st) != m.and {
			return !m.and
		}
	}
	return m.and
}

type notMatch struct{ inner matcher }

func (m *notMatch) match(st *evalState) bool { return !m.inner.match(st) }
