package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/apiclient"
	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/lock"
)

// Every command that talks to a running lockgate takes --server (or
// LOCKGATE_SERVER; by default the configuration's first public URL) and
// --token (admin commands: LOCKGATE_ADMIN_TOKEN; the owner's `me`
// commands: LOCKGATE_OWNER_TOKEN), plus -o.

// tokenKind says which token a command needs.
type tokenKind int

const (
	adminToken tokenKind = iota
	ownerToken
)

func (k tokenKind) env() string {
	if k == ownerToken {
		return "LOCKGATE_OWNER_TOKEN"
	}
	return "LOCKGATE_ADMIN_TOKEN"
}

func clientFlags(c *cobra.Command, kind tokenKind) {
	c.Flags().String("server", "", "lockgate's URL (default $LOCKGATE_SERVER, else the configuration's first public URL)")
	c.Flags().String("token", "", "token (default $"+kind.env()+")")
	outputFlag(c)
}

// call is what a client command's body gets: a typed client, a printer
// and a context bounded in time.
type call struct {
	ctx    context.Context
	client *apiclient.Client
	print  *printer
	cmd    *cobra.Command
}

// serverURL is --server, LOCKGATE_SERVER, or the public URL that serve
// would use with the same configuration and environment.
func serverURL(c *cobra.Command) (string, error) {
	if s := str(c, "server"); s != "" {
		return checkServerURL("--server", s)
	}
	if s := os.Getenv("LOCKGATE_SERVER"); s != "" {
		return checkServerURL("LOCKGATE_SERVER", s)
	}
	cfg, _, err := loadConfig(c)
	if err != nil {
		return "", err
	}
	return checkServerURL("the configuration's public URL", cfg.PublicURLs[0])
}

// checkServerURL refuses a server URL the client would misuse: without a
// scheme Go reads "127.0.0.1:8080" as scheme "127.0.0.1" and the request
// fails with no useful reason; with a path the API paths are appended to
// it and every answer is a confusing "not found". where names the source.
func checkServerURL(where, s string) (string, error) {
	u, err := url.Parse(s)
	if err == nil && u.Host == "" && u.Opaque != "" {
		// "localhost:8080" parses as scheme "localhost", opaque "8080".
		err = errors.New("no scheme")
	}
	switch {
	case err != nil || u.Host == "" || !strings.Contains(s, "://"):
		return "", usagef("%s %q is not a URL: write it with its scheme, e.g. http://%s", where, s, strings.TrimPrefix(s, "//"))
	case u.Scheme != "http" && u.Scheme != "https":
		return "", usagef("%s %q: the scheme must be http:// or https://, not %s://", where, s, u.Scheme)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return "", usagef("%s %q has a path or query: lockgate serves its API at the root; give %s://%s", where, s, u.Scheme, u.Host)
	}
	return u.Scheme + "://" + u.Host, nil
}

// clientCmd builds a subcommand that calls the API with kind's token.
func clientCmd(kind tokenKind, cmd *cobra.Command, run func(k *call, args []string) error) *cobra.Command {
	cmd.RunE = func(c *cobra.Command, args []string) error {
		p, err := newPrinter(c)
		if err != nil {
			return err
		}
		srv, err := serverURL(c)
		if err != nil {
			return err
		}
		tok := str(c, "token")
		if tok == "" {
			tok = os.Getenv(kind.env())
		}
		client := apiclient.New(srv, tok)
		client.NoToken = usagef("no token: set %s or pass --token", kind.env())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return run(&call{ctx: ctx, client: client, print: p, cmd: c}, args)
	}
	clientFlags(cmd, kind)
	return cmd
}

// adminCmd is a clientCmd with the admin token.
func adminCmd(cmd *cobra.Command, run func(k *call, args []string) error) *cobra.Command {
	return clientCmd(adminToken, cmd, run)
}

// notice writes a line for people on standard error (never into the
// data a script reads from standard output).
func (k *call) notice(format string, args ...any) {
	if k.print.structured() {
		return
	}
	k.cmd.PrintErrln(safeMessage(fmt.Sprintf(format, args...)))
}

// durationFlag is a duration written as Go writes them or in days ("7d").
type durationFlag time.Duration

func (d *durationFlag) String() string {
	if *d == 0 {
		return ""
	}
	return time.Duration(*d).String()
}

func (d *durationFlag) Set(s string) error {
	v, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	if v <= 0 {
		return usagef("%q: must be positive", s)
	}
	if v > lock.MaxUnlockFor {
		return usagef("%q is %s: a timed unlock lasts at most 7d (168h)", s, days(v))
	}
	*d = durationFlag(v)
	return nil
}

func (d *durationFlag) Type() string { return "duration" }

// days writes a duration as operators read it: 8d, 1d12h0m0s.
func days(d time.Duration) string {
	n := d / (24 * time.Hour)
	if n == 0 {
		return d.String()
	}
	if r := d - n*24*time.Hour; r != 0 {
		return fmt.Sprintf("%dd%s", n, r)
	}
	return fmt.Sprintf("%dd", n)
}

func forFlag(c *cobra.Command) {
	c.Flags().Var(new(durationFlag), "for", "unlock for this long, then relock by itself (e.g. 15m, 2h, 8d; at most 7d)")
}

func forValue(c *cobra.Command) time.Duration {
	if f := c.Flags().Lookup("for"); f != nil {
		return time.Duration(*f.Value.(*durationFlag))
	}
	return 0
}

func str(c *cobra.Command, name string) string { v, _ := c.Flags().GetString(name); return v }

func requireFlags(c *cobra.Command, names ...string) error {
	for _, n := range names {
		if v, _ := c.Flags().GetString(n); v == "" {
			return usagef("--%s is required", n)
		}
	}
	return nil
}
