package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/authz/dynamo"
	"github.com/lockgate/lockgate/internal/geo"
)

// withAuthorizer adds the API Gateway Lambda authorizer to the lambda
// command.
func withAuthorizer(lambdaCmd *cobra.Command) *cobra.Command {
	lambdaCmd.AddCommand(newLambdaAuthorizer())
	return lambdaCmd
}

// bootstrapArgs picks the Lambda mode of a provided.al2023 bootstrap:
// the function's Handler setting ("authorizer", "vpn-connect",
// "iam-responder") when it names one, else a function named
// AWSClientVPN-… (Client VPN requires that prefix) runs the VPN connect
// handler, and any other the IAM responder.
func bootstrapArgs() []string {
	switch h := os.Getenv("_HANDLER"); h {
	case "authorizer", "vpn-connect", "iam-responder":
		return []string{"lambda", h}
	}
	if strings.HasPrefix(os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), vpnFunctionPrefix) {
		return []string{"lambda", "vpn-connect"}
	}
	return []string{"lambda", "iam-responder"}
}

// authorizerFromEnv builds the authorizer as the function does: the
// LOCKGATE_AUTHZ_* variables, the DynamoDB table through the AWS SDK's
// configuration.
func authorizerFromEnv(ctx context.Context, log *slog.Logger) (*authz.Authorizer, bool, error) {
	lc, err := authz.LambdaConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, false, err
	}
	section, err := lc.Section()
	if err != nil {
		return nil, false, err
	}
	svc, probs := authz.Provision(section, authz.Options{Logger: log, Country: geo.Country})
	if len(probs) > 0 {
		return nil, false, fmt.Errorf("the LOCKGATE_AUTHZ_* configuration:\n%w", probs)
	}
	if svc.Source() == "dynamodb" {
		d, err := dynamo.Open(ctx, lc.Groups.DynamoDB)
		if err != nil {
			return nil, false, err
		}
		svc.SetStore(d)
	}
	a := svc.LambdaAuthorizer()
	a.SetContextClaims(lc.ContextClaims)
	return a, lc.Response == "simple", nil
}

func newLambdaAuthorizer() *cobra.Command {
	c := &cobra.Command{
		Use:   "authorizer",
		Short: "The API Gateway Lambda authorizer: JWT groups → IAM policies (also runs as a provided.al2023 bootstrap with Handler: authorizer)",
		Long: `Verify the caller's JWT (Cognito user pool or OIDC issuer) and answer API Gateway
with the IAM policies of the user's groups: for REST APIs (TOKEN and REQUEST
authorizers) and HTTP APIs (payload 2.0) a policy document holding the groups'
statements over the API's ARNs — the same for every method, so API Gateway's
authorizer cache stays right — or, with LOCKGATE_AUTHZ_RESPONSE=simple, an HTTP
API simple response decided here (turn the authorizer cache off for it).
A token that does not verify answers "Unauthorized" (401).

Configured by the environment:

  LOCKGATE_AUTHZ_USER_POOL_ID      Cognito user pool (region: LOCKGATE_AUTHZ_COGNITO_REGION or AWS_REGION)
  LOCKGATE_AUTHZ_OIDC_ISSUER       or an OpenID Connect issuer URL
  LOCKGATE_AUTHZ_ALGORITHMS        signing algorithms (RS256 for Cognito; RS256, ES256, EdDSA)
  LOCKGATE_AUTHZ_CLIENT_IDS        accepted app clients (client_id / aud), comma-separated
  LOCKGATE_AUTHZ_TOKEN_USE         access (default) or id, for Cognito
  LOCKGATE_AUTHZ_USERNAME_CLAIM    the claim naming the user
  LOCKGATE_AUTHZ_JWKS_URL          fetch keys here instead; LOCKGATE_AUTHZ_JWKS_FILE: read them from a file
  LOCKGATE_AUTHZ_GROUPS_CLAIM      groups claim (default cognito:groups)
  LOCKGATE_AUTHZ_GROUPS_SOURCE     dynamodb (default) or file
  LOCKGATE_AUTHZ_DYNAMODB_TABLE    the table: partition key "group", attribute "policy"
  LOCKGATE_AUTHZ_GROUPS_FILE       or a YAML/JSON file of group: policy
  LOCKGATE_AUTHZ_CONTEXT_CLAIMS    claims passed on in context (besides principalId, username, groups)
  LOCKGATE_AUTHZ_RESPONSE          iam (default) or simple (HTTP API simple responses)

AWS access uses the SDK's standard configuration (region, credentials,
AWS_ENDPOINT_URL_DYNAMODB).`,
		Example: `  lockgate lambda authorizer --event token-event.json
  LOCKGATE_AUTHZ_GROUPS_SOURCE=file LOCKGATE_AUTHZ_GROUPS_FILE=groups.yaml lockgate lambda authorizer --event event.json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			event := str(c, "event")
			log := lambdaLogger()
			if event != "" {
				log = slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			}
			a, simple, err := authorizerFromEnv(context.Background(), log)
			if err != nil {
				return err
			}
			handler := func(ctx context.Context, raw json.RawMessage) (any, error) {
				var ev authz.LambdaEvent
				if err := json.Unmarshal(raw, &ev); err != nil {
					return nil, fmt.Errorf("not an API Gateway authorizer event: %w", err)
				}
				return a.Lambda(ctx, ev, simple)
			}
			if event == "" {
				lambda.Start(handler)
				return nil
			}
			return runEventOnce(c, event, handler)
		},
	}
	c.Flags().String("event", "", "run once on the API Gateway event in FILE and print the answer (as Lambda would return it)")
	return c
}

// runEventOnce answers one event from a file: the response, or the
// error as the Lambda runtime reports it ({"errorMessage": …}, exit 1).
func runEventOnce(c *cobra.Command, file string, handler func(context.Context, json.RawMessage) (any, error)) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out, herr := handler(c.Context(), data)
	var v any = out
	if herr != nil {
		v = map[string]string{"errorMessage": herr.Error()}
	}
	enc := json.NewEncoder(c.OutOrStdout())
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	if herr != nil {
		return exitError{exitFailure}
	}
	return nil
}
