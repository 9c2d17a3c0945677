package analyze

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/waflog"
)

// TestReportJSON checks the fixed JSON shape and the blog's orderings on
// a log small enough to count by hand.
func TestReportJSON(t *testing.T) {
	xff := []waflog.Header{{Name: "X-Forwarded-For", Value: "198.51.100.9"}}
	var rs []req
	rs = append(rs, burst(5, 10*time.Second, time.Second, "203.0.113.2", "/login")...) // window 16:00, ties with .1 below
	rs = append(rs, burst(5, 20*time.Second, time.Second, "203.0.113.1", "/")...)      // window 16:00
	rs = append(rs, burst(5, 5*time.Minute, time.Second, "203.0.113.3", "/search")...) // window 16:05
	rs = append(rs, req{at: 6 * time.Minute, ip: "192.0.2.1", headers: xff, country: "DE", action: "BLOCK", method: "POST"})
	rs = append(rs, req{at: 6*time.Minute + time.Second, ip: "192.0.2.1", headers: xff, country: "DE"})
	rs = append(rs, burst(20, 10*time.Minute, time.Second, "203.0.113.9", "/")...) // window 16:10, the peak
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(rs...), false)
	r := analyzeFiles(t, Options{Header: "X-Forwarded-For", Top: 3, Buffer: 0.5}, path)
	var got bytes.Buffer
	if err := r.Write(&got, "json"); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(got.Bytes(), &m)
	// The shape, member for member.
	keys := []string{"records", "bad_records", "window_seconds", "from", "to", "top_ips", "top_ip_uris", "top_header_values",
		"per_ip_window_counts", "by_country", "by_action", "by_terminating_rule", "recommendations", "rules", "lower_bounds"}
	if len(m) != len(keys) {
		t.Errorf("members: %d, want %d", len(m), len(keys))
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q", k)
		}
	}
	want := map[string]string{
		"records": `37`, "bad_records": `0`, "window_seconds": `300`,
		"from": `"2026-11-02T16:00:10Z"`, "to": `"2026-11-02T16:10:19Z"`,
		// Requests descending, then window, then IP.
		"top_ips":           `[{"window_start":"2026-11-02T16:10:00Z","client_ip":"203.0.113.9","requests":20},{"window_start":"2026-11-02T16:00:00Z","client_ip":"203.0.113.1","requests":5},{"window_start":"2026-11-02T16:00:00Z","client_ip":"203.0.113.2","requests":5}]`,
		"top_ip_uris":       `[{"window_start":"2026-11-02T16:10:00Z","client_ip":"203.0.113.9","uri":"/","requests":20},{"window_start":"2026-11-02T16:00:00Z","client_ip":"203.0.113.1","uri":"/","requests":5},{"window_start":"2026-11-02T16:00:00Z","client_ip":"203.0.113.2","uri":"/login","requests":5}]`,
		"top_header_values": `[{"window_start":"2026-11-02T16:05:00Z","header":"X-Forwarded-For","value":"198.51.100.9","requests":2}]`,
		// Pairs' counts 2, 5, 5, 5, 20: nearest rank.
		"per_ip_window_counts": `{"keys":5,"p50":5,"p90":20,"p99":20,"p999":20,"max":20}`,
		"by_country":           `[{"country":"US","requests":35},{"country":"DE","requests":2}]`,
		"by_action":            `[{"action":"ALLOW","requests":36},{"action":"BLOCK","requests":1}]`,
		"by_terminating_rule":  `[{"rule":"Default_Action","action":"ALLOW","requests":36},{"rule":"SomeRule","action":"BLOCK","requests":1}]`,
	}
	for k, w := range want {
		var compact bytes.Buffer
		json.Compact(&compact, m[k])
		if compact.String() != w {
			t.Errorf("%s:\n got %s\nwant %s", k, compact.String(), w)
		}
	}
	var recs []map[string]any
	json.Unmarshal(m["recommendations"], &recs)
	// /login by its name, /search by its share of the busiest windows
	// (5 of the 37 requests), the blanket rule last.
	if len(recs) != 3 || recs[0]["name"] != "UriBasedRule-login" || recs[0]["uri_prefix"] != "/login" || recs[1]["name"] != "UriBasedRule-search" ||
		recs[2]["name"] != "BlanketRule" || recs[2]["uri_prefix"] != nil || recs[2]["would_block_requests"] != nil || recs[0]["limit"] != 10.0 ||
		recs[2]["observed_peak"] != 20.0 || recs[2]["limit"] != 30.0 {
		t.Errorf("recommendations: %s", m["recommendations"])
	}
}

