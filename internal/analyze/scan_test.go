package analyze

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// rec is a minimal AWS WAF log record.
const rec = `{"timestamp":1762099200123,"formatVersion":1,"webaclId":"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/a/1","terminatingRuleId":"Default_Action","terminatingRuleType":"REGULAR","action":"ALLOW","terminatingRuleMatchDetails":[],"httpSourceName":"ALB","httpSourceId":"x","ruleGroupList":[{"ruleGroupId":"g","terminatingRule":null,"nonTerminatingMatchingRules":[],"excludedRules":null}],"rateBasedRuleList":[],"nonTerminatingMatchingRules":[],"requestHeadersInserted":null,"responseCodeSent":null,"httpRequest":{"clientIp":"203.0.113.7","country":"US","headers":[{"name":"Host","value":"shop.example"},{"name":"X-Forwarded-For","value":"198.51.100.1, 10.0.0.1"}],"uri":"/login","args":"a=1","httpVersion":"HTTP/1.1","httpMethod":"POST","requestId":"r1"},"labels":[{"name":"x"}],"requestBodySize":12,"requestBodySizeInspectedByWAF":12}`

func scanAll(data string, name string, all bool) (got []fields, errs []string) {
	sc := &scanner{full: []byte(data), header: []byte(name), allHeaders: all}
	for {
		start, err := sc.next()
		if start < 0 {
			return got, errs
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		f := sc.f
		f.hdr = append([]header(nil), f.hdr...)
		got = append(got, f)
	}
}

func TestScanner(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		header  string
		records int
		errs    []string
		check   func(t *testing.T, f []fields)
	}{
		{"one record", rec + "\n", "x-forwarded-for", 1, nil, func(t *testing.T, f []fields) {
			r := f[0]
			if r.ts != 1762099200123 || string(r.ip) != "203.0.113.7" || string(r.uri) != "/login" || string(r.method) != "POST" ||
				string(r.action) != "ALLOW" || string(r.rule) != "Default_Action" || string(r.country) != "US" || string(r.args) != "a=1" || r.bodySize != 12 {
				t.Errorf("fields: %+v", r)
			}
			if len(r.hdr) != 1 || string(r.hdr[0].value) != "198.51.100.1, 10.0.0.1" {
				t.Errorf("header: %q", r.hdr)
			}
		}},
		{"lines with CRLF and blank lines", rec + "\r\n\n  \n" + rec, "", 2, nil, nil},
		{"Firehose: records concatenated without separators", rec + rec + rec, "", 3, nil, nil},
		{"escapes are decoded", strings.Replace(rec, `"uri":"/login"`, `"uri":"/a\"b\\c\u00e9\ud83d\ude00\/"`, 1), "", 1, nil, func(t *testing.T, f []fields) {
			if got := string(f[0].uri); got != "/a\"b\\cé😀/" {
				t.Errorf("uri %q", got)
			}
		}},
		{"members in any order, unknown ones skipped", `{"httpRequest":{"uri":"/x","zz":{"a":[1,{"b":"]}"}]},"clientIp":"::1"},"new":true,"timestamp":5}`, "", 1, nil, func(t *testing.T, f []fields) {
			if f[0].ts != 5 || string(f[0].ip) != "::1" || string(f[0].uri) != "/x" {
				t.Errorf("%+v", f[0])
			}
		}},
		{"a timestamp written as a float (the blog's DDL reads it as float)", `{"timestamp":1.5e3,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 1, nil, func(t *testing.T, f []fields) {
			if f[0].ts != 1500 {
				t.Errorf("ts %d", f[0].ts)
			}
		}},
		{"header names compared without case, every occurrence", `{"timestamp":1,"httpRequest":{"clientIp":"1.2.3.4","headers":[{"name":"x-forwarded-for","value":"a"},{"name":"X-FORWARDED-FOR","value":"b"}]}}`, "x-forwarded-for", 1, nil, func(t *testing.T, f []fields) {
			if len(f[0].hdr) != 2 {
				t.Errorf("headers %q", f[0].hdr)
			}
		}},
		{"a cut record fails at its line end and the next one is read", rec[:300] + "\n" + rec, "", 1, []string{"unterminated string at byte 295"}, nil},
		// Junk before a record (here a cut record) makes it bad up to the
		// next boundary: a line end or a join `}{"timestamp"`.
		{"a cut record before the next one in a concatenation: one bad record (no boundary between them)", rec[:500] + rec, "", 0, []string{"expected , or } at byte 501"}, nil},
		{"a cut record before the next one in a concatenation: the record after the next join is read", rec[:500] + rec + rec, "", 1, []string{"expected , or } at byte 501"}, nil},
		{"junk before a record: the line is one bad record", "xx" + rec + "\n" + rec, "", 1, []string{"a record is a JSON object at byte 1"}, nil},
		{"junk and a brace before a record", "x{" + rec + "\n" + rec, "", 1, []string{"a record is a JSON object at byte 1"}, nil},
		{"junk before a Firehose concatenation: bad up to the join", "xx" + rec + rec + "\n" + rec, "", 2, []string{"a record is a JSON object at byte 1"}, nil},
		{"junk between concatenated records: bad up to the next join", rec + "xx" + rec + rec, "", 1, []string{"unexpected data after the record at byte 839"}, nil},
		{"a byte order mark inside the data is junk", rec + "\n\xef\xbb\xbf" + rec, "", 1, []string{"a record is a JSON object at byte 1"}, nil},
		{"not an object", "[1,2]\n" + rec, "", 1, []string{"a record is a JSON object at byte 1"}, nil},
		{"no timestamp", `{"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"no timestamp"}, nil},
		{"no client IP", `{"timestamp":1,"httpRequest":{"uri":"/"}}`, "", 0, []string{"no httpRequest.clientIp"}, nil},
		{"garbage after a record", rec + " x\n" + rec, "", 1, []string{"unexpected data after the record at byte 840"}, nil},
		{"an invalid escape", `{"timestamp":1,"httpRequest":{"clientIp":"1.2\x"}}`, "", 0, []string{"invalid escape at byte 46"}, nil},
		{"an empty input", "", "", 0, nil, nil},
		// Records that are no JSON (RFC 8259) are bad whichever member is
		// damaged, read or skipped.
		{"a tab inside a read string", `{"timestamp":1,"httpRequest":{"clientIp":"1.2.3.4","uri":"/a` + "\t" + `b"}}`, "", 0, []string{"control character in a string at byte 61"}, nil},
		{"a CR inside a read string", `{"timestamp":1,"httpRequest":{"clientIp":"1.2.3.4","uri":"/a` + "\r" + `b"}}`, "", 0, []string{"control character in a string at byte 61"}, nil},
		{"a control character inside a skipped string", `{"timestamp":1,"x":"a` + "\x01" + `b","httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"control character in a string at byte 22"}, nil},
		{"an unknown escape inside a skipped string", `{"timestamp":1,"x":"a\qb","httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"invalid escape at byte 22"}, nil},
		{"a timestamp with a leading zero", `{"timestamp":01793635234973,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"invalid number (leading zero) at byte 14"}, nil},
		{"a timestamp with a trailing point", `{"timestamp":1793635234973.,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"invalid number at byte 14"}, nil},
		{"a skipped number with a leading zero", `{"timestamp":1,"x":007,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"invalid number (leading zero) at byte 20"}, nil},
		{"a skipped number with an empty exponent", `{"timestamp":1,"x":1e,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"invalid number at byte 20"}, nil},
		// RFC 8259 bounds no number: only a member the analyzer uses
		// may, and the error names it.
		{"skipped numbers of any magnitude", `{"timestamp":1,"x":[1e19,9223372036854775807,-1e308,1e400,123456789012345678901234567890.5e-400],"y":1E+99999,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 1, nil, nil},
		{"a timestamp out of range", `{"timestamp":9223372036854775807,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"timestamp out of range at byte 14"}, nil},
		{"a timestamp out of range as a float", `{"timestamp":1e19,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"timestamp out of range at byte 14"}, nil},
		{"a body size out of range", `{"timestamp":1,"requestBodySize":1e400,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"requestBodySize out of range at byte 34"}, nil},
		{"two commas in a skipped array", `{"timestamp":1,"x":[1,2,,3],"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"expected a value at byte 25"}, nil},
		{"no colon in a skipped object", `{"timestamp":1,"x":{"a" 1},"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"expected : at byte 25"}, nil},
		{"a trailing comma in a skipped object", `{"timestamp":1,"x":{"a":1,},"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"expected a member name at byte 27"}, nil},
		{"mismatched brackets in a skipped value", `{"timestamp":1,"x":[{"a":1]],"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"expected , or } at byte 27"}, nil},
		{"a bad literal in a skipped array", `{"timestamp":1,"x":[tru],"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 0, []string{"invalid literal at byte 21"}, nil},
		{"a skipped value nested deeply", `{"timestamp":1,"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `,"httpRequest":{"clientIp":"1.2.3.4"}}`, "", 1, nil, nil},
		{"skipped values that are JSON", `{"timestamp":1,"x":[0,-0.5e+3,1E2,"a\u00e9\/",true,false,null,{},[],{"a":[{}]}] ,"httpRequest":{"clientIp":"1.2.3.4"}}` + "\r\n", "", 1, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := scanAll(tt.data, tt.header, false)
			if len(got) != tt.records || strings.Join(errs, "|") != strings.Join(tt.errs, "|") {
				t.Fatalf("got %d records, errors %q; want %d, %q", len(got), errs, tt.records, tt.errs)
			}
			// Stage one does not change what is read (FuzzScanIndex).
			if fast, slow := scanTrace([]byte(tt.data), false), scanTrace([]byte(tt.data), true); strings.Join(fast, "\n") != strings.Join(slow, "\n") {
				t.Fatalf("indexed:\n%s\nbyte by byte:\n%s", strings.Join(fast, "\n"), strings.Join(slow, "\n"))
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// FuzzScanner checks the scanner against encoding/json: whatever the
// input, it does not panic, and a record it accepts decodes to the same
// fields with encoding/json.
func FuzzScanner(f *testing.F) {
	f.Add([]byte(rec))
	f.Add([]byte(rec + "\n" + rec))
	f.Add([]byte(rec + rec))
	f.Add([]byte(rec + "\r" + rec + "\r\n" + rec + "\rjunk\n{}\r" + rec + "\r"))
	f.Add([]byte(`{"timestamp":1,"x":[1e19,-9223372036854775808,1E+400,0.5e-400],"httpRequest":{"clientIp":"1.2.3.4"}}`))
	f.Add([]byte(`{"timestamp":1e19,"requestBodySize":99999999999999999999,"httpRequest":{"clientIp":"1.2.3.4"}}`))
	f.Add([]byte(`{"timestamp":1,"httpRequest":{"clientIp":"a\u0041","uri":"\ud800"}}`))
	f.Add([]byte(`{"timestamp":1e3,"httpRequest":{"clientIp":"x","headers":[{"name":"X-Forwarded-For","value":"1"}]}}`))
	f.Add([]byte(`{"timestamp":1,"x":[1,{"a":"b\u0041"},-0.5e+3,true],"httpRequest":{"clientIp":"x"}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc := &scanner{full: data, header: []byte("x-forwarded-for")}
		for {
			start, err := sc.next()
			if start < 0 {
				return
			}
			if err != nil {
				continue
			}
			end := sc.pos
			raw := data[start:end]
			if !json.Valid(raw) {
				// A record that is no JSON is a bad record (RFC 8259).
				t.Fatalf("%q: accepted, but encoding/json says it is no JSON", raw)
			}
			if !utf8.Valid(raw) {
				// encoding/json decodes invalid UTF-8 to U+FFFD; the
				// scanner keeps the bytes as logged.
				continue
			}
			// Members by their exact names, as the scanner reads them
			// (decoding into a struct would match "Uri" to uri).
			var top, hr map[string]json.RawMessage
			var ts json.Number
			var ip, uri string
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if dec.Decode(&top) != nil || json.Unmarshal(top["httpRequest"], &hr) != nil || json.Unmarshal(top["timestamp"], &ts) != nil {
				continue // types the scanner does not read…
			}
			if hr["clientIp"] != nil && json.Unmarshal(hr["clientIp"], &ip) != nil || hr["uri"] != nil && json.Unmarshal(hr["uri"], &uri) != nil {
				continue
			}
			g := sc.f
			if string(g.ip) != ip || string(g.uri) != uri {
				t.Fatalf("%q: scanner %q %q, encoding/json %q %q", raw, g.ip, g.uri, ip, uri)
			}
			if n, err := ts.Int64(); err == nil && n != g.ts {
				t.Fatalf("%q: timestamp %d, encoding/json %d", raw, g.ts, n)
			}
		}
	})
}

// TestHasKey: hasKey against a byte comparison, for names of every
// length up to 40 bytes differing from the data in any one byte.
func TestHasKey(t *testing.T) {
	for n := range 41 {
		k := make([]byte, n)
		for i := range k {
			k[i] = byte('a' + i)
		}
		for extra := range 3 {
			d := append(append([]byte(nil), k...), bytes.Repeat([]byte{'x'}, extra)...)
			if !hasKey(d, k) {
				t.Fatalf("%q does not start with %q", d, k)
			}
			if n > 0 && hasKey(d[:n-1], k) {
				t.Fatalf("%q, shorter, starts with %q", d[:n-1], k)
			}
			for i := range n {
				d[i] ^= 0x20
				if hasKey(d, k) {
					t.Fatalf("%q starts with %q", d, k)
				}
				d[i] ^= 0x20
			}
		}
	}
}
