package waf

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lockgate/lockgate/waf/ratelimit"
	"github.com/lockgate/lockgate/waf/transform"
)

func (e *Engine) evalRate(st *evalState, r *crule, d *Decision) bool {
	rr := r.rate
	if rr.scope != nil && !rr.scope.match(st) {
		return false
	}
	var key ratelimit.Key
	limitKey := rr.keyType
	switch rr.keyType {
	case "IP", "FORWARDED_IP":
		fwd := rr.fwd
		if rr.keyType == "IP" {
			fwd = nil
		}
		ip, present, invalid := clientIP(st, fwd)
		switch {
		case !present:
			return false // "If the specified header isn't present in the request, AWS WAF doesn't apply the rule"
		case invalid && !fallbackMatch(st, fallbackOf(fwd), fwd != nil):
			return false
		case invalid:
			// MATCH: the malformed requests are counted together, under
			// the key AWS logs as limitValue INVALID.
			key.Text = invalidForwardedIP
		default:
			key.IP = ip
		}
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
	m := RateBasedMatch{RuleID: rr.id, RuleName: r.name, LimitKey: limitKey, LimitValue: key.String(), MaxRateAllowed: rr.limit, EvaluationWindowSec: int64(rr.window / time.Second)}
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

func fallbackOf(fwd *ForwardedIPConfig) string {
	if fwd == nil {
		return ""
	}
	return fwd.FallbackBehavior
}

// invalidForwardedIP is the key of the requests whose forwarded address
// is malformed, when the rule's FallbackBehavior is MATCH.
const invalidForwardedIP = "INVALID"

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
	case "IP", "ForwardedIP":
		if k.kind == "IP" {
			fwd = nil
		}
		ip, present, invalid := clientIP(st, fwd)
		switch {
		case present && !invalid:
			return ip.AppendTo(nil), true
		case present && fallbackMatch(st, fallbackOf(fwd), fwd != nil):
			return []byte(invalidForwardedIP), true // a matched value of its own
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
