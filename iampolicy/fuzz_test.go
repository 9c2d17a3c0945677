package iampolicy

import (
	"os"
	"testing"
)

// FuzzParse: no document panics the parser; a document it accepts can be
// evaluated without panicking, and its statements keep their order.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"petstore.json", "deny-all.json", "revoke-older-sessions.json", "nat-ip-deny.json", "nat-ip-deny-scp.json", "allow-all.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012"]},"Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username, 'x'}/${*}","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":"${aws:userid}"},"Null":{"a:b":"true"}}}}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Deny","NotPrincipal":{"Service":"s3.amazonaws.com"},"NotAction":"iam:*","NotResource":"arn:aws:iam::*:role/*"}]}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"a b","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:role/p/R","arn:aws:sts::123456789012:assumed-role/R/s"]},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"},{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`))
	ctx := NewContext(map[string]string{"aws:username": "alice", "aws:SourceIp": "192.0.2.1", "aws:CurrentTime": "2026-11-21T12:00:00Z", "aws:TagKeys": "a"})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for i, s := range p.Statements {
			if s.Index < i {
				t.Fatalf("statement order lost")
			}
		}
		for _, t := range PolicyTypes {
			p.Validate(t)
		}
		if typ, why := p.InferType(); typ == "" || why == "" {
			t.Fatalf("InferType: %q, %q", typ, why)
		}
		for _, req := range []*Request{
			{Principal: "arn:aws:iam::123456789012:user/alice", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/alice/x", Context: ctx},
			{Action: "iam:PassRole", Resource: "*"},
			{Principal: "arn:aws:iam::123456789012:root", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"},
			{Principal: "arn:aws:sts::123456789012:assumed-role/R/s", RoleARN: "arn:aws:iam::123456789012:role/p/R", Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/p/R", Context: ctx},
			{Principal: "arn:aws:sts::123456789012:federated-user/f", FederatedBy: "arn:aws:iam::123456789012:user/u", Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"},
			{Principal: "s3.amazonaws.com", Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:123456789012:q"},
			{Principal: "accounts.google.com", PrincipalType: PrincipalWebIdentity, Action: "sts:AssumeRoleWithWebIdentity", Resource: "*"},
		} {
			p.Evaluate(req)
			set := Set{Identity: []Named{{"p", p}}, Resource: &Named{"p", p}, Boundary: &Named{"p", p}, SCPs: [][]Named{{{"p", p}}}}
			set.Evaluate(req)
		}
	})
}

// FuzzEvaluate drives a policy set using every operator family with
// arbitrary requests: nothing panics, a decision is stable, and adding
// a deny-all always gives ExplicitDeny.
func FuzzEvaluate(f *testing.F) {
	rich := MustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"A","Effect":"Allow","Action":["s3:Get*","execute-api:Invoke"],"Resource":["arn:aws:s3:::${aws:username}/*","arn:aws:execute-api:*:*:*/*/GET/*"],
		 "Condition":{"IpAddressIfExists":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01"},
		 "ForAllValues:StringLike":{"aws:TagKeys":["team*","env"]},"NumericLessThanEquals":{"s3:max-keys":"100"}}},
		{"Sid":"B","Effect":"Deny","NotAction":"s3:*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":"false"},"ArnNotLikeIfExists":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin-*"}}},
		{"Sid":"C","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"false"},"ForAnyValue:StringEqualsIgnoreCase":{"aws:PrincipalTag/role":["Admin"]},"BinaryEquals":{"k:b":"QQ=="}}}]}`)
	denyAll := MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`)
	f.Add("alice", "s3:GetObject", "arn:aws:s3:::alice/k", "192.0.2.1", "2026-11-21T00:00:00Z", "team-a", "10", "true")
	f.Add("", "EXECUTE-API:invoke", "arn:aws:execute-api:us-east-1:1:a/p/GET/x", "::ffff:192.0.2.9", "1795000000", "", "1e3", "FALSE")
	f.Add("*", "s3:Get?bject", "arn:aws:s3:::*/k", "bad", "bad", "x", "NaN", "")
	f.Fuzz(func(t *testing.T, user, action, resource, ip, when, tag, maxKeys, tls string) {
		ctx := &Context{}
		for k, v := range map[string]string{"aws:username": user, "aws:SourceIp": ip, "aws:CurrentTime": when, "s3:max-keys": maxKeys, "aws:SecureTransport": tls, "aws:TokenIssueTime": when, "aws:PrincipalTag/role": tag, "k:b": tag} {
			if v != "" {
				ctx.Set(k, v)
			}
		}
		ctx.Set("aws:TagKeys", tag, user)
		req := &Request{Principal: "arn:aws:iam::111122223333:user/" + user, Action: action, Resource: resource, Context: ctx}
		set := Set{Identity: []Named{{"rich", rich}}}
		first := set.Evaluate(req)
		if again := set.Evaluate(req); again.Decision != first.Decision {
			t.Fatalf("unstable: %v then %v", first, again)
		}
		set.Identity = append(set.Identity, Named{"deny", denyAll})
		if d := set.Evaluate(req).Decision; d != ExplicitDeny {
			t.Fatalf("deny-all gave %v", d)
		}
		// The same request from other principals, against a resource
		// policy naming them in every way: nothing panics, and a
		// NotPrincipal Deny never lets a principal with a boundary through.
		bucketPolicy := &Named{"bucket", notPrincipalAll}
		for _, r := range []Request{
			{Principal: "arn:aws:sts::111122223333:assumed-role/" + user + "/s", RoleARN: "arn:aws:iam::111122223333:role/p/" + user},
			{Principal: "arn:aws:sts::111122223333:assumed-role/" + user + "/s"},
			{Principal: "arn:aws:sts::111122223333:federated-user/" + user, FederatedBy: "arn:aws:iam::111122223333:user/" + user},
			{Principal: "arn:aws:iam::111122223333:root"},
			{Principal: user, PrincipalType: PrincipalService},
		} {
			r.Action, r.Resource, r.Context = action, resource, ctx
			withBoundary := Set{Identity: []Named{{"rich", rich}}, Resource: bucketPolicy, Boundary: &Named{"all", allowAll}}
			if d := withBoundary.Evaluate(&r).Decision; d == Allowed && r.PrincipalType != PrincipalService && notPrincipalAll.Statements[1].coversAction(&r) {
				t.Fatalf("%s: allowed through a NotPrincipal Deny with a boundary", r.Principal)
			}
			(&Set{Resource: bucketPolicy, Sessions: []Named{{"rich", rich}}}).Evaluate(&r)
		}
	})
}

// notPrincipalAll allows everyone and denies s3:* to all but principals
// named in every way a principal can be.
var (
	notPrincipalAll = MustParse(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
		{"Effect":"Deny","NotPrincipal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/p/alice","arn:aws:sts::111122223333:assumed-role/alice/s"],"Service":"s3.amazonaws.com"},"Action":"s3:*","Resource":"*"}]}`)
	allowAll = MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
)

// coversAction reports whether the statement's action and resource cover
// the request (leaving out its principal and conditions).
func (s *Statement) coversAction(req *Request) bool {
	var e evalState
	e.init(req, false)
	m, _ := s.matchResource(&e)
	return s.matchAction(req.Action) && m != s.notResource
}
