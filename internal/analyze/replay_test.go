package analyze

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/waf"
)

// aclWith is a web ACL of one rate-based IP rule.
func aclWith(t *testing.T, name string, limit, window int64, prefix string) *waf.WebACL {
	t.Helper()
	rec := Recommendation{Name: name, Limit: limit, WindowSeconds: window}
	if prefix != "" {
		rec.URIPrefix = &prefix
	}
	rules, _ := json.Marshal([]json.RawMessage{RuleJSON(rec, 0, false)})
	acl, _, err := waf.Load(rules, waf.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return acl
}

func replay(t *testing.T, o ReplayOptions, args ...string) *ReplayReport {
	t.Helper()
	ins, err := Expand(context.Background(), args, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Replay(context.Background(), ins, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestReplayOnTheLogsClock: the engine counts on the log's time, not the
// machine's. Twelve requests in twelve seconds go over a limit of 10 per
// minute; the same twelve ten seconds apart never do, although the
// replay itself takes microseconds.
func TestReplayOnTheLogsClock(t *testing.T) {
	dir := t.TempDir()
	fast := writeFile(t, filepath.Join(dir, "fast.log"), lines(burst(12, 0, time.Second, "203.0.113.5", "/")...), false)
	slow := writeFile(t, filepath.Join(dir, "slow.log"), lines(burst(12, 0, 10*time.Second, "203.0.113.5", "/")...), false)
	acl := aclWith(t, "Blanket", 10, 60, "")
	got := replay(t, ReplayOptions{ACL: acl}, fast)
	r := got.Rules[0]
	if got.Records != 12 || r.Requests != 2 || r.Keys != 1 || r.TopKeys[0].Key != "203.0.113.5" {
		t.Fatalf("fast: %+v", got)
	}
	k := r.TopKeys[0]
	if k.First.Time.Sub(t0) != 10*time.Second || k.Last.Time.Sub(t0) != 11*time.Second || k.First.Line != 11 || k.Last.Line != 12 || k.First.Input != fast {
		t.Errorf("first %+v, last %+v", k.First, k.Last)
	}
	if got := replay(t, ReplayOptions{ACL: acl}, slow); got.Rules[0].Requests != 0 {
		t.Errorf("slow: %d blocked", got.Rules[0].Requests)
	}
}

// TestReplayFalsePositives: a client whose requests never exceed the
// healthy baseline in any fixed window, but straddle two of them, is
// blocked by the sliding window and reported as a possible false
// positive; one that goes over the baseline is not.
func TestReplayFalsePositives(t *testing.T) {
	var rs []req
	rs = append(rs, burst(8, 50*time.Second, time.Second, "198.51.100.1", "/")...)         // 8 at the end of 16:00–16:01
	rs = append(rs, burst(8, 60*time.Second, time.Second, "198.51.100.1", "/")...)         // 8 at the start of 16:01–16:02
	rs = append(rs, burst(20, 3*time.Minute, time.Second, "198.51.100.2", "/")...)         // 20 in one minute
	rs = append(rs, burst(5, 5*time.Minute, 100*time.Millisecond, "198.51.100.3", "/")...) // under everything
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(rs...), false)
	got := replay(t, ReplayOptions{ACL: aclWith(t, "Blanket", 12, 60, ""), Baselines: map[string]int64{"Blanket": 8}}, path)
	r := got.Rules[0]
	if r.Baseline == nil || *r.Baseline != 8 || r.BaselineSource != "given" || r.Keys != 2 {
		t.Fatalf("%+v", r)
	}
	byKey := map[string]KeyReplay{}
	for _, k := range r.TopKeys {
		byKey[k.Key] = k
	}
	straddle, flood := byKey["198.51.100.1"], byKey["198.51.100.2"]
	if !straddle.PossibleFalsePositive || *straddle.MaxWindowRequests != 8 || flood.PossibleFalsePositive || *flood.MaxWindowRequests != 20 {
		t.Errorf("straddle %+v\nflood %+v", straddle, flood)
	}
	if r.PossibleFalsePositiveKeys != 1 || r.PossibleFalsePositiveRequests != straddle.Requests || len(r.PossibleFalsePositives) != 1 {
		t.Errorf("false positives: %d keys, %d requests", r.PossibleFalsePositiveKeys, r.PossibleFalsePositiveRequests)
	}
	// Without a given baseline, limit ÷ (1 + buffer): 12 / 1.5 = 8.
	got = replay(t, ReplayOptions{ACL: aclWith(t, "Blanket", 12, 60, ""), Buffer: 0.5}, path)
	if b := got.Rules[0].Baseline; b == nil || *b != 8 || got.Rules[0].BaselineSource != "limit/(1+buffer)" || got.Rules[0].PossibleFalsePositiveKeys != 1 {
		t.Errorf("derived baseline: %+v", got.Rules[0])
	}
}

// TestReplayMergesInputsInTimeOrder: the records of two files that
// interleave in time are replayed as one timeline; records slightly out
// of order in a file are put in order, far ones counted as late.
func TestReplayMergesInputsInTimeOrder(t *testing.T) {
	dir := t.TempDir()
	all := burst(30, 0, time.Second, "203.0.113.9", "/")
	var even, odd []req
	for i, r := range all {
		if i%2 == 0 {
			even = append(even, r)
		} else {
			odd = append(odd, r)
		}
	}
	acl := aclWith(t, "Blanket", 10, 60, "")
	one := replay(t, ReplayOptions{ACL: acl}, writeFile(t, filepath.Join(dir, "one.log"), lines(all...), false))
	two := replay(t, ReplayOptions{ACL: acl}, writeFile(t, filepath.Join(dir, "a", "even.log"), lines(even...), false), writeFile(t, filepath.Join(dir, "b", "odd.log.gz"), lines(odd...), true))
	if one.Rules[0].Requests != 20 || two.Rules[0].Requests != 20 || !two.Rules[0].TopKeys[0].First.Time.Equal(one.Rules[0].TopKeys[0].First.Time.Time) {
		t.Errorf("one file: %+v\ntwo files: %+v", one.Rules[0], two.Rules[0])
	}
	shuffled := slices.Clone(all)
	shuffled[3], shuffled[4] = shuffled[4], shuffled[3]                 // a second apart: reordered
	shuffled = append(shuffled, req{at: 0, ip: "192.0.2.77", uri: "/"}) // half a minute late
	got := replay(t, ReplayOptions{ACL: acl, Reorder: 5 * time.Second}, writeFile(t, filepath.Join(dir, "shuffled.log"), lines(shuffled...), false))
	if got.LateRecords != 1 || got.Records != 31 || got.Rules[0].Requests != 20 || !strings.Contains(strings.Join(got.Warnings, " "), "1 records came more than 5s after") {
		t.Errorf("%+v", got)
	}
}

// TestReplayGeneratedLogs runs the whole loop: limits from the healthy
// period, replayed over the six hours. The credential stuffing is stopped
// by the /login limit, the flood by the blanket limit or a URI limit, and
// the crawler, the proxies' users and the healthy hours are left alone.
func TestReplayGeneratedLogs(t *testing.T) {
	dir, g := generated(t)
	r := analyzeFiles(t, Options{From: g.Healthy[0], To: g.Healthy[1].Add(-1), Buffer: 0.5}, dir)
	rules, _ := json.Marshal(r.Rules)
	acl, _, err := waf.Load(rules, waf.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]int64{}
	for _, rec := range r.Recommendations {
		base[rec.Name] = rec.ObservedPeak
	}
	rep := replay(t, ReplayOptions{ACL: acl, Baselines: base, Top: 1000, Span: r.Span}, dir)
	if rep.BadRecords != 0 || rep.LateRecords != 0 || rep.Records < 10000 {
		t.Fatalf("%d records, %d bad, %d late", rep.Records, rep.BadRecords, rep.LateRecords)
	}
	acted := map[string]string{} // key → rule
	for _, rule := range rep.Rules {
		for _, k := range rule.TopKeys {
			acted[k.Key] = rule.Rule
			if k.First.Time.Before(g.Healthy[1]) {
				t.Errorf("%s: %s blocked in the healthy period at %s", rule.Rule, k.Key, k.First.Time)
			}
		}
	}
	if acted[g.StuffingIP] != "UriBasedRule-login" {
		t.Errorf("credential stuffing: %q", acted[g.StuffingIP])
	}
	for _, ip := range g.FloodIPs {
		if acted[ip] == "" {
			t.Errorf("flood IP %s not blocked", ip)
		}
	}
	if rule := acted[g.CrawlerIP]; rule != "" {
		t.Errorf("the crawler was blocked by %s", rule)
	}
	login := rep.Rules[0]
	if login.Rule != "UriBasedRule-login" || login.Requests < stuffPerSlot*(stuffTo-stuffFrom)*9/10 {
		t.Errorf("login rule: %+v", login)
	}
}
