// Package aws holds the CloudFormation (SAM) templates that deploy the
// AWS IAM lockout responder; its test checks them.
package aws

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lockgate/lockgate/iampolicy"
	"github.com/lockgate/lockgate/internal/awsiam"
	"github.com/lockgate/lockgate/internal/eventpattern"
)

// load parses a template into plain values; CloudFormation's short tags
// become their long forms ({"Ref": x}, {"Fn::Sub": x}, …).
func load(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return plain(root.Content[0]).(map[string]any)
}

func plain(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		var l []any
		for _, c := range n.Content {
			l = append(l, plain(c))
		}
		v = l
	default:
		v = n.Value
	}
	switch n.Tag {
	case "!Ref":
		return map[string]any{"Ref": v}
	case "!Sub":
		return map[string]any{"Fn::Sub": v}
	case "!GetAtt":
		return map[string]any{"Fn::GetAtt": v}
	case "!If", "!Not", "!Equals":
		return map[string]any{"Fn::" + n.Tag[1:]: v}
	}
	return v
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func resource(t *testing.T, tmpl map[string]any, name, typ string) map[string]any {
	t.Helper()
	r, ok := get(tmpl, "Resources", name).(map[string]any)
	if !ok || r["Type"] != typ {
		t.Fatalf("resource %s of type %s missing: %v", name, typ, r)
	}
	return r["Properties"].(map[string]any)
}

// resolve turns intrinsic functions into placeholder strings, so a policy
// can be parsed and evaluated.
func resolve(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["Ref"]; ok && len(v) == 1 {
			return "arn:aws:iam::111122223333:policy/" + r.(string)
		}
		if a, ok := v["Fn::GetAtt"].(string); ok && len(v) == 1 {
			if res, attr, _ := strings.Cut(a, "."); attr == "Arn" && res == "DeadLetterQueue" {
				return "arn:aws:sqs:us-east-1:111122223333:" + res
			}
		}
		if s, ok := v["Fn::Sub"].(string); ok && len(v) == 1 {
			return strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::AccountId}", "111122223333", "${AWS::StackName}", "lockgate").Replace(s)
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = resolve(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = resolve(x)
		}
		return out
	}
	return v
}

