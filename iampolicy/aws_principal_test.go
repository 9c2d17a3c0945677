package iampolicy

import (
	"strings"
	"testing"
)

// The pages of AWS's documentation the table tests quote. Every row names
// its page and the sentence it implements.
const (
	pageNotPrincipal = "IAM User Guide, AWS JSON policy elements: NotPrincipal"
	pagePrincipal    = "IAM User Guide, AWS JSON policy elements: Principal"
	pageDenyAllow    = "IAM User Guide, How AWS enforcement code logic evaluates requests to allow or deny access"
	pageEvalLogic    = "IAM User Guide, Policy evaluation logic: resource-based policies and implicit denies (same account)"
	pagePolicies     = "IAM User Guide, Policies and permissions in IAM"
	pageGFTAPI       = "AWS STS API Reference, GetFederationToken, request parameter Policy"
	pageIdentifiers  = "IAM User Guide, IAM identifiers: IAM ARNs"
	pageSCPs         = "AWS Organizations User Guide, Service control policies (SCPs)"
)

// Principals of the table: account B (444455556666) is the caller's in
// cross-account rows; the resource's account is A (111122223333).
const (
	bob         = "arn:aws:iam::444455556666:user/Bob"
	carol       = "arn:aws:iam::444455556666:user/Carol"
	rootB       = "arn:aws:iam::444455556666:root"
	auditRole   = "arn:aws:iam::444455556666:role/cross-account-read-only-role"
	auditApp    = "arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app"
	userA       = "arn:aws:iam::111122223333:user/alice"
	rootA       = "arn:aws:iam::111122223333:root"
	devPath     = "arn:aws:iam::111122223333:role/service-role/dev"
	devSession  = "arn:aws:sts::111122223333:assumed-role/dev/build-42"
	fedUser     = "arn:aws:sts::111122223333:federated-user/broker-app"
	bucketKey   = "arn:aws:s3:::reports/q3.csv"
	bucketAll   = "arn:aws:s3:::reports/*"
	allowAllDoc = `{"Version":"2012-10-17","Statement":{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}}`
	allowS3Doc  = `{"Version":"2012-10-17","Statement":{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}}`
	allowEC2Doc = `{"Version":"2012-10-17","Statement":{"Sid":"EC2","Effect":"Allow","Action":"ec2:*","Resource":"*"}}`
)

func named(name, doc string) Named { return Named{Name: name, Policy: MustParse(doc)} }

func ids(docs ...string) []Named {
	var out []Named
	for i, d := range docs {
		out = append(out, named("id"+string(rune('0'+i)), d))
	}
	return out
}

// bucket is a resource-based policy with one statement: effect, a
// principal element written as JSON, action s3:*.
func bucket(effect, principalElem string) *Named {
	n := named("bucket", `{"Version":"2012-10-17","Statement":{"Sid":"B","Effect":"`+effect+`",`+principalElem+`,"Action":"s3:*","Resource":"`+bucketAll+`"}}`)
	return &n
}

// notPrincipalDeny is the NotPrincipal pattern of the AWS page: deny
// s3:* to everyone but the listed principals, beside an Allow for all.
func notPrincipalDeny(listed ...string) *Named {
	q := make([]string, len(listed))
	for i, l := range listed {
		q[i] = `"` + l + `"`
	}
	n := named("bucket", `{"Version":"2012-10-17","Statement":[
		{"Sid":"Everyone","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"`+bucketAll+`"},
		{"Sid":"AllBut","Effect":"Deny","NotPrincipal":{"AWS":[`+strings.Join(q, ",")+`]},"Action":"s3:*","Resource":"`+bucketAll+`"}]}`)
	return &n
}

type awsCase struct {
	name  string
	page  string // the AWS page
	quote string // the sentence the row implements
	set   Set
	req   Request
	want  Decision
}

func get(principal string) Request {
	return Request{Principal: principal, Action: "s3:GetObject", Resource: bucketKey, ResourceAccount: acctA}
}

func runAWSCases(t *testing.T, cases []awsCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if tt.page == "" || tt.quote == "" {
				t.Fatal("a row must name its AWS page and quote its sentence")
			}
			if err := tt.set.Validate(); err != nil {
				t.Fatalf("set: %v", err)
			}
			req := tt.req
			if r := tt.set.Evaluate(&req); r.Decision != tt.want {
				t.Fatalf("%s\n  %q\ngot %v, want %v", tt.page, tt.quote, r, tt.want)
			}
		})
	}
}

