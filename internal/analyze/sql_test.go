package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/waflog"
)

// TestSQLAthena: the table is AWS's documented one ("Create a table for
// AWS WAF S3 logs in Athena using partition projection": "In the
// LOCATION and storage.location.template clauses, replace the
// amzn-s3-demo-bucket and AWS_ACCOUNT_NUMBER placeholders with values
// that identify the Amazon S3 bucket location of your AWS WAF logs."),
// with the table name and location replaced; the queries are the blog's.
func TestSQLAthena(t *testing.T) {
	loc := "s3://my-logs/AWSLogs/123456789012/WAFLogs/us-east-1/shop/"
	ddl, queries, err := SQL(SQLOptions{Engine: "athena", Table: "wafrulesdb.waftable", Location: loc,
		Options: Options{Header: "X-Forwarded-For", From: time.Date(2020, 12, 1, 16, 0, 0, 0, time.UTC), To: time.Date(2020, 12, 1, 22, 0, 0, 0, time.UTC), Top: 100}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(strings.Replace(waflog.AthenaDDL, "`waf_logs_partition_projection`", "`wafrulesdb.waftable`", 1), waflog.AthenaDDLLocation, loc)
	if !strings.Contains(ddl, want) || strings.Count(ddl, loc) != 2 || !strings.Contains(ddl, "'projection.enabled'='true'") {
		t.Errorf("DDL:\n%s", ddl)
	}
	names := ""
	for _, q := range queries {
		names += q.Name + " "
	}
	if names != "top_ips top_ip_uris top_header_values per_ip_window_counts by_country by_action by_terminating_rule " {
		t.Errorf("queries %s", names)
	}
	for _, w := range []string{
		`from_unixtime("timestamp" / 300000 * 300) AS window_start, httprequest.clientip AS client_ip, count(*) AS requests`,
		`"timestamp" BETWEEN 1606838400000 AND 1606860000000`, "log_time BETWEEN '2020/12/01/16/00' AND '2020/12/01/22/15'",
		"ORDER BY requests DESC, window_start, client_ip\nLIMIT 100;",
	} {
		if !strings.Contains(queries[0].SQL, w) {
			t.Errorf("top_ips lacks %q:\n%s", w, queries[0].SQL)
		}
	}
	if !strings.Contains(queries[2].SQL, "UNNEST(httprequest.headers) AS t(header)") || !strings.Contains(queries[2].SQL, "lower(header.name) = 'x-forwarded-for'") {
		t.Errorf("header query:\n%s", queries[2].SQL)
	}
	if !strings.Contains(queries[3].SQL, "approx_percentile(requests, 0.99)") {
		t.Errorf("percentiles:\n%s", queries[3].SQL)
	}
}

func TestSQLEngines(t *testing.T) {
	ddl, _, err := SQL(SQLOptions{Engine: "trino", Table: "hive.default.waf_logs", Location: "s3://b/p/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"CREATE TABLE hive.default.waf_logs (", "  timestamp bigint,",
		"  httprequest row(clientip varchar, country varchar, headers array(row(name varchar, value varchar)), uri varchar",
		"  rulegrouplist array(row(rulegroupid varchar, terminatingrule row(ruleid varchar", "external_location = 's3://b/p/'"} {
		if !strings.Contains(ddl, w) {
			t.Errorf("Trino DDL lacks %q:\n%s", w, ddl)
		}
	}
	ddl, qs, err := SQL(SQLOptions{Engine: "duckdb", Location: "logs/**/*", Options: Options{URIPrefix: "/login", Method: "post", Window: time.Minute}})
	if err != nil || !strings.Contains(ddl, "read_json('logs/**/*'") || !strings.Contains(qs[0].SQL, "starts_with(httpRequest.uri, '/login')") ||
		!strings.Contains(qs[0].SQL, "upper(httpRequest.httpMethod) = 'POST'") || !strings.Contains(qs[0].SQL, `epoch_ms(("timestamp" // 60000) * 60000)`) {
		t.Errorf("%v\n%s\n%s", err, ddl, qs[0].SQL)
	}
	for _, o := range []SQLOptions{{Engine: "mysql"}, {Engine: "athena", Table: "x; DROP"}, {Engine: "athena", Location: "/local"}, {Engine: "duckdb", Options: Options{Window: time.Hour}}} {
		if _, _, err := SQL(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	// Quotes in values are doubled, not closing the literal.
	_, qs, _ = SQL(SQLOptions{Engine: "athena", Options: Options{URIPrefix: "/a'b"}})
	if !strings.Contains(qs[0].SQL, "starts_with(httprequest.uri, '/a''b')") {
		t.Errorf("%s", qs[0].SQL)
	}
}
