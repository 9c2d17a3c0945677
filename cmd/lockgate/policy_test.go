package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCommands(t *testing.T) {
	t.Parallel()
	td := "../../iampolicy/testdata/"
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}]}`), 0o600)
	write := func(name, doc string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const (
		fed      = "arn:aws:sts::111122223333:federated-user/app"
		session  = "arn:aws:sts::111122223333:assumed-role/dev/build-42"
		rolePath = "arn:aws:iam::111122223333:role/service-role/dev"
	)
	trustBad := write("trust.json", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}}`)
	trustEC2 := write("trust-ec2.json", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`)
	trustGoogle := write("trust-google.json", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.google.com:aud":"app"}}}}`)
	byRole := write("bucket.json", `{"Version":"2012-10-17","Statement":{"Sid":"ByRole","Effect":"Allow","Principal":{"AWS":"`+rolePath+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}}`)
	byPrincipalArn := write("roles.json", `{"Version":"2012-10-17","Statement":{"Sid":"ServiceRoles","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/service-role/*"}}}}`)
	allButAlice := write("notprincipal.json", `{"Version":"2012-10-17","Statement":{"Sid":"AllButAlice","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/alice"]},"Action":"s3:*","Resource":"arn:aws:s3:::reports/*"}}`)
	petstore := []string{"policy", "eval", "--policy", td + "petstore.json", "--action", "execute-api:Invoke",
		"--principal", "arn:aws:iam::111122223333:user/alice",
		"--resource", "arn:aws:execute-api:us-east-1:111122223333:a1/prod/GET/petstore/v2/status"}
	isJSON := func(t *testing.T, tt cliCase, stdout string) {
		if !strings.Contains(strings.Join(tt.args, " "), "-o json") || tt.code == 1 {
			return
		}
		var v struct {
			Decision string `json:"decision"`
			Matched  []any  `json:"matched"`
		}
		if err := json.Unmarshal([]byte(stdout), &v); err != nil || v.Decision == "" {
			t.Fatalf("not JSON: %s", stdout)
		}
	}
	tests := []cliCase{
		{"validate infers the type and says so", []string{"policy", "validate", td + "deny-all.json"}, 0, []string{"deny-all.json: ok as identity policy (type inferred: no statement names a principal"}},
		{"validate --type scp", []string{"policy", "validate", "--type", "scp", td + "nat-ip-deny-scp.json", td + "allow-all.json"}, 0, []string{"nat-ip-deny-scp.json: ok as scp policy", "allow-all.json: ok as scp policy"}},
		{"validate applies the identity Sid rule", []string{"policy", "validate", td + "petstore.json"}, 1, []string{
			`petstore.json: Statement[0].Sid: "PetStore-API": IAM takes only letters`, "petstore.json: validated as identity policy (type inferred"}},
		{"validate a trust policy", []string{"policy", "validate", trustBad}, 1, []string{"Statement.Resource: a role trust policy has no Resource", "validated as trust policy (type inferred: its statements name principals and allow only the actions of assuming a role"}},
		{"validate --type resource", []string{"policy", "validate", "--type", "resource", td + "deny-all.json"}, 1, []string{"needs Principal or NotPrincipal", "validated as resource policy\n"}},
		{"validate unknown --type", []string{"policy", "validate", "--type", "bucket", td + "deny-all.json"}, 2, []string{`--type "bucket"`}},
		{"validate reports every problem", []string{"policy", "validate", td + "deny-all.json", bad}, 1, []string{
			`Statement[0].Action: "GetObject" has no service prefix`, `Statement[0].Condition.IpAddress["aws:SourceIp"]: "10.0.0.0/33" is not a CIDR`}},
		{"validate needs a file", []string{"policy", "validate"}, 2, nil},
		{"validate -o json", []string{"policy", "validate", "-o", "json", td + "deny-all.json", td + "petstore.json"}, 1, []string{`"valid": false`, `"file": "` + td + `deny-all.json",
      "valid": true,
      "type": "identity"`, `"inferred": "no statement names a principal`, `"problems": [
        "`}},
		{"eval allow", append(petstore, "--context", "aws:SourceIp=192.0.2.9"), 0, []string{"Allow", "PetStore-API"}},
		{"eval implicit deny", append(petstore, "--context", "aws:SourceIp=203.0.113.9"), 3, []string{"ImplicitDeny"}},
		{"eval json", append(petstore, "--context", "aws:SourceIp=192.0.2.9", "-o", "json"), 0, []string{`"decision":"Allow"`, `"matched":[{`}},
		{"eval explicit deny json", []string{"policy", "eval", "--policy", td + "allow-all.json", "--policy", td + "revoke-older-sessions.json",
			"--action", "s3:GetObject", "--resource", "*", "--context", "aws:TokenIssueTime=2026-11-21T11:00:00Z", "-o", "json"}, 3, []string{`"decision":"ExplicitDeny"`, "revoke-older-sessions.json"}},
		{"eval SCP", []string{"policy", "eval", "--policy", td + "allow-all.json", "--scp", td + "allow-all.json", "--scp", td + "nat-ip-deny-scp.json",
			"--action", "s3:ListBucket", "--resource", "arn:aws:s3:::b", "--context", "aws:SourceIp=198.51.100.1", "--context", "aws:ViaAWSService=false"}, 3, []string{"ExplicitDeny", "DenyIfNotNatIP"}},
		{"eval multi-valued context", []string{"policy", "eval", "--policy", td + "allow-all.json", "--boundary", td + "petstore.json",
			"--action", "execute-api:Invoke", "--resource", "arn:aws:execute-api:us-east-1:111122223333:a1/p/GET/petstore/v1/x", "--context", "aws:SourceIp=10.0.0.1", "--context", "aws:SourceIp=192.0.2.1"}, 0, []string{"Allow"}},
		{"eval bad policy", []string{"policy", "eval", "--policy", bad, "--action", "s3:GetObject", "--resource", "*"}, 1, []string{"no service prefix"}},
		{"eval principal in identity policy", []string{"policy", "eval", "--policy", td + "../testdata/petstore.json", "--resource-policy", td + "allow-all.json", "--action", "s3:GetObject", "--resource", "*"}, 1, []string{"needs Principal"}},
		{"eval missing action", []string{"policy", "eval", "--policy", td + "allow-all.json", "--resource", "*"}, 2, []string{"--action is required"}},
		{"eval bad context", []string{"policy", "eval", "--policy", td + "allow-all.json", "--action", "s3:GetObject", "--resource", "*", "--context", "novalue"}, 2, []string{"key=value"}},

		// Principals.
		{"eval root user", []string{"policy", "eval", "--principal", "arn:aws:iam::111122223333:root", "--action", "iam:CreateUser", "--resource", "*"}, 0, []string{"root user has full access"}},
		{"eval root user across accounts without a grant", []string{"policy", "eval", "--principal", "arn:aws:iam::444455556666:root", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/q3.csv", "--resource-account", "111122223333"}, 3, []string{"ImplicitDeny"}},
		{"eval root user typed", []string{"policy", "eval", "--principal-type", "root", "--principal", "111122223333", "--principal-account", "111122223333", "--action", "iam:CreateUser", "--resource", "*"}, 0, []string{"Allow"}},
		{"eval root user has no identity policies", []string{"policy", "eval", "--principal", "arn:aws:iam::111122223333:root", "--policy", td + "deny-all.json", "--action", "s3:GetObject", "--resource", "*"}, 2, []string{"the root user has no identity-based policies"}},
		{"eval federated user without session policy", []string{"policy", "eval", "--principal", fed, "--federated-by", "arn:aws:iam::111122223333:user/broker", "--policy", td + "allow-all.json", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/q3.csv"}, 3, []string{"federated user without session policies has no permissions"}},
		{"eval federated user with session policy", []string{"policy", "eval", "--principal", fed, "--federated-by", "arn:aws:iam::111122223333:user/broker", "--policy", td + "allow-all.json", "--session-policy", td + "allow-all.json", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/q3.csv"}, 0, []string{"Allow"}},
		{"eval federated user needs --federated-by", []string{"policy", "eval", "--principal", fed, "--action", "s3:GetObject", "--resource", "*"}, 2, []string{"--federated-by"}},
		{"eval role session with its role's path", []string{"policy", "eval", "--principal", session, "--role-arn", rolePath, "--resource-policy", byRole, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/q3.csv"}, 0, []string{"Allow", "ByRole"}},
		{"eval role session without its role's path", []string{"policy", "eval", "--principal", session, "--resource-policy", byRole, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/q3.csv"}, 3, []string{"ImplicitDeny"}},
		{"eval role session keys", []string{"policy", "eval", "--principal", session, "--role-arn", rolePath, "--policy", byPrincipalArn, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/q3.csv"}, 0, []string{"Allow", "ServiceRoles"}},
		{"eval --role-arn on a user", []string{"policy", "eval", "--principal", "arn:aws:iam::111122223333:user/alice", "--role-arn", rolePath, "--action", "s3:GetObject", "--resource", "*"}, 2, []string{"--role-arn belongs to a role session"}},
		{"eval NotPrincipal denies a principal with a boundary", []string{"policy", "eval", "--principal", "arn:aws:iam::111122223333:user/alice", "--policy", td + "allow-all.json", "--boundary", td + "allow-all.json",
			"--resource-policy", allButAlice, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/q3.csv"}, 3, []string{"ExplicitDeny", "AllButAlice"}},
		{"eval NotPrincipal exempts alice without a boundary", []string{"policy", "eval", "--principal", "arn:aws:iam::111122223333:user/alice", "--policy", td + "allow-all.json",
			"--resource-policy", allButAlice, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/q3.csv"}, 0, []string{"Allow"}},
		{"eval trust policy must allow", []string{"policy", "eval", "--principal", "arn:aws:iam::111122223333:user/alice", "--policy", td + "allow-all.json", "--trust-policy", trustEC2, "--action", "sts:AssumeRole", "--resource", "arn:aws:iam::111122223333:role/ops"}, 3, []string{"the role's trust policy does not allow it"}},
		{"eval web identity against a trust policy", []string{"policy", "eval", "--principal", "accounts.google.com", "--principal-type", "web-identity", "--trust-policy", trustGoogle, "--action", "sts:AssumeRoleWithWebIdentity", "--resource", "arn:aws:iam::111122223333:role/web", "--context", "accounts.google.com:aud=app"}, 0, []string{"Allow"}},
		{"eval web identity of another audience", []string{"policy", "eval", "--principal", "accounts.google.com", "--principal-type", "web-identity", "--trust-policy", trustGoogle, "--action", "sts:AssumeRoleWithWebIdentity", "--resource", "arn:aws:iam::111122223333:role/web", "--context", "accounts.google.com:aud=other"}, 3, []string{"trust policy does not allow"}},
		{"eval trust policy checked as one", []string{"policy", "eval", "--principal", "arn:aws:iam::111122223333:user/alice", "--trust-policy", trustBad, "--action", "sts:AssumeRole", "--resource", "arn:aws:iam::111122223333:role/ops"}, 1, []string{"a role trust policy has no Resource"}},
		{"eval root type on a user ARN", []string{"policy", "eval", "--principal-type", "root", "--principal", "arn:aws:iam::111122223333:user/bob", "--action", "iam:CreateUser", "--resource", "*"}, 2, []string{"contradicts"}},
		// Attack F-6: inputs AWS cannot have are usage errors. ARN format
		// (IAM identifiers, reference_identifiers): "arn:partition:service:region:account:resource"
		// — the principal's account is in its ARN; GetFederationToken (STS
		// API reference): "You must call the GetFederationToken operation
		// using the long-term security credentials of an IAM user", and the
		// federated user is "arn:aws:sts::123456789012:federated-user/Bob"
		// of that user's account.
		{"eval root type on a session ARN", []string{"policy", "eval", "--principal-type", "root", "--principal", "arn:aws:sts::111122223333:assumed-role/dev/s", "--action", "sqs:SendMessage", "--resource", "arn:aws:sqs:us-east-1:111122223333:q"}, 2, []string{"contradicts"}},
		{"eval --principal-account of another account", []string{"policy", "eval", "--principal", "arn:aws:iam::444455556666:user/x", "--principal-account", "111122223333", "--action", "sqs:SendMessage", "--resource", "arn:aws:sqs:us-east-1:111122223333:q"}, 2, []string{"--principal-account 111122223333 contradicts"}},
		{"eval --principal-account of its own account", []string{"policy", "eval", "--principal", "arn:aws:iam::111122223333:user/alice", "--principal-account", "111122223333", "--policy", td + "allow-all.json", "--action", "sqs:SendMessage", "--resource", "arn:aws:sqs:us-east-1:111122223333:q"}, 0, []string{"Allow"}},
		{"eval --federated-by in another account", []string{"policy", "eval", "--principal", "arn:aws:sts::111122223333:federated-user/app", "--federated-by", "arn:aws:iam::444455556666:user/broker", "--policy", td + "allow-all.json", "--session-policy", td + "allow-all.json", "--action", "sqs:SendMessage", "--resource", "arn:aws:sqs:us-east-1:111122223333:q"}, 2, []string{"--federated-by", "not in account 111122223333"}},
		{"eval --role-arn in another account", []string{"policy", "eval", "--principal", "arn:aws:sts::111122223333:assumed-role/dev/s", "--role-arn", "arn:aws:iam::444455556666:role/dev", "--action", "sqs:SendMessage", "--resource", "*"}, 2, []string{"--role-arn", "not in account 111122223333"}},
		{"eval bad --principal-type", []string{"policy", "eval", "--principal", "x", "--principal-type", "robot", "--action", "s3:GetObject", "--resource", "*"}, 2, []string{`--principal-type "robot"`}},
	}
	runCLICases(t, tests, isJSON)
}
