package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/awsiam"
)

// lambdaLogger logs JSON to stderr, which Lambda sends to CloudWatch.
func lambdaLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// responderFromEnv builds the responder as the Lambda function and
// replay do: LOCKGATE_* variables and the AWS SDK's configuration.
func responderFromEnv(ctx context.Context, log *slog.Logger) (*awsiam.Responder, error) {
	awsCfg, err := awsiam.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	settings, err := awsiam.SettingsFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return awsiam.New(ctx, settings, awsCfg, log, awsiam.Options{})
}

// lambdaHandler is what Lambda invokes with each EventBridge event.
// Returning an error makes Lambda retry the event; handling is idempotent.
func lambdaHandler(r *awsiam.Responder) func(context.Context, json.RawMessage) (awsiam.Outcome, error) {
	return func(ctx context.Context, ev json.RawMessage) (awsiam.Outcome, error) {
		return r.HandleEvent(ctx, ev)
	}
}

// runLambda serves the Lambda runtime API.
func runLambda() error {
	log := lambdaLogger()
	r, err := responderFromEnv(context.Background(), log)
	if err != nil {
		return err
	}
	lambda.Start(lambdaHandler(r))
	return nil
}

// isLambdaBootstrap reports whether this binary runs as the bootstrap of
// a provided.al2023 function.
func isLambdaBootstrap(args []string) bool {
	return len(args) == 0 && filepath.Base(os.Args[0]) == "bootstrap" && os.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
}

// lambdaHelp is the function's whole configuration; every variable of
// awsiam.Settings is here (TestLambdaHelpNamesEveryVariable).
const lambdaHelp = `Handle EventBridge "AWS Console Sign In via CloudTrail" events: ask the lock service
and lock or restore the IAM user or role session. Configured by the environment:

  LOCKGATE_APP_URI                 the application's issuer URI (token iss)
  LOCKGATE_API_URI                 the lock service's URI (token aud): exactly one of that
                                   lockgate's public URLs (its LOCKGATE_PUBLIC_URL), or every
                                   check is refused; checked at start
  LOCKGATE_API_PATH                the lock-check path on it (default /api/v1/lock-check)
  LOCKGATE_SIGNING_KEY_SECRET_ARN  Secrets Manager secret holding the signing key
  LOCKGATE_SIGNING_KEY_FILE        or a file holding it
  LOCKGATE_SIGNING_KEY             or the key itself (works, with a warning: prefer the above)
  LOCKGATE_DENY_POLICY_ARN         managed deny-all policy to attach (inline when none or the
                                   user's managed-policy quota is full)
  LOCKGATE_ON_ERROR                lock (default) or keep, when the check fails; never unlocks
  LOCKGATE_DELETE_LOGIN_PROFILE    true to remove console passwords on lock (default false)
  LOCKGATE_FALLBACK_REACTIVATE     true to restore users another tool denied (default false)
  LOCKGATE_EVENT_PATTERN           EventBridge pattern (JSON) replacing the default
  LOCKGATE_IAM_CALL_TIMEOUT        bound on each IAM call, retries included (default 3s)
  LOCKGATE_EVENT_DEADLINE          bound on one event, lock check included (default 25s;
                                   in Lambda it also ends 4s before the function's timeout)
  LOCKGATE_REPORT                  true to post outcomes to the account history (default false)

In lockgate serve only (the iam_responder section; see docs/configuration.md):

  LOCKGATE_IAM_RESPONDER           true to serve /events/aws-signin and /events/lock-changed
  LOCKGATE_EVENTS_SECRET           authenticates POST /events/aws-signin
  LOCKGATE_EVENTS_SECRET_HEADER    the header carrying it (default X-Lockgate-Events-Secret)
  LOCKGATE_WEBHOOK_SECRET          verifies the lock.changed pushes to POST /events/lock-changed

A true/false or duration variable that cannot be read stops the start with an error.
AWS access uses the SDK's standard configuration (region, credentials,
AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_IAM).

With --event FILE the handler runs once on the JSON event in FILE and prints its
response (or Lambda's error payload, exit 1), as 'sam local invoke' would.`

