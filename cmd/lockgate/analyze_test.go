package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// genLogs writes synthetic logs with lockgate analyze gen.
func genLogs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "logs")
	if out, _, code := runCLI(t, nil, "analyze", "gen", "--seed", "2", "--out", dir, "--size", size); code != 0 || !strings.Contains(out, "healthy period: --from 2026-11-02T16:00:00Z --to 2026-11-02T19:59:59.999Z") {
		t.Fatalf("gen: exit %d\n%s", code, out)
	}
	return dir
}

const healthyFrom, healthyTo = "2026-11-02T16:00:00Z", "2026-11-02T19:59:59.999Z"

func TestAnalyzeCLI(t *testing.T) {
	t.Parallel()
	logs := genLogs(t, "12MB")
	tests := []cliCase{
		{"no inputs", []string{"analyze"}, 2, []string{"needs log files"}},
		{"a window AWS does not have", []string{"analyze", "--window", "3m", logs}, 2, []string{"1m, 2m, 5m and 10m"}},
		{"a time that is not RFC 3339", []string{"analyze", "--from", "yesterday", logs}, 2, []string{"RFC 3339"}},
		{"an unknown format", []string{"analyze", "-o", "xml", logs}, 2, []string{"table, json, csv or html"}},
		// Usage errors exit 2 and name the flag (V05, V06).
		{"--to before --from", []string{"analyze", "--from", healthyTo, "--to", healthyFrom, logs}, 2, []string{"--to " + healthyFrom + " is before --from " + healthyTo}},
		{"a negative buffer", []string{"analyze", "--buffer", "-1", logs}, 2, []string{"--buffer -1: must be 0 or more"}},
		{"a rule URI that is no path", []string{"analyze", "--rule-uri", "login", logs}, 2, []string{`--rule-uri "login"`}},
		{"a missing file", []string{"analyze", filepath.Join(logs, "none")}, 1, []string{"no such file"}},
		{"table", []string{"analyze", "--from", healthyFrom, "--to", healthyTo, "--header", "X-Forwarded-For", logs}, 0,
			[]string{"Top client IPs per 5-minute window", "Top X-Forwarded-For values", "UriBasedRule-login", "BlanketRule", "(--replay)"}},
		{"csv", []string{"analyze", "-o", "csv", logs}, 0, []string{"section,window_start,client_ip,uri,header,value,country,action,rule,requests,limit,observed_peak,would_block_requests", "top_ips,2026-11-02T21:15:00Z,198.18.0."}},
		{"sql for Athena", []string{"analyze", "sql", "--engine", "athena", "--header", "X-Forwarded-For"}, 0,
			[]string{"CREATE EXTERNAL TABLE `waf_logs`(", "'projection.log_time.format'='yyyy/MM/dd/HH/mm'", "-- top_ips:", "-- top_header_values:", "approx_percentile"}},
		{"sql for DuckDB", []string{"analyze", "sql", "--engine", "duckdb", "--location", "logs/**/*"}, 0, []string{"read_json('logs/**/*'", "quantile_disc"}},
		{"sql for an unknown engine", []string{"analyze", "sql", "--engine", "mysql"}, 2, []string{"athena, trino or duckdb"}},
		{"sql without an engine", []string{"analyze", "sql"}, 2, []string{"athena, trino or duckdb"}},
		{"gen without --out", []string{"analyze", "gen"}, 2, []string{"--out DIR is required"}},
		{"gen into a non-empty directory", []string{"analyze", "gen", "--out", logs, "--size", "1MB"}, 1, []string{"is not empty"}},
		{"gen with a bad size", []string{"analyze", "gen", "--out", t.TempDir(), "--size", "lots"}, 2, []string{"2GB or 500MB"}},
		// --max-keys reached: the counts are lower bounds, no limit is
		// recommended from them, and --apply writes nothing (atk16j F4).
		{"--max-keys reached", []string{"analyze", "--max-keys", "100", logs}, 0,
			[]string{"Top client IPs per 5-minute window (lower bounds: --max-keys was reached)", "No rate limits are recommended"}},
		{"--max-keys reached, --apply", []string{"analyze", "--max-keys", "100", "--apply", filepath.Join(t.TempDir(), "acl.json"), logs}, 1,
			[]string{"no rules to write (see the warning above)", "No rate limits are recommended"}},
		{"replay without --acl", []string{"analyze", "replay", logs}, 2, []string{"--acl ACL.json is required"}},
		{"replay with an ACL that does not load", []string{"analyze", "replay", "--acl", "../../examples/blog/blog-acl.json", logs}, 1, []string{"ip-reputation"}},
	}
	runCLICases(t, tests)
}

