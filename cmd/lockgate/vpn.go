package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/vpn"
	"github.com/lockgate/lockgate/internal/webacl"
)

// vpnFunctionPrefix starts the name of every Client VPN connect handler:
// "The name of the Lambda function must begin with the AWSClientVPN-
// prefix."
const vpnFunctionPrefix = "AWSClientVPN-"

// vpnHandlerFromEnv builds the handler as the Lambda function does:
// LOCKGATE_* variables (and the file LOCKGATE_CONFIG names) through the
// configuration loader.
func vpnHandlerFromEnv(ctx context.Context, log *slog.Logger) (*vpn.Handler, error) {
	s, err := vpn.SettingsFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	db, err := geo.Open(s.Geo, log)
	if err != nil {
		return nil, fmt.Errorf("geo: %w", err)
	}
	set, probs := webacl.Provision(s.WAF, db)
	if len(probs) > 0 {
		return nil, fmt.Errorf("waf: %w", probs.Err())
	}
	h, probs := vpn.Provision(s.VPN, vpn.Options{Geo: db, WAF: set, Logger: log})
	if len(probs) > 0 {
		return nil, fmt.Errorf("vpn: %w", probs.Err())
	}
	if err := h.Open(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

func newLambdaVPNConnect() *cobra.Command {
	c := &cobra.Command{
		Use:   "vpn-connect",
		Short: "The AWS Client VPN client connect handler as a Lambda function (also runs as a provided.al2023 bootstrap named AWSClientVPN-…)",
		Long: `Answer Client VPN's client connect requests (schema v1, v2 and v3, in the
version asked): allow a connection from the allowed countries or regions, or
through a web ACL, optionally after a lock check of the VPN username; deny on
any error or past the deadline. Configured by the environment:

  LOCKGATE_VPN_ALLOWED_COUNTRIES      ISO 3166-1 alpha-2 codes: US,CA
  LOCKGATE_VPN_ALLOWED_REGIONS        ISO 3166-2 codes: US-CA,CA-QC
  LOCKGATE_VPN_WEB_ACL_FILE           a web ACL (AWS WAF JSON) in the bundle
  LOCKGATE_VPN_CHECK_LOCK             true to ask the lock service
  LOCKGATE_VPN_APP_URI                the application's issuer URI (token iss)
  LOCKGATE_VPN_API_URI                the lock service's URI (token aud)
  LOCKGATE_VPN_SIGNING_KEY_SECRET_ARN Secrets Manager secret holding the key
  LOCKGATE_VPN_SIGNING_KEY_FILE       or a file holding it
  LOCKGATE_VPN_DEADLINE               deny past this (default 10s, at most 25s)
  LOCKGATE_VPN_DENIED_MESSAGE         shown to denied users (255 characters)
  LOCKGATE_GEO_DATABASE_FILE          a MaxMind-format database in the bundle
  LOCKGATE_CONFIG                     a configuration file in the bundle (vpn,
                                      geo and waf sections: endpoint policies,
                                      the IP sets a web ACL names)

With --event FILE (- for standard input) the handler runs once on that JSON
event, prints its response as Lambda would return it, and exits: 0 when the
connection is allowed, 3 when it is denied.`,
		Example: `  LOCKGATE_VPN_ALLOWED_COUNTRIES=US,CA lockgate lambda vpn-connect --event connect.json`,
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			event, _ := c.Flags().GetString("event")
			if event == "" {
				log := lambdaLogger()
				h, err := vpnHandlerFromEnv(context.Background(), log)
				if err != nil {
					return err
				}
				lambda.Start(h.LambdaHandler())
				return nil
			}
			var data []byte
			var err error
			if event == "-" {
				data, err = io.ReadAll(c.InOrStdin())
			} else {
				data, err = os.ReadFile(event)
			}
			if err != nil {
				return err
			}
			h, err := vpnHandlerFromEnv(c.Context(), slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil)))
			if err != nil {
				return err
			}
			o := h.HandleEvent(c.Context(), data)
			out, err := json.Marshal(o.Response)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s\n", out)
			if !o.Response.Allow {
				return exitError{exitDenied}
			}
			return nil
		},
	}
	c.Flags().String("event", "", "run once on the JSON event in FILE (- for standard input) and print the response")
	return c
}
