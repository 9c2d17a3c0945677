package awsiam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/eventpattern"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/lockclient"
)

// Settings configure a responder: the iam_responder section of the
// config file, or LOCKGATE_* variables for the Lambda function.
type Settings struct {
	Enabled bool `yaml:"enabled" env:"LOCKGATE_IAM_RESPONDER"`
	// AppURI is the application's issuer URI (the token's iss).
	AppURI string `yaml:"app_uri" env:"LOCKGATE_APP_URI"`
	// APIURI is the lock service's URI (the token's aud) and APIPath the
	// lock-check path on it.
	APIURI  string `yaml:"api_uri" env:"LOCKGATE_API_URI"`
	APIPath string `yaml:"api_path" env:"LOCKGATE_API_PATH"`
	// The signing key: a file holding it, or a Secrets Manager secret
	// (its string, or its "signing_key" field when it is JSON). A plain
	// environment variable (LOCKGATE_SIGNING_KEY) works with a warning.
	SigningKeyFile      config.Path `yaml:"signing_key_file" env:"LOCKGATE_SIGNING_KEY_FILE"`
	SigningKeySecretARN string      `yaml:"signing_key_secret_arn" env:"LOCKGATE_SIGNING_KEY_SECRET_ARN"`
	SigningKey          string      `yaml:"-" env:"LOCKGATE_SIGNING_KEY"`
	DenyPolicyARN       string      `yaml:"deny_policy_arn" env:"LOCKGATE_DENY_POLICY_ARN"`
	OnError             string      `yaml:"on_error" env:"LOCKGATE_ON_ERROR"`
	DeleteLoginProfile  bool        `yaml:"delete_login_profile" env:"LOCKGATE_DELETE_LOGIN_PROFILE"`
	FallbackReactivate  bool        `yaml:"fallback_reactivate" env:"LOCKGATE_FALLBACK_REACTIVATE"`
	// EventPattern replaces the default EventBridge pattern (JSON).
	EventPattern string `yaml:"event_pattern" env:"LOCKGATE_EVENT_PATTERN"`
	// EventsSecret authenticates POST /events/aws-signin (EventBridge API
	// destinations send it in EventsSecretHeader).
	EventsSecret       string `yaml:"events_secret" env:"LOCKGATE_EVENTS_SECRET"`
	EventsSecretHeader string `yaml:"events_secret_header" env:"LOCKGATE_EVENTS_SECRET_HEADER"`
	// WebhookSecret verifies the lock service's lock.changed pushes to
	// POST /events/lock-changed.
	WebhookSecret string `yaml:"webhook_secret" env:"LOCKGATE_WEBHOOK_SECRET"`
	// Report posts every outcome back to the lock service's account
	// history.
	Report bool `yaml:"report" env:"LOCKGATE_REPORT"`
}

// SettingsFromEnv reads the Lambda function's environment: the same
// variables, through the same loader, as the iam_responder section of
// lockgate serve. A value that cannot be read (LOCKGATE_REPORT=maybe) is
// an error, never a silent default.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{Enabled: true}
	_, err := config.Load("", getenv, &s)
	return s, err
}

// Validate lists what is wrong, with the setting names.
func (s Settings) Validate() error {
	var errs []error
	if s.AppURI == "" {
		errs = append(errs, errors.New("app_uri (LOCKGATE_APP_URI): required, the application's issuer URI"))
	}
	if s.APIURI == "" {
		errs = append(errs, errors.New("api_uri (LOCKGATE_API_URI): required, the lock service's URI"))
	}
	if s.SigningKeyFile == "" && s.SigningKeySecretARN == "" && s.SigningKey == "" {
		errs = append(errs, errors.New("signing_key_file or signing_key_secret_arn (LOCKGATE_SIGNING_KEY_FILE, LOCKGATE_SIGNING_KEY_SECRET_ARN): required"))
	}
	if s.OnError != "" && s.OnError != "lock" && s.OnError != "keep" {
		errs = append(errs, fmt.Errorf("on_error: %q is not lock or keep", s.OnError))
	}
	if s.EventPattern != "" {
		if _, err := eventpattern.Compile([]byte(s.EventPattern)); err != nil {
			errs = append(errs, fmt.Errorf("event_pattern: %w", err))
		}
	}
	return errors.Join(errs...)
}

// signingKey loads the key from its configured source.
func (s Settings) signingKey(ctx context.Context, cfg aws.Config, log *slog.Logger) (string, error) {
	switch {
	case s.SigningKeyFile != "":
		data, err := os.ReadFile(string(s.SigningKeyFile))
		if err != nil {
			return "", fmt.Errorf("signing_key_file: %w", err)
		}
		return strings.TrimSpace(string(data)), nil
	case s.SigningKeySecretARN != "":
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.SigningKeySecretARN})
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
	log.Warn("awsiam: the signing key comes from the LOCKGATE_SIGNING_KEY environment variable; keep it in a file or AWS Secrets Manager instead")
	return s.SigningKey, nil
}

// AWSConfig loads the AWS SDK's standard configuration: region,
// credential chain, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_IAM. IAM is a
// global service; with no region set, us-east-1 is used.
func AWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// New builds a responder from settings.
func New(ctx context.Context, s Settings, cfg aws.Config, log *slog.Logger) (*Responder, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	secret, err := s.signingKey(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	key, err := lockclient.DecodeKey(secret)
	if err != nil {
		return nil, err
	}
	client, err := lockclient.New(lockclient.Config{APIURI: s.APIURI, Path: s.APIPath, Issuer: s.AppURI, SigningKey: key, Timeout: 5 * time.Second, Retries: 3})
	if err != nil {
		return nil, err
	}
	r := &Responder{
		IAM:     iam.NewFromConfig(cfg),
		Checker: client,
		Config: Config{
			DenyPolicyARN:      s.DenyPolicyARN,
			OnError:            s.OnError,
			DeleteLoginProfile: s.DeleteLoginProfile,
			FallbackReactivate: s.FallbackReactivate,
		},
		Country: geo.Country,
		Log:     log,
	}
	if s.EventPattern != "" {
		r.Pattern, _ = eventpattern.Compile([]byte(s.EventPattern))
	}
	if s.Report {
		r.Report = func(ctx context.Context, o Outcome) {
			if err := client.Report(ctx, o.Target.subject(), "aws-iam-responder", o); err != nil {
				log.Warn("awsiam: posting the outcome to the lock service failed", "err", err)
			}
		}
	}
	return r, nil
}

// subject is the lock-service user name of a target.
func (t Target) subject() string {
	if t.User != "" {
		return t.User
	}
	return t.SessionName
}
