package awsiam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/lockgate/lockgate/internal/appkey"
	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/eventpattern"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/lockclient"
	"github.com/lockgate/lockgate/problem"
)

// Settings configure a responder: the iam_responder section of the
// config file, or the LOCKGATE_* variables named in the env tags (the
// Lambda function's whole configuration).
type Settings struct {
	Enabled bool `yaml:"enabled" env:"LOCKGATE_IAM_RESPONDER"`
	// AppURI is the application's issuer URI (the token's iss).
	AppURI string `yaml:"app_uri" env:"LOCKGATE_APP_URI"`
	// APIURI is the lock service's URI (the token's aud): it must be one
	// of that lockgate's public URLs exactly. APIPath is the lock-check
	// path on it (lockclient.DefaultPath when empty).
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
	// IAMCallTimeout bounds each IAM call, its retries included
	// (DefaultCallTimeout when zero); EventDeadline bounds one event or
	// change, lock check included (DefaultDeadline when zero), and ends
	// early enough before a Lambda function's timeout.
	IAMCallTimeout config.Duration `yaml:"iam_call_timeout" env:"LOCKGATE_IAM_CALL_TIMEOUT"`
	EventDeadline  config.Duration `yaml:"event_deadline" env:"LOCKGATE_EVENT_DEADLINE"`
	// EventsSecret authenticates POST /events/aws-signin (EventBridge API
	// destinations send it in EventsSecretHeader). lockgate serve only.
	EventsSecret       string `yaml:"events_secret" env:"LOCKGATE_EVENTS_SECRET"`
	EventsSecretHeader string `yaml:"events_secret_header" env:"LOCKGATE_EVENTS_SECRET_HEADER"`
	// WebhookSecret verifies the lock service's lock.changed pushes to
	// POST /events/lock-changed. lockgate serve only.
	WebhookSecret string `yaml:"webhook_secret" env:"LOCKGATE_WEBHOOK_SECRET"`
	// Report posts every outcome back to the lock service's account
	// history.
	Report bool `yaml:"report" env:"LOCKGATE_REPORT"`
}

// DefaultEventsHeader carries the events secret.
const DefaultEventsHeader = "X-Lockgate-Events-Secret"

// SettingsFromEnv reads the Lambda function's environment: the same
// variables, through the same loader, as the iam_responder section of
// lockgate serve. A value that cannot be read (LOCKGATE_REPORT=maybe) is
// an error, never a silent default.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{Enabled: true}
	_, err := config.Load("", getenv, &s)
	return s, err
}