// TestAnalyzeJSONAndReplay: the JSON report over the healthy period,
// replayed over everything (--replay fills would_block_requests), from
// standard input too.
func TestAnalyzeJSONAndReplay(t *testing.T) {
	t.Parallel()
	logs := genLogs(t, "12MB")
	out, stderr, code := runCLI(t, nil, "analyze", "--from", healthyFrom, "--to", healthyTo, "--replay", "-o", "json", logs)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var r struct {
		Records         int64
		Recommendations []struct {
			Name               string
			Limit              int64
			WouldBlockRequests *int64 `json:"would_block_requests"`
		}
		Rules []json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Records == 0 || len(r.Recommendations) < 2 || len(r.Rules) != len(r.Recommendations) {
		t.Fatalf("%s", out)
	}
	for _, rec := range r.Recommendations {
		if rec.WouldBlockRequests == nil {
			t.Errorf("%s: would_block_requests is null after --replay", rec.Name)
		}
	}
	if *r.Recommendations[0].WouldBlockRequests < 1000 {
		t.Errorf("%s would block %d requests: the credential stuffing is 1,800", r.Recommendations[0].Name, *r.Recommendations[0].WouldBlockRequests)
	}
	// Standard input, replayed too (it is kept in a temporary file).
	var all []byte
	filepath.Walk(logs, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	cmd := exec.Command(binary, "analyze", "--from", healthyFrom, "--to", healthyTo, "--replay", "-o", "json", "-")
	cmd.Stdin = strings.NewReader(string(all))
	stdinOut, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(stdinOut) != out {
		t.Errorf("standard input gave another report")
	}
}

// TestAnalyzeWalkthrough runs docs/analyzer.md's walkthrough as it is:
// synthetic logs, the analysis, the replay, the gateway with the blog's
// web ACL, --apply into it, the reload and the new /login limit.
func TestAnalyzeWalkthrough(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/analyzer.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- analyzer-walkthrough:begin -->\n")
	section, _, ok2 := strings.Cut(rest, "<!-- analyzer-walkthrough:end -->")
	if !ok || !ok2 {
		t.Fatal("docs/analyzer.md has no walkthrough")
	}
	var script strings.Builder
	for _, block := range strings.Split(section, "```sh\n")[1:] {
		code, _, _ := strings.Cut(block, "```")
		script.WriteString(code)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the walkthrough needs curl (CI=true): apt-get install curl")
		}
		t.Skip("the walkthrough needs curl: apt-get install curl")
	}
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.Name() == ".git" || e.Name() == "lockgate-data" || e.Name() == "logs" || e.Name() == "gw" {
			continue
		}
		os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script.String())
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"),
		"SHOP="+freeAddr(t), "ADMIN="+freeAddr(t), "UPSTREAM="+freeAddr(t))
	out, err := cmd.CombinedOutput()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the gateway and the shop, whatever happened
	if err != nil {
		serve, _ := os.ReadFile(filepath.Join(dir, "gw", "serve.log"))
		t.Fatalf("walkthrough failed: %v\n%s\nserve.log:\n%s", err, out, serve)
	}
	text := string(out)
	for _, want := range []string{"wrote ", "Recommended rate-based rules", "UriBasedRule-login", "gateway configuration reloaded", " 403", " 200",
		"AWS-AWSManagedRulesAmazonIpReputationList", "CREATE EXTERNAL TABLE `waf_logs`"} {
		if !strings.Contains(text, want) {
			t.Errorf("walkthrough output lacks %q", want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "report.html")); err != nil || fi.Size() < 10000 {
		t.Errorf("report.html: %v", err)
	}
	var rep struct {
		Rules []struct {
			Rule     string
			Requests int64
			TopKeys  []struct{ Key string } `json:"top_keys"`
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "replay.json"))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	blocked := map[string]int64{}
	for _, r := range rep.Rules {
		blocked[r.Rule] = r.Requests
	}
	if blocked["UriBasedRule"] == 0 && blocked["BlanketRule"] == 0 || blocked["AWS-AWSManagedRulesAmazonIpReputationList"] == 0 {
		t.Errorf("the applied web ACL blocks nothing in the replay: %v", blocked)
	}
}

