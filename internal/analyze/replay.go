package analyze

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lockgate/lockgate/waf"
)

// ReplayOptions say how to replay logged traffic through a web ACL.
type ReplayOptions struct {
	ACL *waf.WebACL
	// WAF holds what the web ACL references (IP sets, rule groups…).
	// Replay sets its clock (the log's), its country lookup (the
	// logged country) and its key bound.
	WAF waf.Options
	// Baselines are the healthy peaks of rate-based rules by name: a
	// key blocked although its count never went over its rule's
	// baseline in any fixed window is a possible false positive. Rules
	// without one get their limit ÷ (1 + Buffer).
	Baselines map[string]int64
	Buffer    float64
	// From and To bound the replayed records (both included); zero for
	// no bound.
	From, To time.Time
	// Top is how many keys each rule lists (10 when zero).
	Top int
	// MaxKeys bounds the keys tracked per rule (1,000,000 when zero).
	MaxKeys int
	// Reorder is how far out of order records of one input may be and
	// still be replayed in order (one minute when zero).
	Reorder time.Duration
	Strict  bool
	// Span gives each input's first and last timestamp, when a previous
	// pass knows them; replay reads the inputs once more otherwise.
	Span     [][2]int64
	Progress *Progress
}

// ReplayReport is what the web ACL would have done to the logged
// requests.
type ReplayReport struct {
	Records    int64 `json:"records"`
	BadRecords int64 `json:"bad_records"`
	// LateRecords came more than the reorder window after later ones of
	// the same input: they were evaluated at the replay clock's time.
	LateRecords int64         `json:"late_records"`
	From        Time          `json:"from"`
	To          Time          `json:"to"`
	ByAction    []ActionCount `json:"by_action"`
	Rules       []RuleReplay  `json:"rules"`
	Warnings    []string      `json:"warnings"`
}

// RuleReplay is what one rule did.
type RuleReplay struct {
	Rule          string `json:"rule"`
	Type          string `json:"type"`   // RATE_BASED, REGULAR, MANAGED_RULE_GROUP, GROUP
	Action        string `json:"action"` // BLOCK, COUNT, CAPTCHA, CHALLENGE, ALLOW
	Limit         *int64 `json:"limit,omitempty"`
	WindowSeconds *int64 `json:"window_seconds,omitempty"`
	// Baseline is the healthy peak keys are compared with, and where it
	// comes from ("analysis", "given" or "limit/(1+buffer)"); null
	// when the rule's keys cannot be counted per window (custom keys,
	// rules that are not rate-based).
	Baseline       *int64 `json:"baseline"`
	BaselineSource string `json:"baseline_source,omitempty"`
	// Requests is how many requests the rule terminated (or counted).
	Requests int64 `json:"requests"`
	Keys     int64 `json:"keys"`
	// PossibleFalsePositiveKeys are keys the rule acted on although
	// their count never went over the baseline in a fixed window.
	PossibleFalsePositiveKeys     int64       `json:"possible_false_positive_keys"`
	PossibleFalsePositiveRequests int64       `json:"possible_false_positive_requests"`
	TopKeys                       []KeyReplay `json:"top_keys"`
	PossibleFalsePositives        []KeyReplay `json:"possible_false_positives"`
}

// KeyReplay is one aggregation key (a client IP for IP rules) a rule
// acted on.
type KeyReplay struct {
	Key      string `json:"key"`
	Requests int64  `json:"requests"`
	// MaxWindowRequests is the key's most requests counted by the rule
	// in one fixed window; null when unknown.
	MaxWindowRequests     *int64        `json:"max_window_requests"`
	PossibleFalsePositive bool          `json:"possible_false_positive"`
	First                 LoggedRequest `json:"first"`
	Last                  LoggedRequest `json:"last"`
}

// LoggedRequest points at a logged request.
type LoggedRequest struct {
	Time      Time   `json:"time"`
	ClientIP  string `json:"client_ip"`
	Method    string `json:"method"`
	URI       string `json:"uri"`
	RequestID string `json:"request_id"`
	Input     string `json:"input"`
	Line      int    `json:"line"`
}

