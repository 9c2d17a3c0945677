package iampolicy

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// cond evaluates one condition: true when a single Allow statement with
// it applies. req values: nil means the key is absent; []string{} means
// present and empty.
func cond(t *testing.T, op, key string, policyValues any, req []string) bool {
	t.Helper()
	pv, _ := json.Marshal(policyValues)
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{%q:{%q:%s}}}}`, op, key, pv)
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	ctx := &Context{}
	if req != nil {
		ctx.Set(key, req...)
	}
	ctx.Set("aws:username", "alice")
	return p.Evaluate(&Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx}) == Allowed
}

var absent []string

func TestConditionOperators(t *testing.T) {
	tests := []struct {
		op     string
		key    string
		policy any
		req    []string
		want   bool
	}{
		// String family.
		{"StringEquals", "aws:PrincipalTag/team", "red", []string{"red"}, true},
		{"StringEquals", "aws:PrincipalTag/team", "red", []string{"Red"}, false},
		{"StringEquals", "aws:PrincipalTag/team", []string{"blue", "red"}, []string{"red"}, true}, // values OR
		{"StringEquals", "aws:PrincipalTag/team", "red", absent, false},
		{"StringEqualsIfExists", "aws:PrincipalTag/team", "red", absent, true},
		{"StringEqualsIfExists", "aws:PrincipalTag/team", "red", []string{"blue"}, false},
		{"StringNotEquals", "aws:PrincipalTag/team", "red", []string{"blue"}, true},
		{"StringNotEquals", "aws:PrincipalTag/team", []string{"blue", "red"}, []string{"red"}, false}, // negated values NOR
		{"StringNotEquals", "aws:PrincipalTag/team", "red", absent, true},                             // negated, missing → true
		{"StringEqualsIgnoreCase", "aws:PrincipalTag/team", "RED", []string{"red"}, true},
		{"StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", "RED", []string{"red"}, false},
		{"StringLike", "s3:prefix", "home/*", []string{"home/alice/x"}, true},
		{"StringLike", "s3:prefix", "home/?", []string{"home/ab"}, false},
		{"StringNotLike", "s3:prefix", "home/*", []string{"tmp/x"}, true},
		{"StringNotLikeIfExists", "s3:prefix", "home/*", absent, true},
		// A single-valued operator on several request values: any pair.
		{"StringEquals", "aws:TagKeys", "a", []string{"b", "a"}, true},
		{"StringNotEquals", "aws:TagKeys", "a", []string{"b", "a"}, false},
		// Numeric.
		{"NumericEquals", "s3:max-keys", "10", []string{"10"}, true},
		{"NumericEquals", "s3:max-keys", 10, []string{"10.0"}, true},
		{"NumericNotEquals", "s3:max-keys", "10", []string{"11"}, true},
		{"NumericLessThan", "s3:max-keys", "10", []string{"9"}, true},
		{"NumericLessThan", "s3:max-keys", "10", []string{"10"}, false},
		{"NumericLessThanEquals", "s3:max-keys", "10", []string{"10"}, true},
		{"NumericGreaterThan", "s3:max-keys", "10", []string{"10.5"}, true},
		{"NumericGreaterThanEquals", "s3:max-keys", "10", []string{"9.99"}, false},
		{"NumericLessThan", "s3:max-keys", "10", []string{"ten"}, false},
		{"NumericLessThan", "s3:max-keys", "10", absent, false},
		{"NumericLessThanIfExists", "s3:max-keys", "10", absent, true},
		{"NumericNotEquals", "s3:max-keys", "10", absent, true},
		// Date.
		{"DateLessThan", "aws:TokenIssueTime", "2026-11-21T12:00:00Z", []string{"2026-11-21T11:59:59Z"}, true},
		{"DateLessThan", "aws:TokenIssueTime", "2026-11-21T12:00:00Z", []string{"2026-11-21T12:00:00Z"}, false},
		{"DateLessThanEquals", "aws:TokenIssueTime", "2026-11-21T12:00:00Z", []string{"2026-11-21T13:00:00+01:00"}, true},
		{"DateGreaterThan", "aws:CurrentTime", "2026-01-01", []string{"2026-11-21T00:00:00Z"}, true},
		{"DateGreaterThanEquals", "aws:CurrentTime", "1795000000", []string{"2026-11-18T11:06:40Z"}, true},
		{"DateEquals", "aws:CurrentTime", "2026-11-21T12:00:00Z", []string{"1795262400"}, true},
		{"DateNotEquals", "aws:CurrentTime", "2026-11-21T12:00:00Z", []string{"2026-11-21T12:00:01Z"}, true},
		{"DateLessThan", "aws:TokenIssueTime", "2026-11-21T12:00:00Z", absent, false}, // long-term keys have no TokenIssueTime
		{"DateLessThan", "aws:TokenIssueTime", "2026-11-21T12:00:00Z", []string{"garbage"}, false},
		// Bool.
		{"Bool", "aws:SecureTransport", "true", []string{"true"}, true},
		{"Bool", "aws:SecureTransport", true, []string{"TRUE"}, true},
		{"Bool", "aws:SecureTransport", "false", []string{"true"}, false},
		{"Bool", "aws:SecureTransport", "false", absent, false},
		{"BoolIfExists", "aws:SecureTransport", "false", absent, true},
		// Binary.
		{"BinaryEquals", "k:bin", "QmluYXJ5", []string{"QmluYXJ5"}, true},
		{"BinaryEquals", "k:bin", "QmluYXJ5", []string{"QmluYXJ6"}, false},
		// IP.
		{"IpAddress", "aws:SourceIp", "192.0.2.0/24", []string{"192.0.2.77"}, true},
		{"IpAddress", "aws:SourceIp", "192.0.2.0/24", []string{"192.0.3.1"}, false},
		{"IpAddress", "aws:SourceIp", "203.0.113.5", []string{"203.0.113.5"}, true}, // bare address is /32
		{"IpAddress", "aws:SourceIp", "2001:db8::/32", []string{"2001:db8:1::1"}, true},
		{"IpAddress", "aws:SourceIp", "192.0.2.0/24", []string{"::ffff:192.0.2.1"}, true},
		{"IpAddress", "aws:SourceIp", "192.0.2.0/24", []string{"not-an-ip"}, false},
		{"NotIpAddress", "aws:SourceIp", []string{"192.0.2.0/24", "198.51.100.0/24"}, []string{"203.0.113.9"}, true},
		{"NotIpAddress", "aws:SourceIp", []string{"192.0.2.0/24", "198.51.100.0/24"}, []string{"198.51.100.9"}, false},
		{"NotIpAddress", "aws:SourceIp", "192.0.2.0/24", absent, true},
		// ARN.
		{"ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/service-role/*", []string{"arn:aws:iam::123456789012:role/service-role/x"}, true},
		{"ArnEquals", "aws:PrincipalArn", "arn:aws:iam::*:role/service-role/*", []string{"arn:aws:iam::123456789012:role/service-role/x"}, true},
		{"ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/service-role/*", []string{"arn:aws:iam::123456789012:role/admin"}, false},
		{"ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/*", []string{"not-an-arn"}, false},
		{"ArnNotLike", "aws:PrincipalArn", "arn:aws:iam::*:role/service-role/*", []string{"arn:aws:iam::123456789012:user/bob"}, true},
		{"ArnNotLikeIfExists", "aws:PrincipalArn", "arn:aws:iam::*:role/service-role/*", absent, true},
		{"ArnNotEquals", "aws:PrincipalArn", "arn:aws:iam::1:user/a", absent, true},
		// Null.
		{"Null", "aws:TokenIssueTime", "true", absent, true},
		{"Null", "aws:TokenIssueTime", "true", []string{"2026-01-01T00:00:00Z"}, false},
		{"Null", "aws:TokenIssueTime", "false", []string{"2026-01-01T00:00:00Z"}, true},
		{"Null", "aws:TokenIssueTime", "false", absent, false},
		{"Null", "aws:TagKeys", "true", []string{}, true}, // a key with no values is null (see TestAWSSentences)
		{"Null", "aws:TagKeys", "false", []string{}, false},
		// Set operators.
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"a", "b"}, []string{"a"}, true},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"a", "b"}, []string{"a", "c"}, false},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"a", "b"}, []string{}, true},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"a", "b"}, absent, true},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"a", "b"}, []string{"c", "b"}, true},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"a", "b"}, []string{"c"}, false},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"a", "b"}, []string{}, false},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"a", "b"}, absent, false},
		{"ForAnyValue:StringEqualsIfExists", "aws:TagKeys", []string{"a"}, absent, true},
		{"ForAnyValue:StringEqualsIfExists", "aws:TagKeys", []string{"a"}, []string{}, true}, // no values: as missing, IfExists holds
		{"ForAllValues:StringEqualsIfExists", "aws:TagKeys", []string{"a"}, []string{"b"}, false},
		{"StringNotEqualsIfExists", "aws:TagKeys", "a", []string{}, true},
		{"ForAllValues:StringNotEquals", "aws:TagKeys", []string{"secret"}, []string{"a", "b"}, true},
		{"ForAllValues:StringNotEquals", "aws:TagKeys", []string{"secret"}, []string{"a", "secret"}, false},
		{"ForAnyValue:StringNotEquals", "aws:TagKeys", []string{"a"}, []string{"a", "b"}, true},
		{"ForAnyValue:StringNotEquals", "aws:TagKeys", []string{"a"}, []string{"a"}, false},
		{"ForAllValues:StringLike", "aws:TagKeys", []string{"team*"}, []string{"team-a", "team-b"}, true},
		{"ForAnyValue:IpAddress", "k:ips", "10.0.0.0/8", []string{"192.0.2.1", "10.1.1.1"}, true},
		{"ForAllValues:NumericLessThan", "k:n", "5", []string{"1", "4"}, true},
		{"ForAllValues:NumericLessThan", "k:n", "5", []string{"1", "7"}, false},
		// Key names are case-insensitive; values are not.
		{"StringEquals", "AWS:PRINCIPALTAG/team", "red", []string{"red"}, true},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s %s %v %v", tt.op, tt.key, tt.policy, tt.req)
		t.Run(name, func(t *testing.T) {
			if got := cond(t, tt.op, tt.key, tt.policy, tt.req); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionsAND(t *testing.T) {
	p := MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
		"StringEquals":{"aws:PrincipalTag/team":"red","aws:PrincipalTag/env":"prod"},
		"Bool":{"aws:SecureTransport":"true"}}}}`)
	tests := []struct {
		team, env, tls string
		want           Decision
	}{
		{"red", "prod", "true", Allowed},
		{"red", "dev", "true", ImplicitDeny},   // keys under one operator AND
		{"red", "prod", "false", ImplicitDeny}, // operators AND
	}
	for _, tt := range tests {
		ctx := NewContext(map[string]string{"aws:PrincipalTag/team": tt.team, "aws:PrincipalTag/env": tt.env, "aws:SecureTransport": tt.tls})
		if got := p.Evaluate(&Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b", Context: ctx}); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt, got, tt.want)
		}
	}
}

func TestRequestTime(t *testing.T) {
	p := MustParse(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"},"NumericLessThan":{"aws:EpochTime":"1796083200"}}}}`)
	req := &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b", Time: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
	if p.Evaluate(req) != Allowed {
		t.Fatal("before the date: not allowed")
	}
	req.Time = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	if p.Evaluate(req) != ImplicitDeny {
		t.Fatal("after the date: allowed")
	}
}
