package appkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lockgate/lockgate/internal/appkey"
)

// secretsManager answers GetSecretValue as the service model says: the
// X-Amz-Target names the operation; SecretId is required, 1 to 2048
// characters; an unknown secret is ResourceNotFoundException ("Secrets
// Manager can't find the specified secret.").
func secretsManager(t *testing.T, secrets map[string]string) *aws.Config {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fail := func(typ, msg string) {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
		}
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			fail("UnknownOperationException", "")
			return
		}
		var in struct{ SecretId *string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretId == nil || len(*in.SecretId) < 1 || len(*in.SecretId) > 2048 {
			fail("ValidationException", "SecretId: required, 1 to 2048 characters")
			return
		}
		v, ok := secrets[*in.SecretId]
		if !ok {
			fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": *in.SecretId, "Name": "key", "SecretString": v, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}})
	}))
	t.Cleanup(srv.Close)
	return &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1}
}

func TestLoad(t *testing.T) {
	const plainARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:plain-AbCdEf"
	const jsonARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:json-AbCdEf"
	cfg := secretsManager(t, map[string]string{plainARN: " a2V5LXBsYWlu\n", jsonARN: `{"signing_key":"a2V5LWpzb24="}`})
	file := filepath.Join(t.TempDir(), "key")
	os.WriteFile(file, []byte("  a2V5LWZpbGU=\n"), 0o600)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	names := appkey.Source{FileName: "signing_key_file", SecretName: "signing_key_secret_arn", PlainName: "LOCKGATE_X_SIGNING_KEY", AWS: cfg}
	for _, tt := range []struct {
		name string
		src  func(appkey.Source) appkey.Source
		want string
		err  string
	}{
		{"file", func(s appkey.Source) appkey.Source { s.File = file; return s }, "a2V5LWZpbGU=", ""},
		{"file first", func(s appkey.Source) appkey.Source { s.File, s.SecretARN = file, plainARN; return s }, "a2V5LWZpbGU=", ""},
		{"missing file", func(s appkey.Source) appkey.Source { s.File = file + ".no"; return s }, "", "signing_key_file: open"},
		{"secret string", func(s appkey.Source) appkey.Source { s.SecretARN = plainARN; return s }, "a2V5LXBsYWlu", ""},
		{"secret JSON", func(s appkey.Source) appkey.Source { s.SecretARN = jsonARN; return s }, "a2V5LWpzb24=", ""},
		{"unknown secret", func(s appkey.Source) appkey.Source { s.SecretARN = jsonARN + "x"; return s }, "", "signing_key_secret_arn: operation error Secrets Manager: GetSecretValue"},
		{"environment", func(s appkey.Source) appkey.Source { s.Plain = "a2V5LWVudg=="; return s }, "a2V5LWVudg==", ""},
	} {
		got, err := appkey.Load(context.Background(), tt.src(names), log)
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %q, %v", tt.name, got, err)
		}
	}
	if !strings.Contains(logs.String(), "LOCKGATE_X_SIGNING_KEY environment variable") || strings.Count(logs.String(), "level=WARN") != 1 {
		t.Errorf("warnings: %s", logs.String())
	}
}
