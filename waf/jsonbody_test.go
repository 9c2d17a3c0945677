package waf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// pairs lists what jsonWalk hands its callback: k:POINTER=TEXT for keys,
// v:POINTER=TEXT for values.
func pairs(t testing.TB, body string) ([]string, error) {
	t.Helper()
	var out []string
	var sc jsonScratch
	_, err := jsonWalk(&sc, []byte(body), func(it *jsonItem) bool {
		kind := "v"
		if it.key {
			kind = "k"
		}
		out = append(out, kind+":"+string(it.pointer)+"="+string(it.text))
		return false
	})
	return out, err
}

const jsonBodyPage = "WAFV2 API Reference, JsonBody, InvalidFallbackBehavior: "

// AWS's JSON parser, as its documentation describes it.
func TestJSONBodyParserAsAWSDocuments(t *testing.T) {
	two := []string{"k:/key1=key1", "v:/key1=value1", "k:/key2=key2", "v:/key2=value2"}
	tests := []struct {
		doc, body string
		want      []string
		err       error
	}{
		{jsonBodyPage + `"AWS WAF parses the JSON in the following examples as two valid key, value pairs: Missing comma: {"key1":"value1""key2":"value2"}"`,
			`{"key1":"value1""key2":"value2"}`, two, nil},
		{jsonBodyPage + `"Missing colon: {"key1":"value1","key2""value2"}"`,
			`{"key1":"value1","key2""value2"}`, two, nil},
		{jsonBodyPage + `"Extra colons: {"key1"::"value1","key2""value2"}"`,
			`{"key1"::"value1","key2""value2"}`, two, nil},
		{jsonBodyPage + `"might be forced to stop for reasons such as ... duplicate keys": what came before is kept`,
			`{"a":"1","b":"2","a":"3"}`, []string{"k:/a=a", "v:/a=1", "k:/b=b", "v:/b=2"}, errJSONDuplicate},
		{jsonBodyPage + `duplicate keys are per object: the same key in two objects is not a duplicate`,
			`{"a":{"x":1},"b":{"x":2}}`, []string{"k:/a=a", "k:/a/x=x", "v:/a/x=1", "k:/b=b", "k:/b/x=x", "v:/b/x=2"}, nil},
		{jsonBodyPage + `"any content whose root node isn't an object or an array"`,
			`"just a string"`, nil, errJSONRoot},
		{jsonBodyPage + `"any content whose root node isn't an object or an array" (a number)`,
			`42`, nil, errJSONRoot},
		{jsonBodyPage + `"truncation"`,
			`{"a":"1","b":"tru`, []string{"k:/a=a", "v:/a=1", "k:/b=b"}, errJSONTruncated},
		{jsonBodyPage + `"invalid characters"`,
			`{"a":1,"b":@}`, []string{"k:/a=a", "v:/a=1", "k:/b=b"}, errJSONInvalid},
		{jsonBodyPage + `"invalid characters" after the root`,
			`{"a":1} x`, []string{"k:/a=a", "v:/a=1"}, errJSONInvalid},
		{"RFC 6901: keys with ~ and / are escaped in pointers; RFC 8259 escapes decoded",
			`{"a/b~c":["x\u00e9\n",true,null,-1.5e3]}`, []string{"k:/a~1b~0c=a/b~c", "v:/a~1b~0c/0=xé\n", "v:/a~1b~0c/1=true", "v:/a~1b~0c/2=null", "v:/a~1b~0c/3=-1.5e3"}, nil},
		{"bytes that are not UTF-8 are inspected as sent", "{\"k\":\"\xa0\xff\"}", []string{"k:/k=k", "v:/k=\xa0\xff"}, nil},
	}
	for _, tt := range tests {
		got, err := pairs(t, tt.body)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || !errors.Is(err, tt.err) {
			t.Errorf("%s\n%s: got %q, %v\nwant %q, %v", tt.doc, tt.body, got, err, tt.want, tt.err)
		}
	}
}

