package authz

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAdminPutRefusesLoneSurrogates: a group's policy whose JSON holds a
// lone UTF-16 surrogate escape is refused with 400 naming where, not
// stored with U+FFFD in its place (a Resource would then match other
// paths than the one written).
func TestAdminPutRefusesLoneSurrogates(t *testing.T) {
	w := newWorld(t)
	mux := http.NewServeMux()
	for _, e := range w.svc.Endpoints() {
		mux.Handle(e.Pattern, e.Handler)
	}
	put := func(body string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("PUT", AdminPrefix+"/g1", strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	const policy = `{"policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/%s"}]}}`
	if code, body := put(strings.Replace(policy, "%s", `x\ud800`, 1)); code != 400 || !strings.Contains(body, `policy.Statement[0].Resource: holds \\ud800`) {
		t.Fatalf("lone surrogate: %d %s", code, body)
	}
	if code, body := put(strings.Replace(policy, "%s", `\ud83d\udc36`, 1)); code != 200 {
		t.Fatalf("surrogate pair: %d %s", code, body)
	}
}
