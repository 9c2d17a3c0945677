package bench

import (
	"context"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/lockgate/lockgate/iampolicy"
)

// The seed's petstore policy (seed 003, third post): execute-api:Invoke on
// two path patterns, from two networks. Each engine below makes the same
// decision for the same allowed request.

const petstoreIAM = `{
   "Version":"2012-10-17",
   "Statement":[{
      "Sid":"PetStore-API",
      "Effect":"Allow",
      "Action":"execute-api:Invoke",
      "Resource":[
         "arn:aws:execute-api:*:*:*/*/*/petstore/v1/*",
         "arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status"
      ],
      "Condition":{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","198.51.100.0/24"]}}
   }]
}`

const petstoreCedar = `permit (principal, action == Action::"execute-api:Invoke", resource)
when {
  (context.path like "*/*/*/petstore/v1/*" || context.path like "*/*/GET/petstore/v2/status") &&
  (context.sourceIp.isInRange(ip("192.0.2.0/24")) || context.sourceIp.isInRange(ip("198.51.100.0/24")))
};`

const petstoreRego = `package petstore

default allow := false

patterns := ["*/*/*/petstore/v1/*", "*/*/GET/petstore/v2/status"]

cidrs := ["192.0.2.0/24", "198.51.100.0/24"]

allow if {
	input.action == "execute-api:Invoke"
	some p in patterns
	glob.match(p, [], input.path)
	some c in cidrs
	net.cidr_contains(c, input.source_ip)
}`

const (
	path     = "a1b2c3/prod/GET/petstore/v2/status"
	sourceIP = "198.51.100.23"
)

func BenchmarkPetstore(b *testing.B) {
	b.Run("iampolicy", func(b *testing.B) {
		set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "petstore", Policy: iampolicy.MustParse(petstoreIAM)}}}
		req := &iampolicy.Request{
			Principal: "arn:aws:iam::111122223333:user/alice",
			Action:    "execute-api:Invoke",
			Resource:  "arn:aws:execute-api:us-east-1:111122223333:" + path,
			Context:   iampolicy.NewContext(map[string]string{"aws:SourceIp": sourceIP}),
		}
		var r iampolicy.Result
		b.ReportAllocs()
		for b.Loop() {
			set.EvaluateInto(req, &r)
		}
		if r.Decision != iampolicy.Allowed {
			b.Fatal(r)
		}
	})

	b.Run("cedar-go", func(b *testing.B) {
		ps, err := cedar.NewPolicySetFromBytes("petstore.cedar", []byte(petstoreCedar))
		if err != nil {
			b.Fatal(err)
		}
		ip, err := types.ParseIPAddr(sourceIP)
		if err != nil {
			b.Fatal(err)
		}
		req := cedar.Request{
			Principal: cedar.NewEntityUID("User", "alice"),
			Action:    cedar.NewEntityUID("Action", "execute-api:Invoke"),
			Resource:  cedar.NewEntityUID("Api", "a1b2c3"),
			Context:   cedar.NewRecord(cedar.RecordMap{"path": cedar.String(path), "sourceIp": ip}),
		}
		var d cedar.Decision
		b.ReportAllocs()
		for b.Loop() {
			d, _ = cedar.Authorize(ps, cedar.EntityMap{}, req)
		}
		if d != cedar.Allow {
			b.Fatal(d)
		}
	})

	b.Run("opa-rego", func(b *testing.B) {
		ctx := context.Background()
		pq, err := rego.New(rego.Query("data.petstore.allow"), rego.Module("petstore.rego", petstoreRego)).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		input := map[string]any{"action": "execute-api:Invoke", "path": path, "source_ip": sourceIP}
		var rs rego.ResultSet
		b.ReportAllocs()
		for b.Loop() {
			rs, err = pq.Eval(ctx, rego.EvalInput(input))
		}
		if err != nil || !rs.Allowed() {
			b.Fatal(rs, err)
		}
	})
}

// TestSameDecisions checks that the three engines agree on allowed and
// denied requests, so the benchmark compares equal work.
func TestSameDecisions(t *testing.T) {
	set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "petstore", Policy: iampolicy.MustParse(petstoreIAM)}}}
	ps, err := cedar.NewPolicySetFromBytes("petstore.cedar", []byte(petstoreCedar))
	if err != nil {
		t.Fatal(err)
	}
	pq, err := rego.New(rego.Query("data.petstore.allow"), rego.Module("petstore.rego", petstoreRego)).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, ip string
		want     bool
	}{
		{"a/prod/GET/petstore/v2/status", "198.51.100.23", true},
		{"a/prod/POST/petstore/v1/pets", "192.0.2.1", true},
		{"a/prod/POST/petstore/v2/status", "192.0.2.1", false},
		{"a/prod/GET/petstore/v2/status", "203.0.113.1", false},
	} {
		r := set.Evaluate(&iampolicy.Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "execute-api:Invoke",
			Resource: "arn:aws:execute-api:us-east-1:111122223333:" + tt.path, Context: iampolicy.NewContext(map[string]string{"aws:SourceIp": tt.ip})})
		ip, _ := types.ParseIPAddr(tt.ip)
		cd, _ := cedar.Authorize(ps, cedar.EntityMap{}, cedar.Request{Principal: cedar.NewEntityUID("User", "alice"), Action: cedar.NewEntityUID("Action", "execute-api:Invoke"),
			Resource: cedar.NewEntityUID("Api", "a"), Context: cedar.NewRecord(cedar.RecordMap{"path": cedar.String(tt.path), "sourceIp": ip})})
		rs, err := pq.Eval(context.Background(), rego.EvalInput(map[string]any{"action": "execute-api:Invoke", "path": tt.path, "source_ip": tt.ip}))
		if err != nil {
			t.Fatal(err)
		}
		got := []bool{r.Decision == iampolicy.Allowed, cd == cedar.Allow, rs.Allowed()}
		for i, g := range got {
			if g != tt.want {
				t.Errorf("%s from %s: engine %d says %v, want %v", tt.path, tt.ip, i, g, tt.want)
			}
		}
	}
}
