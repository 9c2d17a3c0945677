package httpjson

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckSurrogates(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       string // part of the error; "" for none
	}{
		{"no escapes", `{"name":"Ann"}`, ""},
		{"other escapes", `{"name":"A\u00e9\n\"\\ud800"}`, ""}, // \\ then ud800: not an escape
		{"pair", `{"name":"\ud83d\ude00"}`, ""},
		{"pair, upper-case hex", `{"name":"\uD83D\uDE00"}`, ""},
		{"lone high", `{"name":"\ud800"}`, `name: holds \ud800`},
		{"lone low", `{"name":"x\udfff"}`, `name: holds \udfff`},
		{"high then not low", `{"name":"\ud800\u0041"}`, `name: holds \ud800`},
		{"high then high", `{"name":"\ud800\ud800\udc00"}`, `name: holds \ud800`},
		{"high at end of string", `{"a":"ok","b":"x\uDBFF"}`, `b: holds \uDBFF`},
		{"low before high", `{"name":"\udc00\ud800"}`, `name: holds \udc00`},
		{"nested", `{"a":{"b":[1,{"c":"ok"},{"c":"\ud800"}]}}`, `a.b[2].c: holds \ud800`},
		{"array of strings", `{"issuers":["https://a.example","https://\udfff"]}`, `issuers[1]: holds \udfff`},
		{"key", `{"a":{"k\ud800":1}}`, `a.k`},
		{"top-level string", `"\ud800"`, `(the top-level value): holds \ud800`},
		{"after a string with escaped quote", `{"a":"\"{[,","b":"\ud801"}`, `b: holds \ud801`},
		{"truncated", `{"a":"\ud8`, ""},
		{"truncated after high", `{"a":"\ud800\`, `a: holds \ud800`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSurrogates([]byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckSurrogates(%s) = %v, want nil", tt.body, err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("CheckSurrogates(%s) = %v, want %q…", tt.body, err, tt.want)
			}
		})
	}
}

// FuzzCheckSurrogates: never a panic, and on valid JSON, an error exactly
// when encoding/json would have replaced something with U+FFFD.
func FuzzCheckSurrogates(f *testing.F) {
	for _, s := range []string{`{"a":"\ud800"}`, `["\udc00\ud800",{"k":"\ud83d\ude00"}]`, `"x"`, `{"a\\u":"\\ud800"}`, `[1,2,{"b":["\uDFFF"]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckSurrogates(data)
		if !json.Valid(data) || !utf8.Valid(data) || bytes.ContainsRune(data, utf8.RuneError) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
			return
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		if replaced := holdsReplacement(v); replaced != (err != nil) {
			t.Fatalf("%s: U+FFFD after decoding %v, CheckSurrogates = %v", data, replaced, err)
		}
	})
}

func holdsReplacement(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, utf8.RuneError)
	case []any:
		for _, e := range v {
			if holdsReplacement(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, utf8.RuneError) || holdsReplacement(e) {
				return true
			}
		}
	}
	return false
}

func TestCheckText(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       string // prefix of the error; "" for none
	}{
		{"plain", `{"a":"é","b":["x",{"c":"\u00e9\n"}]}`, ""},
		{"escaped backslash then u0000", `{"a":"\\u0000"}`, ""},
		{"NUL", `{"a":"x\u0000"}`, `a: holds NUL`},
		{"NUL in a nested key", `{"a":{"k\u0000":1}}`, `a.k\u0000: is a key that holds NUL`},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", `a: holds bytes that are not UTF-8`},
		{"overlong", "{\"a\":[\"ok\",\"\xc0\xaf\"]}", `a[1]: holds bytes that are not UTF-8`},
		{"CESU-8 surrogate", "{\"a\":\"\xed\xa0\x80\"}", `a: holds bytes that are not UTF-8`},
		{"invalid UTF-8 in a key", "{\"k\xff\":1}", `k`},
		{"lone surrogate", `{"a":"\ud800"}`, `a: holds \ud800`},
		{"truncated invalid", "{\"a\":\"\xff", `a: holds bytes that are not UTF-8`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckText([]byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckText(%q) = %v, want nil", tt.body, err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.ContainsAny(err.Error(), "\n\r\x00")):
				t.Fatalf("CheckText(%q) = %v, want %q… on one line", tt.body, err, tt.want)
			}
		})
	}
}

// FuzzCheckText: never a panic, and on valid JSON, an error exactly when
// encoding/json would have decoded NUL or replaced something with U+FFFD.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{`{"a":"\u0000"}`, "{\"a\":\"\xff\"}", `["\\u0000",{"k\u0000":1}]`, `{"a":"\ud800"}`, `"ok"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckText(data)
		if err != nil && strings.ContainsAny(err.Error(), "\n\r\x00") {
			t.Fatalf("%q: error on more than one line: %q", data, err)
		}
		if !json.Valid(data) || bytes.ContainsRune(data, utf8.RuneError) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
			return
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		if bad := holdsReplacement(v) || holdsNUL(v); bad != (err != nil) {
			t.Fatalf("%q: NUL or U+FFFD after decoding %v, CheckText = %v", data, bad, err)
		}
	})
}

func holdsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if holdsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}
