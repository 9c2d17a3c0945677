package httpjson

import (
	"net/http/httptest"
	"testing"
)

func TestErrorShape(t *testing.T) {
	rec := httptest.NewRecorder()
	Error(rec, 404, "not_found", "application app_x not found")
	if rec.Code != 404 || rec.Body.String() != `{"error":"not_found","message":"application app_x not found"}`+"\n" {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
	for k, v := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q", k, got)
		}
	}
}

// TestBearer: RFC 7235 §2.1, "It uses a case-insensitive token as a
// means to identify the authentication scheme".
func TestBearer(t *testing.T) {
	for _, tt := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
		{"Bear", "", false},
		{"", "", false},
	} {
		got, ok := Bearer(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Bearer(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
