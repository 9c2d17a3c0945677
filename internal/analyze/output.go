package analyze

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Formats are the output formats.
var Formats = []string{"table", "json", "csv", "html"}

// Write writes the report in a format.
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		return writeJSON(w, r)
	case "csv":
		return r.writeCSV(w)
	case "html":
		return r.WriteHTML(w)
	case "table", "":
		return r.writeTable(w)
	}
	return fmt.Errorf("output format %q: use table, json, csv or html", format)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func (r *Report) writeTable(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	win := windowName(time.Duration(r.WindowSeconds) * time.Second)
	fmt.Fprintf(w, "%s records (%s bad), %s windows, %s to %s\n", num(r.Records), num(r.BadRecords), win, r.From, r.To)
	fmt.Fprintf(w, "\nTop client IPs per %s window%s\nWINDOW START\tCLIENT IP\tREQUESTS\n", win, r.LowerBound("top_ips"))
	for _, t := range r.TopIPs {
		fmt.Fprintf(w, "%s\t%s\t%s\n", t.WindowStart, t.ClientIP, num(t.Requests))
	}
	fmt.Fprintf(w, "\nTop client IP and URI pairs per %s window%s\nWINDOW START\tCLIENT IP\tURI\tREQUESTS\n", win, r.LowerBound("top_ip_uris"))
	for _, t := range r.TopIPURIs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.WindowStart, t.ClientIP, t.URI, num(t.Requests))
	}
	if r.Options.Header != "" {
		fmt.Fprintf(w, "\nTop %s values per %s window%s\nWINDOW START\tVALUE\tREQUESTS\n", r.Options.Header, win, r.LowerBound("top_header_values"))
		for _, t := range r.TopHeaderValues {
			fmt.Fprintf(w, "%s\t%s\t%s\n", t.WindowStart, t.Value, num(t.Requests))
		}
	}
	d := r.PerIPWindowCounts
	fmt.Fprintf(w, "\nRequests per (client IP, window)%s: %s pairs; p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n",
		r.LowerBound("per_ip_window_counts"), num(d.Keys), num(d.P50), num(d.P90), num(d.P99), num(d.P999), num(d.Max))
	fmt.Fprintf(w, "\nCOUNTRY\tREQUESTS\n")
	for _, c := range r.ByCountry {
		fmt.Fprintf(w, "%s\t%s\n", c.Country, num(c.Requests))
	}
	fmt.Fprintf(w, "\nACTION\tREQUESTS\n")
	for _, c := range r.ByAction {
		fmt.Fprintf(w, "%s\t%s\n", c.Action, num(c.Requests))
	}
	fmt.Fprintf(w, "\nTERMINATING RULE\tACTION\tREQUESTS\n")
	for _, c := range r.ByTerminatingRule {
		fmt.Fprintf(w, "%s\t%s\t%s\n", c.Rule, c.Action, num(c.Requests))
	}
	if len(r.Recommendations) > 0 {
		fmt.Fprintf(w, "\nRecommended rate-based rules (in priority order)\nNAME\tURI PREFIX\tLIMIT\tPEAK\tWOULD BLOCK\n")
		for _, rec := range r.Recommendations {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", rec.Name, orDash(rec.URIPrefix), num(rec.Limit), num(rec.ObservedPeak), wouldBlock(rec.WouldBlockRequests))
		}
		w.Flush()
		fmt.Fprintln(out)
		for _, rec := range r.Recommendations {
			fmt.Fprintf(out, "%s: %s\n", rec.Name, rec.Rationale)
		}
		fmt.Fprintln(out, "\nThe rules as WAFv2 JSON: -o json (rules), or write them into a web ACL with --apply ACL.json.")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(r.Warnings) > 0 {
		// The counts above are incomplete or left records out: the table
		// says so itself, wherever it is written.
		fmt.Fprintln(out, "\nWarnings")
		for _, warn := range r.Warnings {
			fmt.Fprintln(out, "warning:", warn)
		}
	}
	if r.Replay != nil {
		fmt.Fprintln(out)
		return r.Replay.writeTable(out)
	}
	return nil
}

func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func wouldBlock(n *int64) string {
	if n == nil {
		return "(--replay)"
	}
	return num(*n)
}

func (r *Report) writeCSV(out io.Writer) error {
	w := newCSV(out)
	w.Write([]string{"section", "window_start", "client_ip", "uri", "header", "value", "country", "action", "rule", "requests", "limit", "observed_peak", "would_block_requests"})
	row := func(section, window, ip, uri, header, value, country, action, rule string, requests int64, extra ...string) {
		rec := []string{section, window, ip, uri, header, value, country, action, rule, strconv.FormatInt(requests, 10), "", "", ""}
		copy(rec[10:], extra)
		w.Write(rec)
	}
	for _, t := range r.TopIPs {
		row("top_ips", t.WindowStart.String(), t.ClientIP, "", "", "", "", "", "", t.Requests)
	}
	for _, t := range r.TopIPURIs {
		row("top_ip_uris", t.WindowStart.String(), t.ClientIP, t.URI, "", "", "", "", "", t.Requests)
	}
	for _, t := range r.TopHeaderValues {
		row("top_header_values", t.WindowStart.String(), "", "", t.Header, t.Value, "", "", "", t.Requests)
	}
	for _, c := range r.ByCountry {
		row("by_country", "", "", "", "", "", c.Country, "", "", c.Requests)
	}
	for _, c := range r.ByAction {
		row("by_action", "", "", "", "", "", "", c.Action, "", c.Requests)
	}
	for _, c := range r.ByTerminatingRule {
		row("by_terminating_rule", "", "", "", "", "", "", c.Action, c.Rule, c.Requests)
	}
	for _, rec := range r.Recommendations {
		wb := ""
		if rec.WouldBlockRequests != nil {
			wb = strconv.FormatInt(*rec.WouldBlockRequests, 10)
		}
		uri := ""
		if rec.URIPrefix != nil {
			uri = *rec.URIPrefix
		}
		row("recommendation", "", "", uri, "", "", "", "", rec.Name, 0, strconv.FormatInt(rec.Limit, 10), strconv.FormatInt(rec.ObservedPeak, 10), wb)
	}
	// A section whose counts are lower bounds (--max-keys reached) is
	// named in a row of its own: the columns stay those other tools read.
	for _, l := range r.LowerBounds {
		row("lower_bound", "", "", "", "", l, "", "", "", 0)
	}
	w.Flush()
	return w.Error()
}

