package iampolicy

import (
	"strings"
	"testing"
	"time"
)

const (
	acct     = "111122223333"
	other    = "444455556666"
	alice    = "arn:aws:iam::111122223333:user/alice"
	session  = "arn:aws:sts::111122223333:assumed-role/Dev/alice-session"
	roleArn  = "arn:aws:iam::111122223333:role/Dev"
	outsider = "arn:aws:iam::444455556666:user/mallory"
)

func TestSeedPetstore(t *testing.T) {
	p := load(t, "petstore.json")
	tests := []struct {
		resource, ip string
		want         Decision
	}{
		{"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/POST/petstore/v1/pets", "192.0.2.10", Allowed},
		{"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/dev/DELETE/petstore/v1/pets/7", "198.51.100.1", Allowed},
		{"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/petstore/v2/status", "192.0.2.10", Allowed},
		{"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/POST/petstore/v2/status", "192.0.2.10", ImplicitDeny},
		{"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/petstore/v2/pets", "192.0.2.10", ImplicitDeny},
		{"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/POST/petstore/v1/pets", "203.0.113.1", ImplicitDeny},
	}
	for _, tt := range tests {
		ctx := NewContext(map[string]string{"aws:SourceIp": tt.ip})
		if got := p.Evaluate(&Request{Action: "execute-api:Invoke", Resource: tt.resource, Context: ctx}); got != tt.want {
			t.Errorf("%s from %s: %v, want %v", tt.resource, tt.ip, got, tt.want)
		}
	}
	if got := p.Evaluate(&Request{Action: "execute-api:ManageConnections", Resource: tests[0].resource, Context: NewContext(map[string]string{"aws:SourceIp": "192.0.2.10"})}); got != ImplicitDeny {
		t.Errorf("other action: %v", got)
	}
}

