package awsiam

import (
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

	"github.com/lockgate/lockgate/internal/config"
)

// The seed handled only AccessKeyMetadata[0] of each page: with IAM's
// usual page size both of a user's keys come in one page, and the second
// was never deactivated.
func TestEveryKeyOfEveryPage(t *testing.T) {
	for _, pageSize := range []int{100, 1} {
		g := newRig(t)
		g.iam.PageSize = pageSize
		g.admin("anaya", 2)
		g.checker.set("anaya", true)
		g.handle(g.event("anaya"))
		if got := strings.Join(keyStatus(g, "anaya"), ","); got != "Inactive,Inactive" {
			t.Errorf("page size %d: keys %s", pageSize, got)
		}
	}
}

// The seed kept the signing key in an environment variable; the
// responder reads it from Secrets Manager (or a file).
func TestSigningKeyFromSecretsManager(t *testing.T) {
	var asked string
	sm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		json.NewDecoder(r.Body).Decode(&in)
		asked = r.Header.Get("X-Amz-Target") + " " + in.SecretId
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": "lockgate", "SecretString": `{"signing_key":"c2VjcmV0LWtleS0wMTIzNDU2Nzg5YWJjZGVm"}`})
	}))
	defer sm.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(sm.URL)}
	arn := "arn:aws:secretsmanager:us-east-1:111122223333:secret:lockgate-abc"
	s := Settings{SigningKeySecretARN: arn}
	key, err := s.signingKey(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil || key != "c2VjcmV0LWtleS0wMTIzNDU2Nzg5YWJjZGVm" {
		t.Fatalf("key %q, %v", key, err)
	}
	if asked != "secretsmanager.GetSecretValue "+arn {
		t.Fatalf("asked %q", asked)
	}
	file := filepath.Join(t.TempDir(), "key")
	os.WriteFile(file, []byte("  a2V5\n"), 0o600)
	if key, err := (Settings{SigningKeyFile: config.Path(file)}).signingKey(context.Background(), cfg, slog.New(slog.DiscardHandler)); err != nil || key != "a2V5" {
		t.Fatalf("file key %q, %v", key, err)
	}
}
