package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/analyze"
)

func newAnalyzeReplay() *cobra.Command {
	c := &cobra.Command{
		Use: "replay --acl ACL.json [flags] PATH|s3://bucket/prefix|- ...",
		Example: `  lockgate analyze replay --acl webacl.json logs/
  lockgate analyze replay --acl webacl.json --baseline BlanketRule=400 s3://waf-logs/AWSLogs/`,
		Short: "Replay logged requests through a web ACL, in log time order, and say what it would have blocked",
		Long: `replay runs every logged request, in timestamp order with the log's clock, through the
web ACL with lockgate's WAF engine (rate-based rules included) and reports, per rule,
the requests it would have blocked or counted, per key the first and last of them, and
the keys that never went over the rule's healthy baseline in a fixed window (possible
false positives). A rule's baseline is --baseline RULE=N, or its limit ÷ (1 + --buffer).`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s needs log files, directories, s3:// locations or -", c.CommandPath())
			}
			return nil
		},
		RunE: runAnalyzeReplay,
	}
	f := c.Flags()
	f.String("acl", "", "the web ACL (WebACL, get-web-acl answer, rule or Rules array)")
	resourceFlags(c)
	f.StringP("output", "o", "table", "output format: table, json or csv")
	f.String("from", "", "first timestamp replayed, RFC 3339")
	f.String("to", "", "last timestamp replayed, RFC 3339")
	f.StringArray("baseline", nil, "a rate-based rule's healthy peak: RULE=N (repeatable)")
	f.Float64("buffer", 0.5, "buffer the limits were set with: a rule without --baseline gets limit ÷ (1 + buffer)")
	f.Int("top", 10, "keys listed per rule")
	f.Bool("strict", false, "fail on a bad record")
	return c
}

func runAnalyzeReplay(c *cobra.Command, args []string) error {
	f := c.Flags()
	get := func(name string) string { v, _ := f.GetString(name); return v }
	if get("acl") == "" {
		return usagef("--acl ACL.json is required: the web ACL to replay the logs through")
	}
	format := get("output")
	if !slices.Contains([]string{"table", "json", "csv"}, format) {
		return usagef("--output %q: table, json or csv", format)
	}
	var o analyze.ReplayOptions
	var err error
	if o.From, err = flagTime(get("from"), "--from"); err != nil {
		return err
	}
	if o.To, err = flagTime(get("to"), "--to"); err != nil {
		return err
	}
	o.Buffer, _ = f.GetFloat64("buffer")
	o.Top, _ = f.GetInt("top")
	o.Strict, _ = f.GetBool("strict")
	baselines, _ := f.GetStringArray("baseline")
	o.Baselines = map[string]int64{}
	for _, b := range baselines {
		name, n, ok := strings.Cut(b, "=")
		v, err := strconv.ParseInt(n, 10, 64)
		if !ok || name == "" || err != nil || v < 0 {
			return usagef("--baseline %q: write RULE=N", b)
		}
		o.Baselines[name] = v
	}
	acl, wo, problems := loadACL(c, get("acl"))
	if len(problems) > 0 {
		return fmt.Errorf("the web ACL does not load:\n  %s", strings.Join(problems, "\n  "))
	}
	for name := range o.Baselines {
		found := false
		for _, r := range acl.Rules {
			found = found || r.Name == name
		}
		if !found {
			return usagef("--baseline %s: the web ACL has no rule of that name", name)
		}
	}
	o.ACL, o.WAF = acl, wo
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	inputs, err := analyze.Expand(ctx, args, analyze.Sources{Stdin: c.InOrStdin()})
	if err != nil {
		return err
	}
	if !analyze.Reopenable(inputs) {
		var cleanup func()
		if inputs, cleanup, err = analyze.Spool(ctx, inputs); err != nil {
			return err
		}
		defer cleanup()
	}
	stop := progressFor(c, inputs, &o.Progress)
	rep, err := analyze.Replay(ctx, inputs, o)
	stop()
	if err != nil {
		return err
	}
	if format != "table" {
		for _, w := range rep.Warnings {
			fmt.Fprintln(c.ErrOrStderr(), "warning:", safeMessage(fmt.Sprint(w)))
		}
	}
	return rep.Write(c.OutOrStdout(), format)
}

