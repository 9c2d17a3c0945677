package analyze

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ObjectStore lists and reads objects: Amazon S3 or a store that speaks
// its API.
type ObjectStore interface {
	List(ctx context.Context, bucket, prefix string) ([]Object, error)
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, error)
}

// Object is a listed object.
type Object struct {
	Key  string
	Size int64
}

// S3 is an ObjectStore backed by Amazon S3 through the AWS SDK.
type S3 struct{ client *s3.Client }

// NewS3 makes an S3 client from the standard AWS configuration: the
// environment (AWS_REGION, AWS_PROFILE, credentials, AWS_ENDPOINT_URL_S3
// or AWS_ENDPOINT_URL for an S3-compatible store), shared config files,
// and instance or container roles.
func NewS3(ctx context.Context) (*S3, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		// The SDK needs a region to sign; S3 answers a listing from any
		// region with a redirect the SDK follows.
		cfg.Region = "us-east-1"
	}
	return &S3{client: s3.NewFromConfig(cfg, func(o *s3.Options) {
		// A store at a custom endpoint (an S3-compatible server, a
		// test) is reached path-style: its name does not resolve
		// bucket.host names.
		o.UsePathStyle = o.BaseEndpoint != nil
	})}, nil
}

// List implements ObjectStore.
func (c *S3) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(c.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

// Get implements ObjectStore.
func (c *S3) Get(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// listS3 expands s3://bucket/prefix into one input per object, in key
// order (AWS WAF's keys sort by time).
func listS3(ctx context.Context, store ObjectStore, url string) ([]Input, error) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
	if bucket == "" {
		return nil, fmt.Errorf("%s: no bucket (write s3://bucket/prefix)", url)
	}
	objs, err := store.List(ctx, bucket, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", url, err)
	}
	var out []Input
	for _, o := range objs {
		if strings.HasSuffix(o.Key, "/") {
			continue // a folder marker
		}
		key := o.Key
		out = append(out, Input{Name: "s3://" + bucket + "/" + key, Size: o.Size, open: func(ctx context.Context) (io.ReadCloser, error) {
			return store.Get(ctx, bucket, key)
		}})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no objects", url)
	}
	return out, nil
}
