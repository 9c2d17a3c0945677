package analyze

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/waflog"
)

// t0 is a window boundary the hand-made logs start at.
var t0 = time.Date(2026, 11, 2, 16, 0, 0, 0, time.UTC)

// req is one logged request of a hand-made log.
type req struct {
	at      time.Duration // after t0
	ip      string
	uri     string
	method  string
	action  string
	country string
	headers []waflog.Header
}

// record writes a request as lockgate's gateway logs it (waflog.Record).
func record(r req) string {
	if r.method == "" {
		r.method = "GET"
	}
	if r.action == "" {
		r.action = "ALLOW"
	}
	if r.country == "" {
		r.country = "US"
	}
	if r.uri == "" {
		r.uri = "/"
	}
	rule := "Default_Action"
	if r.action != "ALLOW" {
		rule = "SomeRule"
	}
	rec := waflog.Record{Timestamp: t0.Add(r.at).UnixMilli(), FormatVersion: 1, WebACLID: "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/t/1",
		TerminatingRuleID: rule, TerminatingRuleType: "REGULAR", Action: r.action, TerminatingRuleMatchDetails: []waflog.MatchDetail{},
		HTTPSourceName: "ALB", HTTPSourceID: "x", RuleGroupList: []waflog.RuleGroup{}, RateBasedRuleList: []waflog.RateBasedRule{},
		NonTerminatingMatchingRules: []waflog.MatchingRule{},
		HTTPRequest: waflog.HTTPRequest{ClientIP: r.ip, Country: r.country, Headers: append([]waflog.Header{{Name: "Host", Value: "shop.example"}}, r.headers...),
			URI: r.uri, HTTPVersion: "HTTP/1.1", HTTPMethod: r.method, RequestID: "req"}}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func lines(rs ...req) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(record(r))
		b.WriteByte('\n')
	}
	return b.String()
}

// burst is n requests from ip to uri, every gap from at.
func burst(n int, at, gap time.Duration, ip, uri string) []req {
	var out []req
	for i := range n {
		out = append(out, req{at: at + time.Duration(i)*gap, ip: ip, uri: uri})
	}
	return out
}

func writeFile(t *testing.T, path, data string, gz bool) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if gz {
		zw := gzip.NewWriter(f)
		zw.Write([]byte(data))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	return path
}

func analyzeFiles(t *testing.T, o Options, args ...string) *Report {
	t.Helper()
	ins, err := Expand(context.Background(), args, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(context.Background(), ins, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// generated writes synthetic logs once per test binary.
var (
	generatedDir string
	genOnce      sync.Once
	genRes       *GenResult
	genErr       error
)

func generated(t *testing.T) (string, *GenResult) {
	t.Helper()
	genOnce.Do(func() {
		if generatedDir, genErr = os.MkdirTemp("", "lockgate-analyze-test"); genErr == nil {
			genRes, genErr = Generate(context.Background(), generatedDir, GenOptions{Seed: 5, Size: 25e6})
		}
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	return generatedDir, genRes
}

func TestMain(m *testing.M) {
	code := m.Run()
	if generatedDir != "" {
		os.RemoveAll(generatedDir)
	}
	os.Exit(code)
}