func TestResponderTemplate(t *testing.T) {
	tmpl := load(t, "template.yaml")
	if tmpl["Transform"] != "AWS::Serverless-2016-10-31" {
		t.Fatalf("not a SAM template: %v", tmpl["Transform"])
	}
	arch := get(tmpl, "Parameters", "Architecture", "AllowedValues")
	if !reflect.DeepEqual(arch, []any{"arm64", "x86_64"}) {
		t.Fatalf("architectures %v", arch)
	}
	fn := resource(t, tmpl, "Responder", "AWS::Serverless::Function")
	if fn["Runtime"] != "provided.al2023" || fn["Handler"] != "bootstrap" {
		t.Fatalf("function: %v", fn)
	}
	vars := get(fn, "Environment", "Variables").(map[string]any)
	for _, k := range []string{"LOCKGATE_APP_URI", "LOCKGATE_API_URI", "LOCKGATE_SIGNING_KEY_SECRET_ARN", "LOCKGATE_DENY_POLICY_ARN", "LOCKGATE_ON_ERROR"} {
		if _, ok := vars[k]; !ok {
			t.Errorf("function environment lacks %s", k)
		}
	}
	// The seed kept the signing key in a plain environment variable.
	if _, ok := vars["LOCKGATE_SIGNING_KEY"]; ok {
		t.Error("the signing key is in the environment; it belongs in Secrets Manager")
	}
	resource(t, tmpl, "SigningKey", "AWS::SecretsManager::Secret")
	deny := resource(t, tmpl, "DenyAllPolicy", "AWS::IAM::ManagedPolicy")
	data, _ := json.Marshal(deny["PolicyDocument"])
	dp, err := iampolicy.Parse(data)
	if err != nil || dp.Evaluate(&iampolicy.Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}) != iampolicy.ExplicitDeny {
		t.Fatalf("deny-all policy: %v", err)
	}

	role := resource(t, tmpl, "ResponderRole", "AWS::IAM::Role")
	policies := role["Policies"].([]any)
	doc := resolve(policies[0].(map[string]any)["PolicyDocument"])
	data, _ = json.Marshal(doc)
	p, err := iampolicy.Parse(data)
	if err != nil {
		t.Fatalf("role policy: %v", err)
	}
	// Least privilege: the IAM actions granted are exactly the calls the
	// responder makes (its IAM interface), each on named resources.
	var want []string
	it := reflect.TypeOf((*awsiam.IAM)(nil)).Elem()
	for i := range it.NumMethod() {
		want = append(want, "iam:"+it.Method(i).Name)
	}
	sort.Strings(want)
	var got []string
	for _, s := range doc.(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		if st["Effect"] != "Allow" {
			continue
		}
		if st["Resource"] == "*" {
			t.Errorf("statement %v allows on every resource", st["Sid"])
		}
		actions, ok := st["Action"].([]any)
		if !ok {
			actions = []any{st["Action"]}
		}
		for _, a := range actions {
			if strings.HasPrefix(a.(string), "iam:") {
				got = append(got, a.(string))
			}
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("role grants %v\nresponder calls %v", got, want)
	}
	set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "responder", Policy: p}}}
	denyARN := "arn:aws:iam::111122223333:policy/DenyAllPolicy"
	for _, tt := range []struct {
		action, resource, policyARN string
		want                        iampolicy.Decision
	}{
		{"iam:AttachUserPolicy", "arn:aws:iam::111122223333:user/anaya", denyARN, iampolicy.Allowed},
		{"iam:AttachUserPolicy", "arn:aws:iam::111122223333:user/anaya", "arn:aws:iam::aws:policy/AdministratorAccess", iampolicy.ImplicitDeny},
		{"iam:UpdateAccessKey", "arn:aws:iam::111122223333:user/anaya", "", iampolicy.Allowed},
		{"iam:PutRolePolicy", "arn:aws:iam::111122223333:role/admin", "", iampolicy.Allowed},
		{"iam:PutRolePolicy", "arn:aws:iam::111122223333:role/lockgate-ResponderRole-ABC", "", iampolicy.ExplicitDeny},
		{"iam:CreateUser", "arn:aws:iam::111122223333:user/new", "", iampolicy.ImplicitDeny},
		{"iam:UpdateAccessKey", "arn:aws:iam::999999999999:user/x", "", iampolicy.ImplicitDeny},
		{"secretsmanager:GetSecretValue", "arn:aws:iam::111122223333:policy/SigningKey", "", iampolicy.Allowed},
		{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:other", "", iampolicy.ImplicitDeny},
		// Lambda, invocation-async-retain-records: "Delivery errors can
		// also occur due to permissions errors": the role may send to its
		// dead-letter queue, and to no other.
		{"sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:DeadLetterQueue", "", iampolicy.Allowed},
		{"sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:other", "", iampolicy.ImplicitDeny},
		{"sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:111122223333:DeadLetterQueue", "", iampolicy.ImplicitDeny},
	} {
		ctx := &iampolicy.Context{}
		if tt.policyARN != "" {
			ctx.Set("iam:PolicyARN", tt.policyARN)
		}
		if r := set.Evaluate(&iampolicy.Request{Action: tt.action, Resource: tt.resource, Context: ctx}); r.Decision != tt.want {
			t.Errorf("%s on %s (%s): %v, want %v", tt.action, tt.resource, tt.policyARN, r.Decision, tt.want)
		}
	}

	// Both rules send sign-ins to the function, and let EventBridge invoke it.
	sample, err := os.ReadFile("../../internal/awsiam/testdata/iam-user-success.eventbridge.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"LocalSignInRule", "ForwardedSignInRule"} {
		rule := resource(t, tmpl, name, "AWS::Events::Rule")
		pat, _ := json.Marshal(rule["EventPattern"])
		ok, err := eventpattern.MustCompile(string(pat)).Match(sample)
		if err != nil || !ok {
			t.Errorf("%s does not match a sign-in: %s", name, pat)
		}
		target := rule["Targets"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(target["Arn"], map[string]any{"Fn::GetAtt": "Responder.Arn"}) {
			t.Errorf("%s targets %v", name, target["Arn"])
		}
	}
	if get(tmpl, "Resources", "ForwardedSignInRule", "Properties", "EventBusName") == nil {
		t.Error("the forwarded rule is not on the central bus")
	}
	for _, perm := range []string{"LocalInvokePermission", "ForwardedInvokePermission"} {
		if p := resource(t, tmpl, perm, "AWS::Lambda::Permission"); p["Principal"] != "events.amazonaws.com" {
			t.Errorf("%s: %v", perm, p)
		}
	}
	fr := resource(t, tmpl, "ForwarderRole", "AWS::IAM::Role")
	frDoc, _ := json.Marshal(get(fr["Policies"].([]any)[0], "PolicyDocument"))
	if !strings.Contains(string(frDoc), "events:PutEvents") || !strings.Contains(string(frDoc), "SignInBus") {
		t.Errorf("forwarder role: %s", frDoc)
	}
}

// TestForwarderTemplate: every other region's sign-ins reach the home
// bus (the seed had one rule in one region and missed most sign-ins).
func TestForwarderTemplate(t *testing.T) {
	tmpl := load(t, "forwarder.yaml")
	rule := resource(t, tmpl, "ForwardSignIns", "AWS::Events::Rule")
	target := rule["Targets"].([]any)[0].(map[string]any)
	if !reflect.DeepEqual(target["Arn"], map[string]any{"Ref": "CentralBusArn"}) || !reflect.DeepEqual(target["RoleArn"], map[string]any{"Ref": "ForwarderRoleArn"}) {
		t.Fatalf("forwarder target %v", target)
	}
	pat, _ := json.Marshal(rule["EventPattern"])
	sample, _ := os.ReadFile("../../internal/awsiam/testdata/assumed-role-success.eventbridge.json")
	if ok, _ := eventpattern.MustCompile(string(pat)).Match(sample); !ok {
		t.Errorf("forwarder pattern misses a sign-in: %s", pat)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{"us-east-2", "eu-north-1", "ap-southeast-2"} {
		if !strings.Contains(string(readme), region) {
			t.Errorf("the deploy steps do not forward from %s", region)
		}
	}
}

// Failed events are kept, and someone is told.
//
// EventBridge, rule-dlq.html: "If an event is not delivered before all
// retry attempts are exhausted, the event is dropped and EventBridge does
// not continue to process it. To avoid losing events after they fail to
// be delivered to a target, you can configure a dead-letter queue"; "For
// Lambda, Amazon SNS, Amazon SQS, and Amazon CloudWatch Logs resources,
// EventBridge uses resource-based policies" (eb-use-resource-based.html).
// Lambda, invocation-async-retain-records.html: "You can configure
// separate destinations for events that are processed successfully, and
// events that fail all processing attempts", to "Amazon SQS – A standard
// SQS queue".
func TestFailedEventsAreKept(t *testing.T) {
	tmpl := load(t, "template.yaml")
	q := resource(t, tmpl, "DeadLetterQueue", "AWS::SQS::Queue")
	if q["FifoQueue"] != nil || q["MessageRetentionPeriod"] != "1209600" {
		t.Errorf("queue: %v (a standard queue keeping messages 14 days)", q)
	}
	dlq := map[string]any{"Fn::GetAtt": "DeadLetterQueue.Arn"}
	fn := resource(t, tmpl, "Responder", "AWS::Serverless::Function")
	onFailure := get(fn, "EventInvokeConfig", "DestinationConfig", "OnFailure")
	if !reflect.DeepEqual(onFailure, map[string]any{"Type": "SQS", "Destination": dlq}) {
		t.Errorf("the function's failure destination: %v", onFailure)
	}
	if fn["ReservedConcurrentExecutions"] != "1" {
		t.Errorf("concurrency %v: two events for one role could overwrite each other's entry", fn["ReservedConcurrentExecutions"])
	}
	var rules []any
	for _, name := range []string{"LocalSignInRule", "ForwardedSignInRule"} {
		rule := resource(t, tmpl, name, "AWS::Events::Rule")
		target := rule["Targets"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(target["DeadLetterConfig"], map[string]any{"Arn": dlq}) {
			t.Errorf("%s: dead-letter config %v", name, target["DeadLetterConfig"])
		}
		rules = append(rules, map[string]any{"Fn::GetAtt": name + ".Arn"})
	}
	qp := resource(t, tmpl, "DeadLetterQueuePolicy", "AWS::SQS::QueuePolicy")
	st := qp["PolicyDocument"].(map[string]any)["Statement"].([]any)
	if len(st) != 1 {
		t.Fatalf("queue policy %v", st)
	}
	s := st[0].(map[string]any)
	if s["Effect"] != "Allow" || s["Action"] != "sqs:SendMessage" || !reflect.DeepEqual(s["Principal"], map[string]any{"Service": "events.amazonaws.com"}) ||
		!reflect.DeepEqual(get(s, "Condition", "ArnEquals", "aws:SourceArn"), rules) {
		t.Errorf("queue policy: only the two rules may send: %v", s)
	}
	alarm := resource(t, tmpl, "DeadLetterAlarm", "AWS::CloudWatch::Alarm")
	if alarm["Namespace"] != "AWS/SQS" || alarm["MetricName"] != "ApproximateNumberOfMessagesVisible" || alarm["Threshold"] != "0" || alarm["ComparisonOperator"] != "GreaterThanThreshold" ||
		!reflect.DeepEqual(get(alarm["Dimensions"].([]any)[0], "Value"), map[string]any{"Fn::GetAtt": "DeadLetterQueue.QueueName"}) {
		t.Errorf("alarm: %v", alarm)
	}
}

// The function's settings: every variable is one the responder reads; its
// deadline ends before the function's timeout; the API URI rule is stated
// where it is set.
func TestFunctionSettings(t *testing.T) {
	tmpl := load(t, "template.yaml")
	fn := resource(t, tmpl, "Responder", "AWS::Serverless::Function")
	vars := get(fn, "Environment", "Variables").(map[string]any)
	known := map[string]bool{}
	st := reflect.TypeOf(awsiam.Settings{})
	for i := range st.NumField() {
		known[st.Field(i).Tag.Get("env")] = true
	}
	for k := range vars {
		if !known[k] {
			t.Errorf("the function sets %s, which the responder does not read", k)
		}
	}
	s, err := awsiam.SettingsFromEnv(func(k string) string { v, _ := vars[k].(string); return v })
	if err != nil {
		t.Fatal(err)
	}
	timeout, _ := time.ParseDuration(fn["Timeout"].(string) + "s")
	if s.EventDeadline <= 0 || s.EventDeadline.Std() >= timeout || s.IAMCallTimeout <= 0 || s.IAMCallTimeout >= s.EventDeadline {
		t.Errorf("call timeout %s, event deadline %s, function timeout %s", s.IAMCallTimeout.Std(), s.EventDeadline.Std(), timeout)
	}
	if d, _ := get(tmpl, "Parameters", "APIURI", "Description").(string); !strings.Contains(d, "LOCKGATE_PUBLIC_URL") {
		t.Errorf("the APIURI parameter does not state the rule: %q", d)
	}
	readme, _ := os.ReadFile("README.md")
	for _, w := range []string{"LOCKGATE_PUBLIC_URL", "must equal", "DeadLetterQueueUrl", "iam-responder replay"} {
		if !strings.Contains(string(readme), w) {
			t.Errorf("README.md lacks %q", w)
		}
	}
}
