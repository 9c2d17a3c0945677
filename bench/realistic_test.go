package bench

import (
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/lockgate/lockgate/iampolicy"
)

// A realistic account: a role with 20 identity-based statements (17
// Allows across a dozen services, 3 Denies), an organization level with
// FullAWSAccess and two Deny SCPs, a permissions boundary, and the bucket
// policy of the reports bucket (an Allow naming the role, a Deny of
// insecure transport). The same rules are written for cedar-go below:
// IAM Denies, SCP Denies and the boundary become forbid policies, Allows
// permit policies, and TestRealisticSameDecisions checks that both
// engines decide a spread of requests alike.

const realisticIdentity = `{"Version":"2012-10-17","Statement":[
 {"Sid":"S3ReadReports","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion","s3:ListBucket"],"Resource":["arn:aws:s3:::reports","arn:aws:s3:::reports/*"],"Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}},
 {"Sid":"S3WriteUploads","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::uploads/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"data"}}},
 {"Sid":"DynamoOrders","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:eu-west-1:111122223333:table/orders*"},
 {"Sid":"Logs","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:*:111122223333:log-group:/app/*"},
 {"Sid":"KMSViaS3","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:eu-west-1:111122223333:key/*","Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}},
 {"Sid":"SQSJobs","Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"arn:aws:sqs:eu-west-1:111122223333:jobs-*"},
 {"Sid":"EC2Describe","Effect":"Allow","Action":"ec2:Describe*","Resource":"*"},
 {"Sid":"EC2StartStop","Effect":"Allow","Action":["ec2:StartInstances","ec2:StopInstances"],"Resource":"arn:aws:ec2:eu-west-1:111122223333:instance/*","Condition":{"StringEquals":{"aws:ResourceTag/team":"data"}}},
 {"Sid":"CloudWatchRead","Effect":"Allow","Action":["cloudwatch:Get*","cloudwatch:List*"],"Resource":"*"},
 {"Sid":"SSMParams","Effect":"Allow","Action":"ssm:GetParameter*","Resource":"arn:aws:ssm:eu-west-1:111122223333:parameter/app/*"},
 {"Sid":"Secrets","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/*"},
 {"Sid":"Lambda","Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111122223333:function:app-*"},
 {"Sid":"SNSAlerts","Effect":"Allow","Action":"sns:Publish","Resource":"arn:aws:sns:eu-west-1:111122223333:alerts"},
 {"Sid":"ECRPull","Effect":"Allow","Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage"],"Resource":"arn:aws:ecr:eu-west-1:111122223333:repository/app/*"},
 {"Sid":"WhoAmI","Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"},
 {"Sid":"Athena","Effect":"Allow","Action":["athena:StartQueryExecution","athena:GetQueryResults"],"Resource":"arn:aws:athena:eu-west-1:111122223333:workgroup/analytics"},
 {"Sid":"GlueRead","Effect":"Allow","Action":["glue:GetTable","glue:GetDatabase"],"Resource":"arn:aws:glue:eu-west-1:111122223333:*"},
 {"Sid":"NoDeletingReports","Effect":"Deny","Action":"s3:DeleteObject*","Resource":"arn:aws:s3:::reports/*"},
 {"Sid":"OfficeNetworkOnly","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","198.51.100.0/24"]},"Bool":{"aws:ViaAWSService":"false"}}},
 {"Sid":"EncryptedUploadsOnly","Effect":"Deny","Action":"s3:PutObject","Resource":"*","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}}]}`

