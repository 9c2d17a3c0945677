package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/analyze"
	"github.com/lockgate/lockgate/waf"
)

func newAnalyze() *cobra.Command {
	c := &cobra.Command{
		Use:   "analyze [flags] PATH|s3://bucket/prefix|- ...",
		Short: "Find rate limits in AWS WAF logs and replay the traffic through them",
		Long: `analyze reads AWS WAF logs (JSON lines, gzipped or not, directories recursively,
standard input "-", s3://bucket/prefix with the standard AWS configuration, Firehose
objects whose records are not separated) and counts requests per client IP per window,
per client IP and URI, and per value of a header (--header X-Forwarded-For), as the
AWS blog "The three most important AWS WAF rate-based rules" does with Athena. Over a
busy, healthy period (--from, --to) it proposes a blanket per-IP limit and limits for
sign-in and expensive paths: the observed peak plus --buffer, as WAFv2 rules.

  lockgate analyze --from 2026-11-02T16:00:00Z --to 2026-11-02T19:59:59.999Z logs/
  lockgate analyze --replay -o html logs/ > report.html   # what the rules would block
  lockgate analyze --apply web-acl.json logs/             # write them into a web ACL
  lockgate analyze replay --acl web-acl.json logs/        # replay any web ACL
  lockgate analyze sql --engine athena                    # the same on Athena
  lockgate analyze gen --seed 1 --out logs --size 100MB   # synthetic logs`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s needs log files, directories, s3:// locations or - (standard input)", c.CommandPath())
			}
			return nil
		},
		RunE: runAnalyze,
	}
	analysisFlags(c)
	f := c.Flags()
	f.StringP("output", "o", "table", "output format: table, json, csv or html")
	f.Float64("buffer", 0.5, "growth buffer over the observed peak (0.5: limits 50% above it)")
	f.StringArray("rule-uri", nil, "a URI prefix that gets a limit of its own (repeatable)")
	f.Int("expensive-uris", 2, "how many URI prefixes with the largest share of the busiest clients' traffic are considered for limits of their own (0: none)")
	f.Bool("count", false, "propose the rules in Count mode instead of Block")
	f.String("apply", "", "write the proposed rules into this web ACL file (a backup is kept beside it)")
	f.Bool("replay", false, "replay every logged request through the proposed rules and fill would_block_requests")
	f.Int("max-keys", analyze.DefaultMaxKeys, "bound on distinct (key, window) pairs counted (about 100 bytes each)")
	f.Int("workers", 0, "records scanned in parallel (0: one per CPU)")
	f.Bool("strict", false, "fail on a bad record or a damaged input instead of counting it")
	c.AddCommand(newAnalyzeReplay(), newAnalyzeSQL(), newAnalyzeGen())
	return c
}

// analysisFlags are the flags that choose what is counted, shared with
// analyze sql.
func analysisFlags(c *cobra.Command) {
	f := c.Flags()
	f.String("from", "", "first timestamp analysed, RFC 3339 (included)")
	f.String("to", "", "last timestamp analysed, RFC 3339 (included)")
	f.String("window", "5m", "counting window: 1m, 2m, 5m or 10m (AWS WAF's EvaluationWindowSec values)")
	f.String("uri-prefix", "", "only requests whose URI starts with this")
	f.String("method", "", "only requests with this HTTP method")
	f.String("action", "", "only requests AWS WAF gave this action (ALLOW, BLOCK, COUNT, CAPTCHA, CHALLENGE)")
	f.String("country", "", "only requests from this country (ISO 3166 alpha-2)")
	f.String("header", "", "count the values of this header per window (top_header_values), e.g. X-Forwarded-For")
	f.Int("top", 10, "length of the top lists")
}

// analysisOptions reads the analysis flags.
func analysisOptions(c *cobra.Command) (analyze.Options, error) {
	var o analyze.Options
	f := c.Flags()
	get := func(name string) string { v, _ := f.GetString(name); return v }
	var err error
	if o.From, err = flagTime(get("from"), "--from"); err != nil {
		return o, err
	}
	if o.To, err = flagTime(get("to"), "--to"); err != nil {
		return o, err
	}
	if !o.From.IsZero() && !o.To.IsZero() && o.To.Before(o.From) {
		return o, usagef("--to %s is before --from %s", get("to"), get("from"))
	}
	if o.Window, err = time.ParseDuration(get("window")); err != nil || !slices.Contains(analyze.Windows, o.Window) {
		return o, usagef("--window %q: AWS WAF's evaluation windows are 1m, 2m, 5m and 10m", get("window"))
	}
	o.URIPrefix, o.Method, o.Action, o.Country, o.Header = get("uri-prefix"), get("method"), get("action"), get("country"), get("header")
	o.Top, _ = f.GetInt("top")
	if o.Top <= 0 {
		return o, usagef("--top %d: must be positive", o.Top)
	}
	if f.Lookup("buffer") != nil {
		o.Buffer, _ = f.GetFloat64("buffer")
		if o.Buffer < 0 || math.IsNaN(o.Buffer) || math.IsInf(o.Buffer, 0) {
			return o, usagef("--buffer %v: must be 0 or more (0.5 sets limits 50%% above the peak)", o.Buffer)
		}
		o.RuleURIs, _ = f.GetStringArray("rule-uri")
		for _, p := range o.RuleURIs {
			if !strings.HasPrefix(p, "/") || len(p) > 200 {
				return o, usagef("--rule-uri %q: a URI path starting with / of at most 200 bytes (AWS's limit on a search string)", p)
			}
		}
		o.ExpensiveURIs, _ = f.GetInt("expensive-uris")
		if o.ExpensiveURIs == 0 {
			o.ExpensiveURIs = -1
		}
		o.Count, _ = f.GetBool("count")
		o.MaxKeys, _ = f.GetInt("max-keys")
		o.Workers, _ = f.GetInt("workers")
		o.Strict, _ = f.GetBool("strict")
	}
	return o, nil
}

