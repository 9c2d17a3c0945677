package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/iampolicy"
)

// newPolicyGeoDeny writes the blog's deny policy: every request that does
// not come from the NAT gateway's addresses is denied, unless an AWS
// service makes it for the principal (and, in the SCP form, unless a
// service role makes it). It then proves the policy with lockgate's IAM
// engine against the scenarios the blog describes.
func newPolicyGeoDeny() *cobra.Command {
	c := &cobra.Command{
		Use:   "geo-deny",
		Short: "Write the deny-unless-from-the-NAT-gateway policy (or its SCP form) and evaluate it against the blog's scenarios",
		Long: `Write the IAM policy that denies every request not coming from the NAT
gateway's Elastic IP addresses (NotIpAddress aws:SourceIp), except requests an
AWS service makes on the principal's behalf (Bool aws:ViaAWSService false).
With --scp, write its service control policy form, which also exempts service
roles (ArnNotLikeIfExists aws:PrincipalARN arn:aws:iam::*:role/service-role/*).

The policy is then evaluated with lockgate's IAM engine, beside an allow-all
identity policy (and FullAWSAccess at the SCP's level), against the scenarios:
from inside the NAT (allowed), from outside (denied), an AWS service acting for
the principal (allowed), a service role from outside (allowed under the SCP,
denied by the IAM form, which is meant for people's roles). With --check FILE
the same table runs on an existing policy. Exit 1 if a scenario is not decided
as expected.

Requests through a VPC endpoint carry no aws:SourceIp, so the policy denies
them (the table shows it). --allow-vpce exempts your endpoints: the Deny then
also requires StringNotEqualsIfExists aws:SourceVpce, as AWS's data perimeter
policies do. --allow-ip takes public addresses only: AWS sees a NAT gateway's
Elastic IP, never a private address, and ::/0 or 0.0.0.0/0 would exempt every
caller.`,
		Example: `  lockgate policy geo-deny --allow-ip 203.0.113.10 --allow-ip 203.0.113.11
  lockgate policy geo-deny --allow-ip 203.0.113.10 --scp -o json
  lockgate policy geo-deny --allow-ip 203.0.113.10 --allow-vpce vpce-1a2b3c4d
  lockgate policy geo-deny --check deny-if-not-nat.json --scp`,
		Args: noArgs,
		RunE: runGeoDeny,
	}
	c.Flags().StringArray("allow-ip", nil, "a NAT gateway address or CIDR requests may come from (repeatable)")
	c.Flags().StringArray("allow-vpce", nil, "a VPC endpoint id (vpce-…) whose requests are exempt: they carry no aws:SourceIp (repeatable)")
	c.Flags().Bool("scp", false, "the service control policy form (exempts service roles)")
	c.Flags().String("check", "", "evaluate the scenarios on this policy file instead of writing one")
	outputFlag(c)
	return c
}

// geoDenyPolicy is the blog's policy for the NAT addresses, its keys in
// the blog's order.
func geoDenyPolicy(cidrs, vpces []string, scp bool) any {
	type condition struct {
		NotIPAddress            map[string][]string `json:"NotIpAddress"`
		StringNotEqualsIfExists map[string][]string `json:"StringNotEqualsIfExists,omitempty"`
		Bool                    map[string]string   `json:"Bool"`
		ArnNotLikeIfExists      map[string][]string `json:"ArnNotLikeIfExists,omitempty"`
	}
	type statement struct {
		Sid       string    `json:"Sid"`
		Effect    string    `json:"Effect"`
		Action    string    `json:"Action"`
		Resource  string    `json:"Resource"`
		Condition condition `json:"Condition"`
	}
	st := statement{Sid: "DenyIfNotFromNATGateway", Effect: "Deny", Action: "*", Resource: "*", Condition: condition{
		NotIPAddress: map[string][]string{"aws:SourceIp": cidrs},
		Bool:         map[string]string{"aws:ViaAWSService": "false"},
	}}
	if len(vpces) > 0 {
		st.Condition.StringNotEqualsIfExists = map[string][]string{"aws:SourceVpce": vpces}
	}
	if scp {
		st.Sid = "DenyIfNotFromNATGatewayExceptServiceRoles"
		st.Condition.ArnNotLikeIfExists = map[string][]string{"aws:PrincipalARN": {"arn:aws:iam::*:role/service-role/*"}}
	}
	return struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{"2012-10-17", []statement{st}}
}

// geoScenario is one row of the table.
type geoScenario struct {
	Name     string `json:"scenario"`
	Expected string `json:"expected"`
	Decision string `json:"decision"`
	OK       bool   `json:"ok"`
	Source   string `json:"source"`
}

type geoDenyReport struct {
	Form      string          `json:"form"`
	Policy    json.RawMessage `json:"policy,omitempty"`
	Scenarios []geoScenario   `json:"scenarios"`
}

