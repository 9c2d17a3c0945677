package iampolicy_test

import (
	"errors"
	"fmt"

	"github.com/lockgate/lockgate/iampolicy"
	"github.com/lockgate/lockgate/problem"
)

// Parse a policy once, then decide requests against it.
func Example() {
	p, err := iampolicy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": [{
			"Sid": "PetStoreAPI",
			"Effect": "Allow",
			"Action": "execute-api:Invoke",
			"Resource": "arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status",
			"Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}
		}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "petstore", Policy: p}}}
	for _, ip := range []string{"192.0.2.10", "203.0.113.7"} {
		res := set.Evaluate(&iampolicy.Request{
			Principal: "arn:aws:iam::111122223333:user/alice",
			Action:    "execute-api:Invoke",
			Resource:  "arn:aws:execute-api:us-east-1:111122223333:a1b2c3/prod/GET/petstore/v2/status",
			Context:   iampolicy.NewContext(map[string]string{"aws:SourceIp": ip}),
		})
		fmt.Println(ip, res.Decision, res.Matched)
	}
	// Output:
	// 192.0.2.10 Allow [{identity petstore PetStoreAPI Allow Allow}]
	// 203.0.113.7 ImplicitDeny []
}

// Parse reports every problem, each with its JSON path.
func ExampleParse_errors() {
	_, err := iampolicy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": [{
			"Effect": "Allow",
			"Action": "GetObject",
			"Resource": "arn:aws:s3:::reports/*",
			"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}
		}]
	}`))
	var problems problem.List
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Printf("%s: %s\n", p.Path, p.Msg)
		}
	}
	// Output:
	// Statement[0].Action: "GetObject" has no service prefix (write service:action, such as s3:GetObject)
	// Statement[0].Condition.IpAddress["aws:SourceIp"]: "10.0.0.0/33" is not a CIDR
}

// Validate checks a policy against the grammar of the type it is for.
func ExamplePolicy_Validate() {
	p := iampolicy.MustParse(`{"Version":"2012-10-17","Statement":{"Sid":"read-reports","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}}`)
	t, why := p.InferType()
	fmt.Printf("%s (%s)\n", t, why)
	fmt.Println(p.Validate(t))
	// Output:
	// identity (no statement names a principal; boundaries and session policies share this grammar, an SCP needs its own type)
	// Statement.Sid: "read-reports": IAM takes only letters (A-Z, a-z) and digits (0-9) in a Sid
}

// A federated user (GetFederationToken) has the permissions of the IAM
// user who federated and of the session policies, and none without a
// session policy.
func ExampleSet_Evaluate_federatedUser() {
	allowAll := iampolicy.MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	readOnly := iampolicy.MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`)
	req := &iampolicy.Request{
		Principal:   "arn:aws:sts::111122223333:federated-user/broker",
		FederatedBy: "arn:aws:iam::111122223333:user/broker-service",
		Action:      "s3:GetObject",
		Resource:    "arn:aws:s3:::reports/q3.csv",
	}
	set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "user", Policy: allowAll}}}
	fmt.Println(set.Evaluate(req).Decision)
	set.Sessions = []iampolicy.Named{{Name: "session", Policy: readOnly}}
	fmt.Println(set.Evaluate(req).Decision)
	// Output:
	// ImplicitDeny
	// Allow
}

// EvaluateInto reuses a Result: deciding many requests does not allocate.
func ExampleSet_EvaluateInto() {
	set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "s3", Policy: iampolicy.MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}}`)}}}
	var res iampolicy.Result
	for _, key := range []string{"reports/q3.csv", "payroll/q3.csv"} {
		set.EvaluateInto(&iampolicy.Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "s3:GetObject", Resource: "arn:aws:s3:::" + key}, &res)
		fmt.Println(key, res.Decision)
	}
	// Output:
	// reports/q3.csv Allow
	// payroll/q3.csv ImplicitDeny
}
