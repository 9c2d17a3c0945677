// Package httpjson writes lockgate's JSON answers: every body one JSON
// value, every error the same shape, {"error": code, "message": text},
// whichever component answers.
package httpjson

import (
	"encoding/json"
	"net/http"
	"strings"
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

// Error answers status with an ErrorBody.
func Error(w http.ResponseWriter, status int, code, message string) {
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