func TestSeedRevokeOlderSessions(t *testing.T) {
	set := Set{
		Identity: []Named{{Name: "AdminAccess", Policy: load(t, "allow-all.json")}, {Name: "AwsRevokeOlderSessions", Policy: load(t, "revoke-older-sessions.json")}},
	}
	lockTime := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		issued    *time.Time
		principal string
		want      Decision
	}{
		{"session issued before the lock", ptr(lockTime.Add(-time.Hour)), session, ExplicitDeny},
		{"session issued after the lock", ptr(lockTime.Add(time.Minute)), session, Allowed},
		// A long-term access key has no aws:TokenIssueTime: the policy
		// cannot touch it, which is why the responder deactivates keys.
		{"long-term access key", nil, alice, Allowed},
	}
	for _, tt := range tests {
		ctx := &Context{}
		if tt.issued != nil {
			ctx.SetTime("aws:TokenIssueTime", *tt.issued)
		}
		r := set.Evaluate(&Request{Principal: tt.principal, Action: "s3:ListAllMyBuckets", Resource: "*", Context: ctx})
		if r.Decision != tt.want {
			t.Errorf("%s: %v", tt.name, r)
		}
		if tt.want == ExplicitDeny && (len(r.Matched) != 1 || r.Matched[0].Policy != "AwsRevokeOlderSessions") {
			t.Errorf("%s: matched %+v", tt.name, r.Matched)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestSeedDenyAll(t *testing.T) {
	set := Set{Identity: []Named{{Name: "admin", Policy: load(t, "allow-all.json")}, {Name: "DenyAllAccess", Policy: load(t, "deny-all.json")}}}
	for _, action := range []string{"s3:GetObject", "iam:UpdateAccessKey", "sts:GetCallerIdentity"} {
		if r := set.Evaluate(&Request{Principal: alice, Action: action, Resource: "*"}); r.Decision != ExplicitDeny || r.Matched[0].Statement != "Statement[0]" {
			t.Errorf("%s: %v", action, r)
		}
	}
}

func TestSeedNATIPDeny(t *testing.T) {
	identity := load(t, "nat-ip-deny.json")
	scp := load(t, "nat-ip-deny-scp.json")
	allow := load(t, "allow-all.json")
	tests := []struct {
		name      string
		ip        string
		viaAWS    string
		principal string
		want      Decision // for both the identity and the SCP form, unless wantSCP
		wantSCP   Decision
	}{
		{"from the NAT gateway", "203.0.113.10", "false", alice, Allowed, Allowed},
		{"from elsewhere", "198.51.100.7", "false", alice, ExplicitDeny, ExplicitDeny},
		{"a service on the user's behalf", "198.51.100.7", "true", alice, Allowed, Allowed},
		// The SCP form exempts service roles; the identity form does not.
		{"a service role from elsewhere", "198.51.100.7", "false", "arn:aws:iam::111122223333:role/service-role/cfn", ExplicitDeny, Allowed},
	}
	for _, tt := range tests {
		ctx := NewContext(map[string]string{"aws:SourceIp": tt.ip, "aws:ViaAWSService": tt.viaAWS, "aws:PrincipalArn": tt.principal})
		req := &Request{Principal: tt.principal, Action: "s3:ListBucket", Resource: "arn:aws:s3:::bucket", Context: ctx}
		idSet := Set{Identity: []Named{{Name: "allow", Policy: allow}, {Name: "IAMRoleClientVpnDenyIfNotNatIP", Policy: identity}}}
		if r := idSet.Evaluate(req); r.Decision != tt.want {
			t.Errorf("%s, identity form: %v", tt.name, r)
		}
		scpSet := Set{Identity: []Named{{Name: "allow", Policy: allow}}, SCPs: [][]Named{{{Name: "FullAWSAccess", Policy: allow}, {Name: "DenyIfNotNatIP", Policy: scp}}}}
		if r := scpSet.Evaluate(req); r.Decision != tt.wantSCP {
			t.Errorf("%s, SCP form: %v", tt.name, r)
		}
	}
}

func TestVariables(t *testing.T) {
	p := MustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Home","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},
		{"Sid":"Team","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::teams/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/team":"${aws:PrincipalTag/team, 'none'}"}}},
		{"Sid":"Literal","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::lit/${*}/${?}/${$}"},
		{"Sid":"Like","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::like/*","Condition":{"StringLike":{"s3:prefix":"${aws:username}/*"}}}]}`)
	tests := []struct {
		name     string
		resource string
		ctx      map[string]string
		want     Decision
	}{
		{"own home", "arn:aws:s3:::home/alice/file", map[string]string{"aws:username": "alice"}, Allowed},
		{"another's home", "arn:aws:s3:::home/bob/file", map[string]string{"aws:username": "alice"}, ImplicitDeny},
		{"unresolved variable: no match", "arn:aws:s3:::home//file", nil, ImplicitDeny},
		{"tag matches", "arn:aws:s3:::teams/x", map[string]string{"aws:PrincipalTag/team": "red", "s3:ExistingObjectTag/team": "red"}, Allowed},
		{"default used", "arn:aws:s3:::teams/x", map[string]string{"s3:ExistingObjectTag/team": "none"}, Allowed},
		{"default does not match", "arn:aws:s3:::teams/x", map[string]string{"s3:ExistingObjectTag/team": "red"}, ImplicitDeny},
		{"literal * ? $", "arn:aws:s3:::lit/*/?/$", nil, Allowed},
		{"${*} is not a wildcard", "arn:aws:s3:::lit/abc/?/$", nil, ImplicitDeny},
		{"${?} is not a wildcard", "arn:aws:s3:::lit/*/x/$", nil, ImplicitDeny},
		// A * in the variable's value is literal, not a wildcard.
		{"username with a star", "arn:aws:s3:::home/anyone/file", map[string]string{"aws:username": "*"}, ImplicitDeny},
		{"username with a star, literal", "arn:aws:s3:::home/*/file", map[string]string{"aws:username": "*"}, Allowed},
		{"StringLike with variable", "arn:aws:s3:::like/x", map[string]string{"aws:username": "alice", "s3:prefix": "alice/docs"}, Allowed},
		{"StringLike with variable, other prefix", "arn:aws:s3:::like/x", map[string]string{"aws:username": "alice", "s3:prefix": "bob/docs"}, ImplicitDeny},
	}
	for _, tt := range tests {
		if got := p.Evaluate(&Request{Action: "s3:GetObject", Resource: tt.resource, Context: NewContext(tt.ctx)}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// In a 2008-10-17 policy ${…} is literal text.
	old := MustParse(`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}"}}`)
	if old.Evaluate(&Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}", Context: NewContext(map[string]string{"aws:username": "alice"})}) != Allowed {
		t.Error("2008-10-17: variable was substituted")
	}
}

