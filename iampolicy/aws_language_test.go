package iampolicy

import (
	"strings"
	"testing"
)

const (
	pageCondOps    = "IAM User Guide, IAM JSON policy elements: Condition operators"
	pageCondition  = "IAM User Guide, IAM JSON policy elements: Condition"
	pageMulti      = "IAM User Guide, Multivalued context key examples"
	pageMultiKeys  = "IAM User Guide, Single-valued vs. multivalued context keys"
	pageVariables  = "IAM User Guide, IAM policy elements: Variables and tags"
	pageVersion    = "IAM User Guide, IAM JSON policy elements: Version"
	pageAction     = "IAM User Guide, IAM JSON policy elements: Action"
	pageResource   = "IAM User Guide, IAM JSON policy elements: Resource"
	pageSid        = "IAM User Guide, Grammar of the IAM JSON policy language: sid_string"
	pageARNs       = "IAM User Guide, Identify AWS resources with Amazon Resource Names (ARNs)"
	pageSCPSyntax  = "AWS Organizations User Guide, SCP syntax"
	pageRCPSyntax  = "AWS Organizations User Guide, RCP syntax"
	pageTrustError = "IAM API, CreateRole: MalformedPolicyDocument"
)

// TestAWSLanguage decides one request against one policy per row: the
// condition language, variables, versions, wildcards and case rules.
func TestAWSLanguage(t *testing.T) {
	type ctx map[string][]string
	tests := []struct {
		name, page, quote string
		doc               string // one Allow statement's Condition, or a whole policy when it starts with {"Version" or {"Statement"
		action, resource  string // defaults: s3:GetObject on arn:aws:s3:::b/k
		ctx               ctx
		want              Decision
	}{
		{name: "ForAllValues on a missing key", page: pageMulti, quote: "The ForAllValues set operator also returns true if there are no context keys in the request.",
			doc: `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, want: Allowed},
		{name: "ForAllValues on a key with no values", page: pageMulti, quote: "You can prevent missing context keys or context keys with empty values from evaluating to true by including a Null condition operator in your policy with a value of false to check if the context key in the request exists and its value is not null.",
			doc: `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctx: ctx{"aws:TagKeys": {}}, want: Allowed},
		{name: "Null false guards ForAllValues against a key with no values", page: pageMulti, quote: "You can prevent missing context keys or context keys with empty values from evaluating to true by including a Null condition operator in your policy with a value of false to check if the context key in the request exists and its value is not null.",
			doc: `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]},"Null":{"aws:TagKeys":"false"}}`, ctx: ctx{"aws:TagKeys": {}}, want: ImplicitDeny},
		{name: "Null false guards ForAllValues against a missing key", page: pageMulti, quote: "You can prevent missing context keys or context keys with empty values from evaluating to true by including a Null condition operator in your policy with a value of false to check if the context key in the request exists and its value is not null.",
			doc: `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]},"Null":{"aws:TagKeys":"false"}}`, want: ImplicitDeny},
		{name: "ForAllValues: every request value must match", page: pageMulti, quote: "For the aws:TagKeys context key to match, every value in the request context must match at least one value in the policy.",
			doc: `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctx: ctx{"aws:TagKeys": {"env", "cost"}}, want: ImplicitDeny},
		{name: "ForAllValues: a subset matches", page: pageMulti, quote: "For the aws:TagKeys context key to match, every value in the request context must match at least one value in the policy.",
			doc: `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctx: ctx{"aws:TagKeys": {"team"}}, want: Allowed},
		{name: "ForAnyValue: one request value is enough", page: pageMultiKeys, quote: "The condition returns true if any one of the context key values in the request matches any one of the context key values in the policy.",
			doc: `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, ctx: ctx{"aws:TagKeys": {"cost", "env"}}, want: Allowed},
		{name: "ForAnyValue on a missing key", page: pageCondOps, quote: "If the key that you specify in a policy condition is not present in the request context, the values do not match and the condition is false.",
			doc: `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, want: ImplicitDeny},
		{name: "Null true on a missing key", page: pageCondOps, quote: "In the policy statement, use either true (the key doesn't exist — it is null) or false (the key exists and its value is not null).",
			doc: `{"Null":{"aws:TokenIssueTime":"true"}}`, want: Allowed},
		{name: "Null false on an empty string: the key exists", page: pageCondOps, quote: "In the policy statement, use either true (the key doesn't exist — it is null) or false (the key exists and its value is not null).",
			doc: `{"Null":{"s3:prefix":"false"}}`, ctx: ctx{"s3:prefix": {""}}, want: Allowed},
		{name: "Null true on an empty string: the key exists", page: pageCondOps, quote: "In the policy statement, use either true (the key doesn't exist — it is null) or false (the key exists and its value is not null).",
			doc: `{"Null":{"s3:prefix":"true"}}`, ctx: ctx{"s3:prefix": {""}}, want: ImplicitDeny},
		{name: "an empty string is a value StringEquals can test", page: pageCondition, quote: "Case-sensitivity of context key values depends on the condition operator that you use.",
			doc: `{"StringEquals":{"s3:prefix":""}}`, ctx: ctx{"s3:prefix": {""}}, want: Allowed},
		{name: "a negated operator on a missing key", page: pageCondOps, quote: "If the policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition is true.",
			doc: `{"StringNotLike":{"aws:PrincipalTag/team":"red*"}}`, want: Allowed},
		{name: "a positive operator on a missing key", page: pageCondOps, quote: "If the key that you specify in a policy condition is not present in the request context, the values do not match and the condition is false.",
			doc: `{"StringLike":{"aws:PrincipalTag/team":"red*"}}`, want: ImplicitDeny},
		{name: "IfExists with a negated operator on a missing key", page: pageCondOps, quote: "If the policy key is present in the context of the request, process the key as specified in the policy. If the key is not present, evaluate the condition element as true.",
			doc: `{"StringNotEqualsIfExists":{"aws:PrincipalTag/team":"red"}}`, want: Allowed},
		{name: "IfExists with a negated operator on a present key", page: pageCondOps, quote: "If the policy key is present in the context of the request, process the key as specified in the policy. If the key is not present, evaluate the condition element as true.",
			doc: `{"StringNotEqualsIfExists":{"aws:PrincipalTag/team":"red"}}`, ctx: ctx{"aws:PrincipalTag/team": {"red"}}, want: ImplicitDeny},
		{name: "IfExists with a negated ARN operator on a present key", page: pageCondOps, quote: "If the policy key is present in the context of the request, process the key as specified in the policy. If the key is not present, evaluate the condition element as true.",
			doc: `{"ArnNotLikeIfExists":{"aws:PrincipalArn":"arn:aws:iam::*:role/service-role/*"}}`, ctx: ctx{"aws:PrincipalArn": {"arn:aws:iam::111122223333:role/service-role/x"}}, want: ImplicitDeny},

		{name: "a web identity provider's keys", page: "IAM User Guide, IAM and AWS STS condition context keys: available keys for AWS web identity federation", quote: "accounts.google.com:aud — This key indicates the Google OAuth client ID the token was issued to.",
			doc: `{"StringEquals":{"accounts.google.com:aud":"app-client","token.actions.githubusercontent.com:sub":"repo:acme/web:ref:refs/heads/main"}}`,
			ctx: ctx{"accounts.google.com:aud": {"app-client"}, "token.actions.githubusercontent.com:sub": {"repo:acme/web:ref:refs/heads/main"}}, want: Allowed},

		// Variables.
		{name: "a variable's default when the key is missing", page: pageVariables, quote: "If a variable is not present, AWS uses the default text that you provide.",
			doc: `{"StringEquals":{"s3:ExistingObjectTag/team":"${aws:PrincipalTag/team, 'company-wide'}"}}`, ctx: ctx{"s3:ExistingObjectTag/team": {"company-wide"}}, want: Allowed},
		{name: "a variable's value when the key is present", page: pageVariables, quote: "To add a default value to a variable, surround the default value with single quotes (' '), and separate the variable text and the default value with a comma and space (, ).",
			doc: `{"StringEquals":{"s3:ExistingObjectTag/team":"${aws:PrincipalTag/team, 'company-wide'}"}}`, ctx: ctx{"aws:PrincipalTag/team": {"yellow"}, "s3:ExistingObjectTag/team": {"company-wide"}}, want: ImplicitDeny},
		{name: "a variable in a resource with a default", page: pageVariables, quote: "If a variable is not present, AWS uses the default text that you provide.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username, 'guest'}/*"}}`, resource: "arn:aws:s3:::home/guest/readme", want: Allowed},
		{name: "variables are literal under 2008-10-17", page: pageVersion, quote: "For example, variables such as ${aws:username} aren't recognized as variables and are instead treated as literal strings in the policy.",
			doc: `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`, resource: "arn:aws:s3:::home/alice/x", ctx: ctx{"aws:username": {"alice"}}, want: ImplicitDeny},
		{name: "variables are literal without a Version", page: pageVersion, quote: "If you do not include a Version element, the value defaults to 2008-10-17, but newer features, such as policy variables, will not work with your policy.",
			doc: `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`, resource: "arn:aws:s3:::home/${aws:username}/x", ctx: ctx{"aws:username": {"alice"}}, want: Allowed},

		// Wildcards in ARNs.
		{name: "? and * within a segment", page: pageResource, quote: "You can use multiple * or ? characters in each segment.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"arn:aws:ec2:us-east-?:*:instance/i-*"}}`, action: "ec2:StartInstances", resource: "arn:aws:ec2:us-east-2:111122223333:instance/i-0abc", want: Allowed},
		{name: "a wildcard in the resource segment crosses / and :", page: pageResource, quote: "If the * wildcard is the last character of a resource ARN segment, it can expand to match beyond the colon boundaries.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:*:*:log-group:app:*"}}`, action: "logs:PutLogEvents", resource: "arn:aws:logs:eu-west-1:111122223333:log-group:app:log-stream:web/1", want: Allowed},
		{name: "a wildcard stands for one segment's characters", page: pageResource, quote: "You can use wildcard characters (* and ?) within the individual segments of an ARN (the parts separated by colons)",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"arn:aws:ec2:*:111122223333:instance/*"}}`, action: "ec2:StartInstances", resource: "arn:aws:ec2:us-east-1:999988887777:instance/i-1", want: ImplicitDeny},

		// Case.
		{name: "actions are case-insensitive", page: pageAction, quote: "The prefix and the action name are case insensitive. For example, iam:ListAccessKeys is the same as IAM:listaccesskeys.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListAccessKeys","Resource":"*"}}`, action: "IAM:listaccesskeys", resource: "*", want: Allowed},
		{name: "condition key names are case-insensitive", page: pageCondition, quote: "Context key names are not case-sensitive. For example, including the aws:SourceIP context key is equivalent to testing for AWS:SourceIp.",
			doc: `{"IpAddress":{"aws:SourceIP":"192.0.2.0/24"}}`, ctx: ctx{"AWS:SourceIp": {"192.0.2.7"}}, want: Allowed},
		{name: "condition values are case-sensitive", page: pageCondition, quote: "For example, the following condition includes the StringEquals operator to make sure that only requests made by johndoe match. Users named JohnDoe are denied access.",
			doc: `{"StringEquals":{"aws:username":"johndoe"}}`, ctx: ctx{"aws:username": {"JohnDoe"}}, want: ImplicitDeny},
		{name: "IgnoreCase compares values without case", page: pageCondOps, quote: "StringEqualsIgnoreCase: Exact matching, ignoring case",
			doc: `{"StringEqualsIgnoreCase":{"aws:username":"johndoe"}}`, ctx: ctx{"aws:username": {"JohnDoe"}}, want: Allowed},
		{name: "resource names are case-sensitive", page: pageResource, quote: "In the Resource element, the IAM user name is case sensitive.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/Bob"}}`, action: "iam:GetUser", resource: "arn:aws:iam::111122223333:user/bob", want: ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			if !strings.HasPrefix(doc, `{"Version"`) && !strings.HasPrefix(doc, `{"Statement"`) {
				doc = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + doc + `}}`
			}
			p, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			req := &Request{Action: tt.action, Resource: tt.resource, Context: &Context{}}
			if req.Action == "" {
				req.Action = "s3:GetObject"
			}
			if req.Resource == "" {
				req.Resource = "arn:aws:s3:::b/k"
			}
			for k, v := range tt.ctx {
				req.Context.Set(k, v...)
			}
			if got := p.Evaluate(req); got != tt.want {
				t.Fatalf("%s\n  %q\ngot %v, want %v", tt.page, tt.quote, got, tt.want)
			}
		})
	}
}

