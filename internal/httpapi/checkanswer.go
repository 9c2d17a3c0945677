package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// checkResponse is the lock check's answer.
type checkResponse struct {
	Locked    bool   `json:"locked"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	SessionID string `json:"sessionID"`
}

// writeCheck answers a check with the bytes and headers that
// httpjson.Write gives c, written by hand: the answer is on every check,
// and encoding/json's encoder and reflection over c cost more than
// appending four fields.
func writeCheck(w http.ResponseWriter, c checkResponse) {
	// The header values are shared, read-only slices: Header.Set would
	// allocate a slice for each on every check. Their capacity is their
	// length, so an Add to one of these headers later copies it.
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(http.StatusOK)
	// The fixed part of the answer is 63 bytes; status and session ID
	// are at most 8 and 36. The buffer is pooled: Write copies it into
	// the connection's buffer before it returns.
	bp := answerPool.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"locked":`...)
	b = strconv.AppendBool(b, c.Locked)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, c.Status)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, c.Message)
	b = append(b, `,"sessionID":`...)
	b = appendJSONString(b, c.SessionID)
	b = append(b, "}\n"...)
	w.Write(b)
	// A long message's buffer is left to the collector rather than kept.
	if cap(b) <= 1<<10 {
		*bp = b
		answerPool.Put(bp)
	}
}

var (
	jsonContentType = []string{"application/json"}[:1:1]
	noStore         = []string{"no-store"}[:1:1]
	nosniff         = []string{"nosniff"}[:1:1]
)

var answerPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// appendJSONString appends s as encoding/json writes it: a string of
// printable ASCII that needs no escape as it is, anything else through
// encoding/json itself (which escapes <, > and & for HTML, control
// characters, U+2028 and U+2029, and replaces invalid UTF-8).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
