package waf

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestMiddleware(t *testing.T) {
	rules := strings.Join([]string{
		ruleJSON("tag", 0, `{"Count":{"CustomRequestHandling":{"InsertHeaders":[{"Name":"suspect","Value":"1"}]}}}`, bm(`{"SingleHeader":{"Name":"user-agent"}}`, "CONTAINS", "curl", none)),
		ruleJSON("no-script", 1, `{"Block":{"CustomResponse":{"ResponseCode":406,"CustomResponseBodyKey":"denied","ResponseHeaders":[{"Name":"X-Reason","Value":"xss"}]}}}`,
			`{"XssMatchStatement":{"FieldToMatch":{"Body":{"OversizeHandling":"CONTINUE"}},"TextTransformations":`+none+`}}`),
		ruleJSON("admin", 2, `{"Block":{}}`, bm(`{"UriPath":{}}`, "STARTS_WITH", "/admin", none)),
	}, ",")
	e := engineFor(t, rules, Options{})
	var seen []string
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Body-Len", strconv.Itoa(len(body)))
		w.Header().Set("X-Suspect", r.Header.Get("x-amzn-waf-suspect"))
		io.WriteString(w, "upstream")
	})
	srv := httptest.NewServer(e.Middleware(upstream, MiddlewareOptions{OnDecision: func(r *http.Request, d *Decision) {
		seen = append(seen, d.Action+" "+d.TerminatingRuleID)
	}}))
	defer srv.Close()

	do := func(method, path, ua, body string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if ua != "" {
			req.Header.Set("User-Agent", ua)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// Allowed, counted: the upstream gets the inserted header and the whole body.
	big := strings.Repeat("a", 20000)
	resp := do("POST", "/form", "curl/8", big)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "upstream" || resp.Header.Get("X-Suspect") != "1" || resp.Header.Get("X-Body-Len") != "20000" {
		t.Fatalf("allowed: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	// Blocked with the custom response.
	resp = do("POST", "/form", "", "<script>alert(1)</script>")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 406 || string(b) != `{"error":"denied"}` || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Reason") != "xss" {
		t.Fatalf("custom block: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	// Blocked by default: 403.
	resp = do("GET", "/admin/x", "", "")
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("default block: %d", resp.StatusCode)
	}
	if strings.Join(seen, ",") != "ALLOW Default_Action,BLOCK no-script,BLOCK admin" {
		t.Fatalf("decisions: %v", seen)
	}
}
