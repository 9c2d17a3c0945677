package waf

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// AWS WAF parses a JSON body with a parser of its own, documented in the
// WAFV2 API Reference (JsonBody, InvalidFallbackBehavior):
//
//   - "AWS WAF parses the JSON in the following examples as two valid
//     key, value pairs: Missing comma: {"key1":"value1""key2":"value2"}
//     Missing colon: {"key1":"value1","key2""value2"} Extra colons:
//     {"key1"::"value1","key2""value2"}"
//   - "AWS WAF does its best to parse the entire JSON body, but might be
//     forced to stop for reasons such as invalid characters, duplicate
//     keys, truncation, and any content whose root node isn't an object or
//     an array."
//
// jsonWalk is that parser: RFC 8259 otherwise (strings, escapes, numbers
// and literals as the RFC has them; arrays keep their commas, since AWS
// documents leniency for object members only), working on bytes so that
// what it hands the matchers is what the client sent.

// Why a walk stops.
var (
	errJSONRoot      = errors.New("the root is not an object or an array")
	errJSONDuplicate = errors.New("duplicate key")
	errJSONTruncated = errors.New("truncated")
	errJSONInvalid   = errors.New("invalid character")
)

// maxJSONDepth bounds nesting (encoding/json's bound).
const maxJSONDepth = 10000

// jsonItem is what a walk hands its callback: a key or a value (a
// string unescaped; a number, true, false or null as written) with its
// JSON Pointer (a key's pointer is its member's) and, for a key, the
// pointer of the object holding it.
type jsonItem struct {
	key     bool
	pointer []byte
	parent  []byte
	text    []byte
}

// jsonScratch is a walk's reusable storage (kept in the evaluation's
// state, so a warm Decision walks without allocating).
type jsonScratch struct {
	ptr    []byte      // the current JSON Pointer
	frames []jsonFrame // open containers
	keys   []byte      // the keys of the open objects, for duplicates
	spans  []int       // key boundaries in keys
	text   []byte      // a decoded string
}

type jsonFrame struct {
	object  bool
	ptrLen  int // len(ptr) of the container itself
	index   int // next array index
	keyFrom int // first of this object's keys in spans
}

// jsonWalk parses body and calls fn with every key and value in
// document order until fn returns true; it reports whether one did and,
// when the body is not JSON as AWS parses it, why it stopped. A nil fn
// only validates.
func jsonWalk(sc *jsonScratch, body []byte, fn func(*jsonItem) bool) (bool, error) {
	p := jsonParser{b: body, sc: sc}
	sc.ptr, sc.frames, sc.keys, sc.spans = sc.ptr[:0], sc.frames[:0], sc.keys[:0], sc.spans[:0]
	return p.run(fn)
}

// jsonParser's callback is passed to its methods rather than kept in it,
// so that it does not escape: the matchers' closures stay on the stack.
type jsonParser struct {
	b  []byte
	i  int
	sc *jsonScratch
	it jsonItem
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) run(fn func(*jsonItem) bool) (bool, error) {
	sc := p.sc
	p.ws()
	if p.i >= len(p.b) {
		return false, errJSONTruncated
	}
	if c := p.b[p.i]; c != '{' && c != '[' {
		return false, errJSONRoot
	}
	// expectValue: a value comes next (the root, after a key, or in an
	// array); otherwise a member (in an object) or the end of the
	// container.
	expectValue := true
	first := true // the container just opened
	for {
		p.ws()
		if expectValue {
			if p.i >= len(p.b) {
				return false, errJSONTruncated
			}
			switch c := p.b[p.i]; c {
			case '{', '[':
				if len(sc.frames) >= maxJSONDepth {
					return false, errJSONInvalid
				}
				p.i++
				sc.frames = append(sc.frames, jsonFrame{object: c == '{', ptrLen: len(sc.ptr), keyFrom: len(sc.spans)})
				expectValue, first = c == '[', true
				if c == '[' {
					p.ws()
					if p.i < len(p.b) && p.b[p.i] == ']' {
						expectValue = false // closed below
					} else {
						p.pushIndex()
					}
				}
				continue
			default:
				text, err := p.scalar()
				if err != nil {
					return false, err
				}
				if fn != nil {
					p.it = jsonItem{pointer: sc.ptr, text: text}
					if fn(&p.it) {
						return true, nil
					}
				}
				expectValue, first = false, false
				p.popName()
				continue
			}
		}
		// After a value, or at the start of an object: a separator, the
		// next member, or the end.
		if len(sc.frames) == 0 {
			if p.i < len(p.b) {
				return false, errJSONInvalid // content after the root
			}
			return false, nil
		}
		if p.i >= len(p.b) {
			return false, errJSONTruncated
		}
		top := &sc.frames[len(sc.frames)-1]
		c := p.b[p.i]
		if top.object {
			switch {
			case c == '}':
				p.close()
				first = false
				continue
			case c == ',' && !first:
				p.i++
				p.ws()
				if p.i >= len(p.b) {
					return false, errJSONTruncated
				}
				if p.b[p.i] != '"' {
					return false, errJSONInvalid
				}
			case c == '"': // the first member, or a missing comma
			default:
				return false, errJSONInvalid
			}
			matched, err := p.member(top, fn)
			if matched || err != nil {
				return matched, err
			}
			expectValue, first = true, false
			continue
		}
		switch {
		case c == ']':
			p.close()
			first = false
		case c == ',' && !first:
			p.i++
			p.pushIndex()
			expectValue = true
		default:
			return false, p.eofOr(errJSONInvalid)
		}
	}
}

