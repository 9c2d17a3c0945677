package waf

import (
	"context"
	"time"

	"github.com/gaissmai/bart"

	"github.com/lockgate/lockgate/waf/ratelimit"
)

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
	typ     string // REGULAR, RATE_BASED, GROUP, MANAGED_RULE_GROUP
	groupID string // a rule group's ARN, or VENDOR#NAME of a managed one
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
	excluded  map[string]bool   // ExcludedRules
	count     bool              // OverrideAction Count
}

type rateRule struct {
	id      string // rateBasedRuleId
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
	excluded bool    // the rule is in ExcludedRules
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
	json   jsonScratch // JsonBody's parser
	// details are what the SQLi and XSS statements of the rule being
	// evaluated found; oversize the inspected components over AWS's limits.
	details  []MatchDetail
	oversize oversize
	// unordered is set when a statement inspected HeaderOrder of a
	// request whose order is unknown: the rule blocks it.
	unordered bool
	trace     *[]TraceStep
	count     int64 // a rate-based rule's count for the trace; -1 when none
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

// evalGroup runs a rule group's rules. Count matches are recorded in the
// group's entry; the first Allow or Block ends the group and, unless the
// reference overrides it to Count, the web ACL's evaluation.
func (e *Engine) evalGroup(st *evalState, r *crule, d *Decision) (action, bool) {
	g := r.group
	entry := -1
	group := func() *GroupMatch {
		if entry < 0 {
			d.RuleGroups = append(d.RuleGroups, GroupMatch{RuleGroupID: r.groupID})
			entry = len(d.RuleGroups) - 1
		}
		return &d.RuleGroups[entry]
	}
	for _, gr := range g.rules {
		st.details = st.details[:0]
		act, matched := e.evalRule(st, gr, d)
		if st.unordered {
			group().TerminatingRule = &RuleMatch{RuleID: gr.name, Action: "BLOCK"}
			return unorderedBlock(gr), true
		}
		if !matched {
			continue
		}
		m := RuleMatch{RuleID: gr.name, Details: st.takeDetails()}
		if o, ok := g.overrides[gr.name]; ok {
			if o.kind != act.kind {
				m.OverriddenAction = act.kind.String()
			}
			act = o
		}
		for _, l := range gr.labels {
			st.addLabel(l)
		}
		m.Action = act.kind.String()
		if g.excluded[gr.name] {
			gm := group()
			gm.Excluded = append(gm.Excluded, gr.name)
			continue
		}
		if act.kind == actCount {
			gm := group()
			gm.NonTerminating = append(gm.NonTerminating, m)
			d.insert(act.headers)
			continue
		}
		group().TerminatingRule = &m
		if g.count {
			return action{kind: actCount}, true
		}
		st.details = append(st.details[:0], m.Details...) // the web ACL's terminatingRuleMatchDetails
		return act, true
	}
	return action{}, false
}

// takeDetails copies the match details found so far (nil when none).
func (st *evalState) takeDetails() []MatchDetail {
	if len(st.details) == 0 {
		return nil
	}
	return append([]MatchDetail(nil), st.details...)
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
	st.oversize = 0
	defer st.release()
	for _, r := range e.rules {
		st.count = -1
		st.details = st.details[:0]
		st.unordered = false
		act, matched := e.evalRule(st, r, d)
		if st.unordered {
			// Fail closed: whatever the rule would have made of the
			// order, it cannot be judged (Request.OrderUnknown).
			act, matched = unorderedBlock(r), true
			st.details = st.details[:0]
		}
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
		if !st.unordered {
			for _, l := range r.labels {
				st.addLabel(l)
			}
		}
		switch act.kind {
		case actCount:
			d.NonTerminating = append(d.NonTerminating, RuleMatch{RuleID: r.name, Action: "COUNT", Details: st.takeDetails()})
			d.insert(act.headers)
		default:
			d.terminate(r.name, r.typ, act)
			d.TerminatingDetails = append(d.TerminatingDetails, st.details...)
			return
		}
	}
	d.terminate("Default_Action", "REGULAR", e.defaultAct)
}

// unorderedBlock is the action of a rule that inspected the header
// order of a request whose order is unknown: its own Block (with its
// custom response) when it blocks, a plain Block otherwise.
func unorderedBlock(r *crule) action {
	if r.act.kind == actBlock {
		return r.act
	}
	return action{kind: actBlock}
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
		if ip := st.req.ClientIP; ip.IsValid() && !m.set.Lookup(ip) || !ip.IsValid() && !fallbackMatch(st, "", false) {
			return action{}, false
		}
		st.addLabel(m.group.label)
		act := action{kind: actBlock}
		if m.override != nil {
			act = *m.override
		}
		gm := GroupMatch{RuleGroupID: r.groupID}
		rm := RuleMatch{RuleID: m.group.rule, Action: act.kind.String()}
		if act.kind != actBlock {
			rm.OverriddenAction = "BLOCK"
		}
		switch {
		case m.excluded:
			gm.Excluded = []string{m.group.rule}
		case act.kind == actCount:
			gm.NonTerminating = []RuleMatch{rm}
		default:
			gm.TerminatingRule = &rm
		}
		d.RuleGroups = append(d.RuleGroups, gm)
		return act, true
	case r.group != nil:
		return e.evalGroup(st, r, d)
	}
	return r.act, r.stmt.match(st)
}

// evalRate counts the request under its aggregation key (when it matches
// the scope-down and has every key component) and reports whether the
// key is over the limit.
