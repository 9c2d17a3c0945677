package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
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
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	// The fixed part of the answer is 63 bytes; status and session ID
	// are at most 8 and 36.
	b := make([]byte, 0, 128+len(c.Message))
	b = append(b, `{"locked":`...)
	b = strconv.AppendBool(b, c.Locked)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, c.Status)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, c.Message)
	b = append(b, `,"sessionID":`...)
	b = appendJSONString(b, c.SessionID)
	w.Write(append(b, "}\n"...))
}

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