// TestAWSAccounts: which account owns a resource decides whether a
// request crosses accounts.
func TestAWSAccounts(t *testing.T) {
	runAWSCases(t, []awsCase{
		{
			name: "an S3 ARN has no account: the principal's is assumed",
			page: pageARNs, quote: "Note that the ARNs for some resources don't require an account number, so this component might be omitted.",
			set: Set{Identity: ids(allowS3Doc)}, req: Request{Principal: userA, Action: "s3:GetObject", Resource: bucketKey}, want: Allowed,
		},
		{
			name: "an S3 bucket of another account needs its bucket policy",
			page: pageARNs, quote: "Note that the ARNs for some resources don't require an account number, so this component might be omitted.",
			set: Set{Identity: ids(allowS3Doc)}, req: Request{Principal: userA, Action: "s3:GetObject", Resource: bucketKey, ResourceAccount: acctB}, want: ImplicitDeny,
		},
	})
}

// TestAWSValidation checks each policy type's grammar.
func TestAWSValidation(t *testing.T) {
	const (
		stmt     = `"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`
		identity = `{"Version":"2012-10-17","Statement":[{` + stmt + `}]}`
	)
	tests := []struct {
		name, page, quote string
		doc               string
		typ               PolicyType // "": Parse alone must refuse
		want              string     // in the error; "" for a valid policy
	}{
		{name: "a Sid with a hyphen in an identity policy", page: pageSid, quote: "For IAM policies, basic alphanumeric characters (A-Z,a-z,0-9) are the only allowed characters in the Sid value.",
			doc: `{"Version":"2012-10-17","Statement":[{"Sid":"read-reports",` + stmt + `}]}`, typ: TypeIdentity, want: `Statement[0].Sid: "read-reports": IAM takes only letters`},
		{name: "a Sid with a space in a boundary", page: pageSid, quote: "For IAM policies, basic alphanumeric characters (A-Z,a-z,0-9) are the only allowed characters in the Sid value.",
			doc: `{"Version":"2012-10-17","Statement":{"Sid":"read reports",` + stmt + `}}`, typ: TypeBoundary, want: `Statement.Sid: "read reports"`},
		{name: "a Sid with a space in a resource-based policy", page: pageSid, quote: "For example, some services require this value to be unique within an AWS account, and some services allow additional characters such as spaces in the Sid value.",
			doc: `{"Version":"2012-10-17","Statement":{"Sid":"read reports","Principal":{"AWS":"111122223333"},` + stmt + `}}`, typ: TypeResource},
		{name: "an alphanumeric Sid", page: pageSid, quote: "For IAM policies, basic alphanumeric characters (A-Z,a-z,0-9) are the only allowed characters in the Sid value.",
			doc: `{"Version":"2012-10-17","Statement":{"Sid":"ReadReports2",` + stmt + `}}`, typ: TypeIdentity},
		{name: "neither Resource nor Principal", page: pageResource, quote: "Statements must include either a Resource or a NotResource element.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject"}}`, want: "Statement: has neither Resource nor Principal"},
		{name: "a wildcard in the service segment", page: pageResource, quote: "You can't use a wildcard in the service segment that identifies the AWS product.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s*:::b/*"}}`, want: `Statement.Resource: "arn:aws:s*:::b/*": the service segment`},
		{name: "a wildcard in part of a principal ARN", page: pagePrincipal, quote: "You cannot use a wildcard to match part of a principal name or ARN.",
			doc: `{"Version":"2012-10-17","Statement":{"Principal":{"AWS":"arn:aws:iam::111122223333:user/dev-*"},` + stmt + `}}`, want: "wildcards are not allowed in a principal ARN"},
		{name: "a wildcard for every session of a role", page: pagePrincipal, quote: "When you specify an assumed-role session in a Principal element, you cannot use a wildcard \"*\" to mean all sessions. Principals must always name a specific session.",
			doc: `{"Version":"2012-10-17","Statement":{"Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/dev/*"},` + stmt + `}}`, want: "wildcards are not allowed in a principal ARN"},
		{name: "NotPrincipal with Allow", page: pageNotPrincipal, quote: "NotPrincipal must be used with \"Effect\":\"Deny\". Using it with \"Effect\":\"Allow\" is not supported.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}}`, want: "NotPrincipal only with"},
		{name: "a principal in an identity policy", page: pagePrincipal, quote: "You cannot use the Principal element in an identity-based policy.",
			doc: `{"Version":"2012-10-17","Statement":{"Principal":{"AWS":"111122223333"},` + stmt + `}}`, typ: TypeIdentity, want: "Statement.Principal: Principal belongs only in resource-based policies"},
		{name: "a principal in a session policy", page: pagePrincipal, quote: "You cannot use the Principal element in an identity-based policy.",
			doc: `{"Version":"2012-10-17","Statement":{"Principal":{"AWS":"111122223333"},` + stmt + `}}`, typ: TypeSession, want: "Principal belongs only in resource-based policies"},
		{name: "a resource-based policy without a principal", page: pagePrincipal, quote: "You must use the Principal element in resource-based policies.",
			doc: identity, typ: TypeResource, want: "Statement[0]: a resource-based policy statement needs Principal or NotPrincipal"},
		{name: "NotPrincipal in a trust policy", page: pageNotPrincipal, quote: "You cannot use the NotPrincipal element in an IAM identity-based policy nor in an IAM role trust policy.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}`, typ: TypeTrust, want: "Statement.NotPrincipal: a role trust policy cannot use NotPrincipal"},
		{name: "a Resource in a trust policy", page: pageTrustError, quote: "Has prohibited field Resource",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}}`, typ: TypeTrust, want: "Statement.Resource: a role trust policy has no Resource"},
		{name: "a trust policy allowing another service's action", page: pageTrustError, quote: "AssumeRole policy may only specify STS AssumeRole actions.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole","s3:GetObject"]}}`, typ: TypeTrust, want: `Statement.Action[1]: "s3:GetObject"`},
		{name: "a valid trust policy", page: pagePrincipal, quote: "In IAM roles, use the Principal element in the role trust policy to specify who can assume the role.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}}`, typ: TypeTrust},
		{name: "a principal in an SCP", page: pageSCPSyntax, quote: "The following elements aren't supported in SCPs: NotPrincipal, Principal",
			doc: `{"Version":"2012-10-17","Statement":{"Principal":"*",` + stmt + `}}`, typ: TypeSCP, want: "Principal belongs only in resource-based policies"},
		{name: "an SCP without a Version", page: pageSCPSyntax, quote: "Every SCP must include a Version element with the value \"2012-10-17\".",
			doc: `{"Statement":{` + stmt + `}}`, typ: TypeSCP, want: `Version: every SCP must have "Version": "2012-10-17"`},
		{name: "an SCP with NotResource", page: pageSCPSyntax, quote: "NotResource: Specifies the AWS resources exempt from the SCP. Used instead of the Resource element.",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::secret/*"}}`, typ: TypeSCP},
		{name: "an RCP that allows", page: pageRCPSyntax, quote: "The effect of Allow is only supported for the RCPFullAWSAccess policy.",
			doc: `{"Version":"2012-10-17","Statement":{"Principal":"*",` + stmt + `}}`, typ: TypeRCP, want: "Statement.Effect: an RCP may only Deny"},
		{name: "an RCP with NotAction", page: pageRCPSyntax, quote: "The effect of Allow is only supported for the RCPFullAWSAccess policy. (The elements of an RCP: Version, Statement, Sid, Effect, Principal, Action, Resource, NotResource, Condition.)",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"*"}}`, typ: TypeRCP, want: "RCPs do not support NotAction"},
		{name: "an RCP naming a principal", page: pageRCPSyntax, quote: "Principal: Specifies the principal that is allowed or denied access to resources in your accounts (written \"*\", narrowed with conditions).",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}}`, typ: TypeRCP, want: `an RCP's Principal must be "*"`},
		{name: "a valid RCP", page: pageRCPSyntax, quote: "Every RCP must include a Version element with the value \"2012-10-17\".",
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-a1b2c3"}}}}`, typ: TypeRCP},
		{name: "a session policy over 2,048 characters", page: pageGFTAPI, quote: "The plaintext that you use for both inline and managed session policies can't exceed 2,048 characters.",
			doc: `{"Version":"2012-10-17","Id":"` + strings.Repeat("x", 2048) + `","Statement":{` + stmt + `}}`, typ: TypeSession, want: "can't exceed 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if tt.typ == "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("%s\n  %q\nParse: %v, want an error with %q", tt.page, tt.quote, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = p.Validate(tt.typ)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("%s\n  %q\n%v", tt.page, tt.quote, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("%s\n  %q\ngot %v, want an error with %q", tt.page, tt.quote, err, tt.want)
			}
		})
	}
}

func TestInferType(t *testing.T) {
	for _, tt := range []struct {
		doc  string
		want PolicyType
	}{
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, TypeIdentity},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`, TypeResource},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`, TypeTrust},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}}`, TypeTrust},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["sts:AssumeRole","s3:GetObject"],"Resource":"*"}}`, TypeResource},
	} {
		if got, why := MustParse(tt.doc).InferType(); got != tt.want || why == "" {
			t.Errorf("%s: %v (%s), want %v", tt.doc, got, why, tt.want)
		}
	}
}
