package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/lockclient"
)

// docs/api.md: "Text that is not UTF-8, or holds NUL, in a path, a query
// or a JSON body is refused with 400 on every route; for a body, the
// message names the field". atk14f F4 found the portal's two JSON routes
// taking "\xff" as U+FFFD and "\u0000" as an empty attempt id.
func TestPortalAPIRefusesWhatIsNotText(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	p := e.person("Erin", "erin@example.com", "erin")
	e.check(lockclient.Request{Username: "erin"})
	tok, err := e.lc.Token("erin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, bearer, body, field string
	}{
		{"unlock request: invalid UTF-8", "/api/v1/unlock-requests", tok, "{\"attempt_id\":\"\xff\"}", "attempt_id"},
		{"unlock request: invalid UTF-8 in a name", "/api/v1/unlock-requests", tok, "{\"attempt_id\":\"att_1\",\"x\xff\":1}", "x"},
		{"unlock request: NUL", "/api/v1/unlock-requests", tok, `{"attempt_id":"att_\u0000"}`, "attempt_id"},
		{"enrol link: invalid UTF-8", "/api/v1/admin/persons/" + p.ID + "/enrol-links", adminToken, "{\"x\":\"\xff\"}", "x"},
		{"enrol link: not JSON", "/api/v1/admin/persons/" + p.ID + "/enrol-links", adminToken, "nope", "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client()
			c.bearer = tc.bearer
			res := c.do("POST", tc.path, strings.NewReader(tc.body), "application/json")
			if res.status != http.StatusBadRequest || !strings.Contains(res.body, tc.field) {
				t.Fatalf("%d %s, want 400 naming %q", res.status, res.body, tc.field)
			}
		})
	}
}