const (
	realisticFullAccess = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	realisticRegions    = `{"Version":"2012-10-17","Statement":{"Sid":"DenyOtherRegions","Effect":"Deny","NotAction":["iam:*","sts:*","cloudfront:*","support:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}}}`
	realisticStayInOrg  = `{"Version":"2012-10-17","Statement":{"Sid":"StayInOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}}`
	realisticBoundary   = `{"Version":"2012-10-17","Statement":[
 {"Sid":"Services","Effect":"Allow","Action":["s3:*","dynamodb:*","logs:*","kms:Decrypt","sqs:*","ec2:*","cloudwatch:*","ssm:GetParameter*","secretsmanager:GetSecretValue","lambda:InvokeFunction","sns:Publish","ecr:*","sts:GetCallerIdentity","athena:*","glue:Get*"],"Resource":"*"},
 {"Sid":"NoIAM","Effect":"Deny","Action":"iam:*","Resource":"*"}]}`
	realisticBucket = `{"Version":"2012-10-17","Statement":[
 {"Sid":"AnalystsRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/team/analyst"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::reports","arn:aws:s3:::reports/*"]},
 {"Sid":"TLSOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::reports","arn:aws:s3:::reports/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
)

// The same account for cedar-go. The request's action and resource ARN
// are context strings, so IAM's wildcards become like patterns; each
// optional key is an optional attribute.
const realisticCedar = `
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "s3:GetObject" || context.action == "s3:GetObjectVersion" || context.action == "s3:ListBucket") &&
  (context.arn == "arn:aws:s3:::reports" || context.arn like "arn:aws:s3:::reports/*") &&
  (context.region == "eu-west-1" || context.region == "us-east-1") };
permit (principal == Role::"analyst", action, resource) when {
  context.action == "s3:PutObject" && context.arn like "arn:aws:s3:::uploads/*" && context.team == "data" };
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "dynamodb:GetItem" || context.action == "dynamodb:Query" || context.action == "dynamodb:PutItem") &&
  context.arn like "arn:aws:dynamodb:eu-west-1:111122223333:table/orders*" };
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "logs:CreateLogStream" || context.action == "logs:PutLogEvents") &&
  context.arn like "arn:aws:logs:*:111122223333:log-group:/app/*" };
permit (principal == Role::"analyst", action, resource) when {
  context.action == "kms:Decrypt" && context.arn like "arn:aws:kms:eu-west-1:111122223333:key/*" &&
  context has kmsViaService && context.kmsViaService == "s3.eu-west-1.amazonaws.com" };
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "sqs:SendMessage" || context.action == "sqs:ReceiveMessage") && context.arn like "arn:aws:sqs:eu-west-1:111122223333:jobs-*" };
permit (principal == Role::"analyst", action, resource) when { context.action like "ec2:Describe*" };
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "ec2:StartInstances" || context.action == "ec2:StopInstances") &&
  context.arn like "arn:aws:ec2:eu-west-1:111122223333:instance/*" && context has resourceTeam && context.resourceTeam == "data" };
permit (principal == Role::"analyst", action, resource) when { context.action like "cloudwatch:Get*" || context.action like "cloudwatch:List*" };
permit (principal == Role::"analyst", action, resource) when {
  context.action like "ssm:GetParameter*" && context.arn like "arn:aws:ssm:eu-west-1:111122223333:parameter/app/*" };
permit (principal == Role::"analyst", action, resource) when {
  context.action == "secretsmanager:GetSecretValue" && context.arn like "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/*" };
permit (principal == Role::"analyst", action, resource) when {
  context.action == "lambda:InvokeFunction" && context.arn like "arn:aws:lambda:eu-west-1:111122223333:function:app-*" };
permit (principal == Role::"analyst", action, resource) when {
  context.action == "sns:Publish" && context.arn == "arn:aws:sns:eu-west-1:111122223333:alerts" };
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "ecr:GetDownloadUrlForLayer" || context.action == "ecr:BatchGetImage") &&
  context.arn like "arn:aws:ecr:eu-west-1:111122223333:repository/app/*" };
permit (principal == Role::"analyst", action, resource) when { context.action == "sts:GetCallerIdentity" };
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "athena:StartQueryExecution" || context.action == "athena:GetQueryResults") &&
  context.arn == "arn:aws:athena:eu-west-1:111122223333:workgroup/analytics" };
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "glue:GetTable" || context.action == "glue:GetDatabase") && context.arn like "arn:aws:glue:eu-west-1:111122223333:*" };
forbid (principal == Role::"analyst", action, resource) when {
  context.action like "s3:DeleteObject*" && context.arn like "arn:aws:s3:::reports/*" };
