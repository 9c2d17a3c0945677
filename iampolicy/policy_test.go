package iampolicy

import (
	"os"
	"strings"
	"testing"
	"time"
)

func load(t testing.TB, name string) *Policy {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // each must appear in the error
	}{
		{"not JSON", `{"Version":`, []string{"invalid JSON"}},
		{"not an object", `[]`, []string{"a policy is a JSON object"}},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, []string{"trailing data"}},
		{"duplicate key", `{"Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}`, []string{`Statement.Effect: duplicate key "Effect"`}},
		// Attack F-7: every problem names its JSON path, duplicates too.
		{"duplicate key in a list", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Effect":"Deny"}]}`, []string{`Statement[0].Effect: duplicate key "Effect"`}},
		{"duplicate key deep", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"a","aws:username":"b"}}}]}`, []string{`Statement[1].Condition.StringEquals["aws:username"]: duplicate key`}},
		{"duplicate top-level key", `{"Version":"2012-10-17","Version":"2012-10-17","Statement":[]}`, []string{`Version: duplicate key "Version"`}},
		{"bad version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, []string{`Version: "2020-01-01" is not`}},
		{"unknown top-level", `{"Version":"2012-10-17","Statment":[],"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, []string{"Statment: unknown element"}},
		{"no statement", `{"Version":"2012-10-17"}`, []string{"Statement: required"}},
		{"empty statements", `{"Version":"2012-10-17","Statement":[]}`, []string{"Statement: must not be empty"}},
		{"bad effect", `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, []string{`Statement.Effect: "allow" is not Allow or Deny`}},
		{"both Action and NotAction", `{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}]}`, []string{"Statement[0]: has both Action and NotAction"}},
		{"neither Action nor NotAction", `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, []string{"Statement[0]: has neither Action nor NotAction"}},
		{"no service prefix", `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","GetObject"],"Resource":"*"}]}`, []string{`Statement[0].Action[1]: "GetObject" has no service prefix`}},
		{"variable in action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:${aws:username}","Resource":"*"}]}`, []string{"variables are not allowed in actions"}},
		{"bad ARN", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3"}]}`, []string{`Statement[0].Resource: "arn:aws:s3" is not an ARN`}},
		{"variable outside resource part", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:${aws:region}::b"}]}`, []string{"only in the resource part"}},
		{"unterminated variable", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username"}]}`, []string{"unterminated"}},
		{"duplicate sid", `{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}`, []string{`Statement[1].Sid: "A" is also the Sid of Statement[0]`}},
		{"bad CIDR", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","10.0.0.0/33"]}}}]}`, []string{`Statement[1].Condition.IpAddress["aws:SourceIp"][1]: "10.0.0.0/33" is not a CIDR`}},
		{"unknown operator", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}}`, []string{`unknown condition operator "StringEqualz"`}},
		{"bad date", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2026-13-01"}}}}`, []string{`"2026-13-01" is not a date`}},
		{"Feb 30", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2026-02-30"}}}}`, []string{"is not a date"}},
		{"bad number", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"soon"}}}}`, []string{`"soon" is not a number`}},
		{"bad bool", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`, []string{`"yes" is not true or false`}},
		{"bad ARN condition", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"role/x"}}}}`, []string{`"role/x" is not an ARN`}},
		{"bad base64", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"BinaryEquals":{"k:v":"!!"}}}}`, []string{"is not base64"}},
		{"Null IfExists", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}}`, []string{"Null cannot take IfExists"}},
		{"variable in numeric", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"a:b":"${aws:x}"}}}}`, []string{"only in string and ARN conditions"}},
		{"variable in key", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"${a:b}":"x"}}}}`, []string{"not allowed in condition keys"}},
		{"key without prefix", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"username":"x"}}}}`, []string{`"username" is not a condition key`}},
		{"empty values", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}}}`, []string{"must not be an empty list"}},
		{"principal string", `{"Statement":{"Effect":"Allow","Principal":"arn:aws:iam::123456789012:root","Action":"*","Resource":"*"}}`, []string{`a string Principal must be "*"`}},
		{"principal wildcard ARN", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},"Action":"*","Resource":"*"}}`, []string{"wildcards are not allowed in a principal ARN"}},
		{"principal type", `{"Statement":{"Effect":"Allow","Principal":{"Users":"x"},"Action":"*","Resource":"*"}}`, []string{"unknown principal type"}},
		{"NotPrincipal with Allow", `{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}}`, []string{"NotPrincipal only with"}},
		{"both Principal and NotPrincipal", `{"Statement":{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}}`, []string{"both Principal and NotPrincipal"}},
		{"too deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), []string{"nested deeper"}},
		{"too big", `{"Id":"` + strings.Repeat("x", MaxPolicyBytes) + `"}`, []string{"over the 1048576-byte limit"}},
		{"every error, not the first", `{"Version":"x","Statement":[{"Effect":"Maybe","Action":"nope","Resource":"arn"}]}`, []string{"Version:", "Statement[0].Effect", "Statement[0].Action", "Statement[0].Resource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error is %T, want Errors", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, doc := range []string{
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`,
		`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${literal}"}}`,
		`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"1","Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/R","arn:aws:sts::123456789012:assumed-role/R/s"],"Service":"lambda.amazonaws.com"},"Action":["s3:Get*","s3:?ut*"],"Resource":["arn:aws:s3:::b/${aws:username}/*"],"Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*"]},"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true},"Null":{"aws:TokenIssueTime":"false"}}}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":["2026","2026-11","2026-11-21","2026-11-21T12:00Z","2026-11-21T12:00:00+02:00","2026-11-21T12:00:00.123456Z","1795000000"]}}}}`,
	} {
		if _, err := Parse([]byte(doc)); err != nil {
			t.Errorf("%s\n%v", doc, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"2026", "2026-01-01T00:00:00Z"},
		{"2026-11", "2026-11-01T00:00:00Z"},
		{"2026-11-21", "2026-11-21T00:00:00Z"},
		{"2026-11-21T12:30Z", "2026-11-21T12:30:00Z"},
		{"2026-11-21T12:30:15+02:00", "2026-11-21T10:30:15Z"},
		{"2026-11-21T12:30:15.5-01:30", "2026-11-21T14:00:15.5Z"},
		{"1795000000", "2026-11-18T11:06:40Z"},
		{"2026-11-21T25:00Z", ""},
		{"26-11-21", ""},
		{"2026-11-21T12", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := parseDate(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("parseDate(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if !ok || got.UTC().Format(time.RFC3339Nano) != tt.want {
			t.Errorf("parseDate(%q) = %v, %v; want %s", tt.in, got.UTC().Format(time.RFC3339Nano), ok, tt.want)
		}
	}
}
