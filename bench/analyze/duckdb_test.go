package analyze

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/lockgate/lockgate/internal/analyze"
)

// logs generates the same synthetic logs once per test binary, plain and
// gzipped.
var logs = sync.OnceValues(func() (string, error) {
	dir, err := tempDir("lockgate-analyze-duckdb")
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	if _, err := analyze.Generate(ctx, filepath.Join(dir, "plain"), analyze.GenOptions{Seed: 3, Size: 25e6}); err != nil {
		return "", err
	}
	if _, err := analyze.Generate(ctx, filepath.Join(dir, "gzip"), analyze.GenOptions{Seed: 3, Size: 25e6, Gzip: true}); err != nil {
		return "", err
	}
	// The same records in one file, which workers read in ranges (a
	// range is 16 MiB, so records straddle the ranges' ends and the
	// blocks' within them): with LF line ends, with CRLF ones and without
	// a line end after the last record.
	files, err := filepath.Glob(filepath.Join(dir, "plain", "AWSLogs", "*", "WAFLogs", "*", "*", "*", "*", "*", "*", "*", "*.log"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no generated files: %v", err)
	}
	var all []byte
	for _, f := range files { // Glob sorts: in time order
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		all = append(all, b...)
	}
	for name, data := range map[string][]byte{
		"one-file":      all,
		"one-file-crlf": bytes.ReplaceAll(all, []byte("\n"), []byte("\r\n")),
		"one-file-open": bytes.TrimSuffix(all, []byte("\n")),
	} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name, "waf.log"), data, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
})

// TestReportEqualsDuckDB checks every list of lockgate analyze's report
// against DuckDB's answer to the SQL lockgate analyze sql --engine duckdb
// prints for the same options, on generated logs: an independent
// computation of the same numbers.
func TestReportEqualsDuckDB(t *testing.T) {
	dir, err := logs()
	if err != nil {
		t.Fatal(err)
	}
	gen := analyze.GenOptions{Seed: 3, Size: 25e6}
	res, _ := analyze.Generate(context.Background(), t.TempDir(), analyze.GenOptions{Seed: gen.Seed, Size: 1}) // the scenario's times
	healthyFrom, healthyTo := res.Healthy[0], res.Healthy[1].Add(-time.Millisecond)
	tests := []struct {
		name   string
		format string
		o      analyze.Options
	}{
		{"everything, X-Forwarded-For", "plain", analyze.Options{Header: "X-Forwarded-For", Top: 15}},
		{"the healthy period", "plain", analyze.Options{Header: "X-Forwarded-For", From: healthyFrom, To: healthyTo}},
		{"POST /login per minute", "plain", analyze.Options{Window: time.Minute, URIPrefix: "/login", Method: "post"}},
		{"blocked, 10-minute windows", "plain", analyze.Options{Action: "block", Window: 10 * time.Minute, Top: 5}},
		{"US, 2-minute windows, User-Agent", "plain", analyze.Options{Country: "us", Window: 2 * time.Minute, Header: "user-agent", Top: 20}},
		{"nothing matches", "plain", analyze.Options{Country: "ZZ"}},
		{"gzip objects", "gzip", analyze.Options{Header: "X-Forwarded-For", Top: 12}},
		{"one file in ranges", "one-file", analyze.Options{Header: "X-Forwarded-For", Top: 12}},
		{"one file in ranges, CRLF", "one-file-crlf", analyze.Options{Header: "X-Forwarded-For", Top: 12}},
		{"one file in ranges, no line end at the end", "one-file-open", analyze.Options{Header: "X-Forwarded-For", Window: time.Minute}},
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(dir, tt.format)
			inputs, err := analyze.Expand(context.Background(), []string{root}, analyze.Sources{})
			if err != nil {
				t.Fatal(err)
			}
			tt.o.Buffer = 0.5
			r, err := analyze.Analyze(context.Background(), inputs, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name != "nothing matches" && (len(r.TopIPs) == 0 || r.Records == 0) {
				t.Fatalf("no records matched: the case tests nothing")
			}
			ddl, queries, err := analyze.SQL(analyze.SQLOptions{Engine: "duckdb", Location: root + "/**/*.log*", Options: tt.o})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(ddl); err != nil {
				t.Fatalf("%v\n%s", err, ddl)
			}
			for _, q := range queries {
				got, want := duckRows(t, db, q.SQL), reportRows(r, q.Name)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s:\nDuckDB:  %v\nanalyze: %v\nSQL:\n%s", q.Name, got, want, q.SQL)
				}
			}
			var sum int64
			for _, a := range r.ByAction {
				sum += a.Requests
			}
			if sum != r.Records || r.BadRecords != 0 {
				t.Errorf("records %d, by_action sums to %d, bad %d", r.Records, sum, r.BadRecords)
			}
		})
	}
}

// duckRows runs a query and renders its rows as text.
func duckRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := []string{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			switch v := v.(type) {
			case time.Time:
				parts = append(parts, v.UTC().Format(time.RFC3339))
			case nil:
				parts = append(parts, "0") // quantiles of no rows
			default:
				parts = append(parts, fmt.Sprint(v))
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// reportRows renders a report list as duckRows renders the query's rows.
func reportRows(r *analyze.Report, name string) []string {
	out := []string{}
	w := func(t analyze.Time) string { return t.UTC().Format(time.RFC3339) }
	switch name {
	case "top_ips":
		for _, x := range r.TopIPs {
			out = append(out, fmt.Sprint(w(x.WindowStart), " ", x.ClientIP, " ", x.Requests))
		}
	case "top_ip_uris":
		for _, x := range r.TopIPURIs {
			out = append(out, fmt.Sprint(w(x.WindowStart), " ", x.ClientIP, " ", x.URI, " ", x.Requests))
		}
	case "top_header_values":
		for _, x := range r.TopHeaderValues {
			out = append(out, fmt.Sprint(w(x.WindowStart), " ", x.Header, " ", x.Value, " ", x.Requests))
		}
	case "per_ip_window_counts":
		d := r.PerIPWindowCounts
		out = append(out, fmt.Sprint(d.Keys, " ", d.P50, " ", d.P90, " ", d.P99, " ", d.P999, " ", d.Max))
	case "by_country":
		for _, x := range r.ByCountry {
			out = append(out, fmt.Sprint(x.Country, " ", x.Requests))
		}
	case "by_action":
		for _, x := range r.ByAction {
			out = append(out, fmt.Sprint(x.Action, " ", x.Requests))
		}
	case "by_terminating_rule":
		for _, x := range r.ByTerminatingRule {
			out = append(out, fmt.Sprint(x.Rule, " ", x.Action, " ", x.Requests))
		}
	default:
		out = append(out, "no list for query "+name)
	}
	return out
}