forbid (principal == Role::"analyst", action, resource) when {
  !(context.sourceIp.isInRange(ip("192.0.2.0/24")) || context.sourceIp.isInRange(ip("198.51.100.0/24"))) && !context.viaAWSService };
forbid (principal == Role::"analyst", action, resource) when {
  context.action == "s3:PutObject" && !(context has sse) };

// The SCPs: FullAWSAccess allows everything; their Denies forbid.
forbid (principal, action, resource) when {
  !(context.action like "iam:*" || context.action like "sts:*" || context.action like "cloudfront:*" || context.action like "support:*") &&
  !(context.region == "eu-west-1" || context.region == "us-east-1") };
forbid (principal, action, resource) when { context.action == "organizations:LeaveOrganization" };

// The permissions boundary: nothing outside it, and no IAM.
forbid (principal == Role::"analyst", action, resource) unless {
  context.action like "s3:*" || context.action like "dynamodb:*" || context.action like "logs:*" || context.action == "kms:Decrypt" ||
  context.action like "sqs:*" || context.action like "ec2:*" || context.action like "cloudwatch:*" || context.action like "ssm:GetParameter*" ||
  context.action == "secretsmanager:GetSecretValue" || context.action == "lambda:InvokeFunction" || context.action == "sns:Publish" ||
  context.action like "ecr:*" || context.action == "sts:GetCallerIdentity" || context.action like "athena:*" || context.action like "glue:Get*" };
forbid (principal == Role::"analyst", action, resource) when { context.action like "iam:*" };

// The bucket policy.
permit (principal == Role::"analyst", action, resource) when {
  (context.action == "s3:GetObject" || context.action == "s3:ListBucket") &&
  (context.arn == "arn:aws:s3:::reports" || context.arn like "arn:aws:s3:::reports/*") };
forbid (principal, action, resource) when {
  context.action like "s3:*" && (context.arn == "arn:aws:s3:::reports" || context.arn like "arn:aws:s3:::reports/*") && !context.secureTransport };
