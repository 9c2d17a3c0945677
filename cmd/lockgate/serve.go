package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/problem"
)

// loadConfig reads --config (if given) and the environment, then the
// flags that override both.
func loadConfig(c *cobra.Command) (server.Config, *config.Source, error) {
	path, _ := c.Flags().GetString("config")
	getenv := os.Getenv
	if c.Flags().Lookup("listen") != nil {
		// Flags outrank the environment, which outranks the file.
		flagEnv := map[string]string{}
		if c.Flags().Changed("listen") {
			flagEnv["LOCKGATE_LISTEN"], _ = c.Flags().GetString("listen")
		}
		if c.Flags().Changed("data-dir") {
			flagEnv["LOCKGATE_DATA_DIR"], _ = c.Flags().GetString("data-dir")
		}
		getenv = func(k string) string {
			if v, ok := flagEnv[k]; ok {
				return v
			}
			return os.Getenv(k)
		}
	}
	return server.Load(path, getenv)
}

func newLogger(cfg server.Config) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func newServe() *cobra.Command {
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the lockgate server",
		Long: `Run the lock-check, admin and owner APIs (and, when configured, the WAF
gateway and the IAM lockout responder's endpoints).

With no configuration it runs on embedded defaults: listen 127.0.0.1:8080, data
in ./lockgate-data (SQLite), public URL http://127.0.0.1:8080. Environment:
LOCKGATE_LISTEN, LOCKGATE_DATA_DIR, LOCKGATE_DATABASE_URL (postgres://… for
PostgreSQL), LOCKGATE_PUBLIC_URL (comma-separated), LOCKGATE_ADMIN_TOKEN,
LOCKGATE_MASTER_KEY; every variable is listed in docs/configuration.md.
SIGTERM or SIGINT shut it down gracefully; SIGHUP reloads the gateway and
forward auth.`,
		Example: `  lockgate serve
  lockgate serve --listen 127.0.0.1:9090        # the public URL follows
  lockgate serve --config /etc/lockgate/lockgate.yaml`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, src, err := loadConfig(c)
			if err != nil {
				return err
			}
			log := newLogger(cfg)
			switch gc, invalid := server.TuneGC(os.Getenv); {
			case invalid:
				log.Warn("GOGC is neither a number nor off: the garbage collector's target is lockgate's default", "gogc", gc)
			case gc != 0:
				log.Debug("garbage collector target set (GOGC unset)", "gogc", gc)
			}
			if cfg.PublicURLsFollowListen {
				log.Info("no public URL configured: it follows the listen address", "public_url", cfg.PublicURLs[0])
			}
			srv, err := server.Provision(cfg, src, log, server.Options{LoadConfig: func() (server.Config, *config.Source, error) { return loadConfig(c) }})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						// SIGHUP reloads the configuration and web ACLs of the
						// gateway and of forward auth.
						if gw := srv.Gateway(); gw != nil {
							gw.Reload()
						}
						if fa := srv.ForwardAuth(); fa != nil {
							fa.Reload()
						}
					}
				}
			}()
			return srv.Run(ctx, func(token string) {
				// Shown once, on the terminal, never in the log stream.
				fmt.Fprintf(os.Stderr, "\nlockgate: created the first admin token (shown once, store it now):\n\n    %s\n\nUse it as LOCKGATE_ADMIN_TOKEN or an Authorization: Bearer header.\n\n", token)
			})
		},
	}
	c.Flags().String("listen", "", "address to listen on (default 127.0.0.1:8080)")
	c.Flags().String("data-dir", "", "data directory for SQLite and the master key file (default ./lockgate-data)")
	return c
}

// validateArgs takes the file to validate as FILE or as --config FILE,
// the flag serve reads it from: a validate that checked another file than
// the one named by --config would say "ok" about the wrong one.
func validateArgs(c *cobra.Command, args []string) error {
	flag, _ := c.Flags().GetString("config")
	switch {
	case len(args) > 1:
		return usagef("%s takes 1 argument, got %d", cmdName(c), len(args))
	case len(args) == 0 && flag == "":
		return usagef("%s takes 1 argument (or --config FILE), got 0", cmdName(c))
	case len(args) == 1 && flag != "" && filepath.Clean(flag) != filepath.Clean(args[0]):
		return usagef("%s: --config %s and %s name two files: give one", cmdName(c), flag, args[0])
	}
	return nil
}

func newConfigCmd() *cobra.Command {
	c := group("config", "Work with configuration files")
	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "Report every problem in a configuration file, as serve would meet it",
		Long: `Report every problem in a configuration file: what serve would refuse at
start, with file:line:column and the key. Every component is provisioned
without listening or creating anything: missing or unreadable files (TLS
certificates and keys, web ACLs, IP and regex sets, rule groups, key files),
certificates that do not match their key, and invalid values all count.

The environment is applied as serve applies it (LOCKGATE_* variables
override the file, secrets usually come from there), so "ok" means serve
would start with this file in this environment. --ignore-env checks the file
alone.

Warnings (what works, but not as a reader may expect: a rule inspecting
the body on a forward_auth route, whose proxies send none) do not fail it.

The file is FILE or, as serve takes it, --config FILE (not both, unless they
name the same file).

Exit codes: 0 ok, 1 problems found. With -o json the answer is
{"file", "ok", "problems": [{"file", "line", "column", "path", "message"}],
"warnings": [...]}.`,
		Example: `  lockgate config validate /etc/lockgate/lockgate.yaml
  lockgate config validate lockgate.yaml --ignore-env -o json`,
		Args: validateArgs,
		RunE: func(c *cobra.Command, args []string) error {
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			if len(args) == 0 { // --config FILE, as serve takes it
				path, _ := c.Flags().GetString("config")
				args = []string{path}
			}
			getenv := os.Getenv
			if ignore, _ := c.Flags().GetBool("ignore-env"); ignore {
				getenv = func(string) string { return "" }
			}
			warnings, err := server.Validate(args[0], getenv)
			type problemView struct {
				File    string `json:"file,omitempty"`
				Line    int    `json:"line,omitempty"`
				Column  int    `json:"column,omitempty"`
				Path    string `json:"path,omitempty"`
				Message string `json:"message"`
			}
			out := struct {
				File     string        `json:"file"`
				OK       bool          `json:"ok"`
				Problems []problemView `json:"problems"`
				Warnings []problemView `json:"warnings"`
			}{File: args[0], OK: err == nil, Problems: []problemView{}, Warnings: []problemView{}}
			for _, q := range warnings {
				out.Warnings = append(out.Warnings, problemView{q.File, q.Line, q.Column, q.Path, q.Msg})
			}
			var probs problem.List
			if err != nil {
				probs.Append("", err)
			}
			for _, q := range probs {
				out.Problems = append(out.Problems, problemView{q.File, q.Line, q.Column, q.Path, q.Msg})
			}
			if p.structured() {
				if perr := p.object(out, nil); perr != nil {
					return perr
				}
			} else if err != nil {
				fmt.Fprintln(c.ErrOrStderr(), err)
			} else {
				for _, w := range warnings {
					fmt.Fprintln(c.ErrOrStderr(), "warning:", w.Error())
				}
				fmt.Fprintf(c.OutOrStdout(), "%s: ok\n", args[0])
			}
			if err != nil {
				return exitError{exitFailure}
			}
			return nil
		},
	}
	validate.Flags().Bool("ignore-env", false, "check the file alone, without the LOCKGATE_* environment")
	outputFlag(validate)
	c.AddCommand(validate)
	return c
}
