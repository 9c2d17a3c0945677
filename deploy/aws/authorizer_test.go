package aws

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/iampolicy"
	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/authz/dynamo"
	"github.com/lockgate/lockgate/internal/config"
)

// TestAuthorizerTemplate checks deploy/aws/authorizer.yaml against what
// the code reads and what API Gateway allows.
func TestAuthorizerTemplate(t *testing.T) {
	tmpl := load(t, "authorizer.yaml")
	if tmpl["Transform"] != "AWS::Serverless-2016-10-31" {
		t.Fatalf("not a SAM template: %v", tmpl["Transform"])
	}
	// The bootstrap picks the authorizer by the Handler setting.
	fn := resource(t, tmpl, "Authorizer", "AWS::Serverless::Function")
	if fn["Runtime"] != "provided.al2023" || fn["Handler"] != "authorizer" {
		t.Fatalf("function: %v", fn)
	}
	// Every variable set is one the authorizer reads, and the ones it
	// needs are set.
	known := map[string]bool{}
	for _, v := range config.Vars(&authz.LambdaConfig{}) {
		known[v.Name] = true
	}
	vars := get(fn, "Environment", "Variables").(map[string]any)
	for k := range vars {
		if !known[k] {
			t.Errorf("the function sets %s, which lockgate does not read", k)
		}
	}
	for _, k := range []string{"LOCKGATE_AUTHZ_USER_POOL_ID", "LOCKGATE_AUTHZ_CLIENT_IDS", "LOCKGATE_AUTHZ_DYNAMODB_TABLE", "LOCKGATE_AUTHZ_GROUPS_SOURCE"} {
		if vars[k] == nil {
			t.Errorf("the function lacks %s", k)
		}
	}
	if vars["LOCKGATE_AUTHZ_RESPONSE"] != "iam" {
		t.Errorf("a REST API needs policy answers: %v", vars["LOCKGATE_AUTHZ_RESPONSE"])
	}
	if !reflect.DeepEqual(vars["LOCKGATE_AUTHZ_DYNAMODB_TABLE"], map[string]any{"Ref": "GroupsTable"}) {
		t.Errorf("table variable %v", vars["LOCKGATE_AUTHZ_DYNAMODB_TABLE"])
	}
	// The sample's table layout: partition key "group", a string.
	table := resource(t, tmpl, "GroupsTable", "AWS::DynamoDB::Table")
	ks, _ := json.Marshal([]any{table["KeySchema"], table["AttributeDefinitions"]})
	if string(ks) != `[[{"AttributeName":"`+dynamo.KeyAttr+`","KeyType":"HASH"}],[{"AttributeName":"`+dynamo.KeyAttr+`","AttributeType":"S"}]]` {
		t.Errorf("table keys %s", ks)
	}
	// Least privilege: GetItem on this table, nothing else.
	role := resource(t, tmpl, "AuthorizerRole", "AWS::IAM::Role")
	doc := role["Policies"].([]any)[0].(map[string]any)["PolicyDocument"]
	data, _ := json.Marshal(doc)
	tableARN := "arn:aws:dynamodb:us-east-1:111122223333:table/lockgate-GroupsTable-1"
	data = []byte(strings.Replace(string(data), `{"Fn::GetAtt":"GroupsTable.Arn"}`, `"`+tableARN+`"`, 1))
	p, err := iampolicy.Parse(data)
	if err != nil {
		t.Fatalf("role policy: %v\n%s", err, data)
	}
	set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "authorizer", Policy: p}}}
	for _, tt := range []struct {
		action, resource string
		want             iampolicy.Decision
	}{
		{"dynamodb:GetItem", tableARN, iampolicy.Allowed},
		{"dynamodb:PutItem", tableARN, iampolicy.ImplicitDeny},
		{"dynamodb:Scan", tableARN, iampolicy.ImplicitDeny},
		{"dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:111122223333:table/other", iampolicy.ImplicitDeny},
	} {
		if r := set.Evaluate(&iampolicy.Request{Action: tt.action, Resource: tt.resource}); r.Decision != tt.want {
			t.Errorf("%s on %s: %v", tt.action, tt.resource, r.Decision)
		}
	}
	// API Gateway's authorizer cache: "authorizerResultTtlInSeconds
	// default 300, max 3600, 0 disables" (aws-formats.md). The answers
	// are the same for every method, so the cache is safe at any TTL.
	ttl := get(tmpl, "Parameters", "AuthorizerCacheTtl").(map[string]any)
	if ttl["MinValue"] != "0" || ttl["MaxValue"] != "3600" || ttl["Default"] != "300" {
		t.Errorf("cache TTL parameter %v", ttl)
	}
	api := resource(t, tmpl, "Api", "AWS::Serverless::Api")
	az := get(api, "DefinitionBody", "components", "securitySchemes", "lockgate", "x-amazon-apigateway-authorizer").(map[string]any)
	if az["type"] != "token" || az["identitySource"] != "method.request.header.Authorization" ||
		!reflect.DeepEqual(az["authorizerResultTtlInSeconds"], map[string]any{"Ref": "AuthorizerCacheTtl"}) {
		t.Errorf("authorizer %v", az)
	}
	if uri, _ := az["authorizerUri"].(map[string]any)["Fn::Sub"].(string); !strings.Contains(uri, "${Authorizer.Arn}/invocations") {
		t.Errorf("authorizer URI %v", az["authorizerUri"])
	}
	method := get(api, "DefinitionBody", "paths", "/{proxy+}", "x-amazon-apigateway-any-method").(map[string]any)
	// plain() reads the flow sequence [] as null.
	if sec, _ := json.Marshal(method["security"]); string(sec) != `[{"lockgate":null}]` {
		t.Errorf("the API's method is not behind the authorizer: %s", sec)
	}
	perm := resource(t, tmpl, "AuthorizerInvokePermission", "AWS::Lambda::Permission")
	if perm["Principal"] != "apigateway.amazonaws.com" || !slices.Contains([]string{"lambda:InvokeFunction"}, perm["Action"].(string)) {
		t.Errorf("permission %v", perm)
	}
}