`

const (
	analystSession = "arn:aws:sts::111122223333:assumed-role/analyst/alice"
	analystRole    = "arn:aws:iam::111122223333:role/team/analyst"
)

func realisticSet(t testing.TB) *iampolicy.Set {
	parse := func(name, doc string, typ iampolicy.PolicyType) iampolicy.Named {
		p, err := iampolicy.Parse([]byte(doc))
		if err == nil {
			err = p.Validate(typ)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return iampolicy.Named{Name: name, Policy: p}
	}
	bucket := parse("reports-bucket", realisticBucket, iampolicy.TypeResource)
	boundary := parse("boundary", realisticBoundary, iampolicy.TypeBoundary)
	return &iampolicy.Set{
		Identity: []iampolicy.Named{parse("analyst", realisticIdentity, iampolicy.TypeIdentity)},
		SCPs:     [][]iampolicy.Named{{parse("FullAWSAccess", realisticFullAccess, iampolicy.TypeSCP), parse("Regions", realisticRegions, iampolicy.TypeSCP), parse("StayInOrg", realisticStayInOrg, iampolicy.TypeSCP)}},
		Boundary: &boundary,
		Resource: &bucket,
	}
}

// realisticRequest is one request in both engines' terms. Optional keys
// are left out when empty.
type realisticRequest struct {
	action, arn, region, ip string
	via, tls                bool
	kmsVia, resourceTeam    string
	sse                     string
}

func (q realisticRequest) iam() *iampolicy.Request {
	ctx := &iampolicy.Context{}
	ctx.Set("aws:RequestedRegion", q.region)
	ctx.Set("aws:SourceIp", q.ip)
	ctx.SetBool("aws:ViaAWSService", q.via)
	ctx.SetBool("aws:SecureTransport", q.tls)
	ctx.Set("aws:PrincipalTag/team", "data")
	for k, v := range map[string]string{"kms:ViaService": q.kmsVia, "aws:ResourceTag/team": q.resourceTeam, "s3:x-amz-server-side-encryption": q.sse} {
		if v != "" {
			ctx.Set(k, v)
		}
	}
	return &iampolicy.Request{Principal: analystSession, RoleARN: analystRole, Action: q.action, Resource: q.arn, ResourceAccount: "111122223333", Context: ctx}
}

func (q realisticRequest) cedar(t testing.TB) cedar.Request {
	ip, err := types.ParseIPAddr(q.ip)
	if err != nil {
		t.Fatal(err)
	}
	rec := cedar.RecordMap{
		"action": cedar.String(q.action), "arn": cedar.String(q.arn), "region": cedar.String(q.region),
		"sourceIp": ip, "viaAWSService": cedar.Boolean(q.via), "secureTransport": cedar.Boolean(q.tls), "team": cedar.String("data"),
	}
	for k, v := range map[string]string{"kmsViaService": q.kmsVia, "resourceTeam": q.resourceTeam, "sse": q.sse} {
		if v != "" {
			rec[types.String(k)] = cedar.String(v)
		}
	}
	return cedar.Request{
		Principal: cedar.NewEntityUID("Role", "analyst"),
		Action:    cedar.NewEntityUID("Action", cedar.String(q.action)),
		Resource:  cedar.NewEntityUID("Resource", cedar.String(q.arn)),
		Context:   cedar.NewRecord(rec),
	}
}

// realisticAllowed is the benchmarked request: reading a report from the
// office over TLS. Every identity statement, SCP, the boundary and the
// bucket policy are looked at; the first identity statement and the
// bucket policy allow.
var realisticAllowed = realisticRequest{action: "s3:GetObject", arn: "arn:aws:s3:::reports/2026/q3.csv", region: "eu-west-1", ip: "192.0.2.44", tls: true}

func realisticPolicySet(t testing.TB) *cedar.PolicySet {
	ps, err := cedar.NewPolicySetFromBytes("realistic.cedar", []byte(realisticCedar))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func BenchmarkRealisticAccount(b *testing.B) {
	b.Run("iampolicy", func(b *testing.B) {
		set, req := realisticSet(b), realisticAllowed.iam()
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
		ps, req := realisticPolicySet(b), realisticAllowed.cedar(b)
		var d cedar.Decision
		b.ReportAllocs()
		for b.Loop() {
			d, _ = cedar.Authorize(ps, cedar.EntityMap{}, req)
		}
		if d != cedar.Allow {
			b.Fatal(d)
		}
	})
}

// TestRealisticSameDecisions checks that the two encodings of the
// account decide alike, so the benchmark compares equal work.
func TestRealisticSameDecisions(t *testing.T) {
	set, ps := realisticSet(t), realisticPolicySet(t)
	office, home := "192.0.2.44", "203.0.113.9"
	tests := []struct {
		q    realisticRequest
		want bool
	}{
		{realisticAllowed, true},
		{realisticRequest{action: "s3:ListBucket", arn: "arn:aws:s3:::reports", region: "us-east-1", ip: office, tls: true}, true},
		{realisticRequest{action: "s3:GetObject", arn: "arn:aws:s3:::reports/q3.csv", region: "ap-south-1", ip: office, tls: true}, false}, // SCP: region
		{realisticRequest{action: "s3:GetObject", arn: "arn:aws:s3:::reports/q3.csv", region: "eu-west-1", ip: home, tls: true}, false},    // off the network
		{realisticRequest{action: "s3:GetObject", arn: "arn:aws:s3:::reports/q3.csv", region: "eu-west-1", ip: home, via: true, tls: true}, true},
		{realisticRequest{action: "s3:GetObject", arn: "arn:aws:s3:::reports/q3.csv", region: "eu-west-1", ip: office, tls: false}, false}, // bucket: TLS only
		{realisticRequest{action: "s3:DeleteObject", arn: "arn:aws:s3:::reports/q3.csv", region: "eu-west-1", ip: office, tls: true}, false},
		{realisticRequest{action: "s3:PutObject", arn: "arn:aws:s3:::uploads/x.csv", region: "eu-west-1", ip: office, tls: true, sse: "aws:kms"}, true},
		{realisticRequest{action: "s3:PutObject", arn: "arn:aws:s3:::uploads/x.csv", region: "eu-west-1", ip: office, tls: true}, false},
		{realisticRequest{action: "dynamodb:Query", arn: "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-2026", region: "eu-west-1", ip: office, tls: true}, true},
		{realisticRequest{action: "dynamodb:DeleteTable", arn: "arn:aws:dynamodb:eu-west-1:111122223333:table/orders", region: "eu-west-1", ip: office, tls: true}, false},
		{realisticRequest{action: "kms:Decrypt", arn: "arn:aws:kms:eu-west-1:111122223333:key/k1", region: "eu-west-1", ip: office, tls: true, kmsVia: "s3.eu-west-1.amazonaws.com"}, true},
		{realisticRequest{action: "kms:Decrypt", arn: "arn:aws:kms:eu-west-1:111122223333:key/k1", region: "eu-west-1", ip: office, tls: true}, false},
		{realisticRequest{action: "ec2:DescribeInstances", arn: "*", region: "eu-west-1", ip: office, tls: true}, true},
		{realisticRequest{action: "ec2:StopInstances", arn: "arn:aws:ec2:eu-west-1:111122223333:instance/i-1", region: "eu-west-1", ip: office, tls: true, resourceTeam: "data"}, true},
		{realisticRequest{action: "ec2:StopInstances", arn: "arn:aws:ec2:eu-west-1:111122223333:instance/i-1", region: "eu-west-1", ip: office, tls: true, resourceTeam: "web"}, false},
		{realisticRequest{action: "logs:PutLogEvents", arn: "arn:aws:logs:eu-west-1:111122223333:log-group:/app/web:log-stream:1", region: "eu-west-1", ip: office, tls: true}, true},
		{realisticRequest{action: "lambda:InvokeFunction", arn: "arn:aws:lambda:eu-west-1:111122223333:function:billing", region: "eu-west-1", ip: office, tls: true}, false},
		{realisticRequest{action: "iam:CreateUser", arn: "arn:aws:iam::111122223333:user/eve", region: "us-east-1", ip: office, tls: true}, false}, // boundary
		{realisticRequest{action: "sts:GetCallerIdentity", arn: "*", region: "ap-south-1", ip: office, tls: true}, true},                           // sts is exempt from the region SCP
		{realisticRequest{action: "glue:DeleteTable", arn: "arn:aws:glue:eu-west-1:111122223333:table/db/t", region: "eu-west-1", ip: office, tls: true}, false},
		{realisticRequest{action: "organizations:LeaveOrganization", arn: "*", region: "us-east-1", ip: office, tls: true}, false},
	}
	for _, tt := range tests {
		r := set.Evaluate(tt.q.iam())
		d, diag := cedar.Authorize(ps, cedar.EntityMap{}, tt.q.cedar(t))
		if len(diag.Errors) > 0 {
			t.Fatalf("%+v: cedar: %v", tt.q, diag.Errors)
		}
		if got := r.Decision == iampolicy.Allowed; got != tt.want {
			t.Errorf("%s %s: iampolicy %v, want allowed=%v", tt.q.action, tt.q.arn, r, tt.want)
		}
		if got := d == cedar.Allow; got != tt.want {
			t.Errorf("%s %s: cedar-go %v, want allowed=%v", tt.q.action, tt.q.arn, d, tt.want)
		}
	}
}
