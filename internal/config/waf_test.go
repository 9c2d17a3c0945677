package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWAFSection(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.txt"), []byte("# feed\n203.0.113.0/24\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "reputation.txt"), []byte("198.51.100.0/24\n"), 0o600)
	group, _ := os.ReadFile("../../waf/testdata/rule-group.json")
	os.WriteFile(filepath.Join(dir, "group.json"), group, 0o600)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(`waf:
  body_limit_kib: 32
  ip_reputation_file: reputation.txt
  ip_sets:
    - arn: arn:aws:wafv2:us-east-1:111122223333:regional/ipset/bad/1
      file: bad.txt
    - arn: arn:aws:wafv2:us-east-1:111122223333:regional/ipset/office/2
      addresses: ["192.0.2.0/24", "2001:db8::/32"]
  regex_sets:
    - arn: arn:aws:wafv2:us-east-1:111122223333:regional/regexpatternset/bots/3
      patterns: ["(?i)sqlmap", "^curl/"]
  rule_groups:
    - arn: arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/app/1
      file: group.json
`), 0o600)
	cfg, err := Load(good, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	opts, probs := cfg.WAF.Options(cfg.Dir())
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if opts.BodyLimit != 32<<10 || len(opts.IPSets) != 3 || opts.IPSets["ip-reputation"][0] != netip.MustParsePrefix("198.51.100.0/24") ||
		len(opts.IPSets["arn:aws:wafv2:us-east-1:111122223333:regional/ipset/office/2"]) != 2 ||
		len(opts.RegexSets["arn:aws:wafv2:us-east-1:111122223333:regional/regexpatternset/bots/3"]) != 2 ||
		opts.RuleGroups["arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/app/1"].Name != "app" {
		t.Fatalf("%+v", opts)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`waf:
  body_limit_kib: 128
  redis_url: http://x
  ip_sets:
    - arn: a
      addresses: ["10.0.0.1"]
    - arn: a
      file: bad.txt
    - arn: b
  regex_sets:
    - arn: c
      patterns: ["(?<=x)"]
  rule_groups:
    - arn: d
      file: missing.json
`), 0o600)
	_, err = Load(bad, func(string) string { return "" })
	for _, want := range []string{
		"waf.body_limit_kib (line 2): 128 is outside 1..64",
		"waf.redis_url (line 3)",
		`waf.ip_sets[0].addresses[0] (line 6): "10.0.0.1" is not a CIDR`,
		`waf.ip_sets[1].arn (line 7): "a" is also defined at waf.ip_sets[0]`,
		"waf.ip_sets[2] (line 9): give file or addresses",
		"waf.regex_sets[0] (line 11): line 1: not a regular expression",
		"waf.rule_groups[0].file (line 15)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lacks %q:\n%v", want, err)
		}
	}
}
