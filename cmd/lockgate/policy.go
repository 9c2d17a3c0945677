package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/iampolicy"
)

func newPolicy() *cobra.Command {
	c := &cobra.Command{Use: "policy", Short: "Validate and evaluate AWS IAM policies"}
	c.AddCommand(newPolicyValidate(), newPolicyEval())
	return c
}

func newPolicyValidate() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Print every problem in IAM policy documents (exit 1 if any)",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("policy validate takes one or more files")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			bad := false
			for _, f := range args {
				data, err := os.ReadFile(f)
				if err == nil {
					_, err = iampolicy.Parse(data)
				}
				if err == nil {
					fmt.Fprintf(c.OutOrStdout(), "%s: ok\n", f)
					continue
				}
				bad = true
				for _, line := range strings.Split(err.Error(), "\n") {
					fmt.Fprintf(c.ErrOrStderr(), "%s: %s\n", f, line)
				}
			}
			if bad {
				return exitError{exitFailure}
			}
			return nil
		},
	}
}

// exitDenied is policy eval's exit code for ExplicitDeny and ImplicitDeny.
const exitDenied = 3

func newPolicyEval() *cobra.Command {
	c := &cobra.Command{
		Use:   "eval",
		Short: "Decide a request against IAM policies as AWS does (exit 0 on Allow, 3 on a deny)",
		Long: `Evaluate a request against identity policies (--policy), a resource-based policy,
SCPs, a permissions boundary and a session policy, and print the decision with the
statements that made it.

Context keys are --context key=value; repeat a key for a multi-valued key. The
request time is --time (RFC 3339, default now), used for aws:CurrentTime and
aws:EpochTime when the context does not set them.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlags(c, "action", "resource"); err != nil {
				return err
			}
			set := iampolicy.Set{}
			var perr []string
			read := func(path string) *iampolicy.Named {
				data, err := os.ReadFile(path)
				if err == nil {
					var p *iampolicy.Policy
					if p, err = iampolicy.Parse(data); err == nil {
						return &iampolicy.Named{Name: filepath.Base(path), Policy: p}
					}
				}
				for _, line := range strings.Split(err.Error(), "\n") {
					perr = append(perr, path+": "+line)
				}
				return nil
			}
			files := func(name string) []string { v, _ := c.Flags().GetStringArray(name); return v }
			for _, f := range files("policy") {
				if n := read(f); n != nil {
					set.Identity = append(set.Identity, *n)
				}
			}
			if scps := files("scp"); len(scps) > 0 {
				var level []iampolicy.Named
				for _, f := range scps {
					if n := read(f); n != nil {
						level = append(level, *n)
					}
				}
				set.SCPs = [][]iampolicy.Named{level}
			}
			for _, f := range files("rcp") {
				if n := read(f); n != nil {
					set.RCPs = append(set.RCPs, *n)
				}
			}
			if f := str(c, "boundary"); f != "" {
				set.Boundary = read(f)
			}
			if f := str(c, "resource-policy"); f != "" {
				set.Resource = read(f)
			}
			if f := str(c, "session-policy"); f != "" {
				if n := read(f); n != nil {
					set.Sessions = []iampolicy.Named{*n}
				}
			}
			if len(perr) > 0 {
				fmt.Fprintln(c.ErrOrStderr(), strings.Join(perr, "\n"))
				return exitError{exitFailure}
			}
			if err := set.Validate(); err != nil {
				fmt.Fprintln(c.ErrOrStderr(), err)
				return exitError{exitFailure}
			}
			ctx := &iampolicy.Context{}
			kvs, _ := c.Flags().GetStringArray("context")
			for _, kv := range kvs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef("--context %q: write key=value", kv)
				}
				ctx.Add(k, v)
			}
			req := &iampolicy.Request{
				Principal:       str(c, "principal"),
				Action:          str(c, "action"),
				Resource:        str(c, "resource"),
				ResourceAccount: str(c, "resource-account"),
				Context:         ctx,
				Time:            time.Now(),
			}
			if t := str(c, "time"); t != "" {
				parsed, err := time.Parse(time.RFC3339Nano, t)
				if err != nil {
					return usagef("--time %q is not RFC 3339", t)
				}
				req.Time = parsed
			}
			res := set.Evaluate(req)
			format, _ := c.Flags().GetString("output")
			switch format {
			case "json":
				if res.Matched == nil {
					res.Matched = []iampolicy.Match{}
				}
				json.NewEncoder(c.OutOrStdout()).Encode(res)
			case "text":
				fmt.Fprintln(c.OutOrStdout(), res.String())
			default:
				return usagef("-o %q: use text or json", format)
			}
			if res.Decision != iampolicy.Allowed {
				return exitError{exitDenied}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringArray("policy", nil, "identity-based policy file (repeatable)")
	f.StringArray("scp", nil, "service control policy file (repeatable; one organization level)")
	f.StringArray("rcp", nil, "resource control policy file (repeatable)")
	f.String("boundary", "", "permissions boundary file")
	f.String("session-policy", "", "session policy file")
	f.String("resource-policy", "", "resource-based policy file")
	f.String("action", "", "the action, as s3:GetObject")
	f.String("resource", "", "the resource ARN, or *")
	f.String("resource-account", "", "the account that owns the resource (default: from the ARN, else the principal's)")
	f.String("principal", "", "the caller's ARN")
	f.StringArray("context", nil, "condition key=value (repeat a key for several values)")
	f.String("time", "", "request time, RFC 3339 (default now)")
	f.StringP("output", "o", "text", "output: text or json")
	return c
}
