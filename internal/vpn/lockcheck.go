package vpn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/lockgate/lockgate/lockclient"
)

// client builds the lock-check client. Its attempts are bounded by the
// handler's deadline (the context), so one slow answer cannot outlast it.
func (l LockCheck) client(ctx context.Context, log *slog.Logger) (*lockclient.Client, error) {
	secret, err := l.signingKey(ctx, log)
	if err != nil {
		return nil, err
	}
	key, err := lockclient.DecodeKey(secret)
	if err != nil {
		return nil, err
	}
	return lockclient.New(lockclient.Config{APIURI: l.APIURI, Path: l.APIPath, Issuer: l.AppURI, SigningKey: key, Timeout: 3 * time.Second, Retries: 1})
}

// signingKey reads the application's key from where the section says.
func (l LockCheck) signingKey(ctx context.Context, log *slog.Logger) (string, error) {
	switch {
	case l.SigningKeyFile != "":
		data, err := os.ReadFile(string(l.SigningKeyFile))
		if err != nil {
			return "", fmt.Errorf("signing_key_file: %w", err)
		}
		return strings.TrimSpace(string(data)), nil
	case l.SigningKeySecretARN != "":
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return "", err
		}
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &l.SigningKeySecretARN})
		if err != nil {
			return "", fmt.Errorf("signing_key_secret_arn: %w", err)
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
	log.Warn("vpn: the lock-check signing key comes from the LOCKGATE_VPN_SIGNING_KEY environment variable; keep it in a file or AWS Secrets Manager instead")
	return l.SigningKey, nil
}
