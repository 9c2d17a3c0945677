package analyze

import (
	"fmt"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/waflog"
)

// Engines are the SQL flavours analyze sql writes.
var Engines = []string{"athena", "trino", "duckdb"}

// SQLOptions say which table the queries read and what they ask.
type SQLOptions struct {
	Engine   string
	Table    string // waf_logs when empty
	Location string // s3://… (Athena, Trino) or a file glob (DuckDB)
	Options         // window, period, filters, header and top, as for Analyze
}

// Query is one of the analysis's queries.
type Query struct {
	Name    string // the report's member it answers
	Comment string
	SQL     string
}

// SQL returns the table definition and the queries that compute the
// report's lists on a distributed engine: the blog's three queries (per
// client IP, per IP and URI, per header value, all per window), the
// distribution of per-IP window counts, and the tallies. DuckDB's answers
// equal lockgate analyze's; Athena's and Trino's percentiles are
// approximate (approx_percentile).
func SQL(o SQLOptions) (ddl string, queries []Query, err error) {
	if err := o.Options.normalize(); err != nil {
		return "", nil, err
	}
	if o.Table == "" {
		o.Table = "waf_logs"
	}
	if !identifier(o.Table) {
		return "", nil, fmt.Errorf("table %q: letters, digits and _ (optionally schema.table)", o.Table)
	}
	d := dialect{engine: o.Engine, winMs: o.Window.Milliseconds(), table: o.Table}
	switch o.Engine {
	case "athena":
		if o.Location == "" {
			o.Location = waflog.AthenaDDLLocation
		}
		if !strings.HasPrefix(o.Location, "s3://") {
			return "", nil, fmt.Errorf("location %q: Athena reads s3://bucket/prefix/", o.Location)
		}
		loc := strings.TrimSuffix(o.Location, "/") + "/"
		ddl = strings.Replace(waflog.AthenaDDL, "`"+waflog.AthenaDDLTable+"`", "`"+o.Table+"`", 1)
		ddl = strings.ReplaceAll(ddl, waflog.AthenaDDLLocation, sqlEscape(loc))
		ddl = "-- AWS's table for AWS WAF logs with partition projection (Amazon Athena User Guide,\n" +
			"-- \"Create a table for AWS WAF S3 logs in Athena using partition projection\").\n" +
			"-- Set projection.log_time.range to when your logs start.\n" + ddl + ";"
	case "trino":
		if o.Location == "" {
			o.Location = "s3://amzn-s3-demo-bucket/AWSLogs/AWS_ACCOUNT_NUMBER/WAFLogs/"
		}
		ddl, err = trinoDDL(o.Table, o.Location)
		if err != nil {
			return "", nil, err
		}
	case "duckdb":
		if o.Location == "" {
			o.Location = "waflogs/**/*"
		}
		ddl = fmt.Sprintf(`-- The logs as a DuckDB view: the members the queries read, gzip by file name.
CREATE OR REPLACE VIEW %s AS
SELECT * FROM read_json('%s',
  format = 'newline_delimited', compression = 'auto_detect',
  columns = {timestamp: 'BIGINT', action: 'VARCHAR', terminatingRuleId: 'VARCHAR',
    httpRequest: 'STRUCT(clientIp VARCHAR, country VARCHAR, uri VARCHAR, httpMethod VARCHAR, headers STRUCT(name VARCHAR, value VARCHAR)[])'});`,
			o.Table, sqlEscape(o.Location))
	default:
		return "", nil, fmt.Errorf("engine %q: athena, trino or duckdb", o.Engine)
	}
	where := d.where(&o.Options)
	win := d.window()
	ip, uri := d.col("httpRequest.clientIp"), d.col("httpRequest.uri")
	top := o.Top
	span := windowName(o.Window)
	queries = append(queries,
		Query{"top_ips", fmt.Sprintf("The blog's first query: requests per client IP per %s window, busiest first.", span), fmt.Sprintf(
			"SELECT %s AS window_start, %s AS client_ip, count(*) AS requests\nFROM %s\nWHERE %s\nGROUP BY 1, 2\nORDER BY requests DESC, window_start, client_ip\nLIMIT %d;",
			win, ip, o.Table, where, top)},
		Query{"top_ip_uris", fmt.Sprintf("The blog's second query: requests per client IP and URI per %s window.", span), fmt.Sprintf(
			"SELECT %s AS window_start, %s AS client_ip, %s AS uri, count(*) AS requests\nFROM %s\nWHERE %s\nGROUP BY 1, 2, 3\nORDER BY requests DESC, window_start, client_ip, uri\nLIMIT %d;",
			win, ip, uri, o.Table, where, top)})
	if o.Header != "" {
		queries = append(queries, Query{"top_header_values", fmt.Sprintf("The blog's third query: requests per %s value per %s window.", o.Header, span), fmt.Sprintf(
			"SELECT %s AS window_start, '%s' AS header, header.value AS value, count(*) AS requests\nFROM %s, UNNEST(%s) AS t(header)\nWHERE %s\n  AND lower(header.name) = '%s'\nGROUP BY 1, 3\nORDER BY requests DESC, window_start, value\nLIMIT %d;",
			win, sqlEscape(o.Header), o.Table, d.col("httpRequest.headers"), where, sqlEscape(strings.ToLower(o.Header)), top)})
	}
	pct := "quantile_disc(requests, %s)"
	pctNote := "Nearest-rank percentiles (quantile_disc), as lockgate analyze computes them."
	if o.Engine != "duckdb" {
		pct = "approx_percentile(requests, %s)"
		pctNote = "Percentiles of requests per (client IP, window); approx_percentile is approximate."
	}
	p := func(q string) string { return fmt.Sprintf(pct, q) }
	queries = append(queries,
		Query{"per_ip_window_counts", pctNote, fmt.Sprintf(
			"SELECT count(*) AS keys, %s AS p50, %s AS p90, %s AS p99, %s AS p999, max(requests) AS max\nFROM (\n  SELECT count(*) AS requests\n  FROM %s\n  WHERE %s\n  GROUP BY %s, %s\n) AS per_ip_window;",
			p("0.5"), p("0.9"), p("0.99"), p("0.999"), o.Table, indent(where), ip, d.windowNumber())},
		Query{"by_country", "Requests per country.", fmt.Sprintf(
			"SELECT %s AS country, count(*) AS requests\nFROM %s\nWHERE %s\nGROUP BY 1\nORDER BY requests DESC, country;", d.col("httpRequest.country"), o.Table, where)},
		Query{"by_action", "Requests per action.", fmt.Sprintf(
			"SELECT %s AS action, count(*) AS requests\nFROM %s\nWHERE %s\nGROUP BY 1\nORDER BY requests DESC, action;", d.col("action"), o.Table, where)},
		Query{"by_terminating_rule", "Requests per terminating rule and action.", fmt.Sprintf(
			"SELECT %s AS rule, %s AS action, count(*) AS requests\nFROM %s\nWHERE %s\nGROUP BY 1, 2\nORDER BY requests DESC, rule, action;",
			d.col("terminatingRuleId"), d.col("action"), o.Table, where)})
	return ddl, queries, nil
}