const (
	geoAccount = "111122223333"
	// outsideIP is an address no NAT gateway of the tests has.
	outsideIP = "198.51.100.23"
	// serviceIP stands for an AWS service's own address (CloudFormation's).
	serviceIP = "52.94.10.20"
	// otherVPCE is an endpoint none of the tests exempts; vpcSourceIP a
	// host's private address in the VPC.
	otherVPCE   = "vpce-0fffffffffffffff0"
	vpcSourceIP = "10.0.1.5"
)

// geoScenarios evaluates the table against the policy in its form.
func geoScenarios(p *iampolicy.Policy, scp bool, inside netip.Addr, vpces []string) ([]geoScenario, error) {
	allowAll := iampolicy.MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "AllowAll", Policy: allowAll}}}
	if scp {
		set.SCPs = [][]iampolicy.Named{{{Name: "FullAWSAccess", Policy: allowAll}, {Name: "geo-deny", Policy: p}}}
	} else {
		set.Identity = append(set.Identity, iampolicy.Named{Name: "geo-deny", Policy: p})
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	type row struct {
		name, source     string
		principal, role  string
		ip               string // "" for a request through a VPC endpoint
		vpce             string
		via              bool
		wantIAM, wantSCP iampolicy.Decision
	}
	person := "arn:aws:sts::" + geoAccount + ":assumed-role/Engineer/alice"
	personRole := "arn:aws:iam::" + geoAccount + ":role/Engineer"
	lambdaRole := "arn:aws:iam::" + geoAccount + ":role/service-role/ReportFunctionRole"
	rows := []row{
		{"from inside the NAT (" + inside.String() + ")", "blog: \"Since you're connected to the VPN, your origin IP address is one of the NAT gateway IPs, and the request is allowed.\"",
			person, personRole, inside.String(), "", false, iampolicy.Allowed, iampolicy.Allowed},
		{"from outside (" + outsideIP + ")", "blog: \"Access has been denied because your origin public IP address is no longer one of the NAT gateway IP addresses.\"",
			person, personRole, outsideIP, "", false, iampolicy.ExplicitDeny, iampolicy.ExplicitDeny},
		{"an AWS service acting for the principal (CloudFormation)", "blog: \"you use aws:SourceIp with the aws:ViaAWSService key to ensure that the source IP address restriction applies only to requests made directly by a principal.\"",
			person, personRole, serviceIP, "", true, iampolicy.Allowed, iampolicy.Allowed},
		{"a service role (a Lambda function reading S3)", "blog: \"The aws:PrincipalARN condition key allows your AWS services to communicate to other AWS services even though those won't have a NAT IP address as the source IP address.\"",
			"arn:aws:sts::" + geoAccount + ":assumed-role/ReportFunctionRole/fn", lambdaRole, serviceIP, "", false, iampolicy.ExplicitDeny, iampolicy.Allowed},
	}
	// AWS Knowledge Center: "The aws:SourceIp condition key is always
	// included in the request, except for requests that use an Amazon VPC
	// endpoint." Such a request is denied unless its endpoint is exempt.
	const vpceSource = "AWS: \"The aws:SourceIp condition key is always included in the request, except for requests that use an Amazon VPC endpoint.\""
	if len(vpces) == 0 {
		rows = append(rows, row{"through a VPC endpoint (" + otherVPCE + "; exempt yours with --allow-vpce)", vpceSource,
			person, personRole, "", otherVPCE, false, iampolicy.ExplicitDeny, iampolicy.ExplicitDeny})
	} else {
		rows = append(rows,
			row{"through your VPC endpoint (" + vpces[0] + ")", vpceSource + " aws:SourceVpce names it.",
				person, personRole, "", vpces[0], false, iampolicy.Allowed, iampolicy.Allowed},
			row{"through another VPC endpoint (" + otherVPCE + ")", vpceSource,
				person, personRole, "", otherVPCE, false, iampolicy.ExplicitDeny, iampolicy.ExplicitDeny})
	}
	var out []geoScenario
	for _, r := range rows {
		ctx := iampolicy.NewContext(nil)
		if r.ip != "" {
			ctx.Set("aws:SourceIp", r.ip)
		} else {
			ctx.Set("aws:SourceVpce", r.vpce)
			ctx.Set("aws:VpcSourceIp", vpcSourceIP)
		}
		ctx.SetBool("aws:ViaAWSService", r.via)
		ctx.Set("aws:PrincipalArn", r.role)
		ctx.Set("aws:PrincipalAccount", geoAccount)
		res := set.Evaluate(&iampolicy.Request{Principal: r.principal, Action: "s3:ListAllMyBuckets", Resource: "*", Context: ctx})
		want := r.wantIAM
		if scp {
			want = r.wantSCP
		}
		out = append(out, geoScenario{Name: r.name, Expected: want.String(), Decision: res.Decision.String(), OK: res.Decision == want, Source: r.source})
	}
	return out, nil
}