// TestWindows: "Valid settings are 60 (1 minute), 120 (2 minutes), 300
// (5 minutes), and 600 (10 minutes), and 300 (5 minutes) is the
// default." (AWS WAF Developer Guide, "Rate-based rule high-level
// settings in AWS WAF", Evaluation window.)
func TestWindows(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(burst(3, 0, 50*time.Second, "203.0.113.1", "/")...), false)
	tests := []struct {
		window  time.Duration
		seconds int64
		err     string
	}{
		{0, 300, ""}, {time.Minute, 60, ""}, {2 * time.Minute, 120, ""}, {5 * time.Minute, 300, ""}, {10 * time.Minute, 600, ""},
		{30 * time.Second, 0, "1m, 2m, 5m or 10m"}, {3 * time.Minute, 0, "1m, 2m, 5m or 10m"},
	}
	for _, tt := range tests {
		ins, _ := Expand(t.Context(), []string{path}, Sources{})
		r, err := Analyze(t.Context(), ins, Options{Window: tt.window})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("window %v: error %v, want %q", tt.window, err, tt.err)
			}
			continue
		}
		if err != nil || r.WindowSeconds != tt.seconds {
			t.Errorf("window %v: %v, %d seconds", tt.window, err, r.WindowSeconds)
		}
	}
}

// TestFilters checks --from/--to (both included, as the blog's BETWEEN)
// and the filters.
func TestFilters(t *testing.T) {
	rs := []req{
		{at: 0, ip: "203.0.113.1", uri: "/login", method: "POST"},
		{at: time.Minute, ip: "203.0.113.1", uri: "/login/reset", method: "GET", action: "BLOCK"},
		{at: 2 * time.Minute, ip: "203.0.113.2", uri: "/", country: "DE"},
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(rs...), false)
	tests := []struct {
		name string
		o    Options
		want int64
	}{
		{"all", Options{}, 3},
		{"from is included", Options{From: t0.Add(time.Minute)}, 2},
		{"to is included", Options{To: t0.Add(time.Minute)}, 2},
		{"URI prefix", Options{URIPrefix: "/login"}, 2},
		{"method, any case", Options{Method: "post"}, 1},
		{"action", Options{Action: "block"}, 1},
		{"country", Options{Country: "de"}, 1},
		{"none", Options{Country: "FR"}, 0},
	}
	for _, tt := range tests {
		if r := analyzeFiles(t, tt.o, path); r.Records != tt.want {
			t.Errorf("%s: %d records, want %d", tt.name, r.Records, tt.want)
		}
	}
	if _, err := Analyze(t.Context(), nil, Options{From: t0, To: t0.Add(-time.Second)}); err == nil {
		t.Error("--to before --from accepted")
	}
}

