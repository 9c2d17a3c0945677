package iampolicy

import (
	"encoding/base64"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/jsontree"
)

type family uint8

const (
	famString family = iota + 1
	famStringFold
	famStringLike
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

type comparison uint8

const (
	cmpEq comparison = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type operator struct {
	fam     family
	cmp     comparison
	negated bool
}

// operators are the condition operators AWS documents, without the
// IfExists suffix and the ForAllValues:/ForAnyValue: prefixes.
var operators = map[string]operator{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negated: true},
	"StringEqualsIgnoreCase":    {fam: famStringFold},
	"StringNotEqualsIgnoreCase": {fam: famStringFold, negated: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, negated: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negated: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negated: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negated: true},
	"ArnEquals":                 {fam: famARN},
	"ArnLike":                   {fam: famARN},
	"ArnNotEquals":              {fam: famARN, negated: true},
	"ArnNotLike":                {fam: famARN, negated: true},
	"Null":                      {fam: famNull},
}

type setOp uint8

const (
	setNone setOp = iota
	setForAll
	setForAny
)

// condition is one operator applied to one key.
type condition struct {
	name     string // the operator as written, for explanations
	key      string // lower-cased
	keyName  string // as written
	op       operator
	ifExists bool
	set      setOp
	values   []condValue
}

type condValue struct {
	str    string
	tmpl   *template
	like   pattern // StringLike without variables, compiled
	num    float64
	date   time.Time
	prefix netip.Prefix
	arn    [5]string
	comp   arnPattern // arn compiled, without tmpl
	null   bool       // Null: true means "key absent"
}

// keyRe is a condition key: a prefix (a service, or a web identity
// provider such as accounts.google.com or token.actions.githubusercontent.com)
// and a name.
var keyRe = regexp.MustCompile(`^[A-Za-z0-9.-]+:[!-~]+$`)

func (p *parser) conditions(path string, n *node) []condition {
	if n.Kind != jsontree.Object {
		p.errorf(path, "must be an object of operators, not %s", kindName(n))
		return nil
	}
	// Sorted, so explanations and errors come in a stable order.
	order := make([]int, len(n.Keys))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return n.Keys[order[a]] < n.Keys[order[b]] })
	var out []condition
	for _, i := range order {
		name, body := n.Keys[i], n.Vals[i]
		opPath := pathKey(path, name)
		c, ok := p.operatorName(opPath, name)
		if !ok {
			continue
		}
		if body.Kind != jsontree.Object || len(body.Keys) == 0 {
			p.errorf(opPath, "must be a non-empty object of condition keys, not %s", kindName(body))
			continue
		}
		for j, key := range body.Keys {
			kp := pathKey(opPath, key)
			if strings.Contains(key, "${") {
				p.errorf(kp, "policy variables are not allowed in condition keys")
				continue
			}
			if !keyRe.MatchString(key) {
				p.errorf(kp, "%q is not a condition key (prefix:name, as aws:SourceIp)", key)
				continue
			}
			cc := c
			cc.key, cc.keyName = strings.ToLower(key), key
			cc.values = p.conditionValues(kp, body.Vals[j], cc.op.fam)
			if cc.values != nil {
				out = append(out, cc)
			}
		}
	}
	return out
}

func (p *parser) operatorName(path, name string) (condition, bool) {
	c := condition{name: name}
	base := name
	if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		base, c.set = rest, setForAll
	} else if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		base, c.set = rest, setForAny
	}
	if rest, ok := strings.CutSuffix(base, "IfExists"); ok {
		base, c.ifExists = rest, true
	}
	op, ok := operators[base]
	switch {
	case !ok:
		p.errorf(path, "unknown condition operator %q", name)
		return c, false
	case op.fam == famNull && c.ifExists:
		p.errorf(path, "Null cannot take IfExists")
		return c, false
	case op.fam == famNull && c.set != setNone:
		p.errorf(path, "Null cannot take ForAllValues: or ForAnyValue:")
		return c, false
	}
	c.op = op
	return c, true
}

func (p *parser) conditionValues(path string, n *node, fam family) []condValue {
	var raw []*node
	switch n.Kind {
	case jsontree.String, jsontree.Number, jsontree.Bool:
		raw = []*node{n}
	case jsontree.Array:
		if len(n.Vals) == 0 {
			p.errorf(path, "must not be an empty list")
			return nil
		}
		if len(n.Vals) > maxListLen {
			p.errorf(path, "%d values, over the limit of %d", len(n.Vals), maxListLen)
			return nil
		}
		raw = n.Vals
	default:
		p.errorf(path, "must be a value or a list of values, not %s", kindName(n))
		return nil
	}
	out := make([]condValue, 0, len(raw))
	bad := false
	for i, v := range raw {
		vp := elemPath(path, n, i)
		if v.Kind != jsontree.String && v.Kind != jsontree.Number && v.Kind != jsontree.Bool {
			p.errorf(vp, "must be a string, number or boolean, not %s", kindName(v))
			bad = true
			continue
		}
		cv, ok := p.conditionValue(vp, v.Str, fam)
		if !ok {
			bad = true
			continue
		}
		out = append(out, cv)
	}
	if bad {
		return nil
	}
	return out
}

