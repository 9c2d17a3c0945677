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
