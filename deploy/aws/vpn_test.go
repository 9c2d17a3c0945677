package aws

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/vpn"
)

// The Client VPN connect handler's template, against the AWS Client VPN
// Administrator Guide's "Requirements and considerations"
// (docs.aws.amazon.com/vpn/latest/clientvpn-admin/connection-authorization.html)
// and the variables the handler reads.
func TestVPNConnectTemplate(t *testing.T) {
	tmpl := load(t, "vpn-connect.yaml")
	props := resource(t, tmpl, "ConnectHandler", "AWS::Serverless::Function")

	// "The name of the Lambda function must begin with the AWSClientVPN-
	// prefix."
	name := get(tmpl, "Parameters", "FunctionName").(map[string]any)
	pattern := regexp.MustCompile(name["AllowedPattern"].(string))
	if !strings.HasPrefix(name["AllowedPattern"].(string), "^AWSClientVPN-") || !pattern.MatchString(name["Default"].(string)) ||
		pattern.MatchString("lockgate-vpn") || pattern.MatchString("AWSClientVPN-"+strings.Repeat("x", 52)) {
		t.Errorf("FunctionName parameter %v", name)
	}
	if get(props, "FunctionName", "Ref") != "FunctionName" {
		t.Errorf("FunctionName %v", props["FunctionName"])
	}
	// "The Lambda function times out after 30 seconds. This value cannot
	// be changed." The function's own timeout matches, and lockgate's
	// deadline answers well before it.
	if props["Timeout"] != "30" {
		t.Errorf("Timeout %v", props["Timeout"])
	}
	def := get(tmpl, "Parameters", "Deadline", "Default").(string)
	if d, err := config.ParseDuration(def); err != nil || d > vpn.MaxDeadline || d >= 30*time.Second {
		t.Errorf("Deadline default %q: %v", def, err)
	}
	// "We recommend that you configure provisioned concurrency for the
	// Lambda function to enable it to scale without fluctuations in
	// latency." An option, on the alias that the output names (provisioned
	// concurrency applies to a version or alias only; "Qualified Lambda
	// functions are supported.").
	pc := get(props["ProvisionedConcurrencyConfig"], "Fn::If").([]any)
	if pc[0] != "HasProvisionedConcurrency" || get(pc[1], "ProvisionedConcurrentExecutions", "Ref") != "LambdaProvisionedConcurrency" || props["AutoPublishAlias"] == nil {
		t.Errorf("provisioned concurrency %v, alias %v", pc, props["AutoPublishAlias"])
	}
	if get(tmpl, "Parameters", "LambdaProvisionedConcurrency", "Default") != "0" {
		t.Error("provisioned concurrency is not optional")
	}
	if get(tmpl, "Outputs", "ClientConnectHandlerArn", "Value", "Ref") != "ConnectHandler.Alias" || get(tmpl, "Outputs", "FunctionArn", "Value") == nil {
		t.Errorf("outputs %v", tmpl["Outputs"])
	}
	if props["Runtime"] != "provided.al2023" || props["Handler"] != "bootstrap" {
		t.Errorf("runtime %v handler %v", props["Runtime"], props["Handler"])
	}

	// Every variable is one the handler reads, through the same loader.
	var known []string
	for _, v := range config.Vars(&vpn.Settings{}) {
		known = append(known, v.Name)
	}
	vars := get(props, "Environment", "Variables").(map[string]any)
	for k := range vars {
		if !slices.Contains(known, k) {
			t.Errorf("the template sets %s, which the handler does not read", k)
		}
	}
	for _, must := range []string{"LOCKGATE_VPN_ALLOWED_COUNTRIES", "LOCKGATE_VPN_CHECK_LOCK", "LOCKGATE_VPN_SIGNING_KEY_SECRET_ARN", "LOCKGATE_VPN_WEB_ACL_FILE", "LOCKGATE_GEO_DATABASE_FILE"} {
		if vars[must] == nil {
			t.Errorf("the template does not set %s", must)
		}
	}
	// The parameters' defaults, given to the handler's loader as the
	// function's environment, are read without a problem, and the
	// blog's CountryCodes ("US,GB,DE") too.
	env := map[string]string{}
	for k, v := range vars {
		if ref, ok := get(v, "Ref").(string); ok {
			if d, ok := get(tmpl, "Parameters", ref, "Default").(string); ok {
				env[k] = d
			}
		}
	}
	env["LOCKGATE_VPN_ALLOWED_COUNTRIES"] = "US,GB,DE"
	s, err := vpn.SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil || !slices.Equal(s.VPN.AllowedCountries, []string{"US", "GB", "DE"}) || s.VPN.DeniedMessage != vpn.DefaultDeniedMessage {
		t.Errorf("settings %+v: %v", s.VPN, err)
	}

	// The role reads the signing key only when locks are checked, and only
	// that secret.
	role := resource(t, tmpl, "HandlerRole", "AWS::IAM::Role")
	pol := get(role["Policies"], "Fn::If").([]any)
	if pol[0] != "ChecksLocks" {
		t.Errorf("policies %v", pol)
	}
	stmt := get(pol[1].([]any)[0], "PolicyDocument", "Statement").([]any)[0]
	if get(stmt, "Action") != "secretsmanager:GetSecretValue" || get(stmt, "Resource", "Ref") != "SigningKey" {
		t.Errorf("statement %v", stmt)
	}
}

// The example web ACL shipped beside the template compiles as the
// handler would load it from the bundle.
func TestVPNExampleWebACL(t *testing.T) {
	db, err := geo.Open(geo.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, probs := vpn.Provision(vpn.Config{WebACLFile: "vpn-acl.json"}, vpn.Options{Geo: db}); len(probs) > 0 {
		t.Fatal(probs)
	}
}
