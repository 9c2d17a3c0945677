// Package dynamo keeps group policies in a DynamoDB table with the
// layout of the blog's sample (seed 003): partition key "group" (a
// string), the policy document in attribute "policy" as a DynamoDB map.
// Items whose policy is a JSON string are read too.
package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockgate/lockgate/internal/authz"
)

// API is the part of the DynamoDB client the table needs.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// The sample's attribute names, and the one lockgate adds.
const (
	KeyAttr     = "group"
	PolicyAttr  = "policy"
	UpdatedAttr = "updated_at"
)

// Groups is a table of group policies. It implements authz.Store.
type Groups struct {
	api   API
	table string
}

// New uses api on table.
func New(api API, table string) *Groups { return &Groups{api: api, table: table} }

// Open builds a client from the AWS SDK's configuration (region,
// credentials, AWS_ENDPOINT_URL_DYNAMODB), with c's region and endpoint
// when set.
func Open(ctx context.Context, c authz.DynamoDBConfig) (*Groups, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return New(client, c.Table), nil
}

func key(group string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{KeyAttr: &types.AttributeValueMemberS{Value: group}}
}

// GroupPolicy reads one item (eventually consistent, as the sample's
// BatchGetItem).
func (g *Groups) GroupPolicy(ctx context.Context, group string) (authz.GroupPolicy, error) {
	out, err := g.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(g.table), Key: key(group)})
	if err != nil {
		return authz.GroupPolicy{}, fmt.Errorf("dynamodb GetItem %s: %w", g.table, err)
	}
	if out.Item == nil {
		return authz.GroupPolicy{}, authz.ErrGroupNotFound
	}
	return fromItem(out.Item)
}

func fromItem(item map[string]types.AttributeValue) (authz.GroupPolicy, error) {
	var p authz.GroupPolicy
	k, ok := item[KeyAttr].(*types.AttributeValueMemberS)
	if !ok {
		return p, fmt.Errorf("an item's %q is not a string", KeyAttr)
	}
	p.Group = k.Value
	switch v := item[PolicyAttr].(type) {
	case *types.AttributeValueMemberM:
		var buf bytes.Buffer
		if err := writeJSON(&buf, v); err != nil {
			return p, fmt.Errorf("group %q: policy: %w", p.Group, err)
		}
		p.Policy = buf.Bytes()
	case *types.AttributeValueMemberS:
		p.Policy = json.RawMessage(v.Value)
	case nil:
		return p, fmt.Errorf("group %q: the item has no %q attribute", p.Group, PolicyAttr)
	default:
		return p, fmt.Errorf("group %q: %q is neither a map nor a JSON string", p.Group, PolicyAttr)
	}
	if u, ok := item[UpdatedAttr].(*types.AttributeValueMemberS); ok {
		p.UpdatedAt, _ = time.Parse(time.RFC3339Nano, u.Value)
	}
	return p, nil
}

// GroupPolicies scans the table, every page.
func (g *Groups) GroupPolicies(ctx context.Context) ([]authz.GroupPolicy, error) {
	out := []authz.GroupPolicy{}
	in := &dynamodb.ScanInput{TableName: aws.String(g.table)}
	for {
		page, err := g.api.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamodb Scan %s: %w", g.table, err)
		}
		for _, item := range page.Items {
			p, err := fromItem(item)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out, nil
}

// PutGroupPolicy writes the item, the policy as a map as the sample
// stores it.
func (g *Groups) PutGroupPolicy(ctx context.Context, p authz.GroupPolicy) error {
	doc, err := toAttr(p.Policy)
	if err != nil {
		return fmt.Errorf("group %q: %w", p.Group, err)
	}
	item := key(p.Group)
	item[PolicyAttr] = doc
	if !p.UpdatedAt.IsZero() {
		item[UpdatedAttr] = &types.AttributeValueMemberS{Value: p.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	}
	if _, err := g.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(g.table), Item: item}); err != nil {
		return fmt.Errorf("dynamodb PutItem %s: %w", g.table, err)
	}
	return nil
}

// DeleteGroupPolicy deletes the item if it exists.
func (g *Groups) DeleteGroupPolicy(ctx context.Context, group string) error {
	_, err := g.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(g.table), Key: key(group),
		ConditionExpression:      aws.String("attribute_exists(#g)"),
		ExpressionAttributeNames: map[string]string{"#g": KeyAttr},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return authz.ErrGroupNotFound
	}
	if err != nil {
		return fmt.Errorf("dynamodb DeleteItem %s: %w", g.table, err)
	}
	return nil
}

// toAttr converts a JSON document to a DynamoDB value: objects to maps,
// arrays to lists, numbers to N, strings, booleans and null as such.
func toAttr(doc json.RawMessage) (types.AttributeValue, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return attr(v), nil
}

func attr(v any) types.AttributeValue {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(v))
		for k, x := range v {
			m[k] = attr(x)
		}
		return &types.AttributeValueMemberM{Value: m}
	case []any:
		l := make([]types.AttributeValue, len(v))
		for i, x := range v {
			l[i] = attr(x)
		}
		return &types.AttributeValueMemberL{Value: l}
	case string:
		return &types.AttributeValueMemberS{Value: v}
	case json.Number:
		return &types.AttributeValueMemberN{Value: v.String()}
	case bool:
		return &types.AttributeValueMemberBOOL{Value: v}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}

// writeJSON writes a DynamoDB value as JSON, map keys sorted. Sets (SS,
// NS) become arrays; binary values are refused (no policy holds them).
func writeJSON(b *bytes.Buffer, v types.AttributeValue) error {
	switch v := v.(type) {
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			if err := writeJSON(b, v.Value[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case *types.AttributeValueMemberL:
		b.WriteByte('[')
		for i, x := range v.Value {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, x); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *types.AttributeValueMemberS:
		sb, _ := json.Marshal(v.Value)
		b.Write(sb)
	case *types.AttributeValueMemberSS:
		sb, _ := json.Marshal(v.Value)
		b.Write(sb)
	case *types.AttributeValueMemberN:
		if !json.Valid([]byte(v.Value)) {
			return fmt.Errorf("number %q", v.Value)
		}
		b.WriteString(v.Value)
	case *types.AttributeValueMemberNS:
		b.WriteString("[" + strings.Join(v.Value, ",") + "]")
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case *types.AttributeValueMemberNULL:
		b.WriteString("null")
	default:
		return fmt.Errorf("a %T value cannot be part of a policy document", v)
	}
	return nil
}
