package iampolicy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unsafe"
)

// template is a string with policy variables: ${aws:username},
// ${aws:username, 'default'}, and the literal escapes ${*}, ${?}, ${$}.
type template struct {
	segs []segment
}

type segment struct {
	lit    string // literal text (key == "")
	key    string // lower-cased context key of a variable
	def    string
	hasDef bool
	// escaped is a literal * or ? from ${*} / ${?}: literal even where the
	// template is a wildcard pattern.
	escaped bool
}

var varRe = regexp.MustCompile(`^\s*([A-Za-z0-9_:/.\-]+)\s*(?:,\s*'([^']*)'\s*)?$`)

func parseTemplate(s string) (*template, error) {
	t := &template{}
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			if s != "" {
				t.segs = append(t.segs, segment{lit: s})
			}
			return t, nil
		}
		if i > 0 {
			t.segs = append(t.segs, segment{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, errors.New("unterminated ${")
		}
		body := s[i+2 : i+j]
		s = s[i+j+1:]
		switch body {
		case "*", "?":
			t.segs = append(t.segs, segment{lit: body, escaped: true})
			continue
		case "$":
			t.segs = append(t.segs, segment{lit: "$"})
			continue
		}
		m := varRe.FindStringSubmatch(body)
		if m == nil || !strings.Contains(m[1], ":") {
			return nil, fmt.Errorf("${%s} is not a policy variable (${aws:username} or ${key, 'default'})", body)
		}
		seg := segment{key: strings.ToLower(m[1])}
		if strings.Contains(body, ",") {
			seg.def, seg.hasDef = m[2], true
		}
		t.segs = append(t.segs, seg)
	}
}

// resolve writes the template's value to buf. With glob set, a literal
// or variable * and ? are written as litStar/litQuestion, so the result
// used as a wildcard pattern matches them only literally. ok is false
// when a variable has no value and no default.
func (t *template) resolve(buf []byte, ctx *Context, glob bool) ([]byte, bool) {
	for _, s := range t.segs {
		var v string
		switch {
		case s.key == "" && !s.escaped:
			buf = append(buf, s.lit...)
			continue
		case s.key == "":
			v = s.lit
		default:
			vals, ok := ctx.lookup(s.key)
			switch {
			case ok && len(vals) == 1:
				v = vals[0]
			case s.hasDef:
				v = s.def
			default:
				return buf, false // unresolved, or a multi-valued key
			}
		}
		if !glob {
			buf = append(buf, v...)
			continue
		}
		for i := 0; i < len(v); i++ {
			switch v[i] {
			case '*':
				buf = append(buf, litStar)
			case '?':
				buf = append(buf, litQuestion)
			default:
				buf = append(buf, v[i])
			}
		}
	}
	return buf, true
}

// bytesView looks at b as a string without copying; the string must not
// outlive the next change to b.
func bytesView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