// ruleInfo is what replay knows of a top-level rule.
type ruleInfo struct {
	name      string
	typ       string
	action    string
	limit     int64
	windowMs  int64
	keyType   string // IP, FORWARDED_IP, CONSTANT, CUSTOM_KEYS ("" not rate-based)
	fwdHeader string
	baseline  int64 // −1 none
	source    string
}

// keyStats is a key's record under a rule.
type keyStats struct {
	requests    int64
	first, last LoggedRequest
	// fixed windows: the current one and the most counted in one.
	win, cur, max int64
	tracked       bool
}

type ruleState struct {
	info     ruleInfo
	requests int64
	keys     map[string]*keyStats
	untrack  int64 // keys past the bound
}

// Replay runs every logged request, in timestamp order with the log's
// clock, through the web ACL.
func Replay(ctx context.Context, inputs []Input, o ReplayOptions) (*ReplayReport, error) {
	if o.Top == 0 {
		o.Top = 10
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = 1_000_000
	}
	if o.Reorder == 0 {
		o.Reorder = time.Minute
	}
	flt := filter{from: math.MinInt64, to: math.MaxInt64}
	if !o.From.IsZero() {
		flt.from = fromMilli(o.From)
	}
	if !o.To.IsZero() {
		flt.to = o.To.UnixMilli()
	}
	rep := &ReplayReport{ByAction: []ActionCount{}, Rules: []RuleReplay{}, Warnings: []string{}}
	span := o.Span
	var spanDamaged []string
	if span == nil {
		// A quick pass for each input's first and last timestamp, so that
		// an input is opened only when its records are due.
		p := &pass{inputs: inputs, winMs: 60_000, maxKeys: 1, flt: filter{from: 1, to: 0}, strict: o.Strict}
		res, err := p.run(ctx)
		if err != nil {
			return nil, err
		}
		span, spanDamaged = res.span, res.damaged
	}

	var cur *event
	clock := int64(math.MinInt64)
	wo := o.WAF
	wo.Now = func() time.Time { return time.UnixMilli(clock) }
	setCountry(&wo, func(netip.Addr) string {
		if cur == nil || cur.country == "-" {
			return ""
		}
		return cur.country
	})
	if wo.MaxKeys == 0 {
		wo.MaxKeys = o.MaxKeys
	}
	eng, err := waf.New(o.ACL, wo)
	if err != nil {
		return nil, err
	}
	rules, order := ruleStates(o)

	m := &merger{inputs: inputs, span: span, reorder: o.Reorder.Milliseconds(), flt: flt, strict: o.Strict, progress: o.Progress}
	if err := m.start(ctx); err != nil {
		return nil, err
	}
	defer m.stop()
	actions := map[string]int64{}
	var first, last int64 = math.MaxInt64, math.MinInt64
	req := &waf.Request{}
	for {
		ev, err := m.next(ctx)
		if err != nil {
			return nil, err
		}
		if ev == nil {
			break
		}
		if ev.ts < clock {
			rep.LateRecords++
		} else {
			clock = ev.ts
		}
		cur = ev
		first, last = min(first, ev.ts), max(last, ev.ts)
		rep.Records++
		*req = waf.Request{ClientIP: ev.ip, Method: ev.method, URI: ev.uri, Query: ev.args, Headers: ev.headers, BodySize: ev.bodySize}
		d, trace := eng.EvaluateTrace(ctx, req)
		actions[d.Action]++
		for _, st := range trace {
			if rs := rules[st.Rule]; rs != nil && st.Count > 0 && rs.info.keyType != "" && rs.info.keyType != "CUSTOM_KEYS" {
				if key, ok := rateKey(&rs.info, ev); ok {
					rs.window(key, ev.ts, o.MaxKeys)
				}
			}
		}
		if rs := rules[d.TerminatingRuleID]; rs != nil {
			rs.hit(decisionKey(&d, rs, ev), ev, o.MaxKeys)
		}
		for _, nt := range d.NonTerminating {
			if rs := rules[nt.RuleID]; rs != nil {
				rs.hit(decisionKey(&d, rs, ev), ev, o.MaxKeys)
			}
		}
	}
	rep.BadRecords = m.badN.Load()
	rep.Warnings = append(rep.Warnings, m.warnings()...)
	rep.Warnings = append(rep.Warnings, m.alsoDamaged(spanDamaged)...)
	if rep.LateRecords > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d records came more than %v after later records of the same input and were evaluated at the replay clock's time", rep.LateRecords, o.Reorder))
	}
	if rep.Records > 0 {
		rep.From, rep.To = Time{time.UnixMilli(first).UTC()}, Time{time.UnixMilli(last).UTC()}
	}
	for a, n := range actions {
		rep.ByAction = append(rep.ByAction, ActionCount{a, n})
	}
	slices.SortFunc(rep.ByAction, func(x, y ActionCount) int { return cmpTally(x.Requests, y.Requests, x.Action, y.Action) })
	for _, name := range order {
		rs := rules[name]
		rep.Rules = append(rep.Rules, rs.report(o.Top))
		if rs.untrack > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("rule %s: %d keys past the bound of %d were not tracked", name, rs.untrack, o.MaxKeys))
		}
	}
	return rep, nil
}

