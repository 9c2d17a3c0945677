package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCommands(t *testing.T) {
	td := "../../iampolicy/testdata/"
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}]}`), 0o600)
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
		{"validate ok", []string{"policy", "validate", td + "petstore.json", td + "nat-ip-deny-scp.json"}, 0, []string{"petstore.json: ok"}},
		{"validate reports every problem", []string{"policy", "validate", td + "deny-all.json", bad}, 1, []string{
			`Statement[0].Action: "GetObject" has no service prefix`, `Statement[0].Condition.IpAddress["aws:SourceIp"]: "10.0.0.0/33" is not a CIDR`}},
		{"validate needs a file", []string{"policy", "validate"}, 2, nil},
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
	}
	runCLICases(t, tests, isJSON)
}