func (p *jsonParser) eofOr(err error) error {
	if p.i >= len(p.b) {
		return errJSONTruncated
	}
	return err
}

// member reads a key and the colons after it (none or several, as AWS
// parses them), checks it is not a duplicate and hands it to fn.
func (p *jsonParser) member(top *jsonFrame, fn func(*jsonItem) bool) (bool, error) {
	sc := p.sc
	p.i++ // the opening quote
	if err := p.str(); err != nil {
		return false, err
	}
	key := sc.text
	// Duplicate keys stop the parse, before the duplicate is inspected.
	from := 0
	if top.keyFrom > 0 {
		from = sc.spans[top.keyFrom-1]
	}
	for k := top.keyFrom; k < len(sc.spans); k++ {
		if bytes.Equal(sc.keys[from:sc.spans[k]], key) {
			return false, errJSONDuplicate
		}
		from = sc.spans[k]
	}
	sc.keys = append(sc.keys, key...)
	sc.spans = append(sc.spans, len(sc.keys))
	parentLen := len(sc.ptr)
	sc.ptr = append(sc.ptr, '/')
	for _, c := range key {
		switch c {
		case '~':
			sc.ptr = append(sc.ptr, '~', '0')
		case '/':
			sc.ptr = append(sc.ptr, '~', '1')
		default:
			sc.ptr = append(sc.ptr, c)
		}
	}
	if fn != nil {
		p.it = jsonItem{key: true, pointer: sc.ptr, parent: sc.ptr[:parentLen], text: key}
		if fn(&p.it) {
			return true, nil
		}
	}
	for {
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ':' {
			p.i++
			continue
		}
		break
	}
	return false, nil
}

// pushIndex extends the pointer with the next array index.
func (p *jsonParser) pushIndex() {
	sc := p.sc
	top := &sc.frames[len(sc.frames)-1]
	sc.ptr = append(sc.ptr, '/')
	sc.ptr = appendInt(sc.ptr, top.index)
	top.index++
}

// popName drops the last name or index from the pointer once its value
// is complete.
func (p *jsonParser) popName() {
	sc := p.sc
	if len(sc.frames) == 0 {
		return
	}
	sc.ptr = sc.ptr[:sc.frames[len(sc.frames)-1].ptrLen]
}

// close ends the innermost container.
func (p *jsonParser) close() {
	sc := p.sc
	p.i++
	top := sc.frames[len(sc.frames)-1]
	if top.object {
		from := 0
		if top.keyFrom > 0 {
			from = sc.spans[top.keyFrom-1]
		}
		sc.keys, sc.spans = sc.keys[:from], sc.spans[:top.keyFrom]
	}
	sc.frames = sc.frames[:len(sc.frames)-1]
	sc.ptr = sc.ptr[:top.ptrLen]
	p.popName()
}

func appendInt(b []byte, n int) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// scalar reads a string, number or literal.
func (p *jsonParser) scalar() ([]byte, error) {
	b := p.b
	switch c := b[p.i]; {
	case c == '"':
		p.i++
		if err := p.str(); err != nil {
			return nil, err
		}
		return p.sc.text, nil
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return nil, errJSONInvalid
}

func (p *jsonParser) literal(w string) ([]byte, error) {
	rest := p.b[p.i:]
	if len(rest) < len(w) {
		if string(rest) == w[:len(rest)] {
			return nil, errJSONTruncated
		}
		return nil, errJSONInvalid
	}
	if string(rest[:len(w)]) != w {
		return nil, errJSONInvalid
	}
	p.i += len(w)
	return rest[:len(w)], nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *jsonParser) number() ([]byte, error) {
	b, start := p.b, p.i
	digits := func() int {
		n := 0
		for p.i < len(b) && '0' <= b[p.i] && b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if b[p.i] == '-' {
		p.i++
	}
	if p.i >= len(b) {
		return nil, errJSONTruncated
	}
	if b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, errJSONInvalid
	}
	if p.i < len(b) && b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.eofOr(errJSONInvalid)
		}
	}
	if p.i < len(b) && (b[p.i] == 'e' || b[p.i] == 'E') {
		p.i++
		if p.i < len(b) && (b[p.i] == '+' || b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.eofOr(errJSONInvalid)
		}
	}
	return b[start:p.i], nil
}

// str reads a string's contents (after the opening quote) into
// sc.text, unescaped. Bytes that are not UTF-8 are kept as they are;
// \u escapes are written as UTF-8, a lone surrogate as U+FFFD (as
// encoding/json does).
func (p *jsonParser) str() error {
	b := p.b
	out := p.sc.text[:0]
	for {
		if p.i >= len(b) {
			return errJSONTruncated
		}
		c := b[p.i]
		switch {
		case c == '"':
			p.i++
			p.sc.text = out
			return nil
		case c < 0x20:
			return errJSONInvalid
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(b) {
			return errJSONTruncated
		}
		e := b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return err
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(b) && b[p.i] == '\\' && b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if r2, err = p.hex4(); err != nil {
						return err
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
					} else {
						p.i = save // the second escape stands on its own
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return errJSONInvalid
		}
	}
}

func (p *jsonParser) hex4() (rune, error) {
	if p.i+4 > len(p.b) {
		for _, c := range p.b[p.i:] {
			if _, ok := hexDigit(c); !ok {
				return 0, errJSONInvalid
			}
		}
		return 0, errJSONTruncated
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		d, ok := hexDigit(c)
		if !ok {
			return 0, errJSONInvalid
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
