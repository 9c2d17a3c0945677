package httpapi

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/lockgate/lockgate/internal/httpjson"
)

// FuzzWriteCheck: the hand-written check answer is byte for byte, headers
// included, what httpjson.Write gives for the same value.
func FuzzWriteCheck(f *testing.F) {
	for _, c := range []checkResponse{
		{Status: "unlocked", SessionID: "att_0190a1b2c3d4e5f60718293a4b5c6d7e"},
		{Locked: true, Status: "locked", Message: "This account is locked.", SessionID: "att_1"},
		{Locked: true, Status: "locked", Message: `Call "IT" <it@example.com> & say \ hi`},
		{Status: "unlocked", Message: "Gesperrt: wenden Sie sich an die IT – 🔒"},
		{Status: "unlocked", Message: "line\nbreak\ttab\x00nul\x1f\x7fdel"},
		{Status: "unlocked", Message: "separators \u2028 and \u2029"},
		{Status: "unlocked", Message: "invalid \xff\xfe UTF-8"},
		{Status: "", Message: "", SessionID: ""},
	} {
		f.Add(c.Locked, c.Status, c.Message, c.SessionID)
	}
	f.Fuzz(func(t *testing.T, locked bool, status, message, sessionID string) {
		c := checkResponse{Locked: locked, Status: status, Message: message, SessionID: sessionID}
		want := httptest.NewRecorder()
		httpjson.Write(want, 200, c)
		got := httptest.NewRecorder()
		writeCheck(got, c)
		if got.Code != want.Code || got.Body.String() != want.Body.String() || !reflect.DeepEqual(got.Header(), want.Header()) {
			t.Fatalf("writeCheck(%+v):\n got %d %v %q\nwant %d %v %q", c, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	})
}

// TestWriteCheckSharedHeaders: the answer's header values are shared by
// every check, so a later change to one answer's headers must leave the
// next answer's alone.
func TestWriteCheckSharedHeaders(t *testing.T) {
	first := httptest.NewRecorder()
	writeCheck(first, checkResponse{Status: "unlocked", SessionID: "att_1"})
	first.Header().Add("Cache-Control", "private")
	first.Header().Set("Content-Type", "text/plain")
	next := httptest.NewRecorder()
	writeCheck(next, checkResponse{Status: "unlocked", SessionID: "att_2"})
	for k, want := range map[string][]string{
		"Content-Type":           {"application/json"},
		"Cache-Control":          {"no-store"},
		"X-Content-Type-Options": {"nosniff"},
	} {
		if got := next.Header()[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}
