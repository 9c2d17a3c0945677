package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/waflog"
	"github.com/lockgate/lockgate/internal/webacl"
	"github.com/lockgate/lockgate/waf"
)

func newWAF() *cobra.Command {
	c := &cobra.Command{Use: "waf", Short: "Validate web ACLs and test requests against them"}
	c.AddCommand(newWAFValidate(), newWAFTest())
	return c
}

// resourceFlags are the files a web ACL's references resolve to.
func resourceFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringArray("ip-set", nil, "an IP set a rule references: ARN=FILE (get-ip-set JSON or one CIDR a line)")
	f.StringArray("regex-set", nil, "a regex pattern set a rule references: ARN=FILE (get-regex-pattern-set JSON or one pattern a line)")
	f.StringArray("rule-group", nil, "a rule group a rule references: ARN=FILE (RuleGroup or get-rule-group JSON)")
	f.String("ip-reputation", "", "the IP list behind the IP reputation managed groups (one CIDR a line)")
	f.String("anonymous-ip", "", "the IP list behind the anonymous IP managed groups (one CIDR a line)")
	f.Bool("base64", false, "read SearchString values as base64 (as AWS's API writes them)")
}

// loadACL reads the web ACL and everything it references, through the
// same provisioning the gateway uses: the configuration (--config and the
// LOCKGATE_ environment, as serve reads them) gives the waf section and
// the geolocation database, and the flags add to one webacl.Config. So
// GeoMatch statements, their country and region labels and the log's
// country come from the database the gateway would use. Problems are
// returned one a line, each with its file.
func loadACL(c *cobra.Command, path string) (*waf.WebACL, waf.Options, []string) {
	var problems []string
	var flags webacl.Config
	cfg, src, err := loadConfig(c)
	if err != nil {
		return nil, waf.Options{}, strings.Split(err.Error(), "\n")
	}
	wc := cfg.WAF
	db, probs := geo.Provision(cfg.Geo, nil)
	for i := range probs {
		probs[i].Path = "geo." + probs[i].Path
	}
	for _, p := range src.Locate(probs) {
		problems = append(problems, p.Error())
	}
	if len(probs) > 0 {
		db = geo.Default // reported above; the database did not open
	}
	pairs := func(flag string, add func(arn string, file config.Path)) {
		vals, _ := c.Flags().GetStringArray(flag)
		for _, v := range vals {
			arn, file, ok := strings.Cut(v, "=")
			if !ok || arn == "" || file == "" {
				problems = append(problems, fmt.Sprintf("--%s %q: write ARN=FILE", flag, v))
				continue
			}
			add(arn, config.Path(file))
		}
	}
	pairs("ip-set", func(arn string, f config.Path) {
		flags.IPSets = append(flags.IPSets, webacl.IPSetRef{ARN: arn, File: f})
	})
	pairs("regex-set", func(arn string, f config.Path) {
		flags.RegexSets = append(flags.RegexSets, webacl.RegexRef{ARN: arn, File: f})
	})
	pairs("rule-group", func(arn string, f config.Path) {
		flags.Groups = append(flags.Groups, webacl.RuleGroupRef{ARN: arn, File: f})
	})
	flags.IPReputationFile = config.Path(str(c, "ip-reputation"))
	flags.AnonymousIPFile = config.Path(str(c, "anonymous-ip"))
	// The configuration's waf section first, its problems located in the
	// file; the flags add to it.
	set, probs := webacl.Provision(wc, db)
	for i := range probs {
		probs[i].Path = "waf." + probs[i].Path
	}
	for _, p := range src.Locate(probs) {
		problems = append(problems, p.Error())
	}
	extra, probs := webacl.Provision(flags, db)
	for _, p := range probs {
		problems = append(problems, "flags: "+p.Error())
	}
	opts := set.Options
	maps.Copy(opts.IPSets, extra.Options.IPSets)
	maps.Copy(opts.RegexSets, extra.Options.RegexSets)
	maps.Copy(opts.RuleGroups, extra.Options.RuleGroups)
	if extra.Options.IPReputation != nil {
		opts.IPReputation = extra.Options.IPReputation
	}
	if extra.Options.AnonymousIP != nil {
		opts.AnonymousIP = extra.Options.AnonymousIP
	}
	base64, _ := c.Flags().GetBool("base64")
	acl, err := webacl.LoadFile(path, waf.LoadOptions{SearchStringBase64: base64})
	if err != nil {
		problems = append(problems, strings.Split(err.Error(), "\n")...)
	}
	return acl, opts, problems
}

