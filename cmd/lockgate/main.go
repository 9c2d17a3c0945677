// Command lockgate is an account-protection and access gateway: a lock
// service that integrations ask on every sign-in, with admin and owner
// APIs. Run "lockgate serve" to start it on embedded defaults.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a mistake in how the command was called.
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError carries a chosen exit code without a message of its own.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if isLambdaBootstrap(args) {
		args = bootstrapArgs()
	}
	root := newRoot()
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "lockgate:", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitFailure
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "lockgate",
		Short: "Account protection and access gateway",
		Long: `lockgate protects accounts and APIs. Owners lock their accounts at integrated
applications; every sign-in asks the lock-check API and gets {"locked": true|false}.

Start it on embedded defaults (SQLite in ./lockgate-data, 127.0.0.1:8080):
  lockgate serve

Commands that talk to a running lockgate take --server (or LOCKGATE_SERVER; by
default the configuration's public URL) and --token (LOCKGATE_ADMIN_TOKEN, or
LOCKGATE_OWNER_TOKEN for 'lockgate me'). Commands that print data take
-o table|json|yaml; lists print as {"items": [...]}. Exit codes: 0 success,
1 failure, 2 usage error, 3 a decision that denied (policy eval, waf test).`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          unknownSubcommand,
		RunE:          func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.SetVersionTemplate("lockgate {{.Version}}\n")
	root.PersistentFlags().String("config", "", "configuration file (YAML)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	lambdaCmd := withAuthorizer(newLambda())
	lambdaCmd.AddCommand(newLambdaVPNConnect())
	meCmd := newMe()
	meCmd.AddCommand(newMeGeofence())
	policyCmd := newPolicy()
	policyCmd.AddCommand(newPolicyGeoDeny())
	root.AddCommand(newServe(), newVersion(), newConfigCmd(), newApp(), newAccount(), newPerson(), newAttempts(), newWebhook(), newToken(), meCmd, newGatewayCmd(), newAuthz(), newCheck(), policyCmd, newWAF(), lambdaCmd, newIAMResponder(), newGeo())
	root.AddCommand(newAnalyze())
	root.AddCommand(newHealthcheck())
	return root
}

// group is a command that only holds subcommands: called alone it shows
// its help; called with an unknown subcommand it is a usage error with a
// suggestion (cobra would print the help and exit 0).
func group(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  unknownSubcommand,
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
}

// unknownSubcommand refuses arguments to a command group: they can only be
// a mistyped subcommand.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return usageError{errors.New(msg)}
}

// noArgs and exactArgs return usage errors, so they exit 2.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", c.CommandPath(), args)
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d: usage: %s", c.CommandPath(), n, len(args), c.UseLine())
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("%s takes %d to %d arguments, got %d: usage: %s", c.CommandPath(), lo, hi, len(args), c.UseLine())
		}
		return nil
	}
}

func newVersion() *cobra.Command {
	c := &cobra.Command{
		Use:     "version",
		Short:   "Print the version, the commit it was built from and when",
		Example: "  lockgate version -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			b := readBuild()
			return p.object(b, func(t *table) { t.row("lockgate " + b.String()) })
		},
	}
	outputFlag(c)
	return c
}

// Set at build time by the release script:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=abc123 -X main.date=2026-11-29T00:00:00Z"
var (
	version = ""
	commit  = ""
	date    = ""
)

// build is what this binary knows of where it came from: the -ldflags
// values, else what the Go toolchain recorded (the module version, the
// VCS revision and time, and whether the tree had changes).
type build struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

func readBuild() build {
	b := build{Version: version, Commit: commit, Date: date, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = b.Modified || s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	return b
}

func (b build) String() string {
	s := b.Version
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " " + c
		if b.Modified {
			s += "+dirty"
		}
	}
	if b.Date != "" {
		s += " " + b.Date
	}
	return s + " " + b.Go
}

func buildVersion() string { return readBuild().String() }
