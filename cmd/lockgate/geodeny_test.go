package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyGeoDeny(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(doc), 0o600)
		return p
	}
	// The AWS example without aws:ViaAWSService: "this denies access to AWS
	// services, such as AWS CloudFormation, that make calls on your behalf
	// unless you also use the aws:ViaAWSService global condition."
	noVia := write("no-via.json", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["203.0.113.10/32"]}}}}`)
	blog := write("blog.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["203.0.113.10"]},"Bool":{"aws:ViaAWSService":"false"}}}]}`)
	inverted := write("inverted.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.10/32"]},"Bool":{"aws:ViaAWSService":"false"}}}]}`)
	vpce := write("vpce.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["203.0.113.10"]},"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-0a1b2c3d4e5f60789"},"Bool":{"aws:ViaAWSService":"false"}}}]}`)
	notJSON := write("not.json", `{"Version":"2012-10-17","Statement":[`)
	bad := write("bad.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*"}]}`)
	for _, tt := range []cliCase{
		{"IAM form", []string{"policy", "geo-deny", "--allow-ip", "203.0.113.10", "--allow-ip", "203.0.113.11/32"}, 0, []string{
			`"NotIpAddress": {`, `"203.0.113.10/32",`, `"aws:ViaAWSService": "false"`,
			"from inside the NAT (203.0.113.10) Allow", "from outside (198.51.100.23) ExplicitDeny ExplicitDeny ok",
			"acting for the principal (CloudFormation) Allow Allow ok",
			"a service role (a Lambda function reading S3) ExplicitDeny ExplicitDeny ok"}},
		{"SCP form", []string{"policy", "geo-deny", "--allow-ip", "2001:db8::10", "--scp"}, 0, []string{
			`"ArnNotLikeIfExists": {`, `"arn:aws:iam::*:role/service-role/*"`, `"2001:db8::10/128"`,
			"a service role (a Lambda function reading S3) Allow Allow ok"}},
		{"check the blog's policy", []string{"policy", "geo-deny", "--check", blog}, 0, []string{"from inside the NAT (203.0.113.10)"}},
		{"the blog's IAM policy is not an SCP", []string{"policy", "geo-deny", "--check", blog, "--scp"}, 1, []string{"a service role (a Lambda function reading S3) Allow ExplicitDeny WRONG"}},
		{"without ViaAWSService", []string{"policy", "geo-deny", "--check", noVia}, 1, []string{"(CloudFormation) Allow ExplicitDeny WRONG"}},
		{"inverted condition", []string{"policy", "geo-deny", "--check", inverted, "--allow-ip", "203.0.113.10"}, 1, []string{"WRONG"}},
		{"not a policy", []string{"policy", "geo-deny", "--check", bad, "--allow-ip", "203.0.113.10"}, 1, []string{"Resource"}},
		{"no address", []string{"policy", "geo-deny"}, 2, []string{"--allow-ip is required"}},
		// AWS Knowledge Center: "Only public IP addresses or public IP
		// ranges are supported."
		{"a private address", []string{"policy", "geo-deny", "--allow-ip", "10.0.0.5"}, 2, []string{`--allow-ip "10.0.0.5": not a public address range (it covers 10.0.0.0/8)`}},
		{"a private range", []string{"policy", "geo-deny", "--allow-ip", "192.168.0.0/16"}, 2, []string{"not a public address range"}},
		{"a unique local IPv6 address", []string{"policy", "geo-deny", "--allow-ip", "fd00::5"}, 2, []string{"not a public address range (it covers fc00::/7)"}},
		{"every IPv6 address", []string{"policy", "geo-deny", "--allow-ip", "::/0"}, 2, []string{"wider than any NAT gateway's addresses"}},
		{"every IPv4 address", []string{"policy", "geo-deny", "--allow-ip", "0.0.0.0/0"}, 2, []string{"wider than any NAT gateway's addresses"}},
		{"an IPv4-mapped private address", []string{"policy", "geo-deny", "--allow-ip", "::ffff:10.0.0.5"}, 2, []string{"not a public address range"}},
		// AWS Knowledge Center: "The aws:SourceIp condition key is always
		// included in the request, except for requests that use an Amazon
		// VPC endpoint." The table shows such a request denied, and
		// --allow-vpce exempts the endpoints named.
		{"VPC endpoint without --allow-vpce", []string{"policy", "geo-deny", "--allow-ip", "203.0.113.10"}, 0, []string{
			"through a VPC endpoint (vpce-0fffffffffffffff0; exempt yours with --allow-vpce) ExplicitDeny ExplicitDeny ok"}},
		{"--allow-vpce", []string{"policy", "geo-deny", "--allow-ip", "203.0.113.10", "--allow-vpce", "vpce-1a2b3c4d", "--scp"}, 0, []string{
			`"StringNotEqualsIfExists": { "aws:SourceVpce": [ "vpce-1a2b3c4d" ] }`,
			"through your VPC endpoint (vpce-1a2b3c4d) Allow Allow ok", "through another VPC endpoint (vpce-0fffffffffffffff0) ExplicitDeny ExplicitDeny ok",
			"from outside (198.51.100.23) ExplicitDeny ExplicitDeny ok"}},
		{"check a policy exempting its endpoint", []string{"policy", "geo-deny", "--check", vpce}, 0, []string{"through your VPC endpoint (vpce-0a1b2c3d4e5f60789) Allow Allow ok"}},
		{"the blog's policy denies VPC endpoint calls", []string{"policy", "geo-deny", "--check", blog, "--allow-vpce", "vpce-1a2b3c4d"}, 1, []string{"through your VPC endpoint (vpce-1a2b3c4d) Allow ExplicitDeny WRONG"}},
		{"bad endpoint id", []string{"policy", "geo-deny", "--allow-ip", "203.0.113.10", "--allow-vpce", "vpc-1a2b3c4d"}, 2, []string{`--allow-vpce "vpc-1a2b3c4d": not a VPC endpoint id`}},
		{"invalid JSON", []string{"policy", "geo-deny", "--check", notJSON}, 1, []string{"invalid JSON"}},
		{"bad address", []string{"policy", "geo-deny", "--allow-ip", "203.0.113"}, 2, []string{`--allow-ip "203.0.113": not an IP address or CIDR`}},
	} {
		stdout, stderr, code := runCLI(t, nil, tt.args...)
		out := strings.Join(strings.Fields(stdout+stderr), " ")
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", tt.name, code, tt.code, stdout, stderr)
		}
		for _, w := range tt.contains {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s%s", tt.name, w, stdout, stderr)
			}
		}
	}
	stdout, stderr, code := runCLI(t, nil, "policy", "geo-deny", "--allow-ip", "203.0.113.10", "--scp", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Form      string          `json:"form"`
		Policy    json.RawMessage `json:"policy"`
		Scenarios []struct {
			OK bool `json:"ok"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Form != "scp" || len(r.Scenarios) != 5 || !strings.Contains(string(r.Policy), "ArnNotLikeIfExists") {
		t.Fatalf("%v: %s", err, stdout)
	}
	// The written policy checks clean when read back.
	pol := write("written.json", string(r.Policy))
	if out, errOut, code := runCLI(t, nil, "policy", "geo-deny", "--check", pol, "--scp"); code != 0 {
		t.Errorf("the written SCP fails its own check: %s%s", out, errOut)
	}
}