// TestAnalyzeWarnings: a warning (here a bad record) is in the table
// output itself, once; with -o json it goes to standard error, where it
// does not break the JSON.
func TestAnalyzeWarnings(t *testing.T) {
	log := filepath.Join(t.TempDir(), "waf.log")
	good := `{"timestamp":1762099200123,"action":"ALLOW","terminatingRuleId":"Default_Action","httpRequest":{"clientIp":"203.0.113.7","country":"US","uri":"/","httpMethod":"GET"}}`
	os.WriteFile(log, []byte(good+"\n{\"timestamp\":\n"+good+"\n"), 0o600)
	const warning = "warning: 1 bad records (not usable AWS WAF log records) were left out"
	tests := []struct {
		format         string
		stdout, stderr int // times the warning appears
	}{
		{"table", 1, 0},
		{"json", 0, 1},
		{"csv", 0, 1},
	}
	for _, tt := range tests {
		stdout, stderr, code := runCLI(t, nil, "analyze", "-o", tt.format, log)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", tt.format, code, stderr)
		}
		if strings.Count(stdout, warning) != tt.stdout || strings.Count(stderr, warning) != tt.stderr {
			t.Errorf("-o %s: the warning %d times on standard output, %d on standard error; want %d, %d\n%s\n%s",
				tt.format, strings.Count(stdout, warning), strings.Count(stderr, warning), tt.stdout, tt.stderr, stdout, stderr)
		}
	}
}

// TestAnalyzeInputEdges: through the command, a link to a directory named
// without a slash is read; on standard input a byte order mark at the
// start is skipped, a line longer than a record may be (8 MiB of zeros)
// is one bad record and junk before a record another, each named by its
// line, and the records around them count.
func TestAnalyzeInputEdges(t *testing.T) {
	good := `{"timestamp":1762099200123,"action":"ALLOW","terminatingRuleId":"Default_Action","httpRequest":{"clientIp":"203.0.113.7","country":"US","uri":"/","httpMethod":"GET"}}`
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "logs", "waf.log"), []byte(good+"\n"+good+"\n"), 0o600)
	if err := os.Symlink("logs", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Records    int64 `json:"records"`
		BadRecords int64 `json:"bad_records"`
	}
	stdout, stderr, code := runCLI(t, nil, "analyze", "-o", "json", filepath.Join(dir, "link"))
	if err := json.Unmarshal([]byte(stdout), &out); code != 0 || err != nil || out.Records != 2 {
		t.Errorf("a link to a directory: exit %d, %+v, %v\n%s", code, out, err, stderr)
	}

	cmd := exec.Command(binary, "analyze", "-o", "json", "-")
	cmd.Stdin = strings.NewReader("\xef\xbb\xbf" + good + "\n" + strings.Repeat("\x00", 8<<20) + "\n" + "xx" + good + "\n" + good + good + "\n")
	var errb strings.Builder
	cmd.Stderr = &errb
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Records != 3 || out.BadRecords != 2 {
		t.Errorf("standard input: %+v, %v", out, err)
	}
	for _, w := range []string{"\n  -:2: longer than 4194304 bytes", "\n  -:3: a record is a JSON object at byte 1"} {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("standard error lacks %q:\n%s", w, errb.String())
		}
	}
}
