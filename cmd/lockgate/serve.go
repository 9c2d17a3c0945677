package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/server"
)

// loadConfig reads --config (if given) and the environment, then the
// flags that override both.
func loadConfig(c *cobra.Command) (config.Config, error) {
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
	return config.Load(path, getenv)
}

func newLogger(cfg config.Config) *slog.Logger {
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
		Long: `Run the lock-check, admin and owner APIs.

With no configuration it runs on embedded defaults: listen 127.0.0.1:8080, data
in ./lockgate-data (SQLite), public URL http://127.0.0.1:8080. Environment:
LOCKGATE_LISTEN, LOCKGATE_DATA_DIR, LOCKGATE_DATABASE_URL (postgres://… for
PostgreSQL), LOCKGATE_PUBLIC_URL (comma-separated), LOCKGATE_ADMIN_TOKEN,
LOCKGATE_MASTER_KEY. SIGTERM or SIGINT shut it down gracefully.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			log := newLogger(cfg)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := server.Open(ctx, cfg, log, server.Options{LoadConfig: func() (config.Config, error) { return loadConfig(c) }})
			if err != nil {
				return err
			}
			if gw := srv.Gateway(); gw != nil {
				// SIGHUP reloads the gateway's configuration and web ACLs.
				hup := make(chan os.Signal, 1)
				signal.Notify(hup, syscall.SIGHUP)
				defer signal.Stop(hup)
				go func() {
					for {
						select {
						case <-ctx.Done():
							return
						case <-hup:
							gw.Reload()
						}
					}
				}()
			}
			if srv.AdminToken != "" {
				// Shown once, on the terminal, never in the log stream.
				fmt.Fprintf(os.Stderr, "\nlockgate: created the first admin token (shown once, store it now):\n\n    %s\n\nUse it as LOCKGATE_ADMIN_TOKEN or an Authorization: Bearer header.\n\n", srv.AdminToken)
			}
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				srv.Close()
				return err
			}
			return srv.Serve(ctx, ln)
		},
	}
	c.Flags().String("listen", "", "address to listen on (default 127.0.0.1:8080)")
	c.Flags().String("data-dir", "", "data directory for SQLite and the master key file (default ./lockgate-data)")
	return c
}

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	c.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Report every problem in a configuration file, with its path",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			// The file alone: the environment must not hide its problems.
			if _, err := config.Load(args[0], func(string) string { return "" }); err != nil {
				fmt.Fprintln(c.ErrOrStderr(), err)
				return exitError{exitFailure}
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: ok\n", args[0])
			return nil
		},
	})
	return c
}
