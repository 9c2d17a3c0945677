package waf

import (
	"encoding/base64"
	"os"
	"strconv"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The blog's rules, copied verbatim from seed 003.
func TestLoadBlogRulesVerbatim(t *testing.T) {
	for _, tt := range []struct {
		file     string
		format   Format
		rules    int
		priority int64
	}{
		{"blog-blanket-rule.json", FormatRule, 1, 2},
		{"blog-uri-rule.json", FormatRule, 1, 1},
		{"blog-rules.json", FormatRules, 2, 0},
	} {
		acl, format, err := Load(readFile(t, tt.file), LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if format != tt.format || len(acl.Rules) != tt.rules || acl.Rules[0].Priority != tt.priority || acl.DefaultAction.Allow == nil {
			t.Fatalf("%s: %v %+v", tt.file, format, acl)
		}
	}
	acl, _, _ := Load(readFile(t, "blog-uri-rule.json"), LoadOptions{})
	rb := acl.Rules[0].Statement.RateBasedStatement
	if rb.Limit != 150 || string(rb.ScopeDownStatement.ByteMatchStatement.SearchString) != "/login" {
		t.Fatalf("%+v", rb)
	}
}

func TestLoadEnvelopeDecodesBase64(t *testing.T) {
	doc := `{"WebACL":{"Name":"prod","Id":"a1b2c3d4-5678-90ab-cdef-11112222aaaa","ARN":"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/prod/a1b2c3d4-5678-90ab-cdef-11112222aaaa",
		"DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"prod"},
		"Rules":[{"Name":"login","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"login"},
		"Statement":{"ByteMatchStatement":{"SearchString":"` + base64.StdEncoding.EncodeToString([]byte("/login")) + `","FieldToMatch":{"UriPath":{}},"TextTransformations":[{"Priority":0,"Type":"NONE"}],"PositionalConstraint":"STARTS_WITH"}}}]},
		"LockToken":"0f1e2d3c"}`
	acl, format, err := Load([]byte(doc), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if format != FormatEnvelope || string(acl.Rules[0].Statement.ByteMatchStatement.SearchString) != "/login" || acl.ARN == "" {
		t.Fatalf("%v %+v", format, acl.Rules[0].Statement.ByteMatchStatement)
	}
	cfn := strings.Replace(string(readFile(t, "blog-uri-rule.json")), `"SearchString": "/login"`, `"SearchStringBase64": "`+base64.StdEncoding.EncodeToString([]byte("/login"))+`"`, 1)
	acl, _, err = Load([]byte(cfn), LoadOptions{})
	if err != nil || string(acl.Rules[0].Statement.RateBasedStatement.ScopeDownStatement.ByteMatchStatement.SearchString) != "/login" {
		t.Fatalf("SearchStringBase64: %v", err)
	}
}

// rule returns a rule document with statement s and action a.
func rule(name string, priority int, action, statement string) string {
	return `{"Name":"` + name + `","Priority":` + strconv.Itoa(priority) + `,"Action":` + action + `,"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"` + name + `"},"Statement":` + statement + `}`
}

const byteMatchDoc = `{"ByteMatchStatement":{"SearchString":"/login","FieldToMatch":{"UriPath":{}},"TextTransformations":[{"Priority":0,"Type":"NONE"}],"PositionalConstraint":"STARTS_WITH"}}`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"not JSON", `{"Name":`, []string{"invalid JSON"}},
		{"a string", `"x"`, []string{"is an object or a list of rules"}},
		{"unknown member", `[` + strings.Replace(rule("a", 0, `{"Block":{}}`, byteMatchDoc), `"Priority"`, `"Prio":1,"Priority"`, 1) + `]`, []string{`Rules[0].Prio: unknown member of Rule`}},
		{"missing required", `[{"Name":"a","Priority":0,"Action":{"Block":{}},"Statement":` + byteMatchDoc + `}]`, []string{"Rules[0].VisibilityConfig: required"}},
		{"limit below 10", `[` + rule("a", 0, `{"Block":{}}`, `{"RateBasedStatement":{"Limit":5,"AggregateKeyType":"IP"}}`) + `]`, []string{"Rules[0].Statement.RateBasedStatement.Limit: 5 is below the minimum 10"}},
		{"window", `[` + rule("a", 0, `{"Block":{}}`, `{"RateBasedStatement":{"Limit":100,"AggregateKeyType":"IP","EvaluationWindowSec":30}}`) + `]`, []string{"EvaluationWindowSec: 30 is not 60, 120, 300 or 600"}},
		{"bad enum", `[` + rule("a", 0, `{"Block":{}}`, strings.Replace(byteMatchDoc, "STARTS_WITH", "BEGINS", 1)) + `]`, []string{`PositionalConstraint: "BEGINS" is not one of`}},
		{"bad name", `[` + rule("a b", 0, `{"Block":{}}`, byteMatchDoc) + `]`, []string{`Rules[0].Name: "a b" does not match the pattern`}},
		{"duplicate priority", `[` + rule("a", 0, `{"Block":{}}`, byteMatchDoc) + `,` + rule("b", 0, `{"Count":{}}`, byteMatchDoc) + `]`, []string{`Rules[1].Priority: 0 is also the priority of rule "a"`}},
		{"duplicate name", `[` + rule("a", 0, `{"Block":{}}`, byteMatchDoc) + `,` + rule("a", 1, `{"Count":{}}`, byteMatchDoc) + `]`, []string{`Rules[1].Name: "a" names two rules`}},
		{"two actions", `[` + rule("a", 0, `{"Block":{},"Allow":{}}`, byteMatchDoc) + `]`, []string{"Rules[0].Action: must be exactly one of"}},
		{"no statement", `[` + rule("a", 0, `{"Block":{}}`, `{}`) + `]`, []string{"Rules[0].Statement: must have exactly one statement, not 0"}},
		{"two statements", `[` + rule("a", 0, `{"Block":{}}`, `{"ByteMatchStatement":`+byteMatchDoc[len(`{"ByteMatchStatement":`):len(byteMatchDoc)-1]+`,"NotStatement":{"Statement":`+byteMatchDoc+`}}`) + `]`, []string{"must have exactly one statement, not 2"}},
		{"captcha refused", `[` + rule("a", 0, `{"Captcha":{}}`, byteMatchDoc) + `]`, []string{"CAPTCHA is not implemented"}},
		{"not implemented statement", `[` + rule("a", 0, `{"Block":{}}`, `{"AsnMatchStatement":{"AsnList":[64496]}}`) + `]`, []string{"AsnMatchStatement is not implemented"}},
		{"not implemented transformation", `[` + rule("a", 0, `{"Block":{}}`, strings.Replace(byteMatchDoc, `"NONE"`, `"JS_DECODE_EXT"`, 1)) + `]`, []string{"JS_DECODE_EXT is not implemented"}},
		{"unknown transformation", `[` + rule("a", 0, `{"Block":{}}`, strings.Replace(byteMatchDoc, `"NONE"`, `"ROT13"`, 1)) + `]`, []string{`Type: "ROT13" is not one of`}},
		{"duplicate transformation priority", `[` + rule("a", 0, `{"Block":{}}`, strings.Replace(byteMatchDoc, `[{"Priority":0,"Type":"NONE"}]`, `[{"Priority":0,"Type":"NONE"},{"Priority":0,"Type":"LOWERCASE"}]`, 1)) + `]`, []string{"TextTransformations[1].Priority: 0 is used twice"}},
		{"two fields", `[` + rule("a", 0, `{"Block":{}}`, strings.Replace(byteMatchDoc, `{"UriPath":{}}`, `{"UriPath":{},"Method":{}}`, 1)) + `]`, []string{"FieldToMatch: must name exactly one request component, not 2"}},
		{"search string too long", `[` + rule("a", 0, `{"Block":{}}`, strings.Replace(byteMatchDoc, "/login", strings.Repeat("x", 201), 1)) + `]`, []string{"SearchString: is 201 bytes"}},
		{"nested rate-based", `[` + rule("a", 0, `{"Block":{}}`, `{"NotStatement":{"Statement":{"RateBasedStatement":{"Limit":100,"AggregateKeyType":"IP"}}}}`) + `]`, []string{"can only be a rule's own statement"}},
		{"constant needs scope-down", `[` + rule("a", 0, `{"Block":{}}`, `{"RateBasedStatement":{"Limit":100,"AggregateKeyType":"CONSTANT"}}`) + `]`, []string{"CONSTANT needs a ScopeDownStatement"}},
		{"custom body key", `[` + rule("a", 0, `{"Block":{"CustomResponse":{"ResponseCode":429,"CustomResponseBodyKey":"nope"}}}`, byteMatchDoc) + `]`, []string{`"nope" is not a key of the web ACL's CustomResponseBodies`}},
		{"response code", `[` + rule("a", 0, `{"Block":{"CustomResponse":{"ResponseCode":99}}}`, byteMatchDoc) + `]`, []string{"ResponseCode: 99 is below the minimum 200"}},
		{"reserved label", strings.Replace(`[`+rule("a", 0, `{"Count":{}}`, byteMatchDoc)+`]`, `"VisibilityConfig"`, `"RuleLabels":[{"Name":"aws:x"}],"VisibilityConfig"`, 1), []string{`"aws" is reserved`}},
		{"envelope base64", `{"WebACL":{"Name":"p","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"p"},"Rules":[` + rule("a", 0, `{"Block":{}}`, byteMatchDoc) + `]}}`, []string{"is not base64 (the API and get-web-acl write SearchString in base64)"}},
		{"managed group unknown", `[{"Name":"m","Priority":0,"OverrideAction":{"None":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"m"},"Statement":{"ManagedRuleGroupStatement":{"VendorName":"AWS","Name":"AWSManagedRulesCommonRuleSet"}}}]`, []string{"is not one lockgate provides"}},
		{"group needs OverrideAction", `[{"Name":"m","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"m"},"Statement":{"ManagedRuleGroupStatement":{"VendorName":"AWS","Name":"AWSManagedRulesAmazonIpReputationList"}}}]`, []string{"takes OverrideAction, not Action"}},
		{"every problem", `[` + rule("a b", 0, `{"Block":{}}`, `{"RateBasedStatement":{"Limit":5,"AggregateKeyType":"NOPE"}}`) + `]`, []string{"Rules[0].Name", "Limit: 5", `AggregateKeyType: "NOPE"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load([]byte(tt.doc), LoadOptions{})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"blog-rules.json", "blog-blanket-rule.json", "blog-uri-rule.json", "all-statements.json", "blog-acl.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"WebACL":{"Name":"p","Rules":[{"Statement":{"ByteMatchStatement":{"SearchString":"!!"}}}]}}`))
	f.Add([]byte(`[{"Statement":{"AndStatement":{"Statements":[{},{"NotStatement":{}}]}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		acl, _, err := Load(data, LoadOptions{})
		if err == nil && acl == nil {
			t.Fatal("no web ACL and no error")
		}
		if err == nil {
			Capacity(acl, nil)
		}
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error of type %T", err)
			}
		}
	})
}

func FuzzLoadRuleGroup(f *testing.F) {
	data, err := os.ReadFile("testdata/rule-group.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"RuleGroup":{"Name":"g","Capacity":1,"Rules":[{"Statement":{}}]},"LockToken":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := LoadRuleGroup(data, LoadOptions{})
		if (err == nil) == (g == nil) {
			t.Fatalf("group %v, error %v", g, err)
		}
	})
}

func FuzzParseSets(f *testing.F) {
	f.Add([]byte("10.0.0.0/8\n# c\n192.0.2.1 ; x\n"))
	f.Add([]byte(`{"IPSet":{"Addresses":["10.0.0.0/8"]}}`))
	f.Add([]byte(`{"RegexPatternSet":{"RegularExpressionList":[{"RegexString":"^a"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseIPSet(data)
		ParseRegexPatternSet(data)
	})
}
