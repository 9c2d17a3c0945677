package analyze

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestS3 reads logs from an S3-compatible server (gofakes3) the test
// starts, through the AWS SDK's standard configuration: the endpoint
// comes from AWS_ENDPOINT_URL_S3 as it would for any S3-compatible store,
// the credentials from the environment. Objects are gzipped as AWS WAF
// delivers them; a folder marker and objects outside the prefix are left
// out.
func TestS3(t *testing.T) {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	if err := backend.CreateBucket("waf-logs"); err != nil {
		t.Fatal(err)
	}
	put := func(key, data string, gz bool) {
		b := []byte(data)
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
		}
		if _, err := backend.PutObject("waf-logs", key, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			t.Fatal(err)
		}
	}
	prefix := "AWSLogs/111122223333/WAFLogs/us-east-1/shop-acl/2026/11/02/16/"
	put(prefix, "", false)
	put(prefix+"00/a.log.gz", lines(burst(30, 0, time.Second, "203.0.113.1", "/login")...), true)
	put(prefix+"05/b.log.gz", lines(burst(20, 5*time.Minute, time.Second, "203.0.113.2", "/")...), true)
	put("AWSLogs/other/x.log", lines(burst(99, 0, time.Second, "192.0.2.1", "/")...), false)

	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	ctx := context.Background()
	ins, err := Expand(ctx, []string{"s3://waf-logs/" + prefix}, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range ins {
		names = append(names, in.Name)
	}
	if strings.Join(names, " ") != "s3://waf-logs/"+prefix+"00/a.log.gz s3://waf-logs/"+prefix+"05/b.log.gz" {
		t.Fatalf("inputs %q", names)
	}
	r, err := Analyze(ctx, ins, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 50 || r.TopIPs[0].ClientIP != "203.0.113.1" || r.TopIPs[0].Requests != 30 {
		t.Errorf("%d records, top %+v", r.Records, r.TopIPs)
	}
	for url, want := range map[string]string{"s3://waf-logs/nothing/": "no objects", "s3://": "no bucket", "s3://missing-bucket/x": "listing s3://missing-bucket/x"} {
		if _, err := Expand(ctx, []string{url}, Sources{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", url, err, want)
		}
	}
}
