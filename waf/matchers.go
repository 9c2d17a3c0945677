package waf

import (
	"bytes"
	"net/netip"
	"regexp"
	"strings"

	"github.com/corazawaf/libinjection-go"
	"github.com/gaissmai/bart"

	"github.com/lockgate/lockgate/waf/transform"
)

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
	level string // LOW or HIGH, for the log
}

var highSQLi = []transform.Func{transform.Get("URL_DECODE"), transform.Get("REPLACE_COMMENTS")}

func (m *sqliMatch) match(st *evalState) bool {
	return m.field.each(st, func(v []byte) bool {
		v = applyAll(v, m.tt)
		ok, _ := libinjection.IsSQLi(string(v))
		if !ok && m.high {
			ok, _ = libinjection.IsSQLi(string(applyAll(v, highSQLi)))
		}
		if ok {
			st.details = append(st.details, MatchDetail{ConditionType: "SQL_INJECTION", SensitivityLevel: m.level, Location: m.field.location(), MatchedData: matchedData(v), Name: m.field.name})
		}
		return ok
	})
}

// matchedData is a matched value as a log shows it: its words (AWS
// shows the tokens its detector matched, such as ["10","AND","1"]; lockgate
// shows the words of the value, at most maxMatchedData of them).
func matchedData(v []byte) []string {
	out := []string{}
	for w := range strings.FieldsSeq(string(v)) {
		if len(out) == maxMatchedData {
			break
		}
		out = append(out, w)
	}
	return out
}

const maxMatchedData = 10

type xssMatch struct {
	field *field
	tt    []transform.Func
}

func (m *xssMatch) match(st *evalState) bool {
	return m.field.each(st, func(v []byte) bool {
		v = applyAll(v, m.tt)
		if !libinjection.IsXSS(string(v)) {
			return false
		}
		st.details = append(st.details, MatchDetail{ConditionType: "XSS", Location: m.field.location(), MatchedData: matchedData(v), Name: m.field.name})
		return true
	})
}

type sizeMatch struct {
	field *field
	tt    []transform.Func
	op    string
	size  int64
}

func (m *sizeMatch) match(st *evalState) bool {
	// Oversize handling's verdict comes back as r too. With CONTINUE the
	// size is that of the part inspected, not of what was sent: "This
	// statement uses the size of the component that AWS WAF receives for
	// inspection. For body, header, and cookie components, this size
	// could be less than the original size that was sent to the protected
	// resource." (AWS WAF Developer Guide, Size constraint rule statement)
	r := m.field.each(st, func(v []byte) bool {
		n := int64(len(applyAll(v, m.tt)))
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
// is missing (the statement does not match); invalid when it holds no IP
// (or, without a forwarded header, when the caller does not know the
// client: Request.ClientIP is not valid). fallbackMatch then says what
// the statement does.
func clientIP(st *evalState, fwd *ForwardedIPConfig) (ip netip.Addr, present, invalid bool) {
	if fwd == nil {
		return st.req.ClientIP, true, !st.req.ClientIP.IsValid()
	}
	v, ok := st.req.header(fwd.HeaderName)
	if !ok {
		return netip.Addr{}, false, false
	}
	a, ok := FirstForwardedAddr(v)
	if !ok {
		return netip.Addr{}, true, true
	}
	return a, true, false
}

// fallbackMatch is whether a statement on an address that is not valid
// matches: the ForwardedIPConfig's FallbackBehavior, or for the client
// address itself, the request's ClientIPFallback.
func fallbackMatch(st *evalState, fallback string, fwd bool) bool {
	if !fwd {
		fallback = st.req.ClientIPFallback
	}
	return fallback == "MATCH"
}

type ipSetMatch struct {
	set *bart.Lite
	fwd *IPSetForwardedIPConfig
}

func (m *ipSetMatch) match(st *evalState) bool {
	if m.fwd == nil {
		if !st.req.ClientIP.IsValid() {
			return fallbackMatch(st, "", false)
		}
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
		a, ok := ParseForwardedAddr(s)
		if !ok {
			continue
		}
		valid = true
		if m.set.Lookup(a) {
			return true
		}
	}
	if !valid {
		return m.fwd.FallbackBehavior == "MATCH"
	}
	return false
}

// labelMatch is a LabelMatchStatement. A key that does not start with
// awswaf: is relative to the context of the rule holding the statement
// (its web ACL's or rule group's label prefix, ctx), as AWS WAF reads it:
// "If you do not provide the fully qualified name in your label match
// string, AWS WAF performs the search for labels that were added in the
// same context as the label match statement." A fully qualified LABEL key
// matches that label exactly.
//
// A NAMESPACE key matches a label whose namespace (everything up to its
// name) holds the key's namespaces as a contiguous run: "If the Scope
// indicates NAMESPACE, then this specification can include any number of
// contiguous namespace strings, and can include the entire label
// namespace prefix from the rule group or web ACL where the label
// originates." (WAFV2 API Reference, LabelMatchStatement, Key). So n1:n2:
// matches n1:n2:n3:name, and awswaf:clientip:geo: matches every geo
// label. A fully qualified key starts at the label's beginning.
type labelMatch struct {
	scope, key, ctx string
	qualified       bool
}

func (m *labelMatch) match(st *evalState) bool {
	for _, l := range *st.labels {
		if m.scope == "NAMESPACE" {
			ns := l[:strings.LastIndexByte(l, ':')+1]
			if m.qualified {
				if strings.HasPrefix(ns, m.key) {
					return true
				}
				continue
			}
			if rest, ok := strings.CutPrefix(ns, m.ctx); ok && containsRun(rest, m.key) {
				return true
			}
			continue
		}
		if m.qualified {
			if l == m.key {
				return true
			}
			continue
		}
		rest, ok := strings.CutPrefix(l, m.ctx)
		if ok && (rest == m.key || len(rest) > len(m.key) && rest[len(rest)-len(m.key)-1] == ':' && strings.HasSuffix(rest, m.key)) {
			return true
		}
	}
	return false
}

// containsRun reports whether ns (namespaces, each ending in ':') holds
// key (the same) starting at a namespace boundary.
func containsRun(ns, key string) bool {
	for {
		if strings.HasPrefix(ns, key) {
			return true
		}
		i := strings.IndexByte(ns, ':')
		if i < 0 {
			return false
		}
		ns = ns[i+1:]
	}
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