// Validate lists what is wrong, each at its setting's name, with the
// variable that sets it.
func (s Settings) Validate() error {
	var probs problem.List
	if s.AppURI == "" {
		probs.Add("app_uri", "required (LOCKGATE_APP_URI): the application's issuer URI")
	}
	if s.APIURI == "" {
		probs.Add("api_uri", "required (LOCKGATE_API_URI): the lock service's URI, one of its public URLs")
	} else if u, err := url.Parse(s.APIURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		probs.Addf("api_uri", "%q is not an http(s) URL (LOCKGATE_API_URI)", s.APIURI)
	}
	if s.APIPath != "" && !strings.HasPrefix(s.APIPath, "/") {
		probs.Addf("api_path", "%q must begin with / (LOCKGATE_API_PATH)", s.APIPath)
	}
	switch {
	case s.SigningKeyFile == "" && s.SigningKeySecretARN == "" && s.SigningKey == "":
		probs.Add("signing_key_file", "signing_key_file or signing_key_secret_arn is required (LOCKGATE_SIGNING_KEY_FILE, LOCKGATE_SIGNING_KEY_SECRET_ARN)")
	case s.SigningKeyFile != "" && s.SigningKeySecretARN != "":
		probs.Add("signing_key_secret_arn", "set signing_key_file or signing_key_secret_arn, not both")
	}
	if s.OnError != "" && s.OnError != "lock" && s.OnError != "keep" {
		probs.Addf("on_error", "%q is not lock or keep (LOCKGATE_ON_ERROR)", s.OnError)
	}
	if s.EventPattern != "" {
		if _, err := eventpattern.Compile([]byte(s.EventPattern)); err != nil {
			probs.Addf("event_pattern", "%v (LOCKGATE_EVENT_PATTERN)", err)
		}
	}
	if s.IAMCallTimeout < 0 {
		probs.Add("iam_call_timeout", "must not be negative (LOCKGATE_IAM_CALL_TIMEOUT)")
	}
	if s.EventDeadline < 0 {
		probs.Add("event_deadline", "must not be negative (LOCKGATE_EVENT_DEADLINE)")
	}
	if call, dl := or(s.IAMCallTimeout.Std(), DefaultCallTimeout), or(s.EventDeadline.Std(), DefaultDeadline); call >= dl {
		probs.Addf("iam_call_timeout", "%s is not shorter than event_deadline %s", call, dl)
	}
	if h := s.EventsSecretHeader; h != "" && !config.IsHeaderName(h) {
		probs.Addf("events_secret_header", "%q is not an HTTP header name", h)
	}
	return probs.Err()
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// CheckAPIURI enforces, where it can be known, the rule that keeps lock
// checks from being refused: the lock service accepts a token only when
// its aud — the responder's api_uri — is exactly one of that lockgate's
// public URLs (public_urls, LOCKGATE_PUBLIC_URL). Otherwise every check
// is answered 401, and with on_error lock everyone is locked. In
// lockgate serve the public URLs are known: an api_uri on the same
// scheme, host and port as one of them names this lockgate and must
// equal one. An api_uri on another host is asked at start instead (New).
func CheckAPIURI(apiURI string, publicURLs []string) error {
	u, err := url.Parse(apiURI)
	if err != nil {
		return err
	}
	same := false
	for _, p := range publicURLs {
		if p == apiURI {
			return nil
		}
		if pu, err := url.Parse(p); err == nil && sameServer(pu, u) {
			same = true
		}
	}
	if same {
		return fmt.Errorf("%q names this lockgate but is not one of its public URLs %q: every lock check would be refused (401). Set api_uri to one of them exactly, or add it to public_urls (LOCKGATE_PUBLIC_URL)", apiURI, publicURLs)
	}
	return nil
}

// sameServer reports whether a and b reach one server: the same host
// and port, a loopback name (localhost, 127.0.0.0/8, ::1) being one host,
// whatever the scheme (rechk9: api_uri http://localhost:P or https://
// against a public URL http://127.0.0.1:P passed, and every check was
// refused).
func sameServer(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	loopback := func(h string) bool {
		if strings.EqualFold(strings.TrimSuffix(h, "."), "localhost") {
			return true
		}
		ip, err := netip.ParseAddr(h)
		return err == nil && ip.Unmap().IsLoopback()
	}
	ha, hb := a.Hostname(), b.Hostname()
	if port(a) != port(b) {
		return false
	}
	return strings.EqualFold(ha, hb) || loopback(ha) && loopback(hb)
}

// KeySource is where the signing key is kept.
func (s Settings) KeySource() appkey.Source {
	return appkey.Source{
		File: string(s.SigningKeyFile), SecretARN: s.SigningKeySecretARN, Plain: s.SigningKey,
		FileName: "signing_key_file", SecretName: "signing_key_secret_arn", PlainName: "LOCKGATE_SIGNING_KEY",
	}
}

// signingKey loads the key from its configured source.
func (s Settings) signingKey(ctx context.Context, cfg aws.Config, log *slog.Logger) (string, error) {
	if log != nil {
		log = log.With("component", "awsiam")
	}
	src := s.KeySource()
	src.AWS = &cfg
	return appkey.Load(ctx, src, log)
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

// Options are what a responder built inside lockgate knows beyond its
// settings.
type Options struct {
	// Local, when set, is the lock service's own HTTP API in this
	// process, which api_uri names: the start probe is answered by it
	// rather than through the network, because lockgate serve builds the
	// responder before its listener serves (the probe would wait for
	// itself, time out and start a responder every check refuses).
	Local http.Handler
}

// New builds a responder from settings. It asks the lock service once
// whether it accepts the responder's tokens, and refuses to start when
// it answers 401: every check would then fail.
func New(ctx context.Context, s Settings, cfg aws.Config, log *slog.Logger, opts Options) (*Responder, error) {
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
	cc := lockclient.Config{APIURI: s.APIURI, Path: s.APIPath, Issuer: s.AppURI, SigningKey: key, Timeout: 5 * time.Second, Retries: 2}
	client, err := lockclient.New(cc)
	if err != nil {
		return nil, err
	}
	prober := client
	if opts.Local != nil {
		cc.HTTPClient = &http.Client{Transport: localTransport{opts.Local}}
		if prober, err = lockclient.New(cc); err != nil {
			return nil, err
		}
	}
	if err := probe(ctx, prober, s, log); err != nil {
		return nil, err
	}
	r := &Responder{
		IAM:     NewIAMClient(cfg, s.IAMCallTimeout.Std()),
		Checker: client,
		Config: Config{
			DenyPolicyARN:      s.DenyPolicyARN,
			OnError:            s.OnError,
			DeleteLoginProfile: s.DeleteLoginProfile,
			FallbackReactivate: s.FallbackReactivate,
			Deadline:           s.EventDeadline.Std(),
		},
		Sessions: LockServiceBook{Client: client},
		Ledger:   LockServiceBook{Client: client},
		Country:  geo.Country,
		Log:      log,
	}
	if s.EventPattern != "" {
		r.Pattern, _ = eventpattern.Compile([]byte(s.EventPattern))
	}
	if s.Report {
		r.Report = func(ctx context.Context, o Outcome) {
			if err := client.Report(ctx, o.Target.subject(), Source, o); err != nil {
				log.Warn("awsiam: posting the outcome to the lock service failed", "err", err)
			}
		}
	}
	return r, nil
}

// probe reads the lock service with a signed token: a 401 means the
// service refuses the responder's tokens (api_uri not one of its public
// URLs, app_uri not the application's issuer, or another key).
func probe(ctx context.Context, c *lockclient.Client, s Settings, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := c.Events(ctx, "lockgate-start-check", SourceRoleSession, 1)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, lockclient.ErrUnauthorized):
		return fmt.Errorf("api_uri %s: the lock service refuses tokens signed for it (401), so every lock check would fail: lockgate's LOCKGATE_PUBLIC_URL (public_urls) must include %s exactly, app_uri %s must be one of the application's issuers, and the signing key the application's", s.APIURI, s.APIURI, s.AppURI)
	}
	log.Warn("awsiam: could not ask the lock service at start whether it accepts the responder's tokens", "api_uri", s.APIURI, "err", err)
	return nil
}