// setCountry makes the engine place clients where the log says they
// were, as AWS WAF did when it logged them.
func setCountry(o *waf.Options, f func(netip.Addr) string) { o.Geo = waf.CountryFunc(f) }

func ruleStates(o ReplayOptions) (map[string]*ruleState, []string) {
	rules := map[string]*ruleState{}
	var order []string
	sorted := slices.Clone(o.ACL.Rules)
	slices.SortStableFunc(sorted, func(a, b waf.Rule) int { return int(a.Priority - b.Priority) })
	for _, r := range sorted {
		info := ruleInfo{name: r.Name, typ: "REGULAR", action: actionName(r.Action, r.OverrideAction), baseline: -1}
		switch s := r.Statement; {
		case s.RateBasedStatement != nil:
			rb := s.RateBasedStatement
			win := rb.EvaluationWindowSec
			if win == 0 {
				win = 300
			}
			info.typ, info.limit, info.windowMs, info.keyType = "RATE_BASED", rb.Limit, win*1000, rb.AggregateKeyType
			if rb.ForwardedIPConfig != nil {
				info.fwdHeader = rb.ForwardedIPConfig.HeaderName
			}
			if info.keyType != "CUSTOM_KEYS" {
				if b, ok := o.Baselines[r.Name]; ok {
					info.baseline, info.source = b, "given"
				} else {
					info.baseline, info.source = int64(math.Floor(float64(rb.Limit)/(1+o.Buffer))), "limit/(1+buffer)"
				}
			}
		case s.ManagedRuleGroupStatement != nil:
			info.typ = "MANAGED_RULE_GROUP"
		case s.RuleGroupReferenceStatement != nil:
			info.typ = "GROUP"
		}
		rules[r.Name] = &ruleState{info: info, keys: map[string]*keyStats{}}
		order = append(order, r.Name)
	}
	return rules, order
}

func actionName(a *waf.RuleAction, o *waf.OverrideAction) string {
	switch {
	case a != nil && a.Block != nil:
		return "BLOCK"
	case a != nil && a.Count != nil:
		return "COUNT"
	case a != nil && a.Allow != nil:
		return "ALLOW"
	case a != nil && a.Captcha != nil:
		return "CAPTCHA"
	case a != nil && a.Challenge != nil:
		return "CHALLENGE"
	case o != nil && o.Count != nil:
		return "COUNT"
	case o != nil && o.None != nil:
		return "NONE" // the group's own actions
	}
	return ""
}

// rateKey is the aggregation key a rate-based rule counts a request
// under, for the key types that need no more than the request.
func rateKey(r *ruleInfo, ev *event) (string, bool) {
	switch r.keyType {
	case "IP":
		return ev.ipText, true
	case "CONSTANT":
		return "CONSTANT", true
	case "FORWARDED_IP":
		for _, h := range ev.headers {
			if strings.EqualFold(h.Name, r.fwdHeader) {
				first, _, _ := strings.Cut(h.Value, ",")
				ip, err := netip.ParseAddr(strings.TrimSpace(first))
				if err != nil {
					return "INVALID", true
				}
				return ip.Unmap().String(), true
			}
		}
	}
	return "", false
}

