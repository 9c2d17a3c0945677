package iamtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

const (
	quotasPage  = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
	tagsPage    = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html"
	errorsPage  = "https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html"
	tagUserPage = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_TagUser.html"
)

func client(t *testing.T, s *Server) *iam.Client {
	hs := s.Start()
	t.Cleanup(hs.Close)
	return iam.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")},
		func(o *iam.Options) {
			o.BaseEndpoint = aws.String(hs.URL)
			o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1)
		})
}

func manyTags(n int, prefix string) []types.Tag {
	var tags []types.Tag
	for i := range n {
		tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("%s%02d", prefix, i)), Value: aws.String("v")})
	}
	return tags
}

// Every request the SDK can send is checked against the model; every
// quota answers with IAM's code. Each row names the AWS page and quotes
// the sentence it implements.
func TestIAMEnforcesItsModelAndQuotas(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, page, sentence string
		setup                func(s *Server)
		call                 func(c *iam.Client) error
		code                 string
		message              string // exact, when given; else a part
		part                 string
	}{
		{
			name: "comma-joined key ids are not a tag value", page: tagsPage,
			sentence: "Tag keys and values can include any combination of letters, numbers, spaces, and _ . : / = + - @ symbols.",
			call: func(c *iam.Client) error {
				_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("anaya"), Tags: []types.Tag{{Key: aws.String("lockgate:deactivated-keys"), Value: aws.String("AKIAAAAAAAAAAAAAAAAA,AKIABBBBBBBBBBBBBBBB")}}})
				return err
			},
			// IAM's wording, as a Lambda received it for another value
			// (github.com/SWO-GS/auto-tag/issues/90): "1 validation error
			// detected: Value '…' at 'tags.6.member.value' failed to satisfy
			// constraint: Member must satisfy regular expression pattern:
			// [\p{L}\p{Z}\p{N}_.:/=+\-@]*".
			code:    "ValidationError",
			message: `1 validation error detected: Value 'AKIAAAAAAAAAAAAAAAAA,AKIABBBBBBBBBBBBBBBB' at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`,
		},
		{
			name: "space-separated key ids are", page: tagsPage,
			sentence: "Tag keys and values can include any combination of letters, numbers, spaces, and _ . : / = + - @ symbols.",
			call: func(c *iam.Client) error {
				_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("anaya"), Tags: []types.Tag{{Key: aws.String("lockgate:keys"), Value: aws.String("AKIAAAAAAAAAAAAAAAAA AKIABBBBBBBBBBBBBBBB")}}})
				return err
			},
		},
		{
			name: "51 tags in one request", page: quotasPage, sentence: "Tags that can be attached to an IAM user | 50",
			call: func(c *iam.Client) error {
				_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("anaya"), Tags: manyTags(51, "t")})
				return err
			},
			code: "ValidationError", part: "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
		},
		{
			name: "the 51st tag of a user", page: tagUserPage,
			sentence: "If any one of the tags is invalid or if you exceed the allowed maximum number of tags, then the entire request fails",
			setup: func(s *Server) {
				s.Do(func(users map[string]*User, _ map[string]*Role) {
					for i := range 49 {
						users["anaya"].Tags[fmt.Sprintf("own%02d", i)] = "x"
					}
				})
			},
			call: func(c *iam.Client) error {
				_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("anaya"), Tags: manyTags(2, "new")})
				return err
			},
			code: "LimitExceeded",
		},
		{
			name: "the 51st tag of a role", page: quotasPage, sentence: "Tags that can be attached to an IAM role | 50",
			setup: func(s *Server) {
				s.Do(func(_ map[string]*User, roles map[string]*Role) {
					for i := range 50 {
						roles["admin"].Tags[fmt.Sprintf("own%02d", i)] = "x"
					}
				})
			},
			call: func(c *iam.Client) error {
				_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("admin"), Tags: manyTags(1, "new")})
				return err
			},
			code: "LimitExceeded",
		},
		{
			name: "tag keys of a user ignore case", page: tagsPage,
			sentence: "Tag key values for IAM users and roles are not case sensitive, but case is preserved.",
			setup: func(s *Server) {
				s.Do(func(users map[string]*User, _ map[string]*Role) {
					for i := range 50 {
						users["anaya"].Tags[fmt.Sprintf("own%02d", i)] = "x"
					}
				})
			},
			call: func(c *iam.Client) error {
				_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("anaya"), Tags: []types.Tag{{Key: aws.String("OWN00"), Value: aws.String("y")}}})
				return err
			},
		},
		{
			name: "aws: is reserved", page: tagsPage, sentence: "You cannot create a tag key or value that begins with the text aws:.",
			call: func(c *iam.Client) error {
				_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("anaya"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
				return err
			},
			code: "InvalidInput",
		},
		{
			name: "a key status outside the enum", page: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html",
			sentence: "Valid Values: Active | Inactive | Expired",
			call: func(c *iam.Client) error {
				_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("anaya"), AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA"), Status: "Enabled"})
				return err
			},
			code:    "ValidationError",
			message: "1 validation error detected: Value 'Enabled' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]",
		},
		{
			name: "a key id too short and not a word", page: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html",
			sentence: "Length Constraints: Minimum length of 16. Maximum length of 128. Pattern: [\\w]+",
			call: func(c *iam.Client) error {
				_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("anaya"), AccessKeyId: aws.String("AKIA-1"), Status: types.StatusTypeInactive})
				return err
			},
			code: "ValidationError",
			message: "2 validation errors detected: Value 'AKIA-1' at 'accessKeyId' failed to satisfy constraint: Member must have length greater than or equal to 16; " +
				`Value 'AKIA-1' at 'accessKeyId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w]+`,
		},
		{
			name: "a user name with a space", page: quotasPage,
			sentence: "Names of users, groups, roles, policies, instance profiles, and server certificates must be alphanumeric, including the following common characters: plus (+), equal (=), comma (,), period (.), at (@), underscore (_), and hyphen (-).",
			call: func(c *iam.Client) error {
				_, err := c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("an aya")})
				return err
			},
			code: "ValidationError", part: `Value 'an aya' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`,
		},
		{
			name: "a policy document beyond U+00FF", page: quotasPage,
			sentence: "Policy documents can contain only the following Unicode characters: horizontal tab (U+0009), linefeed (U+000A), carriage return (U+000D), and characters in the range U+0020 to U+00FF.",
			call: func(c *iam.Client) error {
				_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("anaya"), PolicyName: aws.String("p"),
					PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"€"}}}]}`)})
				return err
			},
			code: "ValidationError", part: "at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
		},
		{
			name: "inline user policies over 2,048 characters", page: quotasPage,
			sentence: "User policy size cannot exceed 2,048 characters. … IAM does not count white space when calculating the size of a policy against these quotas.",
			call: func(c *iam.Client) error {
				doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"` + strings.Repeat("a", 2000) + `"}}}]}`
				_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("anaya"), PolicyName: aws.String("big"), PolicyDocument: aws.String(doc)})
				return err
			},
			code: "LimitExceeded", message: "Maximum policy size of 2048 bytes exceeded for user anaya",
		},
		{
			name: "white space is not counted", page: quotasPage,
			sentence: "IAM does not count white space when calculating the size of a policy against these quotas.",
			call: func(c *iam.Client) error {
				doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"` + strings.Repeat(" ", 3000) + `}]}`
				_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("anaya"), PolicyName: aws.String("spaced"), PolicyDocument: aws.String(doc)})
				return err
			},
		},
		{
			name: "inline role policies over 10,240 characters", page: quotasPage,
			sentence: "Role policy size cannot exceed 10,240 characters.",
			call: func(c *iam.Client) error {
				doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:userid":"` + strings.Repeat("a", 10200) + `"}}}]}`
				_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("admin"), PolicyName: aws.String("big"), PolicyDocument: aws.String(doc)})
				return err
			},
			code: "LimitExceeded", message: "Maximum policy size of 10240 bytes exceeded for role admin",
		},
		{
			name: "the 11th managed policy of a user", page: quotasPage, sentence: "Managed policies attached to an IAM user | 10 | 20",
			setup: func(s *Server) { attachMany(t, s, "user", "anaya", 10) },
			call: func(c *iam.Client) error {
				_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("anaya"), PolicyArn: aws.String("arn:aws:iam::111122223333:policy/extra")})
				return err
			},
			code: "LimitExceeded", message: "Cannot exceed quota for PoliciesPerUser: 10",
		},
		{
			name: "the 11th managed policy of a role", page: quotasPage, sentence: "Managed policies attached to an IAM role | 10 | 20",
			setup: func(s *Server) { attachMany(t, s, "role", "admin", 10) },
			call: func(c *iam.Client) error {
				_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("admin"), PolicyArn: aws.String("arn:aws:iam::111122223333:policy/extra")})
				return err
			},
			code: "LimitExceeded", message: "Cannot exceed quota for PoliciesPerRole: 10",
		},
		{
			name: "a raised quota of 20", page: quotasPage, sentence: "Managed policies attached to an IAM user | 10 | 20",
			setup: func(s *Server) {
				s.Do(func(users map[string]*User, _ map[string]*Role) { users["anaya"].ManagedLimit = MaxManagedPolicies })
				attachMany(t, s, "user", "anaya", 19)
			},
			call: func(c *iam.Client) error {
				_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("anaya"), PolicyArn: aws.String("arn:aws:iam::111122223333:policy/extra")})
				return err
			},
		},
		{
			name: "a third access key", page: quotasPage, sentence: "Access keys assigned to an IAM user | 2",
			call: func(c *iam.Client) error {
				_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("anaya")})
				return err
			},
			code: "LimitExceeded", message: "Cannot exceed quota for AccessKeysPerUser: 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("111122223333")
			s.AddUser("anaya", 2)
			s.AddRole("admin")
			s.AddManagedPolicy("extra", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
			if tt.setup != nil {
				tt.setup(s)
			}
			err := tt.call(client(t, s))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("%s says %q; got %v", tt.page, tt.sentence, err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
				t.Fatalf("%s says %q: want %s, got %v", tt.page, tt.sentence, tt.code, err)
			}
			if tt.message != "" && ae.ErrorMessage() != tt.message {
				t.Fatalf("message\n got %s\nwant %s", ae.ErrorMessage(), tt.message)
			}
			if !strings.Contains(ae.ErrorMessage(), tt.part) {
				t.Fatalf("message %q lacks %q", ae.ErrorMessage(), tt.part)
			}
		})
	}
}