// Write writes the replay in a format.
func (r *ReplayReport) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		return writeJSON(w, r)
	case "csv":
		return r.writeCSV(w)
	case "table", "":
		return r.writeTable(w)
	}
	return fmt.Errorf("output format %q: use table, json or csv (html: lockgate analyze --replay -o html)", format)
}

func (r *ReplayReport) writeTable(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Replay: %s requests from %s to %s, in log time order (%s bad, %s late)\n", num(r.Records), r.From, r.To, num(r.BadRecords), num(r.LateRecords))
	for _, a := range r.ByAction {
		fmt.Fprintf(w, "  %s\t%s\n", a.Action, num(a.Requests))
	}
	fmt.Fprintf(w, "\nRULE\tTYPE\tACTION\tLIMIT\tBASELINE\tREQUESTS\tKEYS\tPOSSIBLE FALSE POSITIVES\n")
	for _, x := range r.Rules {
		lim, base := "-", "-"
		if x.Limit != nil {
			lim = num(*x.Limit)
		}
		if x.Baseline != nil {
			base = num(*x.Baseline)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s keys, %s requests\n", x.Rule, x.Type, x.Action, lim, base, num(x.Requests), num(x.Keys),
			num(x.PossibleFalsePositiveKeys), num(x.PossibleFalsePositiveRequests))
	}
	for _, x := range r.Rules {
		if len(x.TopKeys) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: keys acted on\nKEY\tREQUESTS\tMAX IN A WINDOW\tFIRST\tLAST\tFALSE POSITIVE?\n", x.Rule)
		for _, k := range x.TopKeys {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s %s %s\t%s %s %s\t%s\n", k.Key, num(k.Requests), ptrNum(k.MaxWindowRequests),
				k.First.Time, k.First.Method, k.First.URI, k.Last.Time, k.Last.Method, k.Last.URI, yesNo(k.PossibleFalsePositive))
		}
	}
	w.Flush()
	for _, warn := range r.Warnings {
		fmt.Fprintln(out, "warning:", warn)
	}
	return nil
}

func ptrNum(n *int64) string {
	if n == nil {
		return "-"
	}
	return num(*n)
}

func yesNo(b bool) string {
	if b {
		return "possible"
	}
	return "no"
}

func (r *ReplayReport) writeCSV(out io.Writer) error {
	w := newCSV(out)
	w.Write([]string{"rule", "type", "action", "key", "requests", "max_window_requests", "possible_false_positive", "first_time", "first_uri", "last_time", "last_uri"})
	for _, x := range r.Rules {
		w.Write([]string{x.Rule, x.Type, x.Action, "", strconv.FormatInt(x.Requests, 10), "", "", "", "", "", ""})
		for _, k := range x.TopKeys {
			max := ""
			if k.MaxWindowRequests != nil {
				max = strconv.FormatInt(*k.MaxWindowRequests, 10)
			}
			w.Write([]string{x.Rule, x.Type, x.Action, k.Key, strconv.FormatInt(k.Requests, 10), max, strconv.FormatBool(k.PossibleFalsePositive),
				k.First.Time.String(), k.First.URI, k.Last.Time.String(), k.Last.URI})
		}
	}
	w.Flush()
	return w.Error()
}

// csvWriter writes cells a spreadsheet cannot take for formulas. The
// values come from the logs, that is from clients (URIs, header values
// such as X-Forwarded-For): "=HYPERLINK(…)" in a cell would run when an
// operator opens the report. OWASP ASVS 1.2.10: "special characters
// (including '=', '+', '-', '@', '\t' (tab), and '\0' (null character))
// must be escaped with a single quote if they appear as the first
// character in a field value"; OWASP's CSV injection page adds carriage
// return (0x0D).
type csvWriter struct{ *csv.Writer }

func newCSV(out io.Writer) csvWriter { return csvWriter{csv.NewWriter(out)} }

func (w csvWriter) Write(rec []string) error {
	for i, v := range rec {
		rec[i] = csvCell(v)
	}
	return w.Writer.Write(rec)
}

// csvCell prefixes a cell that would start a formula with a single
// quote, which spreadsheets read as "this is text" and do not show.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r\x00", rune(v[0])) {
		return "'" + v
	}
	return v
}
