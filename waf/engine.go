package waf

import (
	"bytes"
	"context"
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
	// Counter makes the counter of a rate-based rule; in-memory when nil.
	Counter func(rule string, window time.Duration, limit int64) ratelimit.Counter
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
}

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
}

type rateRule struct {
	limit   int64
	window  time.Duration
	keyType string
	fwd     *ForwardedIPConfig
	scope   matcher
	counter ratelimit.Counter
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
}

// release drops the references to the request once evaluated.
func (st *evalState) release() { st.ctx, st.req = nil, nil }

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
	c := compiler{e: e, opts: opts}
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
	opts Options
	errs Errors
}

func (c *compiler) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *compiler) defaultAction() action {
	d := c.e.acl.DefaultAction
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
		body := c.e.acl.CustomResponseBodies[b.CustomResponse.CustomResponseBodyKey]
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
		cr.labels = append(cr.labels, c.e.ns+l.Name)
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
		if rb.ScopeDownStatement != nil {
			rr.scope = c.statement(rb.ScopeDownStatement, sp+".RateBasedStatement.ScopeDownStatement")
		}
		if c.opts.Counter != nil {
			rr.counter = c.opts.Counter(r.Name, win, rb.Limit)
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
		if r.OverrideAction != nil && r.OverrideAction.Count != nil {
			mr.override = &action{kind: actCount}
		}
		for _, o := range m.RuleActionOverrides {
			if o.Name == g.rule {
				a := c.action(&o.ActionToUse)
				mr.override = &a
			}
		}
		if m.ScopeDownStatement != nil {
			mr.scope = c.statement(m.ScopeDownStatement, sp+".ManagedRuleGroupStatement.ScopeDownStatement")
		}
		cr.managed = mr
	default:
		cr.stmt = c.statement(s, sp)
	}
	return cr
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
		act, matched := e.evalRule(st, r, d)
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
		d.RuleGroups = append(d.RuleGroups, GroupMatch{RuleGroupID: r.name, TerminatingRule: m.group.rule})
		if m.override != nil {
			return *m.override, true
		}
		return action{kind: actBlock}, true
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
	}
	n, err := rr.counter.Hit(st.ctx, key, st.now)
	if err != nil || n <= rr.limit {
		return false
	}
	d.RateBased = append(d.RateBased, RateBasedMatch{RuleName: r.name, LimitKey: limitKey, LimitValue: key.String(), MaxRateAllowed: rr.limit, EvaluationWindowSec: int64(rr.window / time.Second)})
	return true
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

// field extracts the values of a request component; each is inspected
// on its own (AllQueryArguments has several). oversize reports a body
// over the inspection limit, for OversizeHandling.
type field struct {
	kind     string
	name     string // header or query argument name
	oversize string // OversizeHandling for Body
}

func (c *compiler) field(f *FieldToMatch, path string) *field {
	switch {
	case f.UriPath != nil:
		return &field{kind: "UriPath"}
	case f.QueryString != nil:
		return &field{kind: "QueryString"}
	case f.Method != nil:
		return &field{kind: "Method"}
	case f.AllQueryArguments != nil:
		return &field{kind: "AllQueryArguments"}
	case f.SingleHeader != nil:
		return &field{kind: "SingleHeader", name: f.SingleHeader.Name}
	case f.SingleQueryArgument != nil:
		return &field{kind: "SingleQueryArgument", name: f.SingleQueryArgument.Name}
	case f.Body != nil:
		return &field{kind: "Body", oversize: f.Body.OversizeHandling}
	case f.UriFragment != nil:
		return &field{kind: "UriFragment"}
	}
	c.errorf(path, "request component not implemented")
	return &field{kind: "none"}
}

// each calls fn with every value of the field until fn returns true. It
// returns the forced result of OversizeHandling when forced is set.
func (f *field) each(st *evalState, fn func([]byte) bool) (result, forced bool) {
	req := st.req
	switch f.kind {
	case "UriPath":
		return fn(stringBytes(st, req.URI)), false
	case "QueryString":
		return fn(stringBytes(st, req.Query)), false
	case "Method":
		return fn(stringBytes(st, req.Method)), false
	case "UriFragment":
		return fn(stringBytes(st, req.Fragment)), false
	case "SingleHeader":
		v, ok := req.header(f.name)
		if !ok {
			return false, false
		}
		return fn(stringBytes(st, v)), false
	case "SingleQueryArgument", "AllQueryArguments":
		q := req.Query
		for q != "" {
			var pair string
			pair, q, _ = strings.Cut(q, "&")
			name, value, _ := strings.Cut(pair, "=")
			if f.kind == "SingleQueryArgument" && !strings.EqualFold(name, f.name) {
				continue
			}
			if fn(stringBytes(st, value)) {
				return true, false
			}
		}
		return false, false
	case "Body":
		size := req.BodySize
		if size < int64(len(req.Body)) {
			size = int64(len(req.Body))
		}
		body := req.Body
		if size > int64(st.eng.bodyLimit) {
			switch f.oversize {
			case "MATCH":
				return true, true
			case "NO_MATCH":
				return false, true
			}
			if len(body) > st.eng.bodyLimit {
				body = body[:st.eng.bodyLimit]
			}
		}
		return fn(body), false
	}
	return false, false
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
	r, _ := m.field.each(st, func(v []byte) bool {
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
	r, _ := m.field.each(st, func(v []byte) bool { return m.re.Match(applyAll(v, m.tt)) })
	return r
}

type sizeMatch struct {
	field *field
	tt    []transform.Func
	op    string
	size  int64
}

func (m *sizeMatch) match(st *evalState) bool {
	// Oversize handling's verdict comes back as r too.
	r, _ := m.field.each(st, func(v []byte) bool {
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