func runGeoDeny(c *cobra.Command, _ []string) error {
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	scp, _ := c.Flags().GetBool("scp")
	ips, _ := c.Flags().GetStringArray("allow-ip")
	check, _ := c.Flags().GetString("check")
	vpces, _ := c.Flags().GetStringArray("allow-vpce")
	for _, v := range vpces {
		if !vpcePattern.MatchString(v) {
			return usagef("--allow-vpce %q: not a VPC endpoint id (vpce- and 8 or 17 hexadecimal digits)", v)
		}
	}
	var cidrs []string
	var inside netip.Addr
	for _, s := range ips {
		pfx, err := parseAllowIP(s)
		if err != nil {
			return usagef("--allow-ip %q: %v", s, err)
		}
		if msg := publicProblem(pfx); msg != "" {
			return usagef("--allow-ip %q: %s", s, msg)
		}
		if !inside.IsValid() {
			inside = pfx.Addr()
		}
		cidrs = append(cidrs, pfx.String())
	}
	report := geoDenyReport{Form: "iam"}
	if scp {
		report.Form = "scp"
	}
	var doc []byte
	if check != "" {
		if doc, err = os.ReadFile(check); err != nil {
			return err
		}
		if _, err := iampolicy.Parse(doc); err != nil {
			return fmt.Errorf("%s: %w", check, err)
		}
		if len(vpces) == 0 {
			vpces = policyValues(doc, "aws:SourceVpce")
		}
		if !inside.IsValid() {
			if inside = firstSourceIP(doc); !inside.IsValid() {
				return usagef("%s names no aws:SourceIp address: give the NAT gateway's with --allow-ip", check)
			}
		}
	} else {
		if len(cidrs) == 0 {
			return usagef("--allow-ip is required (the NAT gateway's Elastic IP addresses), or --check a policy")
		}
		if doc, err = json.MarshalIndent(geoDenyPolicy(cidrs, vpces, scp), "", "  "); err != nil {
			return err
		}
		report.Policy = doc
	}
	pol, err := iampolicy.Parse(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", orDefault(check, "the policy"), err)
	}
	if report.Scenarios, err = geoScenarios(pol, scp, inside, vpces); err != nil {
		return err
	}
	if !p.structured() && report.Policy != nil {
		fmt.Fprintf(c.OutOrStdout(), "%s\n\n", report.Policy)
	}
	if err := p.object(report, func(t *table) {
		t.head("SCENARIO", "EXPECTED", "DECISION", "OK")
		for _, s := range report.Scenarios {
			t.row(s.Name, s.Expected, s.Decision, map[bool]string{true: "ok", false: "WRONG"}[s.OK])
		}
	}); err != nil {
		return err
	}
	for _, s := range report.Scenarios {
		if !s.OK {
			return exitError{exitFailure}
		}
	}
	return nil
}

// parseAllowIP reads an address (a /32 or /128) or a CIDR.
func parseAllowIP(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("not an IP address or CIDR")
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR")
	}
	return netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()), nil
}

// nonPublic are the ranges AWS never sees as a request's aws:SourceIp:
// private, shared (CGNAT), loopback, link-local, multicast, reserved and
// IPv4-mapped.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "::ffff:0:0/96", "fc00::/7", "fe80::/10", "ff00::/8"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// publicProblem says why an --allow-ip prefix cannot be a NAT gateway's
// public addresses ("" when it can). AWS Knowledge Center: "Only public
// IP addresses or public IP ranges are supported." A private address
// (the NAT's inside one) gives a policy that denies the VPN's users
// themselves; ::/0 or 0.0.0.0/0 exempts every caller.
func publicProblem(p netip.Prefix) string {
	if p.Addr().Is4() && p.Bits() < 16 || p.Addr().Is6() && p.Bits() < 32 {
		return "wider than any NAT gateway's addresses (at most a /16 of IPv4 or a /32 of IPv6): it would exempt callers from anywhere"
	}
	for _, np := range nonPublic {
		if p.Overlaps(np) {
			return "not a public address range (it covers " + np.String() + "): aws:SourceIp is the public address AWS sees, the NAT gateway's Elastic IP"
		}
	}
	return ""
}

// vpcePattern is a VPC endpoint id (ec2 VpcEndpointId).
var vpcePattern = regexp.MustCompile(`^vpce-([0-9a-f]{8}|[0-9a-f]{17})$`)

// policyValues lists the string values a policy's conditions give key.
func policyValues(doc []byte, key string) []string {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if strings.EqualFold(k, key) {
					if s, ok := x.(string); ok {
						out = append(out, s)
					}
					out = append(out, asStrings(x)...)
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// firstSourceIP finds the first address an aws:SourceIp condition names
// in a policy document, to stand inside the NAT.
func firstSourceIP(doc []byte) netip.Addr {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return netip.Addr{}
	}
	var walk func(any) netip.Addr
	walk = func(v any) netip.Addr {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if strings.EqualFold(k, "aws:SourceIp") {
					vals, ok := x.([]any)
					if !ok {
						vals = []any{x}
					}
					for _, s := range vals {
						if s, ok := s.(string); ok {
							if p, err := parseAllowIP(s); err == nil {
								return p.Addr()
							}
						}
					}
				}
				if a := walk(x); a.IsValid() {
					return a
				}
			}
		case []any:
			for _, x := range v {
				if a := walk(x); a.IsValid() {
					return a
				}
			}
		}
		return netip.Addr{}
	}
	return walk(v)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
