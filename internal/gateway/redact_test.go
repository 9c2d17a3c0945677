package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// redactACL counts SQL injection in the query string and in the
// X-Secret header (so that match details carry the matched data), and
// limits requests by the X-Secret header (so that a rate-based record
// carries its value).
const redactACL = `{"Name":"redact","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"redact"},"Rules":[
 {"Name":"sqli-query","Priority":0,"Action":{"Count":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"q"},
  "Statement":{"SqliMatchStatement":{"FieldToMatch":{"QueryString":{}},"TextTransformations":[{"Type":"URL_DECODE","Priority":0}]}}},
 {"Name":"sqli-header","Priority":1,"Action":{"Count":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"h"},
  "Statement":{"SqliMatchStatement":{"FieldToMatch":{"SingleHeader":{"Name":"x-secret"}},"TextTransformations":[{"Type":"NONE","Priority":0}]}}},
 {"Name":"per-secret","Priority":2,"Action":{"Count":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"r"},
  "Statement":{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"CUSTOM_KEYS","CustomKeys":[{"Header":{"Name":"x-secret","TextTransformations":[{"Type":"NONE","Priority":0}]}}]}}}]}`

// Item 12 of issue 13: credentials stay out of the WAF log. With the
// defaults, Authorization, Proxy-Authorization, Cookie and X-Api-Key are
// REDACTED; redacted_fields, in AWS's RedactedFields shape, redacts more
// (a header, the query string, the URI path, the method), and a redacted
// value appears nowhere in the record: not in httpRequest, not in the
// rules' match details ("if you redact the SingleHeader field, the HEADER
// field in the logs will be REDACTED for all rules that use the
// SingleHeader FieldToMatch setting", WAFV2 API Reference,
// RedactedFields), not in rate-based key values.
func TestItem12Redaction(t *testing.T) {
	shop := echoUpstream(t, "shop")
	secrets := map[string]string{
		"Authorization":       "Bearer tok-authorization",
		"Proxy-Authorization": "Basic tok-proxy",
		"Cookie":              "session=tok-cookie",
		"X-Api-Key":           "tok-apikey",
	}
	const sqli = "1' OR '1'='1"
	tests := []struct {
		name, extra string
		hidden      []string // values that must not appear in the record
		shown       []string // record fragments that must appear
	}{
		{"defaults", "", []string{"tok-authorization", "tok-proxy", "tok-cookie", "tok-apikey"},
			[]string{`{"name":"Authorization","value":"REDACTED"}`, `{"name":"Proxy-Authorization","value":"REDACTED"}`, `{"name":"Cookie","value":"REDACTED"}`,
				`{"name":"X-Api-Key","value":"REDACTED"}`, `"args":"access_token=tok-query`, `"uri":"/private/tok-path"`, `"httpMethod":"POST"`}},
		{"redacted_fields", `    redacted_fields:
      - SingleHeader: {Name: X-Secret}
      - QueryString: {}
      - UriPath: {}
      - Method: {}
`, []string{"tok-authorization", "tok-proxy", "tok-cookie", "tok-apikey", "tok-query", "tok-path", "tok-secret", "OR"},
			[]string{`{"name":"X-Secret","value":"REDACTED"}`, `"args":"REDACTED"`, `"uri":"REDACTED"`, `"httpMethod":"REDACTED"`, `"matchedData":["REDACTED"]`,
				`"customValues":[{"key":"HEADER","name":"x-secret","value":"REDACTED"}]`}},
		{"redact_headers shorthand", "    redact_headers: [X-Secret]\n", []string{"tok-authorization", "tok-secret"},
			[]string{`{"name":"X-Secret","value":"REDACTED"}`, `"args":"access_token=tok-query`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := strings.Replace(gatewayYAML(shop.URL, shop.URL, ""), "    file: waf.log\n", "    file: waf.log\n"+tt.extra, 1)
			yaml = strings.Replace(yaml, "web_acl: blog-acl.json", "web_acl: redact-acl.json", 1)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "redact-acl.json"), []byte(redactACL), 0o600)
			f := newFixtureIn(t, dir, yaml)
			var last *http.Response
			for range 11 { // past the rate-based limit: the record lists the key
				req, _ := http.NewRequest("POST", f.srv.URL+"/private/tok-path?access_token=tok-query&q="+strings.ReplaceAll(sqli, " ", "%20"), nil)
				req.Host = "shop.example"
				for k, v := range secrets {
					req.Header.Set(k, v)
				}
				req.Header.Set("X-Secret", "tok-secret "+sqli)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				last = resp
			}
			if last.StatusCode != 200 {
				t.Fatalf("status %d", last.StatusCode)
			}
			f.gw.Close()
			data, err := os.ReadFile(filepath.Join(f.dir, "waf.log"))
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
			rec := string(lines[len(lines)-1])
			if !json.Valid(lines[len(lines)-1]) {
				t.Fatalf("not JSON: %s", rec)
			}
			for _, h := range tt.hidden {
				if strings.Contains(string(data), h) {
					t.Errorf("%q is in the log:\n%s", h, rec)
				}
			}
			for _, s := range tt.shown {
				if !strings.Contains(rec, s) {
					t.Errorf("no %s in the record:\n%s", s, rec)
				}
			}
		})
	}
}

// redacted_fields takes only what AWS redacts, one member an entry, and
// the loader names the key that is wrong.
func TestItem12RedactedFieldsRefused(t *testing.T) {
	shop := echoUpstream(t, "shop")
	for extra, want := range map[string]string{
		"    redacted_fields:\n      - Body: {}\n":                       `gateway.log.redacted_fields[0].Body: unknown key "Body"`,
		"    redacted_fields:\n      - {QueryString: {}, UriPath: {}}\n": "gateway.log.redacted_fields[0]: exactly one of SingleHeader, QueryString, UriPath and Method",
		"    redacted_fields:\n      - SingleHeader: {Name: \"\"}\n":     `gateway.log.redacted_fields[0].SingleHeader.Name: "" is not a header name`,
		"    redact_headers: [\"bad header\"]\n":                         `gateway.log.redact_headers[0]: "bad header" is not a header name`,
	} {
		yaml := strings.Replace(gatewayYAML(shop.URL, shop.URL, ""), "    file: waf.log\n", "    file: waf.log\n"+extra, 1)
		dir := t.TempDir()
		path := filepath.Join(dir, "lockgate.yaml")
		os.WriteFile(path, []byte(yaml), 0o600)
		os.WriteFile(filepath.Join(dir, "reputation.txt"), nil, 0o600)
		snap, err := loadSnapshot(path)
		if err == nil {
			if probs := snap.Config.Validate(); len(probs) > 0 {
				err = prefixed("gateway", probs)
			}
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %s", extra, err, want)
		}
	}
}

// newFixtureIn is newFixture with files of the test's own in dir.
func newFixtureIn(t *testing.T, dir, yaml string) *fixture {
	t.Helper()
	acl, _ := os.ReadFile(blogACL)
	os.WriteFile(filepath.Join(dir, "blog-acl.json"), acl, 0o600)
	os.WriteFile(filepath.Join(dir, "reputation.txt"), []byte("198.51.100.0/24\n"), 0o600)
	cfgPath := filepath.Join(dir, "lockgate.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gw, err := New(Options{Load: func() (Snapshot, error) { return loadSnapshot(cfgPath) }, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() { srv.Close(); gw.Close() })
	return &fixture{gw: gw, srv: srv, dir: dir, cfgPath: cfgPath, reg: reg}
}
