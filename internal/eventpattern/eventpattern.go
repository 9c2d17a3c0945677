// Package eventpattern matches JSON events against Amazon EventBridge
// event patterns: exact values, prefix, suffix, anything-but,
// equals-ignore-case, wildcard, numeric ranges, exists, cidr and $or. A
// field holding an array matches when any of its elements does.
package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
)

// Pattern is a compiled event pattern, safe for concurrent use.
type Pattern struct {
	root *object
}

// object is a pattern object: every field must match, and each $or
// group must have one alternative that matches.
type object struct {
	fields []field
	ors    [][]*object
}

type field struct {
	name   string
	nested *object    // a nested object pattern
	leaf   []*matcher // values: any matches
}

type kind uint8

const (
	kExact kind = iota
	kPrefix
	kSuffix
	kIgnoreCase
	kWildcard
	kNumeric
	kExists
	kAnythingBut
	kCIDR
)

type matcher struct {
	kind   kind
	value  any // exact: string, float64, bool or nil
	str    string
	fold   bool // prefix/suffix with equals-ignore-case
	ranges []numRange
	exists bool
	but    []*matcher // anything-but: none of these may match
	prefix netip.Prefix
}

type numRange struct {
	op string
	v  float64
}

// Compile parses a pattern. Errors name the field path.
func Compile(data []byte) (*Pattern, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("event pattern: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("event pattern: must be a JSON object")
	}
	root, err := compileObject(m, "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// MustCompile is Compile for patterns known to be valid.
func MustCompile(s string) *Pattern {
	p, err := Compile([]byte(s))
	if err != nil {
		panic(err)
	}
	return p
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func compileObject(m map[string]any, path string) (*object, error) {
	o := &object{}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v := m[name]
		p := join(path, name)
		if name == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return nil, fmt.Errorf("event pattern %s: $or takes a list of at least two patterns", p)
			}
			var group []*object
			for i, a := range alts {
				am, ok := a.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("event pattern %s[%d]: must be an object", p, i)
				}
				sub, err := compileObject(am, path)
				if err != nil {
					return nil, err
				}
				group = append(group, sub)
			}
			o.ors = append(o.ors, group)
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			sub, err := compileObject(v, p)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{name: name, nested: sub})
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("event pattern %s: an empty list matches nothing", p)
			}
			var ms []*matcher
			for i, x := range v {
				mt, err := compileMatcher(x, fmt.Sprintf("%s[%d]", p, i), false)
				if err != nil {
					return nil, err
				}
				ms = append(ms, mt)
			}
			o.fields = append(o.fields, field{name: name, leaf: ms})
		default:
			return nil, fmt.Errorf("event pattern %s: values must be in a list, as [%v]", p, v)
		}
	}
	return o, nil
}

func literal(x any) (any, bool) {
	switch x := x.(type) {
	case string, bool, nil:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return nil, false
}

func compileMatcher(x any, path string, inBut bool) (*matcher, error) {
	if v, ok := literal(x); ok {
		return &matcher{kind: kExact, value: v}, nil
	}
	m, ok := x.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, fmt.Errorf("event pattern %s: a matcher is a value or an object with one operator", path)
	}
	for op, arg := range m {
		str, isStr := arg.(string)
		switch op {
		case "prefix", "suffix":
			k := kPrefix
			if op == "suffix" {
				k = kSuffix
			}
			if isStr {
				return &matcher{kind: k, str: str}, nil
			}
			if inner, ok := arg.(map[string]any); ok {
				if s, ok := inner["equals-ignore-case"].(string); ok && len(inner) == 1 {
					return &matcher{kind: k, str: strings.ToLower(s), fold: true}, nil
				}
			}
			return nil, fmt.Errorf("event pattern %s: %s takes a string", path, op)
		case "equals-ignore-case":
			if !isStr {
				return nil, fmt.Errorf("event pattern %s: equals-ignore-case takes a string", path)
			}
			return &matcher{kind: kIgnoreCase, str: str}, nil
		case "wildcard":
			if !isStr {
				return nil, fmt.Errorf("event pattern %s: wildcard takes a string", path)
			}
			if strings.Contains(str, "**") {
				return nil, fmt.Errorf("event pattern %s: consecutive * are not allowed in a wildcard", path)
			}
			return &matcher{kind: kWildcard, str: str}, nil
		case "exists":
			b, ok := arg.(bool)
			if !ok || inBut {
				return nil, fmt.Errorf("event pattern %s: exists takes true or false", path)
			}
			return &matcher{kind: kExists, exists: b}, nil
		case "cidr":
			pfx, err := netip.ParsePrefix(str)
			if !isStr || err != nil {
				return nil, fmt.Errorf("event pattern %s: %v is not a CIDR", path, arg)
			}
			return &matcher{kind: kCIDR, prefix: pfx.Masked()}, nil
		case "numeric":
			list, ok := arg.([]any)
			if !ok || len(list) == 0 || len(list)%2 != 0 || len(list) > 4 {
				return nil, fmt.Errorf("event pattern %s: numeric takes [op, number] or [op, number, op, number]", path)
			}
			mt := &matcher{kind: kNumeric}
			for i := 0; i < len(list); i += 2 {
				op, _ := list[i].(string)
				n, ok := list[i+1].(json.Number)
				f, err := n.Float64()
				if !ok || err != nil {
					return nil, fmt.Errorf("event pattern %s: numeric: %v is not a number", path, list[i+1])
				}
				switch op {
				case "=", "<", "<=", ">", ">=":
				default:
					return nil, fmt.Errorf("event pattern %s: numeric: %q is not =, <, <=, > or >=", path, op)
				}
				mt.ranges = append(mt.ranges, numRange{op, f})
			}
			return mt, nil
		case "anything-but":
			if inBut {
				return nil, fmt.Errorf("event pattern %s: anything-but cannot nest", path)
			}
			mt := &matcher{kind: kAnythingBut}
			var items []any
			if list, ok := arg.([]any); ok {
				items = list
			} else {
				items = []any{arg}
			}
			for i, it := range items {
				sub, err := compileMatcher(it, fmt.Sprintf("%s.anything-but[%d]", path, i), true)
				if err != nil {
					return nil, err
				}
				mt.but = append(mt.but, sub)
			}
			return mt, nil
		default:
			return nil, fmt.Errorf("event pattern %s: unknown operator %q", path, op)
		}
	}
	return nil, nil
}

