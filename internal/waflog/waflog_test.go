package waflog

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/waf"
)

func sampleRecord(now time.Time, i int) *Record {
	r := httptest.NewRequest("POST", "http://shop.example/login?next=%2F", nil)
	req := &waf.Request{ClientIP: netip.MustParseAddr("203.0.113.7"), Method: "POST", URI: "/login", Query: "next=%2F",
		Headers: []waf.Header{{Name: "Host", Value: "shop.example"}, {Name: "Authorization", Value: "Bearer secret"}, {Name: "User-Agent", Value: "curl"}}, BodySize: 12}
	code := int64(429)
	d := &waf.Decision{Action: "BLOCK", TerminatingRuleID: "UriBasedRule", TerminatingRuleType: "RATE_BASED", Labels: []string{"awswaf:1:webacl:w:x"},
		RateBased:      []waf.RateBasedMatch{{RuleName: "UriBasedRule", LimitKey: "IP", LimitValue: "203.0.113.7", MaxRateAllowed: 150, EvaluationWindowSec: 300}},
		NonTerminating: []waf.RuleMatch{{RuleID: "count-it", Action: "COUNT"}},
		RuleGroups:     []waf.GroupMatch{{RuleGroupID: "g", TerminatingRule: &waf.RuleMatch{RuleID: "r", Action: "BLOCK"}}},
		CustomResponse: &waf.CustomResponse{ResponseCode: code}}
	src := &Source{WebACLID: "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/w/1", Name: "lockgate", ID: "shop", RedactedFields: RedactHeaders("Authorization")}
	return New(src, now, r, req, d, "US", "req-"+string(rune('a'+i%26)))
}

func TestRecordShape(t *testing.T) {
	now := time.UnixMilli(1_763_726_400_123)
	b, _ := json.Marshal(sampleRecord(now, 0))
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"timestamp", "formatVersion", "webaclId", "terminatingRuleId", "terminatingRuleType", "action", "terminatingRuleMatchDetails",
		"httpSourceName", "httpSourceId", "ruleGroupList", "rateBasedRuleList", "nonTerminatingMatchingRules", "requestHeadersInserted", "responseCodeSent",
		"httpRequest", "labels", "requestBodySize", "requestBodySizeInspectedByWAF"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %s in %s", k, b)
		}
	}
	s := string(b)
	for _, want := range []string{`"timestamp":1763726400123`, `"evaluationWindowSec":"300"`, `"limitKey":"IP"`, `"responseCodeSent":429`,
		`{"name":"Authorization","value":"REDACTED"}`, `"country":"US"`, `"httpVersion":"HTTP/1.1"`, `"labels":[{"name":"awswaf:1:webacl:w:x"}]`,
		`"terminatingRule":{"ruleId":"r","action":"BLOCK","ruleMatchDetails":null}`, `"requestHeadersInserted":null`} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "secret") {
		t.Fatal("a redacted header's value was logged")
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "waf.log")
	clock := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	w, err := Open(path, Options{MaxSize: 4000, Keep: 3, Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := w.Write(sampleRecord(clock, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rotated := w.Rotated()
	if len(rotated) != 3 {
		t.Fatalf("rotated files %v, want the 3 newest kept", rotated)
	}
	// Every line of every file, rotated and current, is a whole record.
	lines := 0
	for _, f := range append(rotated, path) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		var sc *bufio.Scanner
		if strings.HasSuffix(f, ".gz") {
			zr, err := gzip.NewReader(fh)
			if err != nil {
				t.Fatal(err)
			}
			sc = bufio.NewScanner(zr)
		} else {
			sc = bufio.NewScanner(fh)
		}
		for sc.Scan() {
			var rec Record
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.FormatVersion != 1 {
				t.Fatalf("%s: %v: %s", f, err, sc.Text())
			}
			lines++
		}
		fh.Close()
	}
	if lines == 0 || lines > 40 {
		t.Fatalf("%d lines", lines)
	}
	st, _ := os.Stat(path)
	if st.Size() > 4000 {
		t.Fatalf("current file %d bytes, over the limit", st.Size())
	}
}

func TestRotationByAge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waf.log")
	clock := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	w, err := Open(path, Options{MaxAge: time.Hour, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(sampleRecord(clock, 0))
	clock = clock.Add(61 * time.Minute)
	w.Write(sampleRecord(clock, 1))
	w.Close()
	if r := w.Rotated(); len(r) != 1 {
		t.Fatalf("rotated %v", r)
	}
}
