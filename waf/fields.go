package waf

import (
	"strings"
)

// AWS WAF inspects at most the first 8 KiB or 200 of the headers and of
// the cookies; beyond that OversizeHandling decides.
const (
	maxInspectedItems = 200
	maxInspectedBytes = 8 << 10
)

// field extracts the values of a request component; each is inspected
// on its own (AllQueryArguments, Headers, Cookies and JsonBody have
// several).
type field struct {
	kind     string
	name     string // header or query argument name
	oversize string // OversizeHandling
	scope    string // MatchScope: ALL, KEY or VALUE
	// Headers and Cookies: the names included or excluded (headers
	// lower-cased); all when both are nil.
	included, excluded []string
	// JsonBody
	paths    []string // JSON Pointers; all when nil
	fallback string   // InvalidFallbackBehavior
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
		c.e.needsBody = true
		return &field{kind: "Body", oversize: f.Body.OversizeHandling}
	case f.UriFragment != nil:
		return &field{kind: "UriFragment"}
	case f.HeaderOrder != nil:
		return &field{kind: "HeaderOrder", oversize: f.HeaderOrder.OversizeHandling}
	case f.Headers != nil:
		h := f.Headers
		fl := &field{kind: "Headers", oversize: h.OversizeHandling, scope: h.MatchScope}
		for _, n := range h.MatchPattern.IncludedHeaders {
			fl.included = append(fl.included, strings.ToLower(n))
		}
		for _, n := range h.MatchPattern.ExcludedHeaders {
			fl.excluded = append(fl.excluded, strings.ToLower(n))
		}
		return fl
	case f.Cookies != nil:
		k := f.Cookies
		return &field{kind: "Cookies", oversize: k.OversizeHandling, scope: k.MatchScope,
			included: k.MatchPattern.IncludedCookies, excluded: k.MatchPattern.ExcludedCookies}
	case f.JsonBody != nil:
		c.e.needsBody = true
		j := f.JsonBody
		return &field{kind: "JsonBody", oversize: j.OversizeHandling, scope: j.MatchScope, paths: j.MatchPattern.IncludedPaths, fallback: j.InvalidFallbackBehavior}
	}
	c.errorf(path, "request component not implemented")
	return &field{kind: "none"}
}

// location names the component in a log's ruleMatchDetails.
func (f *field) location() string {
	switch f.kind {
	case "UriPath":
		return "URI"
	case "QueryString":
		return "QUERY_STRING"
	case "Method":
		return "METHOD"
	case "AllQueryArguments":
		return "ALL_QUERY_ARGS"
	case "SingleQueryArgument":
		return "SINGLE_QUERY_ARG"
	case "SingleHeader":
		return "HEADER"
	case "Body":
		return "BODY"
	case "JsonBody":
		return "JSON_BODY"
	case "Headers":
		return "HEADERS"
	case "Cookies":
		return "COOKIES"
	case "UriFragment":
		return "URI_FRAGMENT"
	case "HeaderOrder":
		return "HEADER_ORDER"
	}
	return f.kind
}

// selected reports whether a header or cookie name is chosen by the
// match pattern.
func (f *field) selected(name string) bool {
	if f.kind == "Headers" {
		name = strings.ToLower(name)
	}
	switch {
	case f.included != nil:
		for _, n := range f.included {
			if n == name {
				return true
			}
		}
		return false
	case f.excluded != nil:
		for _, n := range f.excluded {
			if n == name {
				return false
			}
		}
	}
	return true
}

// pair inspects a name and value as MatchScope says: KEY the name, VALUE
// the value, ALL either.
func (f *field) pair(st *evalState, name, value string, fn func([]byte) bool) bool {
	if f.scope != "VALUE" && fn(stringBytes(st, name)) {
		return true
	}
	return f.scope != "KEY" && fn(stringBytes(st, value))
}

