// Package httpjson writes lockgate's JSON answers: every body one JSON
// value, every error the same shape, {"error": code, "message": text},
// whichever component answers.
package httpjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrorBody is the shape of every error lockgate's APIs answer.
type ErrorBody struct {
	Error   string `json:"error"`   // a stable code: unauthorized, not_found, bad_request…
	Message string `json:"message"` // for people: what was wrong and what to do
}

// Write answers status with v as JSON. Answers are not cached: they
// describe state that changes (locks, keys, tokens).
func Write(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// PayloadTooLarge is the code of a body over its limit, with 413: one
// status and code wherever a body is refused for its size.
const PayloadTooLarge = "payload_too_large"

// TooLarge answers 413 payload_too_large with message (which says the
// limit).
func TooLarge(w http.ResponseWriter, message string) {
	Error(w, http.StatusRequestEntityTooLarge, PayloadTooLarge, message)
}

// Error answers status with an ErrorBody. A 413 closes the connection:
// otherwise net/http reads up to 256 KiB of the unread body before it
// sends the answer, so a client that declared too long a body and
// stalls (or trickles it) gets no answer until the read timeout
// (atk14j F3).
func Error(w http.ResponseWriter, status int, code, message string) {
	if status == http.StatusRequestEntityTooLarge {
		w.Header().Set("Connection", "close")
	}
	Write(w, status, ErrorBody{Error: code, Message: message})
}

// Bearer returns the credentials of an Authorization header with the
// Bearer scheme. The scheme name is case-insensitive (RFC 7235 §2.1:
// "It uses a case-insensitive token as a means to identify the
// authentication scheme"; RFC 6750 §2.1 uses that syntax), so "bearer"
// and "BEARER" are accepted too.
func Bearer(header string) (string, bool) {
	const scheme = "bearer "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(header[len(scheme):]), true
}

// nl3TokenHeader is x-nl3-authorization-token in canonical form, as
// net/http keys it: looked up by this key, a header costs no allocation
// (Header.Get would canonicalise the name again on every lock check).
const nl3TokenHeader = "X-Nl3-Authorization-Token"

// IntegrationToken is the token a request authenticates with as an
// integration: an x-nl3-authorization-token header (Next Level3's) or an
// Authorization: Bearer one. A request that carries two different tokens
// has none (atk14j F2): which of them a proxy or WAF in front reads is its
// own choice, and the answer must not depend on it. The same token twice
// is one token; Authorization headers of other schemes are left to
// whatever in front uses them.
func IntegrationToken(r *http.Request) string {
	var token string
	for _, v := range r.Header[nl3TokenHeader] {
		if token != "" && v != token {
			return ""
		}
		token = v
	}
	for _, v := range r.Header["Authorization"] {
		b, _ := Bearer(v)
		if b == "" {
			continue
		}
		if token != "" && b != token {
			return ""
		}
		token = b
	}
	return token
}

// CheckSurrogates refuses JSON text holding a \u escape of a lone UTF-16
// surrogate (a high one, U+D800–U+DBFF, not followed by the escape of a
// low one, or a low one, U+DC00–U+DFFF, alone): it encodes no character,
// and encoding/json turns it silently into U+FFFD, so what is stored is
// not what the client sent. The error names the field (a dotted path,
// [i] for array elements); data is expected to be valid JSON, as after a
// successful decode, but anything else returns without a panic.
func CheckSurrogates(data []byte) error {
	if !bytes.Contains(data, []byte(`\u`)) {
		return nil
	}
	return checkStrings(data, false)
}

// CheckText is CheckSurrogates that also refuses, naming the field, a
// string (or member name) holding bytes that are not UTF-8 — which
// encoding/json turns silently into U+FFFD — or NUL, written \u0000 —
// which PostgreSQL cannot store in text and SQLite stores. Text that is
// not what the client sent is refused, never repaired.
func CheckText(data []byte) error {
	if !bytes.Contains(data, []byte(`\u`)) && utf8.Valid(data) {
		return nil
	}
	return checkStrings(data, true)
}

func checkStrings(data []byte, text bool) error {
	type frame struct {
		array   bool
		wantKey bool
		key     string
		index   int
	}
	var stack []frame
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			stack = append(stack, frame{wantKey: true})
		case '[':
			stack = append(stack, frame{array: true})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].array {
					stack[n-1].index++
				} else {
					stack[n-1].wantKey = true
				}
			}
		case ':':
			if n := len(stack); n > 0 {
				stack[n-1].wantKey = false
			}
		case '"':
			end, bad := scanString(data, i+1, text)
			isKey := len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].wantKey
			if isKey {
				var k string
				json.Unmarshal(data[i:min(end+1, len(data))], &k)
				stack[len(stack)-1].key = k
			}
			if bad != "" {
				var path []string
				for _, f := range stack {
					switch {
					case f.array:
						path = append(path, "["+strconv.Itoa(f.index)+"]")
					case len(path) == 0:
						path = append(path, visibleKey(f.key))
					default:
						path = append(path, "."+visibleKey(f.key))
					}
				}
				where := strings.Join(path, "")
				if where == "" {
					where = "(the top-level value)"
				}
				what := "holds"
				if isKey {
					what = "is a key that holds"
				}
				return fmt.Errorf("%s: %s %s", where, what, bad)
			}
			i = end
		}
	}
	return nil
}

// visibleKey writes the control characters of a member name as \u
// escapes: the name goes into a one-line message.
func visibleKey(k string) string {
	if !strings.ContainsFunc(k, isControl) {
		return k
	}
	var b strings.Builder
	for _, r := range k {
		if isControl(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// scanString finds the closing quote of the JSON string starting at
// data[from] and describes the first lone surrogate escape in it ("" when
// none) — with text, also the first NUL escape or bytes that are not
// UTF-8.
func scanString(data []byte, from int, text bool) (end int, bad string) {
	j := from
	for ; j < len(data); j++ {
		switch data[j] {
		case '"':
			end = j
			if text && bad == "" && !utf8.Valid(data[from:end]) {
				bad = "bytes that are not UTF-8: send UTF-8 text"
			}
			return end, bad
		case '\\':
			v, ok := hex4(data, j)
			if !ok {
				j++ // a two-character escape; skip what it escapes
				continue
			}
			switch {
			case 0xD800 <= v && v <= 0xDBFF:
				if w, ok := hex4(data, j+6); ok && 0xDC00 <= w && w <= 0xDFFF {
					j += 11 // the pair
					continue
				}
				fallthrough
			case 0xDC00 <= v && v <= 0xDFFF:
				if bad == "" {
					bad = string(data[j:j+6]) + ", a lone UTF-16 surrogate, which encodes no character: send the character itself or its surrogate pair"
				}
			case v == 0 && text:
				if bad == "" {
					bad = `NUL (\u0000), which lockgate does not store: remove it`
				}
			}
			j += 5
		}
	}
	if text && bad == "" && !utf8.Valid(data[from:min(j, len(data))]) {
		bad = "bytes that are not UTF-8: send UTF-8 text"
	}
	return len(data), bad
}

// hex4 decodes the \uXXXX escape at data[at], if there is one.
func hex4(data []byte, at int) (rune, bool) {
	if at+6 > len(data) || data[at] != '\\' || data[at+1] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(data[at+2:at+6]), 16, 16)
	return rune(v), err == nil
}
