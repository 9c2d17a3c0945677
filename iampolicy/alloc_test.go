package iampolicy

import (
	"testing"
)

// TestEvaluateIntoAllocs pins the claim that deciding a request with
// EvaluateInto does not allocate once its Result has room: for the
// petstore policy (allowed and denied), for variables, and for a realistic
// set with a resource-based policy, an SCP level, a boundary and a
// session policy.
func TestEvaluateIntoAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("coverage and the race detector allocate")
	}
	petstore := Set{Identity: []Named{{"petstore", load(t, "petstore.json")}}}
	realistic := Set{
		Identity: ids(allowS3Doc, allowEC2Doc),
		Resource: bucket("Allow", `"Principal":{"AWS":"`+devPath+`"}`),
		SCPs:     [][]Named{{named("full", allowAllDoc), named("deny", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin-*"}}}}`)}},
		Boundary: &Named{"boundary", MustParse(allowAllDoc)},
		Sessions: ids(allowS3Doc),
	}
	variables := Set{Identity: []Named{{"home", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*","Condition":{"StringLike":{"s3:prefix":"${aws:username}/*"}}}}`)}}}
	tests := []struct {
		name string
		set  *Set
		req  *Request
		want Decision
	}{
		{"petstore allowed", &petstore, &Request{Principal: userA, Action: "execute-api:Invoke", Resource: "arn:aws:execute-api:us-east-1:111122223333:a1b2c3/prod/GET/petstore/v2/status", Context: NewContext(map[string]string{"aws:SourceIp": "198.51.100.23"})}, Allowed},
		{"petstore denied", &petstore, &Request{Principal: userA, Action: "execute-api:Invoke", Resource: "arn:aws:execute-api:us-east-1:111122223333:a1b2c3/prod/GET/petstore/v2/status", Context: NewContext(map[string]string{"aws:SourceIp": "203.0.113.23"})}, ImplicitDeny},
		{"variables", &variables, &Request{Principal: userA, Action: "s3:ListBucket", Resource: "arn:aws:s3:::home/alice/x", Context: NewContext(map[string]string{"aws:username": "alice", "s3:prefix": "alice/docs"})}, Allowed},
		{"realistic", &realistic, &Request{Principal: devSession, RoleARN: devPath, Action: "s3:GetObject", Resource: bucketKey, ResourceAccount: acctA, Context: NewContext(map[string]string{"aws:PrincipalArn": devPath})}, Allowed},
	}
	for _, tt := range tests {
		var r Result
		tt.set.EvaluateInto(tt.req, &r) // grows r.Matched once
		if r.Decision != tt.want {
			t.Fatalf("%s: %v", tt.name, r)
		}
		if n := testing.AllocsPerRun(200, func() { tt.set.EvaluateInto(tt.req, &r) }); n != 0 {
			t.Errorf("%s: %.1f allocations per decision, want 0", tt.name, n)
		}
	}
}
