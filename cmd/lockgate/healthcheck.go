package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheck asks this machine's lockgate whether it is ready. It is
// what a container's HEALTHCHECK runs: distroless images have no shell
// and no curl, and the binary is already there.
func newHealthcheck() *cobra.Command {
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local lockgate answers /readyz with 200, 1 otherwise",
		Long: `Ask a running lockgate whether it is ready (GET /readyz: storage answers) and exit
0 when it answers 200, 1 otherwise. For container health checks and scripts.

The address is --server, else the listen address of the configuration and
environment serve would use (0.0.0.0 and :: are reached on the loopback).
LOCKGATE_SERVER is not read: a health check is about this machine's process, not
the load balancer in front of it. Over TLS the certificate is not verified (the
loopback is not the name it was issued for; nothing secret is sent).`,
		Example: `  lockgate healthcheck
  lockgate healthcheck --server http://127.0.0.1:9090 --path /healthz
  HEALTHCHECK CMD ["/usr/local/bin/lockgate", "healthcheck"]   # in a Dockerfile`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			base := str(c, "server")
			insecure := false
			if base == "" {
				cfg, _, err := loadConfig(c)
				if err != nil {
					return err
				}
				base = loopbackURL(cfg.Listen, cfg.TLS.Enabled())
				insecure = cfg.TLS.Enabled()
			}
			timeout, _ := c.Flags().GetDuration("timeout")
			url := strings.TrimRight(base, "/") + str(c, "path")
			if err := probe(url, timeout, insecure); err != nil {
				c.PrintErrln("lockgate: not healthy:", err)
				return exitError{exitFailure}
			}
			return p.object(map[string]any{"ready": true, "url": url}, func(t *table) { t.row("ok " + url) })
		},
	}
	c.Flags().String("server", "", "lockgate's URL (default: the configured listen address on the loopback)")
	c.Flags().String("path", "/readyz", "path to ask: /readyz (storage answers) or /healthz (the process is up)")
	c.Flags().Duration("timeout", 5*time.Second, "give up after this long")
	outputFlag(c)
	return c
}

// loopbackURL is the URL at which a process on this machine reaches a
// server listening on listen.
func loopbackURL(listen string, tlsOn bool) string {
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return scheme + "://" + listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func probe(url string, timeout time.Duration, insecure bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the loopback, never through a proxy from the environment
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // see the command's help
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
