package webacl

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
)

// load decodes a file holding a waf section and provisions it, with the
// problems located in the file as lockgate config validate reports them.
func load(t *testing.T, path string) (*Set, error) {
	t.Helper()
	var file struct {
		WAF Config `yaml:"waf"`
	}
	src, err := config.Load(path, func(string) string { return "" }, &file)
	if err != nil {
		return nil, err
	}
	set, probs := Provision(file.WAF, nil)
	for i := range probs {
		probs[i].Path = "waf." + probs[i].Path
	}
	return set, src.Locate(probs).Err()
}

func TestSection(t *testing.T) {
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
	set, err := load(t, good)
	if err != nil {
		t.Fatal(err)
	}
	opts := set.Options
	if opts.BodyLimit != 32<<10 || len(opts.IPSets) != 2 || opts.IPReputation[0] != netip.MustParsePrefix("198.51.100.0/24") ||
		len(opts.IPSets["arn:aws:wafv2:us-east-1:111122223333:regional/ipset/office/2"]) != 2 ||
		len(opts.RegexSets["arn:aws:wafv2:us-east-1:111122223333:regional/regexpatternset/bots/3"]) != 2 ||
		opts.RuleGroups["arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/app/1"].Name != "app" {
		t.Fatalf("%+v", opts)
	}
	if len(set.Files) != 3 {
		t.Errorf("watched files %v", set.Files)
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
	_, err = load(t, bad)
	for _, want := range []string{
		bad + ":2:19: waf.body_limit_kib: 128 is outside 1..64",
		bad + ":3:14: waf.redis_url",
		bad + `:6:19: waf.ip_sets[0].addresses[0]: "10.0.0.1" is not a CIDR`,
		bad + `:7:12: waf.ip_sets[1].arn: "a" is also defined at ip_sets[0]`,
		bad + ":9:7: waf.ip_sets[2]: give file or addresses",
		bad + ":12:17: waf.regex_sets[0].patterns: line 1: not a regular expression",
		bad + ":15:13: waf.rule_groups[0].file: open " + filepath.Join(dir, "missing.json"),
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lacks %q:\n%v", want, err)
		}
	}
}

func TestCompileNamesTheFile(t *testing.T) {
	set, probs := Provision(Config{}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	path := filepath.Join(t.TempDir(), "acl.json")
	os.WriteFile(path, []byte(`{"Name":"x","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"x"},
"Rules":[{"Name":"r","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"r"},
"Statement":{"IPSetReferenceStatement":{"ARN":"arn:aws:wafv2:us-east-1:111122223333:regional/ipset/none/1"}}}]}`), 0o600)
	_, _, err := set.Compile(path, nil)
	var pl problem.List
	if !errors.As(err, &pl) || pl[0].File != path || !strings.Contains(pl[0].Msg, "none/1") {
		t.Fatalf("got %v", err)
	}
}
