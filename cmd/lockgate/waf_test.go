package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"validate missing reference", []string{"waf", "validate", td + "blog-acl.json"}, 1, []string{`needs its IP list (Options.IPReputation`}},
		{"validate rule group", []string{"waf", "validate", td + "all-statements.json", "--ip-set", "arn:aws:wafv2:us-east-1:1:regional/ipset/bad/1=" + rep}, 0, []string{"ok, 4 rules"}},
		{"validate bad pair", []string{"waf", "validate", td + "blog-acl.json", "--ip-set", "nofile"}, 1, []string{"write ARN=FILE"}},
		{"test allowed", append([]string{"waf", "test", "--uri", "/login"}, acl...), 0, []string{"ALLOW by Default_Action", "UriBasedRule"}},
		{"test reputation", append([]string{"waf", "test", "--ip", "198.51.100.9"}, acl...), 3, []string{"BLOCK by AWS-AWSManagedRulesAmazonIpReputationList (MANAGED_RULE_GROUP)"}},
		{"test repeat", append([]string{"waf", "test", "--uri", "/login", "--repeat", "200"}, acl...), 3, []string{"200 requests: 150 allowed, 50 blocked", "MATCH → BLOCK (count ", ", limit 150)"}},
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
		if strings.HasPrefix(l, "lockgate waf test ") && i+1 < len(lines) {
			cmd, claim = l, strings.TrimPrefix(lines[i+1], "# ")
		}
	}
	if cmd == "" {
		t.Fatal("README has no lockgate waf test example")
	}
	args := strings.Fields(strings.ReplaceAll(strings.TrimPrefix(cmd, "lockgate "), "waf/testdata/", "../../waf/testdata/"))
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