func flagTime(s, flag string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, usagef("%s %q: write an RFC 3339 time such as 2026-11-02T16:00:00Z", flag, s)
	}
	return t, nil
}

func runAnalyze(c *cobra.Command, args []string) error {
	o, err := analysisOptions(c)
	if err != nil {
		return err
	}
	format, _ := c.Flags().GetString("output")
	if !slices.Contains(analyze.Formats, format) {
		return usagef("--output %q: table, json, csv or html", format)
	}
	replay, _ := c.Flags().GetBool("replay")
	applyTo, _ := c.Flags().GetString("apply")
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	inputs, err := analyze.Expand(ctx, args, analyze.Sources{Stdin: c.InOrStdin()})
	if err != nil {
		return err
	}
	if replay && !analyze.Reopenable(inputs) {
		// Replay reads the logs a second time: keep standard input.
		var cleanup func()
		if inputs, cleanup, err = analyze.Spool(ctx, inputs); err != nil {
			return err
		}
		defer cleanup()
	}
	stop := progressFor(c, inputs, &o.Progress)
	r, err := analyze.Analyze(ctx, inputs, o)
	stop()
	if err != nil {
		return err
	}
	warn := c.ErrOrStderr()
	if format != "table" { // the table has a Warnings section of its own
		for _, w := range r.Warnings {
			fmt.Fprintln(warn, "warning:", w)
		}
	}
	if replay && len(r.Rules) > 0 {
		rules, _ := json.Marshal(r.Rules)
		acl, _, err := waf.Load(rules, waf.LoadOptions{})
		if err != nil {
			return fmt.Errorf("the proposed rules do not load (a bug): %w", err)
		}
		base := map[string]int64{}
		for _, rec := range r.Recommendations {
			base[rec.Name] = rec.ObservedPeak
		}
		ro := analyze.ReplayOptions{ACL: acl, Baselines: base, Buffer: o.Buffer, Top: o.Top, Span: r.Span, Strict: o.Strict}
		stop := progressFor(c, inputs, &ro.Progress)
		rep, err := analyze.Replay(ctx, inputs, ro)
		stop()
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for _, x := range rep.Rules {
			for i := range r.Recommendations {
				if r.Recommendations[i].Name == x.Rule {
					r.Recommendations[i].WouldBlockRequests = &x.Requests
				}
			}
		}
		for i := range r.Recommendations {
			if r.Recommendations[i].WouldBlockRequests == nil {
				r.Recommendations[i].WouldBlockRequests = new(int64) // it never acted
			}
		}
		r.Replay = rep
	}
	if applyTo != "" {
		if len(r.Recommendations) == 0 {
			if r.Records == 0 {
				return fmt.Errorf("--apply %s: no records, so no rules to write", applyTo)
			}
			if format == "table" {
				// The table, which carries the warnings, is not written:
				// the reason must be on standard error all the same.
				for _, w := range r.Warnings {
					fmt.Fprintln(warn, "warning:", w)
				}
			}
			return fmt.Errorf("--apply %s: no rules to write (see the warning above); %s is unchanged", applyTo, applyTo)
		}
		res, err := analyze.Apply(applyTo, r.Recommendations, o.Count, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(warn, "%s: updated %s, added %s; the old file is %s\n", applyTo, list(res.Updated), list(res.Added), res.Backup)
	}
	return r.Write(c.OutOrStdout(), format)
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// progressFor starts a progress bar on standard error when it is a
// terminal; the returned func stops it.
func progressFor(c *cobra.Command, inputs []analyze.Input, dst **analyze.Progress) func() {
	f, ok := c.ErrOrStderr().(*os.File)
	if !ok || !isTerminal(f) {
		return func() {}
	}
	var total int64
	for _, in := range inputs {
		if in.Size < 0 {
			total = -1
			break
		}
		total += in.Size
	}
	p := analyze.NewProgress(f, total, nil)
	p.Start(250 * time.Millisecond)
	*dst = p
	return p.Stop
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