func (p *parser) conditionValue(path, s string, fam family) (condValue, bool) {
	cv := condValue{str: s}
	vars := p.version == Version2012 && strings.Contains(s, "${")
	if vars && fam != famString && fam != famStringFold && fam != famStringLike && fam != famARN {
		p.errorf(path, "%q: policy variables are allowed only in string and ARN conditions", s)
		return cv, false
	}
	switch fam {
	case famString, famStringFold, famStringLike:
		if vars {
			t, err := parseTemplate(s)
			if err != nil {
				p.errorf(path, "%q: %v", s, err)
				return cv, false
			}
			cv.tmpl = t
		} else if fam == famStringLike {
			cv.like = compilePattern(s, false)
		}
	case famNumeric:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			p.errorf(path, "%q is not a number", s)
			return cv, false
		}
		cv.num = f
	case famDate:
		t, ok := parseDate(s)
		if !ok {
			p.errorf(path, "%q is not a date (ISO 8601, as 2026-11-21T12:00:00Z, or epoch seconds)", s)
			return cv, false
		}
		cv.date = t
	case famBool:
		switch strings.ToLower(s) {
		case "true", "false":
			cv.str = strings.ToLower(s)
		default:
			p.errorf(path, "%q is not true or false", s)
			return cv, false
		}
	case famBinary:
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			p.errorf(path, "%q is not base64", s)
			return cv, false
		}
	case famIP:
		pfx, ok := parseCIDR(s)
		if !ok {
			p.errorf(path, "%q is not a CIDR", s)
			return cv, false
		}
		cv.prefix = pfx
	case famARN:
		if s == "*" {
			cv.arn = [5]string{"*", "*", "*", "*", "*"}
			cv.comp = compileARN(cv.arn)
			break
		}
		rp, ok := p.arnPattern(path, s, true)
		if !ok {
			return cv, false
		}
		cv.arn, cv.comp, cv.tmpl = rp.parts, rp.comp, rp.tmpl
	case famNull:
		switch strings.ToLower(s) {
		case "true":
			cv.null = true
		case "false":
		default:
			p.errorf(path, "%q is not true or false", s)
			return cv, false
		}
	}
	return cv, true
}

// parseCIDR reads an IPv4 or IPv6 CIDR; a bare address is /32 or /128.
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return pfx.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), true
}