func TestNotElements(t *testing.T) {
	p := MustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"AllButIAM","Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"},
		{"Sid":"NotSecret","Effect":"Deny","Action":"s3:GetObject","NotResource":["arn:aws:s3:::public/*"]}]}`)
	tests := []struct {
		action, resource string
		want             Decision
	}{
		{"ec2:RunInstances", "*", Allowed},
		{"IAM:CreateUser", "*", ImplicitDeny}, // actions are case-insensitive
		{"s3:GetObject", "arn:aws:s3:::public/a", Allowed},
		{"s3:GetObject", "arn:aws:s3:::secret/a", ExplicitDeny},
	}
	for _, tt := range tests {
		if got := p.Evaluate(&Request{Action: tt.action, Resource: tt.resource}); got != tt.want {
			t.Errorf("%s on %s: %v, want %v", tt.action, tt.resource, got, tt.want)
		}
	}
	// NotPrincipal written the AWS way: the account beside each exempted
	// principal, and for a session its role and the session itself.
	rp := MustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Everyone","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
		{"Sid":"AllButAdmins","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:role/Dev","arn:aws:sts::111122223333:assumed-role/Dev/alice-session"]},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}]}`)
	set := Set{Resource: &Named{Name: "bucket", Policy: rp}, Identity: []Named{{Name: "all", Policy: load(t, "allow-all.json")}}}
	for _, tt := range []struct {
		principal, role string
		want            Decision
	}{
		{alice, "", Allowed},
		{"arn:aws:iam::111122223333:user/bob", "", ExplicitDeny},
		{session, "arn:aws:iam::111122223333:role/Dev", Allowed},
		{session, "", ExplicitDeny}, // the role's path unknown: it may be another Dev
		{"arn:aws:sts::111122223333:assumed-role/Dev/other-session", "arn:aws:iam::111122223333:role/Dev", ExplicitDeny}, // the role alone does not exempt its sessions
		{"arn:aws:iam::111122223333:root", "", Allowed},
	} {
		r := set.Evaluate(&Request{Principal: tt.principal, RoleARN: tt.role, Action: "s3:DeleteObject", Resource: "arn:aws:s3:::b/k", ResourceAccount: acct})
		if r.Decision != tt.want {
			t.Errorf("%s: %v", tt.principal, r)
		}
	}
}