// How JsonBody statements use the parser: included paths, match scope,
// fallback.
func TestJSONBodyInspection(t *testing.T) {
	const guide = "AWS WAF Developer Guide, Request components, JSON body: "
	jb := func(pattern, scope, fallback string) string {
		f := `{"JsonBody":{"MatchPattern":` + pattern + `,"MatchScope":"` + scope + `"`
		if fallback != "" {
			f += `,"InvalidFallbackBehavior":"` + fallback + `"`
		}
		return f + `}}`
	}
	nested := `{"a":{"b":{"e":"x","f":"y"}},"c":"b"}`
	tests := []struct {
		doc, field, search, body string
		want                     bool
	}{
		{guide + `IncludedPaths /a/b: "the key b ... isn't evaluated"`, jb(`{"IncludedPaths":["/a/b"]}`, "KEY", ""), "b", nested, false},
		{guide + `IncludedPaths /a/b, "for a match scope set to keys: e and f"`, jb(`{"IncludedPaths":["/a/b"]}`, "KEY", ""), "f", nested, true},
		{guide + `IncludedPaths /a/b: values under it are inspected`, jb(`{"IncludedPaths":["/a/b"]}`, "VALUE", ""), "y", nested, true},
		{guide + `IncludedPaths /a/b: values elsewhere are not`, jb(`{"IncludedPaths":["/a/b"]}`, "VALUE", ""), "b", nested, false},
		{guide + `IncludedPaths /a/b is not /a/bc`, jb(`{"IncludedPaths":["/a/b"]}`, "VALUE", ""), "z", `{"a":{"bc":"z"}}`, false},
		{jsonBodyPage + `MatchScope ALL: "It requires a match to be found in the keys or the values or both"`, jb(`{"All":{}}`, "ALL", ""), "c", nested, true},
		{jsonBodyPage + `"MATCH - Treat the web request as matching the rule statement"`, jb(`{"All":{}}`, "VALUE", "MATCH"), "nothing", `{"a":"1","a":"2"}`, true},
		{jsonBodyPage + `"NO_MATCH - Treat the web request as not matching the rule statement" (even when a value before the failure matches)`, jb(`{"All":{}}`, "VALUE", "NO_MATCH"), "1", `{"a":"1","a":"2"}`, false},
		{jsonBodyPage + `"EVALUATE_AS_STRING - Inspect the body as plain text"`, jb(`{"All":{}}`, "VALUE", "EVALUATE_AS_STRING"), `"a":"1","a"`, `{"a":"1","a":"2"}`, true},
		{jsonBodyPage + `"If you don't provide this setting, AWS WAF parses and evaluates the content only up to the first parsing failure that it encounters."`, jb(`{"All":{}}`, "VALUE", ""), "1", `{"a":"1","a":"2"}`, true},
		{jsonBodyPage + `... and not beyond it`, jb(`{"All":{}}`, "VALUE", ""), "2", `{"a":"1","a":"2"}`, false},
		{jsonBodyPage + `the documented malformed forms are valid: no fallback`, jb(`{"All":{}}`, "VALUE", "MATCH"), "nothing", `{"key1":"value1""key2":"value2"}`, false},
		{jsonBodyPage + `"What AWS WAF should do if it fails to completely parse the JSON body": a request without a body has none to parse: MATCH does not apply (lockgate's decision, docs/waf.md)`, jb(`{"All":{}}`, "VALUE", "MATCH"), "nothing", ``, false},
		{jsonBodyPage + `... nor EVALUATE_AS_STRING`, jb(`{"All":{}}`, "ALL", "EVALUATE_AS_STRING"), "nothing", ``, false},
		{jsonBodyPage + `"fails to completely parse": a body of white space is a body, and does not parse: MATCH applies`, jb(`{"All":{}}`, "VALUE", "MATCH"), "nothing", " \r\n", true},
	}
	for _, tt := range tests {
		stmt := `{"ByteMatchStatement":{"SearchString":` + strconv.Quote(tt.search) + `,"FieldToMatch":` + tt.field + `,"TextTransformations":[{"Priority":0,"Type":"NONE"}],"PositionalConstraint":"EXACTLY"}}`
		if strings.HasPrefix(tt.search, `"`) {
			stmt = strings.Replace(stmt, `"EXACTLY"`, `"CONTAINS"`, 1)
		}
		e := engineFor(t, ruleJSON("j", 0, `{"Block":{}}`, stmt), Options{})
		req := &Request{Method: "POST", URI: "/", Body: []byte(tt.body), BodySize: int64(len(tt.body))}
		if got := e.Evaluate(bg, req).Action == "BLOCK"; got != tt.want {
			t.Errorf("%s\nsearch %q in %s: matched %v, want %v", tt.doc, tt.search, tt.body, got, tt.want)
		}
	}
}

