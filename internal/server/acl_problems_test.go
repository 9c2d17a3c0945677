package server

import (
	"strings"
	"testing"
)

// okACL is a web ACL that loads.
const okACL = `{"Name":"ok","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"ok"},"Rules":[]}`

// A problem inside a file the configuration names is at the key that
// names it (file:line:column of the configuration, and the key path),
// then where inside the file it is (its line and column for a syntax
// error), one problem per mistake, alike for every key that names such a
// file (atk9f F4: a gateway route's ACL was at "gateway" with a byte
// offset, an unknown statement gave three problems, a rule group's
// second line had no place, a missing groups file was at the groups file).
func TestValidateLocatesProblemsInNamedFiles(t *testing.T) {
	const badJSON = "{\n \"Name\": \"x\",\n \"DefaultAction\": {\"Allow\": {}},,\n \"Rules\": []\n}\n"
	const unknownStatement = `{"Name":"x","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"x"},"Rules":[{"Name":"r","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"r"},"Statement":{"Foo":{}}}]}`
	const gateway = "data_dir: d\ngateway:\n  listen: 127.0.0.1:24091\n  routes:\n    - name: a\n      path_prefix: /a\n      upstreams: [\"http://127.0.0.1:24092\"]\n      web_acl: ok.json\n    - name: b\n      upstreams: [\"http://127.0.0.1:24092\"]\n      web_acl: %s\n"
	const invalidPrefix = "invalid JSON: invalid character ',' looking for beginning of object key string"
	tests := []struct {
		name  string
		yaml  string
		files map[string]file
		want  []string
	}{
		{"gateway route, JSON syntax", strings.Replace(gateway, "%s", "acls/bad.json", 1),
			map[string]file{"ok.json": {data: okACL}, "acls/bad.json": {data: badJSON}},
			[]string{"DIR/lockgate.yaml:11:16: gateway.routes[1].web_acl: DIR/acls/bad.json:3:32: " + invalidPrefix}},
		{"gateway route, unknown statement", strings.Replace(gateway, "%s", "acls/unknown.json", 1),
			map[string]file{"ok.json": {data: okACL}, "acls/unknown.json": {data: unknownStatement}},
			[]string{"DIR/lockgate.yaml:11:16: gateway.routes[1].web_acl: DIR/acls/unknown.json: Rules[0].Statement.Foo: unknown member of Statement"}},
		{"vpn web ACL, JSON syntax", "data_dir: d\nvpn:\n  enabled: true\n  secret: vpn-secret-ECeZPQnxnWkMSNn8\n  web_acl_file: acls/bad.json\n",
			map[string]file{"acls/bad.json": {data: badJSON}},
			[]string{"DIR/lockgate.yaml:5:17: vpn.web_acl_file: DIR/acls/bad.json:3:32: " + invalidPrefix}},
		{"rule group of two mistakes", "data_dir: d\nwaf:\n  rule_groups:\n    - arn: arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/app/3\n      file: rg/bad.json\n",
			map[string]file{"rg/bad.json": {data: `{"Name": 1, "Capacity": 10, "Rules": []}`}},
			[]string{
				"DIR/lockgate.yaml:5:13: waf.rule_groups[0].file: DIR/rg/bad.json: Name: must be a string",
				"DIR/lockgate.yaml:5:13: waf.rule_groups[0].file: DIR/rg/bad.json: VisibilityConfig: required",
			}},
		{"missing groups file", "data_dir: d\nauthz:\n  groups:\n    source: file\n    file: keys/none.yaml\n",
			nil,
			[]string{"DIR/lockgate.yaml:5:11: authz.groups.file: open DIR/keys/none.yaml: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := validateIn(t, tt.yaml, tt.files, nil)
			if ok {
				t.Fatal("validate said ok")
			}
			lines := strings.Split(got, "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", len(lines), len(tt.want), got)
			}
			for _, w := range tt.want {
				n := 0
				for _, l := range lines {
					if strings.HasPrefix(l, w) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%q is there %d times in\n%s", w, n, got)
				}
			}
		})
	}
}