func TestCrossPolicyRules(t *testing.T) {
	allowAll := load(t, "allow-all.json")
	allowS3 := MustParse(`{"Version":"2012-10-17","Statement":{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}}`)
	denyDelete := MustParse(`{"Version":"2012-10-17","Statement":{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}}`)
	bucket := func(principal string) *Named {
		return &Named{Name: "bucket", Policy: MustParse(`{"Version":"2012-10-17","Statement":{"Sid":"Bucket","Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`)}
	}
	get := func(principal, account string) *Request {
		return &Request{Principal: principal, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", ResourceAccount: account}
	}
	tests := []struct {
		name string
		set  Set
		req  *Request
		want Decision
		why  string
	}{
		{"nothing allows", Set{}, get(alice, acct), ImplicitDeny, "no policy allows"},
		{"identity allows", Set{Identity: []Named{{"s3", allowS3}}}, get(alice, acct), Allowed, ""},
		{"explicit deny beats allow", Set{Identity: []Named{{"s3", allowS3}, {"nodelete", denyDelete}}}, &Request{Principal: alice, Action: "s3:DeleteObject", Resource: "arn:aws:s3:::b/k"}, ExplicitDeny, "explicit Deny"},
		{"deny in resource policy", Set{Identity: []Named{{"s3", allowS3}}, Resource: &Named{"bucket", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}`)}}, get(alice, acct), ExplicitDeny, ""},
		{"SCP must allow", Set{Identity: []Named{{"s3", allowS3}}, SCPs: [][]Named{{{"ec2only", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)}}}}, get(alice, acct), ImplicitDeny, "service control policy"},
		{"SCP every level", Set{Identity: []Named{{"s3", allowS3}}, SCPs: [][]Named{{{"root", allowAll}}, {{"ou", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)}}}}, get(alice, acct), ImplicitDeny, "service control policy"},
		{"SCP allows", Set{Identity: []Named{{"s3", allowS3}}, SCPs: [][]Named{{{"root", allowAll}}, {{"ou", allowS3}}}}, get(alice, acct), Allowed, ""},
		{"SCP deny", Set{Identity: []Named{{"s3", allowS3}}, SCPs: [][]Named{{{"root", allowAll}, {"nodelete", denyDelete}}}}, &Request{Principal: alice, Action: "s3:DeleteObject", Resource: "arn:aws:s3:::b/k"}, ExplicitDeny, ""},
		{"RCP deny", Set{Identity: []Named{{"s3", allowS3}}, RCPs: []Named{{"rcp", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}}`)}}}, get(alice, acct), ExplicitDeny, ""},
		{"RCP without allow does not deny", Set{Identity: []Named{{"s3", allowS3}}, RCPs: []Named{{"rcp", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"ec2:*","Resource":"*"}}`)}}}, get(alice, acct), Allowed, ""},
		{"same account: resource policy naming the user is enough", Set{Resource: bucket(alice)}, get(alice, acct), Allowed, "principal itself"},
		{"same account: resource policy naming the session is enough", Set{Resource: bucket(session)}, get(session, acct), Allowed, ""},
		{"same account: naming the account needs identity allow", Set{Resource: bucket(acct)}, get(alice, acct), ImplicitDeny, ""},
		{"same account: naming the account plus identity", Set{Resource: bucket(acct), Identity: []Named{{"s3", allowS3}}}, get(alice, acct), Allowed, ""},
		{"boundary limits identity allow", Set{Identity: []Named{{"all", allowAll}}, Boundary: &Named{"boundary", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)}}, get(alice, acct), ImplicitDeny, "permissions boundary"},
		{"boundary allows", Set{Identity: []Named{{"all", allowAll}}, Boundary: &Named{"boundary", allowS3}}, get(alice, acct), Allowed, ""},
		{"boundary does not limit a resource policy naming the user", Set{Resource: bucket(alice), Boundary: &Named{"boundary", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)}}, get(alice, acct), Allowed, ""},
		{"boundary limits a resource policy naming the role", Set{Resource: bucket(roleArn), Boundary: &Named{"boundary", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)}}, get(session, acct), ImplicitDeny, ""},
		{"session policy limits", Set{Identity: []Named{{"all", allowAll}}, Sessions: []Named{{"session", MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)}}}, get(session, acct), ImplicitDeny, "session policy"},
		{"session policy allows", Set{Identity: []Named{{"all", allowAll}}, Sessions: []Named{{"session", allowS3}}}, get(session, acct), Allowed, ""},
		{"cross account: identity alone is not enough", Set{Identity: []Named{{"s3", allowS3}}}, get(alice, other), ImplicitDeny, "resource-based policy must also"},
		{"cross account: resource alone is not enough", Set{Resource: bucket(alice)}, get(alice, other), ImplicitDeny, "identity-based policy must also"},
		{"cross account: both", Set{Identity: []Named{{"s3", allowS3}}, Resource: bucket(alice)}, get(alice, other), Allowed, "both"},
		{"cross account: resource names the account", Set{Identity: []Named{{"s3", allowS3}}, Resource: bucket(acct)}, get(alice, other), Allowed, ""},
		{"outsider not named", Set{Identity: []Named{{"s3", allowS3}}, Resource: bucket(alice)}, get(outsider, acct), ImplicitDeny, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.set.Validate(); err != nil {
				t.Fatal(err)
			}
			r := tt.set.Evaluate(tt.req)
			if r.Decision != tt.want || !strings.Contains(r.Reason, tt.why) {
				t.Fatalf("%v", r)
			}
			if r.Decision != ImplicitDeny && len(r.Matched) == 0 {
				t.Fatalf("no statements named: %v", r)
			}
		})
	}
}

func TestSetValidate(t *testing.T) {
	withPrincipal := MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`)
	without := MustParse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	if err := (&Set{Identity: []Named{{"x", withPrincipal}}}).Validate(); err == nil || !strings.Contains(err.Error(), "only in resource-based") {
		t.Fatalf("identity with principal: %v", err)
	}
	if err := (&Set{Resource: &Named{"r", without}}).Validate(); err == nil || !strings.Contains(err.Error(), "needs Principal") {
		t.Fatalf("resource without principal: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	p := load(t, "petstore.json")
	set := Set{Identity: []Named{{"petstore", p}}}
	done := make(chan bool)
	for g := range 8 {
		go func() {
			ok := true
			for i := range 2000 {
				ip := "192.0.2.1"
				want := Allowed
				if (g+i)%2 == 0 {
					ip, want = "203.0.113.1", ImplicitDeny
				}
				r := set.Evaluate(&Request{Principal: alice, Action: "execute-api:Invoke", Resource: "arn:aws:execute-api:us-east-1:111122223333:a/p/GET/petstore/v1/x", Context: NewContext(map[string]string{"aws:SourceIp": ip})})
				ok = ok && r.Decision == want
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Fatal("wrong decision under concurrency")
		}
	}
}