func newWAFValidate() *cobra.Command {
	c := &cobra.Command{
		Use:     "validate FILE",
		Example: `  lockgate waf validate webacl.json`,
		Short:   "Print every problem in a web ACL (exit 1), or its capacity in WCUs",
		Long: `Validate a web ACL as AWS writes it: a WebACL object, the answer of aws wafv2
get-web-acl, a bare rule or a Rules array. Every problem is printed with its
JSON path. References to IP sets, regex pattern sets and rule groups are checked
against the files given for them.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("waf validate takes one file")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			acl, opts, problems := loadACL(c, args[0])
			if acl != nil && len(problems) == 0 {
				if _, err := waf.New(acl, opts); err != nil {
					for _, line := range strings.Split(err.Error(), "\n") {
						problems = append(problems, args[0]+": "+line)
					}
				}
			}
			out := wafValidation{File: args[0], Valid: len(problems) == 0, Problems: append([]string{}, problems...), Warnings: []string{}}
			if out.Valid {
				out.Rules, out.WCUs = len(acl.Rules), waf.Capacity(acl, opts.RuleGroups)
				if out.WCUs > waf.DefaultMaxCapacity {
					out.Warnings = append(out.Warnings, fmt.Sprintf("%s: %d WCUs is over AWS's default web ACL limit of %d", args[0], out.WCUs, waf.DefaultMaxCapacity))
				}
			}
			switch {
			case p.structured():
				if err := p.object(out, nil); err != nil {
					return err
				}
			case !out.Valid:
				fmt.Fprintln(c.ErrOrStderr(), safeMessage(strings.Join(problems, "\n")))
			default:
				fmt.Fprintf(c.OutOrStdout(), "%s: ok, %d rules, %d WCUs\n", args[0], out.Rules, out.WCUs)
				for _, w := range out.Warnings {
					fmt.Fprintln(c.ErrOrStderr(), safeMessage(fmt.Sprint(w)))
				}
			}
			if !out.Valid {
				return exitError{exitFailure}
			}
			return nil
		},
	}
	resourceFlags(c)
	outputFlag(c)
	return c
}

// wafValidation is waf validate's -o json/yaml answer.
type wafValidation struct {
	File     string   `json:"file"`
	Valid    bool     `json:"valid"`
	Rules    int      `json:"rules"`
	WCUs     int64    `json:"wcus"`
	Problems []string `json:"problems"`
	Warnings []string `json:"warnings"`
}

func newWAFTest() *cobra.Command {
	c := &cobra.Command{
		Use:     "test",
		Example: `  lockgate waf test --acl webacl.json --method POST --uri /login --ip 198.51.100.7 --repeat 120`,
		Short:   "Evaluate a request against a web ACL and show each rule's verdict",
		Long: `Evaluate one request (--repeat N: N times in a row, as one client sending them,
one a millisecond apart) and print the decision with a trace of each rule.
The request is written as an HTTP/1.1 client would send it (Host: localhost
unless -H gives one, Content-Length for a body) and goes through the same
parsing, request building and log record code as the gateway: -o json prints
the AWS WAF log record the gateway would write for the last request, plus
"trace". Before the web ACL, the request meets the gateway's own checks: a
request the gateway refuses with 400 (a header sent twice, a Host that is not
host[:port], a target it cannot forward as received, a '_' header name with
--underscore-headers refuse) is reported REFUSED, as the gateway would answer
it. --tls simulates a gateway behind TLS or HTTP/2, where the header order is
not known: a rule reaching a HeaderOrder match then blocks, as there.
Exit 0 when the last request is allowed, 3 when it is blocked or refused.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlags(c, "acl"); err != nil {
				return err
			}
			ip, err := netip.ParseAddr(str(c, "ip"))
			if err != nil {
				return usagef("--ip %q: %v", str(c, "ip"), err)
			}
			repeat, _ := c.Flags().GetInt("repeat")
			if repeat < 1 {
				return usagef("--repeat must be at least 1")
			}
			out := str(c, "output")
			if out != "text" && out != "json" {
				return usagef("-o %q: text or json", out)
			}
			switch u := str(c, "underscore-headers"); u {
			case "drop", "refuse", "allow":
			default:
				return usagef("--underscore-headers %q: drop, refuse or allow", u)
			}
			target, fragment, _ := strings.Cut(str(c, "uri"), "#")
			if q := str(c, "query"); q != "" {
				if strings.Contains(target, "?") {
					target += "&" + q
				} else {
					target += "?" + q
				}
			}
			headers, _ := c.Flags().GetStringArray("header")
			var hs []waf.Header
			for _, h := range headers {
				name, value, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
					return usagef("-H %q: write 'Name: value'", h)
				}
				hs = append(hs, waf.Header{Name: name, Value: strings.TrimSpace(value)})
			}
			var body []byte
			if f := str(c, "body"); f != "" {
				if f == "-" {
					body, err = io.ReadAll(c.InOrStdin())
				} else {
					body, err = os.ReadFile(f)
				}
				if err != nil {
					return err
				}
			}
			raw, block := rawRequest(str(c, "method"), target, hs, body)
			acl, opts, problems := loadACL(c, str(c, "acl"))
			if len(problems) > 0 {
				fmt.Fprintln(c.ErrOrStderr(), safeMessage(strings.Join(problems, "\n")))
				return exitError{exitFailure}
			}
			clock := time.Now()
			opts.Now = func() time.Time { return clock }
			eng, err := waf.New(acl, opts)
			if err != nil {
				fmt.Fprintln(c.ErrOrStderr(), safeMessage(err.Error()))
				return exitError{exitFailure}
			}
			src := &waflog.Source{WebACLID: waflog.WebACLID(acl), Name: "lockgate", ID: str(c, "route"), RedactedFields: waflog.DefaultRedactedFields}
			var d waf.Decision
			var trace []waf.TraceStep
			var rec *waflog.Record
			var allowed, blocked, counted int
			for i := range repeat {
				// What the gateway does with a request, step by step.
				r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
				if err != nil {
					return usagef("the request is not HTTP/1.1: %v", err)
				}
				r.RemoteAddr = netip.AddrPortFrom(ip, 50000).String()
				r.URL.Fragment = fragment
				if why := gateway.Refusal(r, str(c, "underscore-headers")); why != "" {
					return wafTestRefused(c, out, why)
				}
				var req waf.Request
				if err := eng.FillRequest(&req, r, ip); err != nil {
					return err
				}
				if tlsOn, _ := c.Flags().GetBool("tls"); !tlsOn {
					// Plain HTTP/1.1: the gateway reads the order from
					// the wire. Behind TLS or HTTP/2 it does not know it.
					waf.ReorderHeaders(&req, r, block)
				}
				d, trace = eng.EvaluateTrace(r.Context(), &req)
				rec = waflog.New(src, clock, r, &req, &d, eng.Country(ip), "cli-"+strconv.Itoa(i+1))
				switch {
				case d.Action == "BLOCK":
					blocked++
				default:
					allowed++
				}
				if len(d.NonTerminating) > 0 {
					counted++
				}
				clock = clock.Add(time.Millisecond)
			}
			if out == "json" {
				last, err := recordWithTrace(rec, trace)
				if err != nil {
					return err
				}
				// The shape docs/waf.md gives, for one request too.
				v := map[string]any{"last": last, "allowed": allowed, "blocked": blocked, "counted": counted}
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(v); err != nil {
					return err
				}
			} else {
				w := c.OutOrStdout()
				if repeat > 1 {
					fmt.Fprintf(w, "%d requests: %d allowed, %d blocked, %d counted by a rule\nlast request:\n", repeat, allowed, blocked, counted)
				}
				for _, s := range trace {
					verdict := "no match"
					if s.Matched {
						verdict = "MATCH → " + s.Action
					}
					extra := ""
					if s.Limit > 0 {
						extra = fmt.Sprintf(" (count %d, limit %d)", s.Count, s.Limit)
					}
					fmt.Fprintf(w, "  %-30s %-18s %s%s\n", s.Rule, s.Type, verdict, extra)
				}
				fmt.Fprintf(w, "%s by %s (%s)\n", d.Action, d.TerminatingRuleID, d.TerminatingRuleType)
				for _, l := range d.Labels {
					fmt.Fprintf(w, "  label %s\n", l)
				}
			}
			if d.Action == "BLOCK" {
				return exitError{exitDenied}
			}
			return nil
		},
	}
	f := c.Flags()
	f.String("acl", "", "the web ACL file")
	f.String("ip", "203.0.113.7", "the client's IP address")
	f.String("method", "GET", "the HTTP method")
	f.String("uri", "/", "the path, optionally with ?query and #fragment")
	f.String("query", "", "the query string (a=b&c=d)")
	f.StringArrayP("header", "H", nil, "a request header, 'Name: value' (repeat; sent in this order and case)")
	f.String("body", "", "a file holding the request body (- for stdin)")
	f.Int("repeat", 1, "send the request N times in a row")
	f.String("route", "waf-test", "the route name logged as httpSourceId")
	f.Bool("tls", false, "simulate a gateway behind TLS or HTTP/2: the header order is not known (HeaderOrder rules block)")
	f.String("underscore-headers", "drop", "the gateway's underscore_headers: drop, refuse or allow")
	f.StringP("output", "o", "text", "text or json")
	resourceFlags(c)
	return c
}

