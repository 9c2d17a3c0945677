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

func policyTypeNames() string {
	names := make([]string, len(iampolicy.PolicyTypes))
	for i, t := range iampolicy.PolicyTypes {
		names[i] = string(t)
	}
	return strings.Join(names, "|")
}

func newPolicyValidate() *cobra.Command {
	c := &cobra.Command{
		Use:     "validate [--type TYPE] FILE...",
		Example: `  lockgate policy validate --type identity policy.json`,
		Short:   "Print every problem in IAM policy documents (exit 1 if any)",
		Long: `Check each file against the grammar of its policy type: ` + policyTypeNames() + `.
Without --type the type is inferred from each document (statements naming principals make a
resource-based policy, or a role trust policy when they allow only the actions of assuming a role;
otherwise identity-based, the grammar boundaries and session policies share) and the output says
what was inferred and why.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("policy validate takes one or more files")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			var typ iampolicy.PolicyType
			if s := str(c, "type"); s != "" {
				t, ok := iampolicy.ParsePolicyType(s)
				if !ok {
					return usagef("--type %q: use one of %s", s, policyTypeNames())
				}
				typ = t
			}
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			out := policyValidation{Valid: true, Files: []policyFileResult{}}
			for _, f := range args {
				r := validatePolicyFile(f, typ)
				out.Files = append(out.Files, r)
				out.Valid = out.Valid && r.Valid
				if p.structured() {
					continue
				}
				note := ""
				if r.Inferred != "" {
					note = fmt.Sprintf(" (type inferred: %s; --type chooses)", r.Inferred)
				}
				if r.Valid {
					fmt.Fprintf(c.OutOrStdout(), "%s: ok as %s policy%s\n", f, r.Type, note)
					continue
				}
				for _, line := range r.Problems {
					fmt.Fprintln(c.ErrOrStderr(), safeMessage(f+": "+line))
				}
				if r.Type != "" {
					fmt.Fprintln(c.ErrOrStderr(), safeMessage(fmt.Sprintf("%s: validated as %s policy%s", f, r.Type, note)))
				}
			}
			if p.structured() {
				if err := p.object(out, nil); err != nil {
					return err
				}
			}
			bad := !out.Valid
			if bad {
				return exitError{exitFailure}
			}
			return nil
		},
	}
	c.Flags().String("type", "", "policy type: "+policyTypeNames()+" (default: inferred per file)")
	outputFlag(c)
	return c
}

// policyValidation is policy validate's -o json/yaml answer.
type policyValidation struct {
	Valid bool               `json:"valid"`
	Files []policyFileResult `json:"files"`
}

type policyFileResult struct {
	File  string `json:"file"`
	Valid bool   `json:"valid"`
	// Type is the grammar the file was checked against ("" when it could
	// not be read or parsed); Inferred says why, when --type did not.
	Type     iampolicy.PolicyType `json:"type,omitempty"`
	Inferred string               `json:"inferred,omitempty"`
	Problems []string             `json:"problems"`
}

// validatePolicyFile reads, parses and validates one policy file.
func validatePolicyFile(f string, typ iampolicy.PolicyType) policyFileResult {
	r := policyFileResult{File: f, Type: typ, Problems: []string{}}
	data, err := os.ReadFile(f)
	var p *iampolicy.Policy
	if err == nil {
		p, err = iampolicy.Parse(data)
	}
	if err == nil {
		if r.Type == "" {
			r.Type, r.Inferred = p.InferType()
		}
		err = p.Validate(r.Type)
	}
	if err != nil {
		r.Problems = strings.Split(err.Error(), "\n")
		return r
	}
	r.Valid = true
	return r
}

// exitDenied is policy eval's exit code for ExplicitDeny and ImplicitDeny.
const exitDenied = 3

func newPolicyEval() *cobra.Command {
	c := &cobra.Command{
		Use: "eval",
		Example: `  lockgate policy eval --policy policy.json --principal arn:aws:iam::111122223333:user/alice \
    --action s3:GetObject --resource arn:aws:s3:::reports/2026.csv`,
		Short: "Decide a request against IAM policies as AWS does (exit 0 on Allow, 3 on a deny)",
		Long: `Evaluate a request against identity policies (--policy), a resource-based policy
(--resource-policy, or --trust-policy for a role's trust policy, which must allow), SCPs, RCPs,
a permissions boundary and session policies, and print the decision with the statements that
made it.

The principal is --principal (an ARN, a service such as s3.amazonaws.com, or an identity
provider); its kind is inferred from the ARN or given with --principal-type:
  user            an IAM user (--unique-id AIDA… for aws:userid)
  root            the account root user: full access in its account, no identity policies
  role-session    a session of a role; --role-arn gives the role with its path, which the
                  session ARN does not carry (--unique-id AROA… for aws:userid)
  federated-user  a GetFederationToken session; --federated-by is the IAM user (or root)
                  who federated, whose policies --policy and --boundary are; it has no
                  permissions without --session-policy
  service, web-identity, saml, anonymous
The global keys AWS derives from the principal (aws:PrincipalArn, aws:PrincipalAccount,
aws:PrincipalType, aws:userid, aws:username) are set unless --context sets them.

Context keys are --context key=value; repeat a key for a multi-valued key. The
request time is --time (RFC 3339, default now), used for aws:CurrentTime and
aws:EpochTime when the context does not set them.`,
		Args: noArgs,
		RunE: runPolicyEval,
	}
	f := c.Flags()
	f.StringArray("policy", nil, "identity-based policy file (repeatable)")
	f.StringArray("scp", nil, "service control policy file (repeatable; one organization level)")
	f.StringArray("rcp", nil, "resource control policy file (repeatable)")
	f.String("boundary", "", "permissions boundary file")
	f.StringArray("session-policy", nil, "session policy file (repeatable; each must allow)")
	f.String("resource-policy", "", "resource-based policy file")
	f.String("trust-policy", "", "the role's trust policy, when the request assumes a role (it must allow; instead of --resource-policy)")
	f.String("action", "", "the action, as s3:GetObject")
	f.String("resource", "", "the resource ARN, or *")
	f.String("resource-account", "", "the account that owns the resource (default: from the ARN, else the principal's)")
	f.String("principal", "", "the caller: an ARN, a service principal or an identity provider")
	f.String("principal-type", "", "user|root|role-session|federated-user|service|web-identity|saml|anonymous (default: inferred from --principal)")
	f.String("principal-account", "", "the caller's account (default: from the ARN)")
	f.String("role-arn", "", "a role session's role, with its path: arn:aws:iam::ACCOUNT:role/PATH/NAME")
	f.String("federated-by", "", "a federated user's IAM user (or root) ARN, who called GetFederationToken")
	f.String("unique-id", "", "the IAM user's (AIDA…) or the session role's (AROA…) unique id, for aws:userid")
	f.StringArray("context", nil, "condition key=value (repeat a key for several values)")
	f.String("time", "", "request time, RFC 3339 (default now)")
	f.StringP("output", "o", "text", "output: text or json")
	return c
}

func runPolicyEval(c *cobra.Command, _ []string) error {
	if err := requireFlags(c, "action", "resource"); err != nil {
		return err
	}
	req := &iampolicy.Request{
		Principal:        str(c, "principal"),
		PrincipalAccount: str(c, "principal-account"),
		RoleARN:          str(c, "role-arn"),
		FederatedBy:      str(c, "federated-by"),
		UniqueID:         str(c, "unique-id"),
		Action:           str(c, "action"),
		Resource:         str(c, "resource"),
		ResourceAccount:  str(c, "resource-account"),
		Context:          &iampolicy.Context{},
		Time:             time.Now(),
	}
	if err := principalFlags(c, req); err != nil {
		return err
	}
	kvs, _ := c.Flags().GetStringArray("context")
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("--context %q: write key=value", kv)
		}
		req.Context.Add(k, v)
	}
	req.SetPrincipalKeys()
	if t := str(c, "time"); t != "" {
		parsed, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return usagef("--time %q is not RFC 3339", t)
		}
		req.Time = parsed
	}

	set, problems := readPolicySet(c)
	if len(problems) > 0 {
		fmt.Fprintln(c.ErrOrStderr(), safeMessage(strings.Join(problems, "\n")))
		return exitError{exitFailure}
	}
	if err := set.Validate(); err != nil {
		fmt.Fprintln(c.ErrOrStderr(), safeMessage(err.Error()))
		return exitError{exitFailure}
	}
	res := set.Evaluate(req)
	switch format, _ := c.Flags().GetString("output"); format {
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
}

// principalFlags reads --principal-type and refuses combinations AWS
// cannot have, rather than evaluating something that cannot happen.
func principalFlags(c *cobra.Command, req *iampolicy.Request) error {
	if s := str(c, "principal-type"); s != "" {
		t, ok := iampolicy.ParsePrincipalType(s)
		if !ok {
			return usagef("--principal-type %q: use user, root, role-session, federated-user, service, web-identity, saml or anonymous", s)
		}
		req.PrincipalType = t
	}
	typ := req.PrincipalType
	if inferred := iampolicy.InferPrincipalType(req.Principal); typ == iampolicy.PrincipalInferred {
		typ = inferred
	} else if inferred != iampolicy.PrincipalInferred && inferred != typ && strings.HasPrefix(req.Principal, "arn:") {
		return usagef("--principal-type %s contradicts --principal %s, which is a %s", typ, req.Principal, inferred)
	}
	files := func(name string) []string { v, _ := c.Flags().GetStringArray(name); return v }
	switch {
	case req.Principal == "" && typ != iampolicy.PrincipalAnonymous && (req.RoleARN != "" || req.FederatedBy != "" || str(c, "principal-type") != ""):
		return usagef("--principal is required with --principal-type, --role-arn and --federated-by")
	case req.RoleARN != "" && typ != iampolicy.PrincipalRoleSession:
		return usagef("--role-arn belongs to a role session (--principal arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)")
	case req.FederatedBy != "" && typ != iampolicy.PrincipalFederatedUser:
		return usagef("--federated-by belongs to a federated user (--principal arn:aws:sts::ACCOUNT:federated-user/NAME)")
	case typ == iampolicy.PrincipalFederatedUser && req.FederatedBy == "":
		return usagef("a federated user needs --federated-by: the IAM user (or root user) who called GetFederationToken")
	case typ == iampolicy.PrincipalRoot && (len(files("policy")) > 0 || str(c, "boundary") != "" || len(files("session-policy")) > 0):
		return usagef("the root user has no identity-based policies, permissions boundary or session policies: drop --policy, --boundary and --session-policy")
	}
	// A principal's ARN names its account: another account given beside
	// it, or a role or federating user of another account, is a request
	// AWS cannot have (a role session is in its role's account; STS
	// makes a federated user in the account of the IAM user who called
	// GetFederationToken).
	own := arnAccount(req.Principal)
	switch {
	case own == "":
	case req.PrincipalAccount != "" && req.PrincipalAccount != own:
		return usagef("--principal-account %s contradicts --principal %s, which is in account %s", req.PrincipalAccount, req.Principal, own)
	case req.RoleARN != "" && arnAccount(req.RoleARN) != own:
		return usagef("--role-arn %s is not in account %s: a role session is in its role's account", req.RoleARN, own)
	case req.FederatedBy != "" && arnAccount(req.FederatedBy) != own:
		return usagef("--federated-by %s is not in account %s: GetFederationToken makes the federated user in the calling IAM user's own account", req.FederatedBy, own)
	}
	return nil
}

// arnAccount is the account field of an ARN; "" for anything else.
func arnAccount(s string) string {
	f := strings.SplitN(s, ":", 6)
	if len(f) < 6 || f[0] != "arn" {
		return ""
	}
	return f[4]
}

// readPolicySet reads every policy file given, collecting every problem.
func readPolicySet(c *cobra.Command) (iampolicy.Set, []string) {
	var set iampolicy.Set
	var problems []string
	read := func(path string) *iampolicy.Named {
		data, err := os.ReadFile(path)
		if err == nil {
			var p *iampolicy.Policy
			if p, err = iampolicy.Parse(data); err == nil {
				return &iampolicy.Named{Name: filepath.Base(path), Policy: p}
			}
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			problems = append(problems, path+": "+line)
		}
		return nil
	}
	all := func(name string, into *[]iampolicy.Named) {
		v, _ := c.Flags().GetStringArray(name)
		for _, f := range v {
			if n := read(f); n != nil {
				*into = append(*into, *n)
			}
		}
	}
	all("policy", &set.Identity)
	var level []iampolicy.Named
	if all("scp", &level); len(level) > 0 {
		set.SCPs = [][]iampolicy.Named{level}
	}
	all("rcp", &set.RCPs)
	all("session-policy", &set.Sessions)
	if f := str(c, "boundary"); f != "" {
		set.Boundary = read(f)
	}
	if f := str(c, "resource-policy"); f != "" {
		set.Resource = read(f)
	}
	if f := str(c, "trust-policy"); f != "" {
		if set.Resource != nil {
			problems = append(problems, "--trust-policy and --resource-policy: a request has one resource-based policy")
		}
		set.Resource, set.ResourceType = read(f), iampolicy.TypeTrust
	}
	return set, problems
}