func TestAWSPrincipals(t *testing.T) {
	with := func(r Request, f func(*Request)) Request { f(&r); return r }
	session := func(principal, role string) Request {
		return with(get(principal), func(r *Request) { r.RoleARN = role })
	}
	runAWSCases(t, []awsCase{
		// NotPrincipal with Deny.
		{
			name: "NotPrincipal naming the user without the account denies the user",
			page: pageNotPrincipal, quote: "When you use NotPrincipal, you must also specify the account ARN of the not-denied principal. Otherwise, the policy might deny access to the entire account containing the principal.",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(bob)}, req: get(bob), want: ExplicitDeny,
		},
		{
			name: "NotPrincipal naming the user and the account exempts the user",
			page: pageNotPrincipal, quote: "The NotPrincipal element uses \"Effect\":\"Deny\" to deny access to all principals except the principal specified in the NotPrincipal element.",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(bob, rootB)}, req: get(bob), want: Allowed,
		},
		{
			name: "NotPrincipal naming the account and one user denies the account's other users",
			page: pageNotPrincipal, quote: "Depending on the service that you include in your policy, AWS might validate the account first and then the user.",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(bob, rootB)}, req: get(carol), want: ExplicitDeny,
		},
		{
			name: "NotPrincipal naming the account alone denies its users",
			page: pageNotPrincipal, quote: "Depending on the service that you include in your policy, AWS might validate the account first and then the user.",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(acctB)}, req: get(bob), want: ExplicitDeny,
		},
		{
			name: "NotPrincipal naming the role and the account does not exempt a session",
			page: pageNotPrincipal, quote: "If an assumed-role user (someone who is using a role) is being evaluated, AWS might validate the account first, then the role, and then the assumed-role user.",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(auditRole, rootB)}, req: get(auditApp), want: ExplicitDeny,
		},
		{
			name: "NotPrincipal naming the session, its role and the account exempts the session",
			page: pageNotPrincipal, quote: "The assumed-role user is identified by the role session name that is specified when they assumed the role.",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(auditApp, auditRole, rootB)}, req: session(auditApp, auditRole), want: Allowed,
		},
		{
			// Attack F-11: the session ARN does not carry the role's path,
			// so a path-less listing may name another role of that name
			// (IAM identifiers: "arn:aws:iam::account:role/role-name-with-path"):
			// not surely exempt, so denied.
			name: "NotPrincipal naming a path-less role does not exempt a session whose role's path is unknown",
			page: pageNotPrincipal, quote: "If an assumed-role user (someone who is using a role) is being evaluated, AWS might validate the account first, then the role, and then the assumed-role user.",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(auditApp, auditRole, rootB)}, req: get(auditApp), want: ExplicitDeny,
		},
		{
			name: "a principal ARN of account B given with PrincipalAccount A is still B's",
			page: pageIdentifiers, quote: "arn:aws:iam::account:user/user-name-with-path",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+bob+`"}`)}, req: with(get(bob), func(r *Request) { r.PrincipalAccount = acctA }), want: ImplicitDeny,
		},
		{
			name: "a federating user of another account is not the federated user's source",
			page: pageGFTAPI, quote: "You must call the GetFederationToken operation using the long-term security credentials of an IAM user.",
			set: Set{Sessions: ids(allowAllDoc), Resource: bucket("Allow", `"Principal":{"AWS":"`+bob+`"}`)},
			req: with(get(fedUser), func(r *Request) { r.FederatedBy = bob }), want: ImplicitDeny,
		},
		{
			name: "NotPrincipal naming the session without its role denies the session",
			page: pageNotPrincipal, quote: "If an assumed-role user (someone who is using a role) is being evaluated, AWS might validate the account first, then the role, and then the assumed-role user.",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(auditApp, rootB)}, req: get(auditApp), want: ExplicitDeny,
		},
		{
			name: "NotPrincipal with Deny always denies a principal with a permissions boundary",
			page: pageNotPrincipal, quote: "The NotPrincipal element with a Deny effect will always deny any IAM principal that has a permissions boundary policy attached, regardless of the values specified in the NotPrincipal element.",
			set: Set{Identity: ids(allowAllDoc), Boundary: &Named{"boundary", MustParse(allowAllDoc)}, Resource: notPrincipalDeny(bob, rootB)}, req: get(bob), want: ExplicitDeny,
		},
		{
			name: "NotPrincipal \"*\" does not exempt a principal with a boundary either",
			page: pageNotPrincipal, quote: "The NotPrincipal element with a Deny effect will always deny any IAM principal that has a permissions boundary policy attached, regardless of the values specified in the NotPrincipal element.",
			set: Set{Identity: ids(allowAllDoc), Boundary: &Named{"boundary", MustParse(allowAllDoc)}, Resource: notPrincipalDeny("*")}, req: get(userA), want: ExplicitDeny,
		},
		{
			name: "NotPrincipal naming the account exempts its root user",
			page: pageNotPrincipal, quote: "Therefore, we strongly recommend that you explicitly include the ARN for a user's account, or include both the ARN for a role and the ARN for the account containing that role.",
			set: Set{Resource: notPrincipalDeny(rootB)}, req: get(rootB), want: Allowed,
		},
		{
			name: "NotPrincipal naming a role with its path exempts its session when the path is known",
			page: pageIdentifiers, quote: "arn:aws:iam::123456789012:role/application_abc/component_xyz/RDSAccess (a role's ARN carries its path)",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(devSession, devPath, rootA)}, req: session(devSession, devPath), want: Allowed,
		},
		{
			name: "NotPrincipal naming a role with a path does not exempt a session whose path is unknown",
			page: pageIdentifiers, quote: "arn:aws:sts::123456789012:assumed-role/Accounting-Role/Mary (a session's ARN does not carry the role's path)",
			set: Set{Identity: ids(allowAllDoc), Resource: notPrincipalDeny(devSession, devPath, rootA)}, req: get(devSession), want: ExplicitDeny,
		},

		{
			name: "NotPrincipal naming a service exempts it",
			page: pageNotPrincipal, quote: "A principal can be an IAM user, AWS STS federated user principal, IAM role, assumed role session, AWS account, AWS service, or other principal type.",
			set: Set{Resource: notPrincipalService("cloudtrail.amazonaws.com")}, req: get("cloudtrail.amazonaws.com"), want: Allowed,
		},
		{
			name: "NotPrincipal naming a service denies another service",
			page: pageNotPrincipal, quote: "The NotPrincipal element uses \"Effect\":\"Deny\" to deny access to all principals except the principal specified in the NotPrincipal element.",
			set: Set{Resource: notPrincipalService("cloudtrail.amazonaws.com")}, req: get("config.amazonaws.com"), want: ExplicitDeny,
		},
		{
			name: "NotPrincipal naming the federated user and the account exempts the session",
			page: pageNotPrincipal, quote: "When you use NotPrincipal, you must also specify the account ARN of the not-denied principal.",
			set: Set{Sessions: ids(allowS3Doc), Identity: ids(allowAllDoc), Resource: notPrincipalDeny(fedUser, rootA)}, req: with(get(fedUser), func(r *Request) { r.FederatedBy = userA }), want: Allowed,
		},

		// Role paths and role principals.
		{
			name: "a resource policy naming a role with a path grants its sessions",
			page: pageEvalLogic, quote: "IAM role – Resource-based policies that grant permissions to an IAM role ARN are limited by an implicit deny in a permissions boundary or session policy.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+devPath+`"}`)}, req: session(devSession, devPath), want: Allowed,
		},
		{
			name: "the same grant with the role's path unknown does not allow",
			page: pageIdentifiers, quote: "arn:aws:sts::123456789012:assumed-role/Accounting-Role/Mary (a session's ARN does not carry the role's path)",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+devPath+`"}`)}, req: get(devSession), want: ImplicitDeny,
		},
		{
			name: "a Deny naming a role with a path applies to a session whose path is unknown",
			page: pageIdentifiers, quote: "arn:aws:sts::123456789012:assumed-role/Accounting-Role/Mary (a session's ARN does not carry the role's path)",
			set: Set{Identity: ids(allowAllDoc), Resource: bucket("Deny", `"Principal":{"AWS":"`+devPath+`"}`)}, req: get(devSession), want: ExplicitDeny,
		},
		{
			name: "a role of the same name on another path is another role",
			page: pageIdentifiers, quote: "arn:aws:iam::123456789012:role/application_abc/component_xyz/RDSAccess (a role's ARN carries its path)",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"arn:aws:iam::111122223333:role/dev"}`)}, req: session(devSession, devPath), want: ImplicitDeny,
		},
		{
			name: "a role principal is limited by the session policy",
			page: pagePrincipal, quote: "When you specify a role principal in a resource-based policy, the effective permissions for the principal are limited by any policy types that limit permissions for the role. This includes session policies and permissions boundaries.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+devPath+`"}`), Sessions: ids(allowEC2Doc)}, req: session(devSession, devPath), want: ImplicitDeny,
		},
		{
			name: "a role principal is limited by the boundary",
			page: pagePrincipal, quote: "When you specify a role principal in a resource-based policy, the effective permissions for the principal are limited by any policy types that limit permissions for the role. This includes session policies and permissions boundaries.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+devPath+`"}`), Boundary: &Named{"boundary", MustParse(allowEC2Doc)}}, req: session(devSession, devPath), want: ImplicitDeny,
		},
		{
			name: "a session principal is not limited by the boundary or the session policy",
			page: pageEvalLogic, quote: "Permissions granted directly to a session are not limited by an implicit deny in an identity-based policy, a permissions boundary, or session policy.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+devSession+`"}`), Boundary: &Named{"boundary", MustParse(allowEC2Doc)}, Sessions: ids(allowEC2Doc)}, req: session(devSession, devPath), want: Allowed,
		},
		{
			name: "an IAM user principal is not limited by the boundary",
			page: pageEvalLogic, quote: "Within the same account, resource-based policies that grant permissions to an IAM user ARN (that is not a federated user session) are not limited by an implicit deny in an identity-based policy or permissions boundary.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+userA+`"}`), Boundary: &Named{"boundary", MustParse(allowEC2Doc)}}, req: get(userA), want: Allowed,
		},

		// "*" and accounts.
		{
			name: "\"*\" grants principals in the account without identity permissions",
			page: pagePrincipal, quote: "For IAM users and role principals within your account, no other permissions are required.",
			set: Set{Resource: bucket("Allow", `"Principal":"*"`)}, req: session(devSession, devPath), want: Allowed,
		},
		{
			name: "\"*\" needs identity permissions across accounts",
			page: pagePrincipal, quote: "For principals in other accounts, they must also have identity-based permissions in their account that allow them to access your resource.",
			set: Set{Resource: bucket("Allow", `"Principal":"*"`)}, req: get(bob), want: ImplicitDeny,
		},
		{
			name: "\"*\" with identity permissions across accounts",
			page: pagePrincipal, quote: "For principals in other accounts, they must also have identity-based permissions in their account that allow them to access your resource.",
			set: Set{Identity: ids(allowS3Doc), Resource: bucket("Allow", `"Principal":"*"`)}, req: get(bob), want: Allowed,
		},
		{
			name: "an account principal only delegates",
			page: pagePrincipal, quote: "This delegates authority to the account. When you allow access to a different account, an administrator in that account must then grant access to an identity (IAM user or role) in that account.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+acctB+`"}`)}, req: get(bob), want: ImplicitDeny,
		},
		{
			name: "the account ARN delegates like the account id",
			page: pagePrincipal, quote: "The account ARN and the shortened account ID behave the same way. Both delegate permissions to the account. Using the account ARN in the Principal element does not limit permissions to only the root user of the account.",
			set: Set{Identity: ids(allowS3Doc), Resource: bucket("Allow", `"Principal":{"AWS":"`+rootB+`"}`)}, req: get(bob), want: Allowed,
		},

		// The root user.
		{
			name: "the root user has full access in its account",
			page: pageDenyAllow, quote: "By default, all requests are implicitly denied with the exception of the AWS account root user, which has full access.",
			set: Set{}, req: get(rootA), want: Allowed,
		},
		{
			name: "the root user with a resource-based grant across accounts",
			page: pagePolicies, quote: "However, you can specify the root user as the principal in a resource-based policy or an ACL.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+rootB+`"}`)}, req: get(rootB), want: Allowed,
		},
		{
			name: "a user's ARN typed as the root user is still the user",
			page: pageDenyAllow, quote: "By default, all requests are implicitly denied with the exception of the AWS account root user, which has full access.",
			set: Set{}, req: with(get(userA), func(r *Request) { r.PrincipalType = PrincipalRoot }), want: ImplicitDeny,
		},
		{
			name: "the root user without a resource-based grant across accounts",
			page: pagePrincipal, quote: "For principals in other accounts, they must also have identity-based permissions in their account that allow them to access your resource.",
			set: Set{}, req: get(rootB), want: ImplicitDeny,
		},
		{
			name: "an explicit Deny in a resource-based policy applies to the root user",
			page: pageDenyAllow, quote: "An explicit deny overrides an explicit allow.",
			set: Set{Resource: bucket("Deny", `"Principal":{"AWS":"`+rootA+`"}`)}, req: get(rootA), want: ExplicitDeny,
		},
		{
			name: "SCPs limit the root user of a member account",
			page: pageSCPs, quote: "An SCP restricts permissions for IAM users and roles in member accounts, including the member account's root user.",
			set: Set{SCPs: [][]Named{{named("ec2only", allowEC2Doc)}}}, req: get(rootA), want: ImplicitDeny,
		},
		{
			name: "the root user is explicitly typed",
			page: pageDenyAllow, quote: "By default, all requests are implicitly denied with the exception of the AWS account root user, which has full access.",
			set: Set{}, req: Request{Principal: acctA, PrincipalType: PrincipalRoot, PrincipalAccount: acctA, Action: "iam:CreateUser", Resource: "*"}, want: Allowed,
		},

		// Federated users (GetFederationToken).
		{
			name: "a federated user without session policies has no permissions",
			page: pageGFTAPI, quote: "This parameter is optional. However, if you do not pass any session policies, then the resulting federated user session has no permissions.",
			set: Set{Identity: ids(allowAllDoc)}, req: with(get(fedUser), func(r *Request) { r.FederatedBy = userA }), want: ImplicitDeny,
		},
		{
			name: "a federated user's permissions are the user's policies and the session policies",
			page: pageGFTAPI, quote: "When you pass session policies, the session permissions are the intersection of the IAM user policies and the session policies that you pass.",
			set: Set{Identity: ids(allowAllDoc), Sessions: ids(allowS3Doc)}, req: with(get(fedUser), func(r *Request) { r.FederatedBy = userA }), want: Allowed,
		},
		{
			name: "a session policy grants nothing the user's policies do not",
			page: pageGFTAPI, quote: "You cannot use session policies to grant more permissions than those that are defined in the permissions policy of the IAM user.",
			set: Set{Identity: ids(allowEC2Doc), Sessions: ids(allowS3Doc)}, req: with(get(fedUser), func(r *Request) { r.FederatedBy = userA }), want: ImplicitDeny,
		},
		{
			name: "a resource-based policy naming the federated user session grants it directly",
			page: pageGFTAPI, quote: "If that policy specifically references the federated user session in the Principal element of the policy, the session has the permissions allowed by the policy.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+fedUser+`"}`)}, req: with(get(fedUser), func(r *Request) { r.FederatedBy = userA }), want: Allowed,
		},
		{
			name: "a resource-based policy naming the federating user is limited by the session policy",
			page: pageEvalLogic, quote: "However, if a resource-based policy grants permission to the ARN of the IAM user who federated, then requests made by the federated user during the session are limited by an implicit deny in a permission boundary or session policy.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+userA+`"}`), Sessions: ids(allowEC2Doc)}, req: with(get(fedUser), func(r *Request) { r.FederatedBy = userA }), want: ImplicitDeny,
		},
		{
			name: "a resource-based policy naming the federating user, within the session policy",
			page: pageEvalLogic, quote: "However, if a resource-based policy grants permission to the ARN of the IAM user who federated, then requests made by the federated user during the session are limited by an implicit deny in a permission boundary or session policy.",
			set: Set{Resource: bucket("Allow", `"Principal":{"AWS":"`+userA+`"}`), Sessions: ids(allowS3Doc)}, req: with(get(fedUser), func(r *Request) { r.FederatedBy = userA }), want: Allowed,
		},
		{
			name: "a federated root user has the root user's permissions within the session policy",
			page: pagePrincipal, quote: "Federated root user – A root user federates using the GetFederationToken operation that results in a federated user session principal for that root user.",
			set: Set{Sessions: ids(allowS3Doc)}, req: with(get(fedUser), func(r *Request) { r.FederatedBy = rootA }), want: Allowed,
		},

		// Services and identities from outside AWS.
		{
			name: "a service principal granted by a resource-based policy",
			page: pagePrincipal, quote: "You can specify AWS services in the Principal element of a resource-based policy or in condition keys that support principals.",
			set: Set{Resource: bucket("Allow", `"Principal":{"Service":"cloudtrail.amazonaws.com"}`)}, req: get("cloudtrail.amazonaws.com"), want: Allowed,
		},
		{
			name: "SCPs do not limit a service principal",
			page: pageSCPs, quote: "SCPs affect only IAM users and roles that are managed by accounts that are part of the organization.",
			set: Set{Resource: bucket("Allow", `"Principal":{"Service":"cloudtrail.amazonaws.com"}`), SCPs: [][]Named{{named("ec2only", allowEC2Doc)}}}, req: get("cloudtrail.amazonaws.com"), want: Allowed,
		},
		{
			name: "identity-based policies grant a service principal nothing",
			page: pagePrincipal, quote: "In those cases, the principal is implicitly the identity where the policy is attached.",
			set: Set{Identity: ids(allowAllDoc)}, req: get("cloudtrail.amazonaws.com"), want: ImplicitDeny,
		},
		{
			name: "a web identity provider in a trust policy",
			page: pagePrincipal, quote: "Use this principal type in your policy to allow or deny access based on the trusted web identity provider.",
			set:  Set{Resource: trust(`{"Federated":"accounts.google.com"}`, "sts:AssumeRoleWithWebIdentity"), ResourceType: TypeTrust},
			req:  Request{Principal: "accounts.google.com", PrincipalType: PrincipalWebIdentity, Action: "sts:AssumeRoleWithWebIdentity", Resource: "arn:aws:iam::111122223333:role/web"},
			want: Allowed,
		},
		{
			name: "another web identity provider is not trusted",
			page: pagePrincipal, quote: "Use this principal type in your policy to allow or deny access based on the trusted web identity provider.",
			set:  Set{Resource: trust(`{"Federated":"accounts.google.com"}`, "sts:AssumeRoleWithWebIdentity"), ResourceType: TypeTrust},
			req:  Request{Principal: "graph.facebook.com", PrincipalType: PrincipalWebIdentity, Action: "sts:AssumeRoleWithWebIdentity", Resource: "arn:aws:iam::111122223333:role/web"},
			want: ImplicitDeny,
		},
		{
			name: "a SAML provider in a trust policy",
			page: pagePrincipal, quote: "Use this principal type in your policy to allow or deny access based on the trusted SAML identity provider.",
			set:  Set{Resource: trust(`{"Federated":"arn:aws:iam::111122223333:saml-provider/corp"}`, "sts:AssumeRoleWithSAML"), ResourceType: TypeTrust},
			req:  Request{Principal: "arn:aws:iam::111122223333:saml-provider/corp", Action: "sts:AssumeRoleWithSAML", Resource: "arn:aws:iam::111122223333:role/web"},
			want: Allowed,
		},

		// Role trust policies.
		{
			name: "a trust policy must allow even when identity policies do",
			page: pageDenyAllow, quote: "IAM role trust policies and KMS key policies are exceptions to this logic, because they must explicitly allow access for principals.",
			set: Set{Identity: ids(allowAllDoc), Resource: trust(`{"Service":"ec2.amazonaws.com"}`, "sts:AssumeRole"), ResourceType: TypeTrust},
			req: Request{Principal: userA, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/ops"}, want: ImplicitDeny,
		},
		{
			name: "a trust policy naming the user allows without identity policies",
			page: pageEvalLogic, quote: "If a resource-based policy grants permission directly to the IAM user or the session principal that is making the request, then an implicit deny in an identity-based policy, a permissions boundary, or a session policy does not impact the final decision.",
			set: Set{Resource: trust(`{"AWS":"`+userA+`"}`, "sts:AssumeRole"), ResourceType: TypeTrust},
			req: Request{Principal: userA, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/ops"}, want: Allowed,
		},
		{
			name: "a trust policy naming the account needs the identity policy",
			page: pagePrincipal, quote: "This delegates authority to the account. When you allow access to a different account, an administrator in that account must then grant access to an identity (IAM user or role) in that account.",
			set: Set{Resource: trust(`{"AWS":"`+acctA+`"}`, "sts:AssumeRole"), ResourceType: TypeTrust},
			req: Request{Principal: userA, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/ops"}, want: ImplicitDeny,
		},
	})
}

// notPrincipalService allows every principal and denies s3:* to all but
// the service.
func notPrincipalService(service string) *Named {
	n := named("bucket", `{"Version":"2012-10-17","Statement":[
		{"Sid":"Everyone","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"`+bucketAll+`"},
		{"Sid":"AllBut","Effect":"Deny","NotPrincipal":{"Service":"`+service+`"},"Action":"s3:*","Resource":"`+bucketAll+`"}]}`)
	return &n
}

// trust is a role trust policy, the resource-based policy of a request
// to assume the role.
func trust(principalElem, action string) *Named {
	n := named("trust", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":`+principalElem+`,"Action":"`+action+`"}}`)
	return &n
}