// wafTestRefused reports a request the gateway refuses before its web
// ACL, with the answer it would give.
func wafTestRefused(c *cobra.Command, out, why string) error {
	if out == "json" {
		enc := json.NewEncoder(c.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"refused": map[string]any{"status": 400, "error": "bad_request", "message": why}}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.OutOrStdout(), "REFUSED by the gateway before the web ACL: 400 bad_request: %s\n", why)
	}
	return exitError{exitDenied}
}

// rawRequest writes the request as an HTTP/1.1 client sends it, and
// returns its header block too.
func rawRequest(method, target string, hs []waf.Header, body []byte) (raw, block []byte) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	host, length := false, false
	for _, h := range hs {
		host = host || strings.EqualFold(h.Name, "Host")
		length = length || strings.EqualFold(h.Name, "Content-Length") || strings.EqualFold(h.Name, "Transfer-Encoding")
	}
	if !host {
		b.WriteString("Host: localhost\r\n")
	}
	for _, h := range hs {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	if !length && len(body) > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	block = bytes.Clone(b.Bytes())
	b.Write(body)
	return b.Bytes(), block
}

// recordWithTrace is the log record, byte for byte as the gateway writes
// it, with the trace added as its last member.
func recordWithTrace(rec *waflog.Record, trace []waf.TraceStep) (json.RawMessage, error) {
	line, err := waflog.Marshal(rec)
	if err != nil {
		return nil, err
	}
	t, err := json.Marshal(trace)
	if err != nil {
		return nil, err
	}
	out := append(line[:len(line)-1:len(line)-1], `,"trace":`...)
	return append(append(out, t...), '}'), nil
}