func attachMany(t *testing.T, s *Server, kind, name string, n int) {
	t.Helper()
	for i := range n {
		arn := s.AddManagedPolicy(fmt.Sprintf("p%02d", i), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
		attach := s.AttachUserPolicy
		if kind == "role" {
			attach = s.AttachRolePolicy
		}
		if err := attach(name, arn); err != nil {
			t.Fatal(err)
		}
	}
}

// Requests the SDK would refuse to send (it checks required members
// itself) are posted raw: IAM answers them with ValidationError in its
// XML error shape, HTTP 400.
func TestValidationErrorOnTheWire(t *testing.T) {
	s := New("111122223333")
	s.AddUser("anaya", 1)
	hs := s.Start()
	defer hs.Close()
	tests := []struct {
		form url.Values
		want string
	}{
		{url.Values{"Action": {"TagUser"}, "Version": {"2010-05-08"}, "UserName": {"anaya"}},
			"<Type>Sender</Type><Code>ValidationError</Code><Message>1 validation error detected: Value null at &#39;tags&#39; failed to satisfy constraint: Member must not be null</Message>"},
		{url.Values{"Action": {"TagUser"}, "Version": {"2010-05-08"}, "UserName": {"anaya"}, "Tags.member.1.Key": {"k"}},
			"Value null at &#39;tags.1.member.value&#39; failed to satisfy constraint: Member must not be null"},
		{url.Values{"Action": {"ListUserTags"}, "Version": {"2010-05-08"}, "UserName": {"anaya"}, "MaxItems": {"0"}},
			"Value &#39;0&#39; at &#39;maxItems&#39; failed to satisfy constraint: Member must have value greater than or equal to 1"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("POST", hs.URL, strings.NewReader(tt.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261121/us-east-1/iam/aws4_request")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// errorsPage: "ValidationError … The input fails to satisfy the
		// constraints specified by an AWS service. HTTP Status Code: 400"
		if resp.StatusCode != 400 || !strings.Contains(string(body), tt.want) {
			t.Errorf("%s: %d %s\nwant %s (%s)", tt.form.Encode(), resp.StatusCode, body, tt.want, errorsPage)
		}
	}
}

// The double never answers with an error the model does not list for an
// action: a fault injected wrongly fails the test loudly.
func TestErrorsTheModelDoesNotList(t *testing.T) {
	s := New("111122223333")
	s.AddUser("anaya", 1)
	s.Fail("ListUserTags", "LimitExceeded", 1) // ListUserTags never answers LimitExceeded
	_, err := client(t, s).ListUserTags(context.Background(), &iam.ListUserTagsInput{UserName: aws.String("anaya")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalFailure" || !strings.Contains(ae.ErrorMessage(), "does not list") {
		t.Fatalf("got %v", err)
	}
}

// IAM answers inline policy documents URL-encoded (RFC 3986), so "+" in a
// session name comes back as %2B.
func TestPolicyDocumentsComeBackEncoded(t *testing.T) {
	s := New("111122223333")
	s.AddRole("admin")
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:userid":"AROA:a+b@example.com"}}}]}`
	c := client(t, s)
	ctx := context.Background()
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("admin"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("admin"), PolicyName: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.PolicyDocument); !strings.Contains(got, "a%2Bb%40example.com") {
		t.Fatalf("document %s", got)
	}
	if back, _ := url.PathUnescape(aws.ToString(out.PolicyDocument)); back != doc {
		t.Fatalf("round trip %s", back)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("TagUser", "UserName=anaya&Tags.member.1.Key=k&Tags.member.1.Value=v")
	f.Add("UpdateAccessKey", "AccessKeyId=AKIA&Status=Nope")
	f.Add("ListUserTags", "UserName=a&MaxItems=x&Marker=%00")
	f.Add("UntagRole", "RoleName=r&TagKeys.member.0=a&TagKeys.member.x=b")
	f.Fuzz(func(t *testing.T, action, query string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		err = Validate(action, form)
		var ae interface{ Code() string }
		if err != nil && (!errors.As(err, &ae) || (ae.Code() != "ValidationError" && ae.Code() != "InvalidAction")) {
			t.Fatalf("%v", err)
		}
	})
}