type dialect struct {
	engine string
	winMs  int64
	table  string
}

// col names a column: DuckDB keeps the log's member names; Athena and
// Trino lower-case them.
func (d dialect) col(c string) string {
	if d.engine == "duckdb" {
		if c == "timestamp" {
			return `"timestamp"`
		}
		return c
	}
	if c == "timestamp" {
		return `"timestamp"`
	}
	return strings.ToLower(c)
}

func (d dialect) windowNumber() string {
	if d.engine == "duckdb" {
		return fmt.Sprintf(`"timestamp" // %d`, d.winMs)
	}
	return fmt.Sprintf(`"timestamp" / %d`, d.winMs) // integer division
}

func (d dialect) window() string {
	if d.engine == "duckdb" {
		return fmt.Sprintf(`epoch_ms(("timestamp" // %d) * %d)`, d.winMs, d.winMs)
	}
	return fmt.Sprintf(`from_unixtime("timestamp" / %d * %d)`, d.winMs, d.winMs/1000)
}

// where is the filter: the period (milliseconds, both ends included, as
// the blog's BETWEEN), the filters, and the records lockgate counts
// (with a client IP).
func (d dialect) where(o *Options) string {
	conds := []string{fmt.Sprintf("%s <> ''", d.col("httpRequest.clientIp"))}
	if !o.From.IsZero() || !o.To.IsZero() {
		from, to := int64(-1<<62), int64(1<<62)
		if !o.From.IsZero() {
			from = o.From.UnixMilli()
		}
		if !o.To.IsZero() {
			to = o.To.UnixMilli()
		}
		conds = append(conds, fmt.Sprintf(`"timestamp" BETWEEN %d AND %d`, from, to))
		if d.engine == "athena" {
			// Partition pruning: AWS WAF delivers a record to the folder
			// of the minute it writes it, a few minutes after the request.
			lo, hi := "0000/00/00/00/00", "9999/99/99/99/99"
			if !o.From.IsZero() {
				lo = o.From.UTC().Format("2006/01/02/15/04")
			}
			if !o.To.IsZero() {
				hi = o.To.UTC().Add(15 * time.Minute).Format("2006/01/02/15/04")
			}
			conds = append(conds, fmt.Sprintf("log_time BETWEEN '%s' AND '%s'", lo, hi))
		}
	}
	if o.URIPrefix != "" {
		conds = append(conds, fmt.Sprintf("starts_with(%s, '%s')", d.col("httpRequest.uri"), sqlEscape(o.URIPrefix)))
	}
	for _, f := range []struct{ col, val string }{{"httpRequest.httpMethod", o.Method}, {"action", o.Action}, {"httpRequest.country", o.Country}} {
		if f.val != "" {
			conds = append(conds, fmt.Sprintf("upper(%s) = '%s'", d.col(f.col), sqlEscape(strings.ToUpper(f.val))))
		}
	}
	return strings.Join(conds, "\n  AND ")
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

func sqlEscape(s string) string { return strings.ReplaceAll(s, "'", "''") }

func identifier(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, c := range part {
			if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
				return false
			}
		}
	}
	return true
}