// each calls fn with every value of the field until fn returns true, and
// returns whether one did. A component over AWS's inspection limits
// answers as its OversizeHandling says (MATCH, NO_MATCH, or CONTINUE:
// inspect what is within the limit).
func (f *field) each(st *evalState, fn func([]byte) bool) bool {
	req := st.req
	switch f.kind {
	case "UriPath":
		return fn(stringBytes(st, req.URI))
	case "QueryString":
		return fn(stringBytes(st, req.Query))
	case "Method":
		return fn(stringBytes(st, req.Method))
	case "UriFragment":
		return fn(stringBytes(st, req.Fragment))
	case "SingleHeader":
		v, ok := req.header(f.name)
		return ok && fn(stringBytes(st, v))
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
				return true
			}
		}
		return false
	case "Body":
		body, verdict, decided := f.body(st)
		if decided {
			return verdict
		}
		return fn(body)
	case "JsonBody":
		body, verdict, decided := f.body(st)
		if decided {
			return verdict
		}
		return f.eachJSON(st, body, fn)
	case "Headers":
		over, verdict := f.headersOver(req.Headers)
		if over {
			st.oversize |= oversizeHeaders
		}
		if over && f.oversize != "CONTINUE" {
			return verdict
		}
		size := 0
		for i, h := range req.Headers {
			size += len(h.Name) + len(h.Value)
			if i >= maxInspectedItems || size > maxInspectedBytes {
				break
			}
			if f.selected(h.Name) && f.pair(st, h.Name, h.Value, fn) {
				return true
			}
		}
		return false
	case "HeaderOrder":
		if req.OrderUnknown {
			st.unordered = true // the rule blocks: see Request.OrderUnknown
			return false
		}
		over, verdict := f.headersOver(req.Headers)
		if over {
			st.oversize |= oversizeHeaders
		}
		if over && f.oversize != "CONTINUE" {
			return verdict
		}
		buf := st.buf[:0]
		for i, h := range req.Headers {
			if i >= maxInspectedItems || len(buf)+len(h.Name) > maxInspectedBytes {
				break
			}
			if i > 0 {
				buf = append(buf, ':')
			}
			buf = append(buf, h.Name...)
		}
		st.buf = buf
		return fn(buf)
	case "Cookies":
		return f.eachCookie(st, fn)
	}
	return false
}

// body is the inspected part of the body, or the OversizeHandling verdict
// for a body over the inspection limit.
func (f *field) body(st *evalState) (body []byte, verdict, decided bool) {
	req := st.req
	size := max(req.BodySize, int64(len(req.Body)))
	body = req.Body
	if size > int64(st.eng.bodyLimit) {
		if f.kind == "JsonBody" {
			st.oversize |= oversizeJSONBody
		} else {
			st.oversize |= oversizeBody
		}
		switch f.oversize {
		case "MATCH":
			return nil, true, true
		case "NO_MATCH":
			return nil, false, true
		}
		if len(body) > st.eng.bodyLimit {
			body = body[:st.eng.bodyLimit]
		}
	}
	return body, false, false
}

func (f *field) headersOver(hs []Header) (over, verdict bool) {
	size := 0
	for _, h := range hs {
		size += len(h.Name) + len(h.Value)
	}
	if len(hs) <= maxInspectedItems && size <= maxInspectedBytes {
		return false, false
	}
	return true, f.oversize == "MATCH"
}

func (f *field) eachCookie(st *evalState, fn func([]byte) bool) bool {
	n, size := 0, 0
	over := false
	for _, h := range st.req.Headers {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		for part := range strings.SplitSeq(h.Value, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name == "" {
				continue
			}
			n++
			size += len(name) + len(value)
			if n > maxInspectedItems || size > maxInspectedBytes {
				over = true
				break
			}
			if f.selected(name) && f.pair(st, name, value, fn) {
				return true
			}
		}
	}
	if over {
		st.oversize |= oversizeCookies
	}
	if over && f.oversize != "CONTINUE" {
		return f.oversize == "MATCH"
	}
	return false
}

// eachJSON inspects the keys and/or values of a JSON body, each on its
// own, as AWS WAF's parser reads them (jsonWalk). A request without a
// body has no JSON body: nothing is inspected and no fallback applies,
// as for an absent header. AWS documents InvalidFallbackBehavior for a
// body it "fails to completely parse"; it says nothing of a request that
// sent none, and treating no body as invalid JSON would make a MATCH
// fallback match every GET. A body of white space alone is a body that
// fails to parse. A body that parser
// stops on answers as InvalidFallbackBehavior says: MATCH, NO_MATCH,
// EVALUATE_AS_STRING (the whole body as text) or, when not set, what was
// parsed before the failure, as AWS documents: "If you don't provide
// this setting, AWS WAF parses and evaluates the content only up to the
// first parsing failure that it encounters."
func (f *field) eachJSON(st *evalState, body []byte, fn func([]byte) bool) bool {
	sc := &st.json
	if len(body) == 0 {
		return false
	}
	if f.fallback != "" {
		if _, err := jsonWalk(sc, body, nil); err != nil {
			switch f.fallback {
			case "MATCH":
				return true
			case "NO_MATCH":
				return false
			}
			return fn(body) // EVALUATE_AS_STRING
		}
	}
	matched, _ := jsonWalk(sc, body, func(it *jsonItem) bool {
		if it.key {
			// A key belongs to the object holding it: with IncludedPaths
			// /a/b, the key b is not inspected, the keys inside b are.
			return f.scope != "VALUE" && f.includes(it.parent) && fn(it.text)
		}
		return f.scope != "KEY" && f.includes(it.pointer) && fn(it.text)
	})
	return matched
}

// includes reports whether the element at a JSON Pointer is inside one of
// the IncludedPaths (all are, with MatchPattern All).
func (f *field) includes(pointer []byte) bool {
	if f.paths == nil {
		return true
	}
	for _, w := range f.paths {
		if len(pointer) >= len(w) && string(pointer[:len(w)]) == w && (len(pointer) == len(w) || pointer[len(w)] == '/') {
			return true
		}
	}
	return false
}
