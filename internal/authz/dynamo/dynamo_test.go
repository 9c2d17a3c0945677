package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/lockgate/lockgate/internal/authz"
)

// startDynalite runs dynalite (npm; .ci/run installs it) on a free port,
// in memory, for this test. It enforces DynamoDB's data model — key
// schema and types, item size (400 KB), 1 MB scan pages, condition
// expressions, error codes — so this backend is tested against the
// service's rules, not a double that would accept what DynamoDB refuses.
// It does not verify signatures (it checks their presence and form), nor
// throttle, nor implement transactions, PartiQL, TTL or streams, none of
// which this backend uses.
func startDynalite(t *testing.T) *dynamodb.Client {
	t.Helper()
	bin, err := exec.LookPath("dynalite")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dynalite is not installed (.ci/run installs it: npm install -g dynalite@4.0.0)")
		}
		t.Skip("dynalite is not installed: run `npm install -g dynalite@4.0.0` to test the DynamoDB backend")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--host", "127.0.0.1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dynalite did not listen: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + addr),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""),
	})
}

// createTable makes the sample's table: partition key group (S).
func createTable(t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(KeyAttr), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(KeyAttr), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestGroupsOnDynalite(t *testing.T) {
	c := startDynalite(t)
	createTable(t, c, "lockgate-groups")
	g := New(c, "lockgate-groups")
	ctx := context.Background()
	pet, _ := os.ReadFile("../testdata/petstore.json")

	if _, err := g.GroupPolicy(ctx, "pet-veterinarian"); !errors.Is(err, authz.ErrGroupNotFound) {
		t.Fatalf("missing item: %v", err)
	}
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	if err := g.PutGroupPolicy(ctx, authz.GroupPolicy{Group: "pet-veterinarian", Policy: pet, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	got, err := g.GroupPolicy(ctx, "pet-veterinarian")
	if err != nil || !got.UpdatedAt.Equal(at) {
		t.Fatal(got, err)
	}
	if !sameJSON(t, got.Policy, pet) {
		t.Fatalf("round trip changed the policy:\n%s\n%s", got.Policy, pet)
	}
	if _, err := authz.CompilePolicy(got.Policy); err != nil {
		t.Fatal(err)
	}
	// The sample's layout: the policy is a map in the item (boto3's
	// resource reads it as a dict, results[0]['policy']['Statement']).
	raw, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("lockgate-groups"), Key: key("pet-veterinarian")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Item[PolicyAttr].(*types.AttributeValueMemberM); !ok {
		t.Fatalf("policy stored as %T", raw.Item[PolicyAttr])
	}
	// An item written by hand with the policy as a JSON string reads too.
	c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("lockgate-groups"), Item: map[string]types.AttributeValue{
		KeyAttr: &types.AttributeValueMemberS{Value: "readers"}, PolicyAttr: &types.AttributeValueMemberS{Value: string(pet)}}})
	if p, err := g.GroupPolicy(ctx, "readers"); err != nil || !sameJSON(t, p.Policy, pet) {
		t.Fatal(p, err)
	}
	// Numbers and booleans in conditions survive.
	num := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericGreaterThan":{"aws:EpochTime":1700000000.5},"Bool":{"aws:SecureTransport":false}}}]}`)
	if err := g.PutGroupPolicy(ctx, authz.GroupPolicy{Group: "nums", Policy: num}); err != nil {
		t.Fatal(err)
	}
	if p, _ := g.GroupPolicy(ctx, "nums"); !sameJSON(t, p.Policy, num) {
		t.Fatalf("%s", p.Policy)
	}
	if err := g.DeleteGroupPolicy(ctx, "readers"); err != nil {
		t.Fatal(err)
	}
	if err := g.DeleteGroupPolicy(ctx, "readers"); !errors.Is(err, authz.ErrGroupNotFound) {
		t.Fatalf("deleting a missing item: %v", err)
	}
}

// Scan pages are at most 1 MB: four items of ~350 KB take more than one
// page, and every item is listed.
func TestScanPages(t *testing.T) {
	c := startDynalite(t)
	createTable(t, c, "big")
	g := New(c, "big")
	ctx := context.Background()
	pages := 0
	counting := countingScan{API: c, pages: &pages}
	g.api = counting
	for _, name := range []string{"a", "b", "c", "d"} {
		doc := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("x", 350_000) + `","Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
		if err := g.PutGroupPolicy(ctx, authz.GroupPolicy{Group: name, Policy: doc}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := g.GroupPolicies(ctx)
	if err != nil || len(list) != 4 || list[0].Group != "a" || list[3].Group != "d" {
		t.Fatalf("%d items, %v", len(list), err)
	}
	if pages < 2 {
		t.Fatalf("%d scan page(s) for 1.4 MB", pages)
	}
}

type countingScan struct {
	API
	pages *int
}

func (c countingScan) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	*c.pages++
	return c.API.Scan(ctx, in, opts...)
}

// What DynamoDB refuses, dynalite refuses too, with DynamoDB's error
// codes: this is why the backend is tested on it.
func TestDynaliteEnforcesTheModel(t *testing.T) {
	c := startDynalite(t)
	createTable(t, c, "model")
	g := New(c, "model")
	ctx := context.Background()
	for _, tt := range []struct {
		name, code, page, sentence string
		err                        error
	}{
		{"an item over 400 KB", "ValidationException", "Service, account, and table quotas in Amazon DynamoDB", "The maximum item size in DynamoDB is 400 KB, which includes both attribute name binary length (UTF-8 length) and attribute value lengths (again binary length).",
			g.PutGroupPolicy(ctx, authz.GroupPolicy{Group: "huge", Policy: json.RawMessage(`{"Sid":"` + strings.Repeat("x", 410_000) + `"}`)})},
		{"an empty partition key", "ValidationException", "Supported data types and naming rules in Amazon DynamoDB", "The minimum length of a string can be zero, if the attribute is not used as a key for an index or table",
			g.PutGroupPolicy(ctx, authz.GroupPolicy{Group: "", Policy: json.RawMessage(`{}`)})},
		{"a missing table", "ResourceNotFoundException", "DynamoDB API Reference: GetItem (Errors)", "ResourceNotFoundException: The operation tried to access a nonexistent table or index.",
			func() error { _, err := New(c, "nope").GroupPolicy(ctx, "x"); return err }()},
	} {
		if got := code(tt.err); got != tt.code {
			t.Errorf("%s: %v (code %q), want %s\n%s: %q", tt.name, tt.err, got, tt.code, tt.page, tt.sentence)
		}
	}
	// A key of the wrong type.
	_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("model"), Key: map[string]types.AttributeValue{KeyAttr: &types.AttributeValueMemberN{Value: "1"}}})
	if code(err) != "ValidationException" {
		t.Errorf("a numeric key on a string-keyed table: %v", err)
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