// parseDate reads the W3C profiles of ISO 8601 AWS accepts (YYYY,
// YYYY-MM, YYYY-MM-DD, then Thh:mm, Thh:mm:ss, Thh:mm:ss.s with a zone
// Z or ±hh:mm) or epoch seconds. It does not allocate.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if allDigits(s) && len(s) != 4 {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(sec, 0).UTC(), true
	}
	num := func(from, n int) (int, bool) {
		if from+n > len(s) {
			return 0, false
		}
		v := 0
		for i := from; i < from+n; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok := num(0, 4)
	if !ok {
		return time.Time{}, false
	}
	month, day, hour, min, sec, nsec := 1, 1, 0, 0, 0, 0
	i := 4
	if i < len(s) {
		if s[i] != '-' {
			return time.Time{}, false
		}
		if month, ok = num(i+1, 2); !ok {
			return time.Time{}, false
		}
		i += 3
	}
	if i < len(s) {
		if s[i] != '-' {
			return time.Time{}, false
		}
		if day, ok = num(i+1, 2); !ok {
			return time.Time{}, false
		}
		i += 3
	}
	loc := time.UTC
	offset := 0
	if i < len(s) {
		if s[i] != 'T' && s[i] != 't' {
			return time.Time{}, false
		}
		if hour, ok = num(i+1, 2); !ok || i+3 >= len(s) || s[i+3] != ':' {
			return time.Time{}, false
		}
		if min, ok = num(i+4, 2); !ok {
			return time.Time{}, false
		}
		i += 6
		if i < len(s) && s[i] == ':' {
			if sec, ok = num(i+1, 2); !ok {
				return time.Time{}, false
			}
			i += 3
			if i < len(s) && s[i] == '.' {
				j := i + 1
				scale := 100000000
				for ; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
					nsec += int(s[j]-'0') * scale
					scale /= 10
				}
				if j == i+1 {
					return time.Time{}, false
				}
				i = j
			}
		}
		switch {
		case i == len(s):
		case s[i] == 'Z' || s[i] == 'z':
			i++
		case s[i] == '+' || s[i] == '-':
			oh, ok1 := num(i+1, 2)
			om, ok2 := num(i+4, 2)
			if !ok1 || !ok2 || s[i+3] != ':' || oh > 23 || om > 59 {
				return time.Time{}, false
			}
			offset = oh*3600 + om*60
			if s[i] == '-' {
				offset = -offset
			}
			i += 6
		default:
			return time.Time{}, false
		}
	}
	if i != len(s) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc)
	if t.Day() != day { // 2026-02-30
		return time.Time{}, false
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// eval reports whether the condition holds for the request.
func (c *condition) eval(e *evalState) bool {
	req := e.req
	vals, present := req.Context.lookup(c.key)
	// A key with no values is null: AWS does not tell it from a missing
	// key ("missing context keys or context keys with empty values").
	present = present && len(vals) > 0
	if !present && !req.Time.IsZero() && (c.key == "aws:currenttime" || c.key == "aws:epochtime") {
		if c.op.fam == famDate && c.set == setNone {
			return c.evalTime(req.Time)
		}
		// Other operators on the request time are rare: format it.
		vals, present = []string{req.Time.UTC().Format(time.RFC3339)}, true
		if c.key == "aws:epochtime" {
			vals[0] = strconv.FormatInt(req.Time.Unix(), 10)
		}
	}
	if c.op.fam == famNull {
		for _, v := range c.values {
			if v.null == !present {
				return true
			}
		}
		return false
	}
	if !present {
		// IfExists: a missing key makes the condition true. Otherwise
		// ForAllValues holds vacuously, ForAnyValue fails, and a negated
		// operator holds (nothing equals an absent value).
		switch {
		case c.ifExists, c.set == setForAll:
			return true
		case c.set == setForAny:
			return false
		}
		return c.op.negated
	}
	switch c.set {
	case setForAll:
		for _, v := range vals {
			if c.matchOne(v, e) == c.op.negated {
				return false
			}
		}
		return true
	case setForAny:
		for _, v := range vals {
			if c.matchOne(v, e) != c.op.negated {
				return true
			}
		}
		return false
	}
	// A single-valued operator on several request values: any pair
	// matching satisfies it; negated, no pair may match.
	for _, v := range vals {
		if c.matchOne(v, e) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

func (c *condition) evalTime(t time.Time) bool {
	for i := range c.values {
		if compareDate(t, c.values[i].date, c.op.cmp) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// matchOne reports whether one request value matches any policy value
// under the operator's positive form.
func (c *condition) matchOne(v string, e *evalState) bool {
	switch c.op.fam {
	case famNumeric:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		for i := range c.values {
			if compareNum(f, c.values[i].num, c.op.cmp) {
				return true
			}
		}
		return false
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for i := range c.values {
			if compareDate(t, c.values[i].date, c.op.cmp) {
				return true
			}
		}
		return false
	case famIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for i := range c.values {
			if c.values[i].prefix.Contains(a) {
				return true
			}
		}
		return false
	case famBool:
		for i := range c.values {
			if strings.EqualFold(v, c.values[i].str) {
				return true
			}
		}
		return false
	case famBinary:
		for i := range c.values {
			if v == c.values[i].str {
				return true
			}
		}
		return false
	case famARN:
		parts, ok := arnParts(v)
		if !ok {
			return false
		}
		for i := range c.values {
			cv := &c.values[i]
			if cv.tmpl != nil {
				buf := e.scratch()
				b, ok := cv.tmpl.resolve((*buf)[:0], e.req.Context, true)
				*buf = b
				if !ok {
					continue // no value: equal to nothing, like nothing
				}
				resolved := cv.arn
				resolved[4] = bytesView(b)
				if arnPartsMatch(&resolved, &parts) {
					return true
				}
				continue
			}
			if cv.comp.match(&parts) {
				return true
			}
		}
		return false
	}
	// The string family.
	for i := range c.values {
		cv := &c.values[i]
		want := cv.str
		if cv.tmpl != nil {
			buf := e.scratch()
			b, ok := cv.tmpl.resolve((*buf)[:0], e.req.Context, c.op.fam == famStringLike)
			*buf = b
			if !ok {
				continue // no value: equal to nothing, like nothing
			}
			want = bytesView(b)
		}
		var m bool
		switch {
		case c.op.fam == famString:
			m = v == want
		case c.op.fam == famStringFold:
			m = strings.EqualFold(v, want)
		case cv.tmpl == nil:
			m = cv.like.match(v)
		default:
			m = glob(want, v)
		}
		if m {
			return true
		}
	}
	return false
}

func compareNum(a, b float64, c comparison) bool {
	switch c {
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	case cmpGe:
		return a >= b
	}
	return a == b
}

func compareDate(a, b time.Time, c comparison) bool {
	switch c {
	case cmpLt:
		return a.Before(b)
	case cmpLe:
		return !a.After(b)
	case cmpGt:
		return a.After(b)
	case cmpGe:
		return !a.Before(b)
	}
	return a.Equal(b)
}