// trinoDDL is AWS's Athena columns in Trino's Hive connector syntax.
func trinoDDL(table, location string) (string, error) {
	if !strings.HasPrefix(location, "s3://") {
		return "", fmt.Errorf("location %q: Trino's Hive connector reads s3://bucket/prefix/", location)
	}
	ddl := waflog.AthenaDDL
	start := strings.Index(ddl, "(\n") + 2
	end := strings.Index(ddl, "\n  PARTITIONED BY")
	var cols []string
	for _, line := range strings.Split(ddl[start:end], "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ","))
		line = strings.TrimSuffix(line, ")")
		name, typ, ok := strings.Cut(line, " ")
		if !ok {
			return "", fmt.Errorf("unexpected column %q", line)
		}
		t, rest, err := hiveToTrino(strings.TrimSpace(typ))
		if err != nil || rest != "" {
			return "", fmt.Errorf("column %s: cannot translate %q", name, typ)
		}
		cols = append(cols, "  "+strings.Trim(name, "`")+" "+t)
	}
	return fmt.Sprintf(`-- AWS's Athena columns for AWS WAF logs, in Trino's syntax, for the Hive connector
-- (unpartitioned: AWS WAF's folders are not key=value partitions; set
-- hive.recursive-directories=true, or query Athena's partition-projected table
-- through the Glue catalog with hive.partition-projection-enabled=true).
CREATE TABLE %s (
%s
)
WITH (format = 'JSON', external_location = '%s');`, table, strings.Join(cols, ",\n"), sqlEscape(location)), nil
}

// hiveToTrino translates one Hive type (string, int, bigint, array<…>,
// struct<name:type,…>) and returns what follows it.
func hiveToTrino(s string) (string, string, error) {
	switch {
	case strings.HasPrefix(s, "array<"):
		inner, rest, err := hiveToTrino(s[len("array<"):])
		if err != nil || !strings.HasPrefix(rest, ">") {
			return "", "", fmt.Errorf("bad array")
		}
		return "array(" + inner + ")", rest[1:], nil
	case strings.HasPrefix(s, "struct<"):
		s = s[len("struct<"):]
		var fields []string
		for {
			name, rest, ok := strings.Cut(s, ":")
			if !ok {
				return "", "", fmt.Errorf("bad struct")
			}
			t, rest, err := hiveToTrino(rest)
			if err != nil {
				return "", "", err
			}
			fields = append(fields, name+" "+t)
			switch {
			case strings.HasPrefix(rest, ","):
				s = rest[1:]
			case strings.HasPrefix(rest, ">"):
				return "row(" + strings.Join(fields, ", ") + ")", rest[1:], nil
			default:
				return "", "", fmt.Errorf("bad struct")
			}
		}
	}
	for _, p := range []struct{ hive, trino string }{{"string", "varchar"}, {"bigint", "bigint"}, {"int", "integer"}} {
		if strings.HasPrefix(s, p.hive) {
			return p.trino, s[len(p.hive):], nil
		}
	}
	return "", "", fmt.Errorf("unknown type %q", s)
}
