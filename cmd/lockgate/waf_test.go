package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/geo/geotest"
	"github.com/lockgate/lockgate/internal/webacl"
)

func TestWAFCommands(t *testing.T) {
	td := "../../waf/testdata/"
	dir := t.TempDir()
	rep := filepath.Join(dir, "reputation.txt")
	os.WriteFile(rep, []byte("# feed\n198.51.100.0/24\n"), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"Name":"a","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"a"},"Statement":{"RateBasedStatement":{"Limit":5,"AggregateKeyType":"IP","EvaluationWindowSec":30}}}]`), 0o600)
	body := filepath.Join(dir, "body.txt")
	os.WriteFile(body, []byte(`{"q":"<script>alert(1)</script>"}`), 0o600)
	acl := []string{"--acl", td + "blog-acl.json", "--ip-reputation", rep}
	runCLICases(t, []cliCase{
		{"validate", []string{"waf", "validate", td + "blog-acl.json", "--ip-reputation", rep}, 0, []string{"ok, 3 rules, 31 WCUs"}},
		{"validate every problem", []string{"waf", "validate", bad}, 1, []string{"Limit: 5 is below the minimum 10", "EvaluationWindowSec: 30 is not 60, 120, 300 or 600"}},
		{"validate -o json", []string{"waf", "validate", "-o", "json", td + "blog-acl.json", "--ip-reputation", rep}, 0, []string{`"valid": true`, `"rules": 3`, `"wcus": 31`, `"problems": []`}},
		{"validate -o json with problems", []string{"waf", "validate", bad, "-o", "json"}, 1, []string{`"valid": false`, "Limit: 5 is below the minimum 10"}},
		{"validate missing reference", []string{"waf", "validate", td + "blog-acl.json"}, 1, []string{`needs its IP list, and none was given (a file of CIDRs: --ip-reputation`}},
		{"validate rule group", []string{"waf", "validate", td + "all-statements.json", "--ip-set", "arn:aws:wafv2:us-east-1:1:regional/ipset/bad/1=" + rep}, 0, []string{"ok, 4 rules"}},
		{"validate bad pair", []string{"waf", "validate", td + "blog-acl.json", "--ip-set", "nofile"}, 1, []string{"write ARN=FILE"}},
		{"test allowed", append([]string{"waf", "test", "--uri", "/login"}, acl...), 0, []string{"ALLOW by Default_Action", "UriBasedRule"}},
		{"test reputation", append([]string{"waf", "test", "--ip", "198.51.100.9"}, acl...), 3, []string{"BLOCK by AWS-AWSManagedRulesAmazonIpReputationList (MANAGED_RULE_GROUP)"}},
		{"test repeat", append([]string{"waf", "test", "--uri", "/login", "--repeat", "200"}, acl...), 3, []string{"200 requests: 150 allowed, 50 blocked", "MATCH → BLOCK (count ", ", limit 150)"}},
		{"test -o json without --repeat: the documented shape", append([]string{"waf", "test", "-o", "json"}, acl...), 0, []string{`"allowed": 1,`, `"blocked": 0,`, `"counted": 0,`, `"last": {`}},
		{"test bad ip", append([]string{"waf", "test", "--ip", "nope"}, acl...), 2, []string{"--ip"}},
		{"test bad header", append([]string{"waf", "test", "-H", "nocolon"}, acl...), 2, []string{"Name: value"}},
		{"test body", []string{"waf", "test", "--acl", td + "all-statements.json", "--ip-set", "arn:aws:wafv2:us-east-1:1:regional/ipset/bad/1=" + rep,
			"--method", "POST", "--uri", "/x?debug=1", "--body", body, "-H", "Content-Type: application/json"}, 3, []string{"BLOCK by block"}},
	})
}

// The configuration's waf section supplies what the web ACL references.
func TestWAFWithConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "reputation.txt"), []byte("198.51.100.0/24\n"), 0o600)
	cfg := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfg, []byte("waf:\n  ip_reputation_file: reputation.txt\n"), 0o600)
	stdout, stderr, code := runCLI(t, nil, "waf", "test", "--config", cfg, "--acl", "../../waf/testdata/blog-acl.json", "--ip", "198.51.100.3")
	if code != 3 || !strings.Contains(stdout, "BLOCK by AWS-AWSManagedRulesAmazonIpReputationList") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	os.WriteFile(cfg, []byte("waf:\n  ip_reputation_file: missing.txt\n"), 0o600)
	_, stderr, code = runCLI(t, nil, "waf", "validate", "--config", cfg, "../../waf/testdata/blog-acl.json")
	if code != 1 || !strings.Contains(stderr, "lockgate.yaml:2:23: waf.ip_reputation_file: open ") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

