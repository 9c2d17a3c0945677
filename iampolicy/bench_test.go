package iampolicy

import "testing"

// BenchmarkPetstore is the seed's execute-api policy with its aws:SourceIp
// condition, compiled once, deciding an allowed request.
//
//	go test -run '^$' -bench Petstore -benchmem ./iampolicy/
func BenchmarkPetstore(b *testing.B) {
	set := Set{Identity: []Named{{"petstore", load(b, "petstore.json")}}}
	req := &Request{
		Principal: "arn:aws:iam::111122223333:user/alice",
		Action:    "execute-api:Invoke",
		Resource:  "arn:aws:execute-api:us-east-1:111122223333:a1b2c3/prod/GET/petstore/v2/status",
		Context:   NewContext(map[string]string{"aws:SourceIp": "198.51.100.23"}),
	}
	var r Result
	set.EvaluateInto(req, &r)
	if r.Decision != Allowed {
		b.Fatalf("decision %v", r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		set.EvaluateInto(req, &r)
	}
}

// BenchmarkPetstoreDenied is the same policy refusing a request from
// outside the allowed networks.
func BenchmarkPetstoreDenied(b *testing.B) {
	set := Set{Identity: []Named{{"petstore", load(b, "petstore.json")}}}
	req := &Request{
		Principal: "arn:aws:iam::111122223333:user/alice",
		Action:    "execute-api:Invoke",
		Resource:  "arn:aws:execute-api:us-east-1:111122223333:a1b2c3/prod/GET/petstore/v2/status",
		Context:   NewContext(map[string]string{"aws:SourceIp": "203.0.113.23"}),
	}
	var r Result
	b.ReportAllocs()
	for b.Loop() {
		set.EvaluateInto(req, &r)
	}
	if r.Decision != ImplicitDeny {
		b.Fatalf("decision %v", r)
	}
}

// BenchmarkVariables resolves ${aws:username} in a resource pattern.
func BenchmarkVariables(b *testing.B) {
	set := Set{Identity: []Named{{"home", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`)}}}
	req := &Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/notes.txt", Context: NewContext(map[string]string{"aws:username": "alice"})}
	var r Result
	b.ReportAllocs()
	for b.Loop() {
		set.EvaluateInto(req, &r)
	}
	if r.Decision != Allowed {
		b.Fatalf("decision %v", r)
	}
}