func newAnalyzeSQL() *cobra.Command {
	c := &cobra.Command{
		Use: "sql --engine athena|trino|duckdb [flags]",
		Example: `  lockgate analyze sql --engine athena --location s3://waf-logs/AWSLogs/ --window 5m
  lockgate analyze sql --engine duckdb --location 'logs/*.gz' --uri-prefix /login`,
		Short: "Print the table and the queries that run the same analysis on Athena, Trino or DuckDB",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o, err := analysisOptions(c)
			if err != nil {
				return err
			}
			f := c.Flags()
			engine, _ := f.GetString("engine")
			table, _ := f.GetString("table")
			loc, _ := f.GetString("location")
			if !slices.Contains(analyze.Engines, engine) {
				return usagef("--engine %q: athena, trino or duckdb", engine)
			}
			ddl, queries, err := analyze.SQL(analyze.SQLOptions{Engine: engine, Table: table, Location: loc, Options: o})
			if err != nil {
				return usageError{err}
			}
			w := c.OutOrStdout()
			fmt.Fprintln(w, ddl)
			for _, q := range queries {
				fmt.Fprintf(w, "\n-- %s: %s\n%s\n", q.Name, q.Comment, q.SQL)
			}
			return nil
		},
	}
	analysisFlags(c)
	f := c.Flags()
	f.String("engine", "", "athena, trino or duckdb")
	f.String("table", "", "table (or view) name (default waf_logs)")
	f.String("location", "", "where the logs are: s3://bucket/prefix/ (Athena, Trino) or a file glob such as 'logs/**/*' (DuckDB)")
	return c
}

func newAnalyzeGen() *cobra.Command {
	c := &cobra.Command{
		Use:     "gen --seed N --out DIR [--size 2GB]",
		Example: `  lockgate analyze gen --seed 7 --out logs --size 50MB --gzip`,
		Short:   "Write synthetic AWS WAF logs: users, a crawler, credential stuffing on /login, a flood",
		Long: `gen writes six hours of synthetic AWS WAF logs in AWS's S3 layout, one object per 5 minutes:
four healthy hours (users, some behind a partner's proxies that send X-Forwarded-For,
and a crawler), then credential stuffing on /login from one IP and a flood from many.
The same seed and size write the same records.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f := c.Flags()
			seed, _ := f.GetUint64("seed")
			out, _ := f.GetString("out")
			sizeText, _ := f.GetString("size")
			gz, _ := f.GetBool("gzip")
			if out == "" {
				return usagef("--out DIR is required")
			}
			size, err := parseSize(sizeText)
			if err != nil {
				return usagef("--size %q: %v", sizeText, err)
			}
			// Logs of two runs in one directory make one analysis of
			// neither: refuse rather than mix them.
			if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
				return fmt.Errorf("--out %s is not empty: gen writes a dataset of its own; remove it or choose a new directory", out)
			}
			ctx := c.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			res, err := analyze.Generate(ctx, out, analyze.GenOptions{Seed: seed, Size: size, Gzip: gz})
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "wrote %d records (%d bytes before compression) in %d files under %s\n", res.Records, res.Bytes, res.Files, out)
			fmt.Fprintf(w, "healthy period: --from %s --to %s\n", res.Healthy[0].Format("2006-01-02T15:04:05Z"), res.Healthy[1].Add(-1e6).Format("2006-01-02T15:04:05.999Z"))
			fmt.Fprintf(w, "credential stuffing on /login from %s, %s to %s\n", res.StuffingIP, res.Stuffing[0].Format("15:04"), res.Stuffing[1].Format("15:04"))
			fmt.Fprintf(w, "flood from %d IPs (%s…), %s to %s\n", len(res.FloodIPs), res.FloodIPs[0], res.Flood[0].Format("15:04"), res.Flood[1].Format("15:04"))
			fmt.Fprintf(w, "crawler %s; partner proxies %s (clients in X-Forwarded-For)\n", res.CrawlerIP, strings.Join(res.ProxyIPs, ", "))
			return nil
		},
	}
	f := c.Flags()
	f.Uint64("seed", 1, "random seed")
	f.String("out", "", "directory to write into")
	f.String("size", "100MB", "about how much to write, before compression (kB, MB, GB; KiB, MiB, GiB)")
	f.Bool("gzip", false, "gzip the objects, as AWS WAF delivers them to S3")
	return c
}

// parseSize reads 2GB, 500MB, 1.5GiB, 1000000.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || v*mult > 1<<50 {
		return 0, fmt.Errorf("write a size such as 2GB or 500MB")
	}
	return int64(v * mult), nil
}