// TestKeyBound: past the bound on (key, window) pairs the counts are
// incomplete and the report says which, by how much, while record and
// tally counts stay exact. A request whose (window, IP) pair was counted
// is not said to be missing from top_ips and the distribution because
// its (window, IP, URI) pair was not.
func TestKeyBound(t *testing.T) {
	tests := []struct {
		name      string
		rs        func(i int) req
		header    string
		ipPairs   int64
		want, not []string
	}{
		// Each new record takes two pairs, (window, IP) and (window, IP,
		// URI): the first 25 fill the bound; of the 175 others, 150 have
		// an IP first seen after it.
		{"new IPs and URIs", func(i int) req {
			return req{at: time.Duration(i) * time.Second, ip: "203.0.113." + itoa(i%100), uri: "/p" + itoa(i)}
		}, "", 25, []string{
			"bound of 50 distinct (key, window) pairs was reached",
			"150 requests (75.00%) from the per-client-IP counts (top_ips, per_ip_window_counts and the blanket peak)",
			"175 requests (87.50%) from the per-client-IP-and-URI counts",
		}, []string{"header values"}},
		// One client, a new URI each time: its (window, IP) pair holds all
		// 200 requests; only the URI counts miss some.
		{"one client, new URIs", func(i int) req {
			return req{at: time.Duration(i) * time.Second, ip: "203.0.113.1", uri: "/p" + itoa(i)}
		}, "", 1, []string{"151 requests (75.50%) from the per-client-IP-and-URI counts"}, []string{"per-client-IP counts", "header values"}},
		// One client, one URI, a new X-Forwarded-For value each time.
		{"new header values", func(i int) req {
			return req{at: time.Duration(i) * time.Second, ip: "203.0.113.1", uri: "/",
				headers: []waflog.Header{{Name: "X-Forwarded-For", Value: "198.51.100." + itoa(i)}}}
		}, "X-Forwarded-For", 1, []string{"152 header values from the per-value counts (top_header_values)"}, []string{"per-client-IP counts", "URI counts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []req
			for i := range 200 {
				rs = append(rs, tt.rs(i))
			}
			path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(rs...), false)
			r := analyzeFiles(t, Options{MaxKeys: 50, Workers: 1, Header: tt.header}, path)
			if r.Records != 200 || r.ByCountry[0].Requests != 200 {
				t.Errorf("records %d, countries %v", r.Records, r.ByCountry)
			}
			if len(r.Warnings) != 1 {
				t.Fatalf("warnings %q", r.Warnings)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Warnings[0], w) {
					t.Errorf("warning %q\nlacks %q", r.Warnings[0], w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(r.Warnings[0], w) {
					t.Errorf("warning %q\nsays %q", r.Warnings[0], w)
				}
			}
			if r.PerIPWindowCounts.Keys != tt.ipPairs {
				t.Errorf("%d (IP, window) pairs kept, want %d", r.PerIPWindowCounts.Keys, tt.ipPairs)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestTableWarnings: the table output says what the counts above it miss
// (bad records, the key bound), as the JSON's readers learn from
// standard error.
func TestTableWarnings(t *testing.T) {
	var rs []req
	for i := range 20 {
		rs = append(rs, req{at: time.Duration(i) * time.Second, ip: "203.0.113." + itoa(i), uri: "/"})
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(rs...)+"{\"timestamp\":\n", false)
	r := analyzeFiles(t, Options{MaxKeys: 10, Workers: 1}, path)
	var out bytes.Buffer
	if err := r.Write(&out, "table"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nWarnings\nwarning: 1 bad records (not usable AWS WAF log records) were left out:\n  " + path + ":21: ",
		"\nwarning: the bound of 10 distinct (key, window) pairs was reached",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestMaxKeysIsTheWorkersTogether: --max-keys bounds the pairs of the
// whole pass. It was split evenly between the workers, and since every
// worker met most of the input's pairs, counts went missing far below
// the bound (an independent check: 84% of the requests dropped with
// 9,995 pairs under a bound of 20,000 on 8 workers).
func TestMaxKeysIsTheWorkersTogether(t *testing.T) {
	var rs []req
	for i := range 4000 {
		// 2,000 clients, each twice, spread over the file so that every
		// worker's part of it meets many of them.
		rs = append(rs, req{at: time.Duration(i%2000) * time.Millisecond, ip: "198.51." + itoa(i%2000/250) + "." + itoa(i%250), uri: "/"})
	}
	dir := t.TempDir()
	var paths []string
	for f := range 8 {
		paths = append(paths, writeFile(t, filepath.Join(dir, "waf"+itoa(f)+".log"), lines(rs[f*500:(f+1)*500]...), false))
	}
	// 2,000 (IP, window) pairs and 2,000 (IP, URI, window) triples: 4,000
	// in all, under a bound of 10,000 even if each of 8 workers holds
	// some of them twice.
	r := analyzeFiles(t, Options{MaxKeys: 10_000, Workers: 8}, paths...)
	if len(r.Warnings) != 0 {
		t.Fatalf("warnings %q, want none: 4,000 pairs under a bound of 10,000", r.Warnings)
	}
	if r.PerIPWindowCounts.Keys != 2000 {
		t.Errorf("%d (IP, window) pairs, want 2000", r.PerIPWindowCounts.Keys)
	}
	// The bound still holds across workers: 8 workers cannot keep more
	// than the bound between them.
	r = analyzeFiles(t, Options{MaxKeys: 1000, Workers: 8}, paths...)
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "the bound of 1000 distinct (key, window) pairs (held by 8 workers together") {
		t.Fatalf("warnings %q, want the bound's", r.Warnings)
	}
	if r.PerIPWindowCounts.Keys > 1000 {
		t.Errorf("%d (IP, window) pairs kept under a bound of 1000", r.PerIPWindowCounts.Keys)
	}
}