func newLambda() *cobra.Command {
	c := &cobra.Command{Use: "lambda", Short: "Run as an AWS Lambda function"}
	var event string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "iam-responder",
		Example: `  lockgate lambda iam-responder --event signin-failure.json`,
		Short:   "The AWS IAM lockout responder as a Lambda function (also runs as a provided.al2023 bootstrap)",
		Long:    lambdaHelp,
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if event == "" {
				return runLambda()
			}
			r, err := responderFromEnv(c.Context(), lambdaLogger())
			if err != nil {
				return err
			}
			return invokeOnce(c.Context(), r, event, timeout, c.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&event, "event", "", "run the handler once on the JSON event in this file and print its response")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "with --event, the function timeout to run under (the template's is 30s)")
	c.AddCommand(cmd)
	return c
}

// invokeOnce runs the handler on one event, through aws-lambda-go's
// handler path, under a deadline as the function's timeout gives, and
// prints what Lambda would return.
func invokeOnce(ctx context.Context, r *awsiam.Responder, file string, timeout time.Duration, w io.Writer) error {
	payload, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := lambda.NewHandler(lambdaHandler(r)).Invoke(ctx, payload)
	if err != nil {
		typ := reflect.TypeOf(err)
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error(), "errorType": typ.Name()})
		return exitError{exitFailure}
	}
	fmt.Fprintf(w, "%s\n", resp)
	return nil
}

func newIAMResponder() *cobra.Command {
	c := &cobra.Command{Use: "iam-responder", Short: "The AWS IAM lockout responder"}
	c.AddCommand(&cobra.Command{
		Use:     "replay FILE...",
		Example: `  lockgate iam-responder replay dlq-messages.jsonl`,
		Short:   "Handle the sign-in events in files (one JSON event per file, or JSON lines), printing each outcome",
		Long: `Handle sign-in events from files, as the Lambda function would, with the same
LOCKGATE_* environment (see 'lockgate lambda iam-responder --help'). Each outcome
is printed as a JSON line. Exit 1 if any event failed.

The messages of the function's dead-letter queue replay as they are: Lambda's
invocation records (the event in requestPayload) and EventBridge's (the event).`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("iam-responder replay takes one or more files")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil))
			r, err := responderFromEnv(c.Context(), log)
			if err != nil {
				return err
			}
			failed := false
			enc := json.NewEncoder(c.OutOrStdout())
			for _, f := range args {
				events, err := readEvents(f)
				if err != nil {
					return err
				}
				for _, ev := range events {
					out, err := r.HandleEvent(c.Context(), unwrapRecord(ev))
					if err != nil {
						failed = true
					}
					enc.Encode(out)
				}
			}
			if failed {
				return exitError{exitFailure}
			}
			return nil
		},
	})
	return c
}

// readEvents reads one JSON value, a JSON array of events, or JSON lines.
func readEvents(path string) ([]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return list, nil
	}
	var out []json.RawMessage
	dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		var v json.RawMessage
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: event %d: %w", path, n, err)
		}
		out = append(out, v)
	}
}

// unwrapRecord takes the event out of a Lambda invocation record (what
// the function's on-failure destination keeps: the event in
// requestPayload); anything else is the event itself.
func unwrapRecord(ev json.RawMessage) json.RawMessage {
	var rec struct {
		RequestContext  json.RawMessage `json:"requestContext"`
		RequestPayload  json.RawMessage `json:"requestPayload"`
		ResponseContext json.RawMessage `json:"responseContext"`
	}
	if json.Unmarshal(ev, &rec) == nil && len(rec.RequestContext) > 0 && len(rec.RequestPayload) > 0 && len(rec.ResponseContext) > 0 {
		return rec.RequestPayload
	}
	return ev
}