// encodingJSONPairs walks a document with encoding/json's decoder, in the
// shape pairs writes.
func encodingJSONPairs(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object  bool
		index   int
		key     string
		wantKey bool
	}
	var stack []frame
	var out []string
	pointer := func() string {
		var b strings.Builder
		for _, fr := range stack {
			b.WriteByte('/')
			if fr.object {
				b.WriteString(strings.ReplaceAll(strings.ReplaceAll(fr.key, "~", "~0"), "/", "~1"))
			} else {
				b.WriteString(strconv.Itoa(fr.index))
			}
		}
		return b.String()
	}
	after := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:top]
				after()
				continue
			}
			stack[top].key, stack[top].wantKey = tok.(string), false
			out = append(out, "k:"+pointer()+"="+stack[top].key)
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
				after()
			}
			continue
		case string:
			out = append(out, "v:"+pointer()+"="+v)
		case json.Number:
			out = append(out, "v:"+pointer()+"="+string(v))
		case bool:
			out = append(out, "v:"+pointer()+"="+strconv.FormatBool(v))
		case nil:
			out = append(out, "v:"+pointer()+"=null")
		}
		after()
	}
}

// FuzzJSONBody checks the parser against encoding/json on valid JSON
// (same keys and values, same pointers) and against AWS's documented
// malformed forms on the same document with its commas or colons
// removed, or colons doubled.
func FuzzJSONBody(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,"x",true,null]},"c":"\u00e9\ud83d\ude00"}`, `[{"k":"v"},[]]`, `{"a":"1","a":2}`, `{"key1":"value1""key2":"value2"}`, `{"key1"::"value1","key2""value2"}`, `"x"`, `{"a":-0.5e-3}`, `{"\ud800":"\udc00x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := pairs(t, string(data))
		if !json.Valid(data) || !utf8.Valid(data) {
			return // neither panics; AWS's forms are checked below
		}
		want, _ := encodingJSONPairs(data)
		switch {
		case errors.Is(err, errJSONRoot):
			if len(got) != 0 {
				t.Fatalf("a scalar root gave %q", got)
			}
			return
		case errors.Is(err, errJSONDuplicate):
			if len(got) > len(want) || fmt.Sprint(got) != fmt.Sprint(want[:len(got)]) {
				t.Fatalf("before the duplicate key:\n got %q\nwant a prefix of %q", got, want)
			}
			return
		case err != nil:
			t.Fatalf("valid JSON %q: %v", data, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s:\n got %q\nwant %q", data, got, want)
		}
		// AWS's malformed forms of the same document parse to the same
		// pairs: every member's comma dropped, its colon dropped, or doubled.
		for _, form := range []func([]byte) []byte{dropMemberCommas, dropColons, doubleColons} {
			m := form(data)
			if mgot, err := pairs(t, string(m)); err != nil || fmt.Sprint(mgot) != fmt.Sprint(want) {
				t.Fatalf("%s (from %s):\n got %q, %v\nwant %q", m, data, mgot, err, want)
			}
		}
	})
}

// The malformed forms, made by re-encoding: compact the document, then
// edit the structural characters outside strings.
func editStructure(data []byte, edit func(c byte, prev byte, inObject bool) []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, data) != nil {
		return data
	}
	var out []byte
	var stack []bool
	inStr, esc := false, false
	var prev byte
	for _, c := range buf.Bytes() {
		if inStr {
			out = append(out, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			prev = c
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			stack = append(stack, c == '{')
		case '}', ']':
			stack = stack[:len(stack)-1]
		}
		inObject := len(stack) > 0 && stack[len(stack)-1]
		out = append(out, edit(c, prev, inObject)...)
		prev = c
	}
	return out
}

func dropMemberCommas(data []byte) []byte {
	return editStructure(data, func(c, _ byte, inObject bool) []byte {
		if c == ',' && inObject {
			return nil
		}
		return []byte{c}
	})
}

func dropColons(data []byte) []byte {
	return editStructure(data, func(c, _ byte, inObject bool) []byte {
		if c == ':' && inObject {
			return nil
		}
		return []byte{c}
	})
}

func doubleColons(data []byte) []byte {
	return editStructure(data, func(c, _ byte, inObject bool) []byte {
		if c == ':' && inObject {
			return []byte("::")
		}
		return []byte{c}
	})
}
