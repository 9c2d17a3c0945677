// Package appkey reads an application's signing key (the HS256 key an
// integration signs lock-check tokens with) from where a deployment keeps
// it: a file, an AWS Secrets Manager secret, or (with a warning) the
// environment. The Lambda functions and lockgate serve's AWS-facing
// components share it.
package appkey

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/lockgate/lockgate/lockclient"
)

// Source says where the key is; the first one set wins.
type Source struct {
	File      string // a file holding the base64 key
	SecretARN string // a secret holding it, or JSON with a "signing_key" field
	Plain     string // the key itself (from the environment: warned about)
	// Names are the settings' names, for messages ("signing_key_file").
	FileName, SecretName, PlainName string
	// AWS is the SDK configuration for Secrets Manager; the SDK's
	// standard configuration (region, credentials, AWS_ENDPOINT_URL) when
	// nil.
	AWS *aws.Config
}

// Load reads the key.
func Load(ctx context.Context, s Source, log *slog.Logger) (string, error) {
	switch {
	case s.File != "":
		key, err := readFile(s.File)
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.FileName, err)
		}
		return key, nil
	case s.SecretARN != "":
		var cfg aws.Config
		if s.AWS != nil {
			cfg = *s.AWS
		} else {
			var err error
			if cfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
				return "", fmt.Errorf("%s: AWS configuration: %w", s.SecretName, err)
			}
		}
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.SecretARN})
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.SecretName, err)
		}
		v := strings.TrimSpace(aws.ToString(out.SecretString))
		var j struct {
			SigningKey string `json:"signing_key"`
		}
		if json.Unmarshal([]byte(v), &j) == nil && j.SigningKey != "" {
			v = j.SigningKey
		}
		return v, nil
	}
	if log != nil {
		log.Warn("the signing key comes from the " + s.PlainName + " environment variable; keep it in a file or AWS Secrets Manager instead")
	}
	return s.Plain, nil
}

func readFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// Check reads a key kept in a file or given in plain as Load does and
// checks it as the lock-check client takes it (CheckKey), so that a
// configuration check finds what the start would. A key in Secrets
// Manager is not fetched: a check makes no AWS call. The error names the
// file, or PlainName.
func Check(s Source) error {
	switch {
	case s.File != "":
		key, err := readFile(s.File)
		if err != nil {
			return err
		}
		if msg := CheckKey(key); msg != "" {
			return fmt.Errorf("%s: %s", s.File, msg)
		}
	case s.SecretARN == "" && s.Plain != "":
		if msg := CheckKey(s.Plain); msg != "" {
			return fmt.Errorf("%s: %s", s.PlainName, msg)
		}
	}
	return nil
}

// CheckKey says what is wrong with a signing key as Load returns it
// (lockclient decodes the base64 and wants 128 bits), or "" when fine.
func CheckKey(text string) string {
	key, err := lockclient.DecodeKey(strings.TrimSpace(text))
	switch {
	case err != nil:
		return "not a base64 signing key (the secret lockgate app create or app rotate-key shows)"
	case len(key) < 16:
		return fmt.Sprintf("holds a %d-byte key: at least 16 bytes (128 bits) are required; use the application's signing key as lockgate shows it", len(key))
	}
	return ""
}
