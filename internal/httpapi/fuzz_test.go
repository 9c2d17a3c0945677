package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/lock"
)

// FuzzDecodeCheckBody: any body decodes or is refused with 400 or 413,
// never a panic; an accepted body round-trips its fields.
func FuzzDecodeCheckBody(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"userIP":"203.0.113.7","userDevice":"Mozilla","userLocation":"","integrationType":"awsiamuser","integrationData":{"city":"Paris"}}`,
		`{"userIP":5}`, `[1]`, `{} {}`, `{"integrationData":` + strings.Repeat("[", 2000), `null`, `"x"`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/lock-check", strings.NewReader(string(body)))
		var in lock.CheckInput
		status, msg := decodeCheckBody(httptest.NewRecorder(), r, &in)
		switch status {
		case 0:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if msg == "" {
				t.Fatal("refusal without a message")
			}
		default:
			t.Fatalf("status %d", status)
		}
	})
}