// Match reports whether the JSON event matches.
func (p *Pattern) Match(event []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false, fmt.Errorf("event: %w", err)
	}
	return p.MatchValue(v), nil
}

// MatchValue matches an event already decoded (numbers as json.Number
// or float64).
func (p *Pattern) MatchValue(event any) bool {
	m, ok := event.(map[string]any)
	return ok && p.root.match(m)
}

func (o *object) match(ev map[string]any) bool {
	for _, f := range o.fields {
		v, present := ev[f.name]
		if f.nested != nil {
			switch v := v.(type) {
			case map[string]any:
				if !f.nested.match(v) {
					return false
				}
			case []any: // an array of objects: any element
				ok := false
				for _, e := range v {
					if em, isMap := e.(map[string]any); isMap && f.nested.match(em) {
						ok = true
						break
					}
				}
				if !ok {
					return false
				}
			default:
				if !f.nested.matchMissing() {
					return false
				}
			}
			continue
		}
		if !matchLeaf(f.leaf, v, present) {
			return false
		}
	}
	for _, group := range o.ors {
		ok := false
		for _, alt := range group {
			if alt.match(ev) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchMissing: a nested pattern against a missing object matches only
// if all its leaves accept absence (exists: false).
func (o *object) matchMissing() bool { return o.match(map[string]any{}) }

func matchLeaf(ms []*matcher, v any, present bool) bool {
	for _, m := range ms {
		if m.kind == kExists {
			if m.exists == (present && !isEmptyArray(v)) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		if arr, ok := v.([]any); ok {
			for _, e := range arr {
				if m.matches(e) {
					return true
				}
			}
			continue
		}
		if m.matches(v) {
			return true
		}
	}
	return false
}

func isEmptyArray(v any) bool {
	a, ok := v.([]any)
	return ok && len(a) == 0
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	}
	return 0, false
}

func (m *matcher) matches(v any) bool {
	s, isStr := v.(string)
	switch m.kind {
	case kExact:
		switch want := m.value.(type) {
		case string:
			return isStr && s == want
		case float64:
			f, ok := number(v)
			return ok && f == want
		case bool:
			b, ok := v.(bool)
			return ok && b == want
		case nil:
			return v == nil
		}
	case kPrefix:
		if m.fold {
			return isStr && strings.HasPrefix(strings.ToLower(s), m.str)
		}
		return isStr && strings.HasPrefix(s, m.str)
	case kSuffix:
		if m.fold {
			return isStr && strings.HasSuffix(strings.ToLower(s), m.str)
		}
		return isStr && strings.HasSuffix(s, m.str)
	case kIgnoreCase:
		return isStr && strings.EqualFold(s, m.str)
	case kWildcard:
		return isStr && wildcard(m.str, s)
	case kCIDR:
		a, err := netip.ParseAddr(s)
		return isStr && err == nil && m.prefix.Contains(a.Unmap())
	case kNumeric:
		f, ok := number(v)
		if !ok || math.IsNaN(f) {
			return false
		}
		for _, r := range m.ranges {
			var ok bool
			switch r.op {
			case "=":
				ok = f == r.v
			case "<":
				ok = f < r.v
			case "<=":
				ok = f <= r.v
			case ">":
				ok = f > r.v
			case ">=":
				ok = f >= r.v
			}
			if !ok {
				return false
			}
		}
		return true
	case kAnythingBut:
		for _, b := range m.but {
			if b.matches(v) {
				return false
			}
		}
		return true
	}
	return false
}

// wildcard matches * against any run of characters; \* is a literal *.
func wildcard(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	var p, i, starP, starI = 0, 0, -1, 0
	for i < len(s) {
		if p < len(pattern) {
			c := pattern[p]
			if c == '\\' && p+1 < len(pattern) && pattern[p+1] == '*' {
				if s[i] == '*' {
					p, i = p+2, i+1
					continue
				}
			} else if c == '*' {
				starP, starI = p, i
				p++
				continue
			} else if c == s[i] {
				p++
				i++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP+1, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