// decisionKey is the key a rule acted on: the rate-based match's value,
// else the client IP.
func decisionKey(d *waf.Decision, rs *ruleState, ev *event) string {
	for _, m := range d.RateBased {
		if m.RuleName != rs.info.name {
			continue
		}
		if len(m.CustomValues) == 0 {
			return m.LimitValue
		}
		parts := make([]string, len(m.CustomValues))
		for i, c := range m.CustomValues {
			parts[i] = c.Key + ":" + c.Value
		}
		return strings.Join(parts, ",")
	}
	return ev.ipText
}

func (rs *ruleState) get(key string, maxKeys int) *keyStats {
	k := rs.keys[key]
	if k == nil {
		if len(rs.keys) >= maxKeys {
			rs.untrack++
			return nil
		}
		k = &keyStats{win: math.MinInt64}
		rs.keys[key] = k
	}
	return k
}

// window counts a request the rule counted, in its fixed window.
func (rs *ruleState) window(key string, ts int64, maxKeys int) {
	k := rs.get(key, maxKeys)
	if k == nil {
		return
	}
	k.tracked = true
	w := floorDiv(ts, rs.info.windowMs)
	if w != k.win {
		k.win, k.cur = w, 0
	}
	k.cur++
	k.max = max(k.max, k.cur)
}

// hit records a request the rule acted on.
func (rs *ruleState) hit(key string, ev *event, maxKeys int) {
	rs.requests++
	k := rs.get(key, maxKeys)
	if k == nil {
		return
	}
	if k.requests == 0 {
		k.first = ev.logged()
	}
	k.requests++
	k.last = ev.logged()
}

func (rs *ruleState) report(top int) RuleReplay {
	in := rs.info
	out := RuleReplay{Rule: in.name, Type: in.typ, Action: in.action, Requests: rs.requests, TopKeys: []KeyReplay{}, PossibleFalsePositives: []KeyReplay{}}
	if in.typ == "RATE_BASED" {
		out.Limit, out.WindowSeconds = &in.limit, ptr(in.windowMs/1000)
	}
	if in.baseline >= 0 {
		out.Baseline, out.BaselineSource = &in.baseline, in.source
	}
	var keys []KeyReplay
	for key, k := range rs.keys {
		if k.requests == 0 {
			continue
		}
		kr := KeyReplay{Key: key, Requests: k.requests, First: k.first, Last: k.last}
		if k.tracked {
			kr.MaxWindowRequests = ptr(k.max)
			if in.baseline >= 0 && k.max <= in.baseline {
				kr.PossibleFalsePositive = true
				out.PossibleFalsePositiveKeys++
				out.PossibleFalsePositiveRequests += k.requests
			}
		}
		keys = append(keys, kr)
	}
	out.Keys = int64(len(keys))
	slices.SortFunc(keys, func(x, y KeyReplay) int { return cmpTally(x.Requests, y.Requests, x.Key, y.Key) })
	out.TopKeys = append(out.TopKeys, keys[:min(top, len(keys))]...)
	for _, k := range keys {
		if k.PossibleFalsePositive && len(out.PossibleFalsePositives) < top {
			out.PossibleFalsePositives = append(out.PossibleFalsePositives, k)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func (e *event) logged() LoggedRequest {
	return LoggedRequest{Time: Time{time.UnixMilli(e.ts).UTC()}, ClientIP: e.ipText, Method: e.method, URI: e.uri, RequestID: e.requestID, Input: e.input, Line: e.line}
}

// eventHeap orders the inputs' next events by time.
type eventHeap []*stream

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].head.ts != h[j].head.ts {
		return h[i].head.ts < h[j].head.ts
	}
	return h[i].idx < h[j].idx
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*stream)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

var _ heap.Interface = (*eventHeap)(nil)