func TestWAFTestJSON(t *testing.T) {
	dir := t.TempDir()
	rep := filepath.Join(dir, "reputation.txt")
	os.WriteFile(rep, []byte("198.51.100.0/24\n"), 0o600)
	stdout, stderr, code := runCLI(t, nil, "waf", "test", "--acl", "../../waf/testdata/blog-acl.json", "--ip-reputation", rep,
		"--method", "POST", "--uri", "/login", "--repeat", "151", "-o", "json")
	if code != 3 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var v struct {
		Allowed, Blocked, Counted int
		Last                      struct {
			Action            string `json:"action"`
			TerminatingRuleID string `json:"terminatingRuleId"`
			RateBased         []struct {
				LimitValue string `json:"limitValue"`
				Max        int64  `json:"maxRateAllowed"`
			} `json:"rateBasedRuleList"`
			Trace []struct {
				Rule    string `json:"rule"`
				Matched bool   `json:"matched"`
			} `json:"trace"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if v.Allowed != 150 || v.Blocked != 1 || v.Last.Action != "BLOCK" || v.Last.TerminatingRuleID != "UriBasedRule" ||
		len(v.Last.RateBased) != 1 || v.Last.RateBased[0].LimitValue != "203.0.113.7" || v.Last.RateBased[0].Max != 150 || len(v.Last.Trace) != 2 {
		t.Fatalf("%+v", v)
	}
}

// The README's waf test example prints what the README says it prints.
func TestREADMEWAFExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmd, claim string
	lines := strings.Split(string(readme), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "go run ./cmd/lockgate waf test ") && i+1 < len(lines) {
			cmd, claim = l, strings.TrimPrefix(lines[i+1], "# ")
		}
	}
	if cmd == "" {
		t.Fatal("README has no lockgate waf test example")
	}
	args := strings.Fields(strings.ReplaceAll(strings.TrimPrefix(cmd, "go run ./cmd/lockgate "), "waf/testdata/", "../../waf/testdata/"))
	stdout, stderr, code := runCLI(t, nil, args...)
	if code != 3 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, part := range strings.Split(claim, " … ") {
		if !strings.Contains(stdout, part) {
			t.Errorf("output lacks the README's %q:\n%s", part, stdout)
		}
	}
}

// lockgate waf test -o json prints the record the gateway writes for the
// same request: same request parsing, request building (headers in the
// order and case sent), evaluation and record code. Only the timestamp
// and the request id differ.
func TestWAFTestRecordIsTheGatewayRecord(t *testing.T) {
	dir := t.TempDir()
	aclJSON := `{"Name":"shop","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"shop"},
	"Rules":[{"Name":"sqli","Priority":0,"Action":{"Count":{"CustomRequestHandling":{"InsertHeaders":[{"Name":"suspect","Value":"sqli"}]}}},
	  "RuleLabels":[{"Name":"suspect:sqli"}],
	  "VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"sqli"},
	  "Statement":{"SqliMatchStatement":{"FieldToMatch":{"QueryString":{}},"TextTransformations":[{"Priority":0,"Type":"URL_DECODE"}]}}},
	 {"Name":"order","Priority":1,"Action":{"Count":{}},
	  "VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"order"},
	  "Statement":{"ByteMatchStatement":{"SearchString":"x-B:Host:user-agent","FieldToMatch":{"HeaderOrder":{"OversizeHandling":"CONTINUE"}},"TextTransformations":[{"Priority":0,"Type":"NONE"}],"PositionalConstraint":"STARTS_WITH"}}}]}`
	os.WriteFile(filepath.Join(dir, "acl.json"), []byte(aclJSON), 0o600)
	cfgPath := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfgPath, []byte(`gateway:
  listen: 127.0.0.1:0
  log:
    file: waf.log
  routes:
    - name: shop
      upstreams: [http://127.0.0.1:1]
      web_acl: acl.json
`), 0o600)
	load := func() (gateway.Snapshot, error) {
		file := struct {
			Gateway gateway.Config `yaml:"gateway"`
			WAF     webacl.Config  `yaml:"waf"`
		}{Gateway: gateway.DefaultConfig()}
		src, err := config.Load(cfgPath, func(string) string { return "" }, &file)
		if err != nil {
			return gateway.Snapshot{}, err
		}
		set, probs := webacl.Provision(file.WAF, nil)
		if len(probs) > 0 {
			return gateway.Snapshot{}, src.Locate(probs)
		}
		return gateway.Snapshot{Config: file.Gateway, WAF: set}, nil
	}
	gw, err := gateway.New(gateway.Options{Load: load, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx, ln) }() // Run serves through the header-order listener
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	const query = "q=1%27%20OR%20%271%27%3D%271"
	io.WriteString(c, "GET /search?"+query+" HTTP/1.1\r\nx-B: b\r\nHost: shop.example\r\nuser-agent: probe\r\nConnection: close\r\n\r\n")
	io.ReadAll(c)
	c.Close()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	logged, err := os.ReadFile(filepath.Join(dir, "waf.log"))
	if err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runCLI(t, nil, "waf", "test", "--acl", filepath.Join(dir, "acl.json"), "--ip", "127.0.0.1", "--route", "shop",
		"--uri", "/search?"+query, "-H", "x-B: b", "-H", "Host: shop.example", "-H", "user-agent: probe", "-H", "Connection: close", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var out struct{ Last map[string]json.RawMessage }
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	var gwRec map[string]json.RawMessage
	if err := json.Unmarshal(logged, &gwRec); err != nil {
		t.Fatalf("%v: %s", err, logged)
	}
	if _, ok := out.Last["trace"]; !ok {
		t.Fatal("no trace")
	}
	delete(out.Last, "trace")
	norm := func(m map[string]json.RawMessage) string {
		delete(m, "timestamp")
		var req map[string]json.RawMessage
		json.Unmarshal(m["httpRequest"], &req)
		delete(req, "requestId")
		m["httpRequest"], _ = json.Marshal(req)
		b, _ := json.Marshal(m)
		return string(b)
	}
	got, want := norm(out.Last), norm(gwRec)
	if got != want {
		t.Fatalf("waf test record:\n%s\ngateway record:\n%s", got, want)
	}
	for _, part := range []string{`"ruleMatchDetails":[{"conditionType":"SQL_INJECTION","sensitivityLevel":"LOW","location":"QUERY_STRING"`,
		`{"name":"x-B","value":"b"},{"name":"Host","value":"shop.example"}`, `"requestHeadersInserted":[{"name":"x-amzn-waf-suspect","value":"sqli"}]`,
		`{"ruleId":"order","action":"COUNT"`} {
		if !strings.Contains(want, part) {
			t.Errorf("the gateway record lacks %s:\n%s", part, want)
		}
	}
}

// waf test places the client with the geolocation database the gateway
// uses (geo.database_file of --config): the same country and region
// labels and the same logged country as lockgate serve writes for the
// same address (issue 12: "waf test -o json prints exactly the log record
// the gateway would write"; the geo labels "use them [MaxMind-format
// databases] when present").
func TestWAFTestUsesTheGatewaysGeoDatabase(t *testing.T) {
	dir := t.TempDir()
	city := geotest.Write(t, geotest.City, geotest.Records)
	up := shopUpstream(t)
	gwAddr := freeAddr(t)
	acl := `{"Name":"geo","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"geo"},
	"Rules":[{"Name":"us","Priority":0,"Action":{"Count":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"us"},
	  "Statement":{"GeoMatchStatement":{"CountryCodes":["US"]}}}]}`
	os.WriteFile(filepath.Join(dir, "geo.json"), []byte(acl), 0o600)
	cfg := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfg, []byte(`data_dir: `+filepath.Join(dir, "data")+`
geo:
  database_file: `+city+`
gateway:
  listen: `+gwAddr+`
  trusted_proxies: ["127.0.0.0/8"]
  log:
    file: waf.log
  routes:
    - name: geo
      upstreams: [`+up.URL+`]
      web_acl: geo.json
`), 0o600)
	ips := []string{"8.8.8.8", "9.9.9.9"} // in the City file (US-CA); unknown to it
	p := startServeArgs(t, freeAddr(t), []string{"--config", cfg}, "LOCKGATE_ADMIN_TOKEN=gateway-admin-token-2NVJAbtiaFfEEfaf")
	for _, ip := range ips {
		send(t, http.DefaultClient, "http://"+gwAddr+"/", ip)
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.cmd.Wait()
	logged, err := os.ReadFile(filepath.Join(dir, "waf.log"))
	if err != nil {
		t.Fatal(err)
	}
	type geoRecord struct {
		Labels      []struct{ Name string } `json:"labels"`
		HTTPRequest struct {
			ClientIP string `json:"clientIp"`
			Country  string `json:"country"`
		} `json:"httpRequest"`
	}
	lines := strings.Split(strings.TrimSpace(string(logged)), "\n")
	if len(lines) != len(ips) {
		t.Fatalf("%d records:\n%s\n%s", len(lines), logged, p.logs)
	}
	for i, ip := range ips {
		var gw geoRecord
		if err := json.Unmarshal([]byte(lines[i]), &gw); err != nil || gw.HTTPRequest.ClientIP != ip {
			t.Fatalf("%v: %s", err, lines[i])
		}
		stdout, stderr, code := runCLI(t, nil, "--config", cfg, "waf", "test", "--acl", filepath.Join(dir, "geo.json"), "--ip", ip, "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		var cli struct{ Last geoRecord }
		if err := json.Unmarshal([]byte(stdout), &cli); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(cli.Last) != fmt.Sprint(gw) {
			t.Errorf("%s: waf test %+v, gateway %+v", ip, cli.Last, gw)
		}
	}
	if !strings.Contains(lines[0], `"awswaf:clientip:geo:region:US-CA"`) {
		t.Errorf("the gateway's record for 8.8.8.8 lacks the City database's region: %s", lines[0])
	}
}

// atk9f F11: waf test answered ALLOW for requests the gateway refuses
// with 400 before its web ACL (a header sent twice, a Host that is not
// host[:port]), and always simulated plain HTTP/1.1, where a gateway
// behind TLS does not know the header order and a HeaderOrder rule
// blocks. It now runs the gateway's checks (gateway.Refusal), and --tls
// simulates the order unknown.
func TestWAFTestIsTheGatewaysPath(t *testing.T) {
	dir := t.TempDir()
	acl := filepath.Join(dir, "ho.json")
	os.WriteFile(acl, []byte(`{"Name": "ho", "DefaultAction": {"Allow": {}}, "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "ho"},
 "Rules": [{"Name": "HO", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "HO"},
  "Statement": {"ByteMatchStatement": {"SearchString": "x-b:x-a", "FieldToMatch": {"HeaderOrder": {"OversizeHandling": "MATCH"}}, "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}], "PositionalConstraint": "CONTAINS"}}}]}`), 0o600)
	test := func(args ...string) []string { return append([]string{"waf", "test", "--acl", acl}, args...) }
	runCLICases(t, []cliCase{
		{"plain", test("-H", "X-A: 1", "-H", "X-B: 1"), 0, []string{"ALLOW by Default_Action"}},
		{"plain, the order matched", test("-H", "X-B: 1", "-H", "X-A: 1"), 3, []string{"BLOCK by HO"}},
		{"behind TLS the order is unknown", test("--tls", "-H", "X-A: 1", "-H", "X-B: 1"), 3, []string{"BLOCK by HO"}},
		{"a header sent twice", test("-H", "X-A: 1", "-H", "X-A: 2"), 3, []string{"REFUSED by the gateway before the web ACL: 400 bad_request: the header X-A is sent more than once"}},
		{"a malformed Host", test("-H", "Host: a.test:80:80"), 3, []string{`REFUSED by the gateway before the web ACL: 400 bad_request: the host "a.test:80:80" is not a valid host[:port]`}},
		{"a malformed Host, json", test("-H", "Host: a..test", "-o", "json"), 3, []string{`"refused": {`, `"status": 400`}},
		{"an underscore name, refused", test("-H", "X_A: 1", "--underscore-headers", "refuse"), 3, []string{"holds '_'"}},
		{"an underscore name, dropped", test("-H", "X_A: 1"), 0, []string{"ALLOW"}},
		{"bad --underscore-headers", test("--underscore-headers", "maybe"), 2, []string{"drop, refuse or allow"}},
	})
}
