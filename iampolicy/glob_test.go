package iampolicy

import "testing"

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"*", "", true},
		{"*", "anything/at:all", true},
		{"a*", "abc", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true}, // ? is one character, not one byte
		{"*/GET/petstore/v2/status", "abc123/prod/GET/petstore/v2/status", true},
		{"*/*/*/petstore/v1/*", "api/prod/POST/petstore/v1/pets/1", true},
		{"*/*/*/petstore/v1/*", "api/prod/POST/petstore/v2/pets", false},
		{"**a", "ba", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"abc", "ABC", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
	if !globFold("s3:get*", "S3:GetObject") || globFold("s3:get*", "S3:PutObject") || !globFold("iam:?etuser", "IAM:GetUser") {
		t.Error("globFold")
	}
}

func TestARNMatch(t *testing.T) {
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status", "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/petstore/v2/status", true},
		{"arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status", "arn:aws:execute-api:us-east-1:123456789012:abc/prod/POST/petstore/v2/status", false},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c.txt", true},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket2/a", false},
		// * in the region part does not run into the account part.
		{"arn:aws:ec2:*:111122223333:instance/*", "arn:aws:ec2:us-east-1:999988887777:instance/i-1", false},
		{"arn:aws:logs:*:*:log-group:app:*", "arn:aws:logs:eu-west-1:1:log-group:app:log-stream:x", true},
		{"arn:aws:iam::*:role/service-role/*", "arn:aws:iam::123456789012:role/service-role/x", true},
		{"arn:aws:iam::*:role/service-role/*", "arn:aws:iam::123456789012:role/admin", false},
		{"arn:aws:s3:::b", "not-an-arn", false},
		{"arn:aws:s3:::b", "arn:aws:s3", false},
	}
	for _, tt := range tests {
		p, ok := arnParts(tt.pattern)
		if !ok {
			t.Fatalf("pattern %q", tt.pattern)
		}
		if got := arnMatch(&p, tt.arn); got != tt.want {
			t.Errorf("arnMatch(%q, %q) = %v, want %v", tt.pattern, tt.arn, got, tt.want)
		}
	}
}
