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
	"strings"

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
	fmt.Fprintln(os.Stderr, "lockgate:", safeMessage(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		if cmd.Runnable() && cmd.HasParent() && cmd.Name() != "help" {
			fmt.Fprintf(os.Stderr, "Usage: %s\n", cmd.UseLine())
		}
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
	root.SetHelpCommand(newHelp())
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
	// cobra's generated completion command, made now so that its
	// arguments are checked as every other command's: an unknown shell
	// printed the help and exited 0, an extra argument exited 1.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Args = unknownSubcommand
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		for _, shell := range c.Commands() {
			shell.Args = noArgs
		}
	}
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
		return usagef("%s takes no arguments, got %q", cmdName(c), args)
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s, got %d", cmdName(c), plural(n, "argument"), len(args))
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("%s takes %d to %d arguments, got %d", cmdName(c), lo, hi, len(args))
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

// cmdName is the command's path without "lockgate ": errors are already
// prefixed "lockgate: ".
func cmdName(c *cobra.Command) string {
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// newHelp replaces cobra's help command, which prints the root help and
// exits 0 for a topic it does not know: a mistyped topic is a usage error
// with a suggestion, like a mistyped command.
func newHelp() *cobra.Command {
	return &cobra.Command{
		Use:     "help [command]",
		Short:   "Help about any command",
		Example: `  lockgate help account lock`,
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			cmd, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 || cmd == nil {
				parent := root
				if cmd != nil {
					parent = cmd
				}
				name := args[len(args)-len(rest):]
				if len(rest) == 0 {
					name = args
				}
				err := unknownSubcommand(parent, name[:1])
				if parent == root && !strings.Contains(err.Error(), "did you mean") {
					if s := suggestAnywhere(root, name[0]); s != "" {
						err = usagef("unknown help topic %q; did you mean %q?", name[0], s)
					}
				}
				return err
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// suggestAnywhere finds a command at any depth whose name is close to
// typed ("craete" → "app create"): help topics are often subcommands.
func suggestAnywhere(root *cobra.Command, typed string) string {
	var found string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if found != "" {
				return
			}
			if sub.IsAvailableCommand() && levenshtein(strings.ToLower(typed), sub.Name()) <= 2 {
				found = cmdName(sub)
				return
			}
			walk(sub)
		}
	}
	walk(root)
	return found
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
