package analyze

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/waf"
)

// TestReadable: limits are rounded up to two significant digits, never
// below AWS's minimum: "The lowest limit setting allowed is 10." (AWS WAF
// Developer Guide, "Rate-based rule high-level settings in AWS WAF", Rate
// limit.)
func TestReadable(t *testing.T) {
	tests := []struct {
		x    float64
		want int64
	}{
		{0, 10}, {6, 10}, {9.99, 10}, {10, 10}, {13.5, 14}, {57, 57}, {99.5, 100}, {100, 100}, {106.5, 110}, {150, 150},
		{1312.5, 1400}, {7000, 7000}, {7000.5, 7100}, {3e9, 2_000_000_000},
	}
	for _, tt := range tests {
		if got := Readable(tt.x); got != tt.want {
			t.Errorf("Readable(%v) = %d, want %d", tt.x, got, tt.want)
		}
	}
}

func TestLoginPrefix(t *testing.T) {
	for uri, want := range map[string]string{
		"/login": "/login", "/Login": "/Login", "/api/v1/auth/token": "/api/v1/auth", "/sign-in.php": "/sign-in.php", "/account/password/reset": "/account/password",
		"/": "", "/products/login-shoes": "", "/blog/logging": "", "/oauth2/authorize": "/oauth2",
	} {
		if got := loginPrefix(uri); got != want {
			t.Errorf("loginPrefix(%q) = %q, want %q", uri, got, want)
		}
	}
	// loginPrefixSeen, which skips the regular expression on segments
	// starting with no letter a login word starts with, and remembers
	// the segments, says the same, also with the segments seen before
	// and on words the case folding of (?i) matches (ſ is s, K is k).
	seen := map[string]bool{}
	for range 2 {
		for _, uri := range []string{"/login", "/Login", "/api/v1/auth/token", "/sign-in.php", "/account/password/reset", "/",
			"/products/login-shoes", "/blog/logging", "/oauth2/authorize", "/ſign-in", "/2fa", "/MFA/x", "/12345/verify", "//", "",
			"/Verify", "/x/Register.aspx", "/tokens", "/ok/%C5%BFign-in"} {
			if got, want := loginPrefixSeen(uri, seen), loginPrefix(uri); got != want {
				t.Errorf("loginPrefixSeen(%q) = %q, loginPrefix %q", uri, got, want)
			}
		}
	}
}

// TestPrefixPeaks: the peaks of many prefixes (more than one pass's 63)
// found in one pass equal those found one prefix at a time.
func TestPrefixPeaks(t *testing.T) {
	a := newAgg(300000, 1<<30)
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		ipText := fmt.Sprintf("10.0.%d.%d", rng.IntN(4), rng.IntN(50))
		ip, _ := a.ipID([]byte(ipText))
		uri := fmt.Sprintf("/p%d/q%d", rng.IntN(80), rng.IntN(5))
		a.add(&fields{ts: int64(rng.IntN(10)) * 300000, hasTS: true, ip: []byte(ipText), uri: []byte(uri)}, ip)
	}
	a.flush()
	var prefixes []string
	for i := range 75 {
		prefixes = append(prefixes, fmt.Sprintf("/p%d", i))
	}
	prefixes = append(prefixes, "/p1/q1", "/none", "/")
	got := prefixPeaks(a, prefixes)
	for i, p := range prefixes {
		// One prefix at a time, as prefixPeak did.
		sums := map[uint64]int64{}
		for k, c := range a.ipURIWin.all() {
			if strings.HasPrefix(a.uris.strs[k.uri], p) {
				sums[pair(k.w, k.ip)] += int64(c)
			}
		}
		var want peak
		var best uint64
		for k, n := range sums {
			if n > want.n || n == want.n && lessPair(a, k, best) {
				want.n, best = n, k
			}
		}
		want.w, want.ip = unpair(best)
		if got[i] != want {
			t.Errorf("%s: peak %+v, want %+v", p, got[i], want)
		}
	}
}

// TestRecommendationsOnGeneratedLogs: over the healthy period the
// proposal is a /login limit and a blanket limit, each the observed peak
// plus the buffer, ordered as the blog says (specific first), as rules
// the WAF loader and engine accept.
func TestRecommendationsOnGeneratedLogs(t *testing.T) {
	dir, g := generated(t)
	for _, count := range []bool{false, true} {
		r := analyzeFiles(t, Options{From: g.Healthy[0], To: g.Healthy[1].Add(-1), Buffer: 0.5, Count: count}, dir)
		if len(r.Recommendations) < 2 {
			t.Fatalf("recommendations %+v", r.Recommendations)
		}
		login, blanket := r.Recommendations[0], r.Recommendations[len(r.Recommendations)-1]
		if login.Name != "UriBasedRule-login" || *login.URIPrefix != "/login" || blanket.Name != "BlanketRule" || blanket.URIPrefix != nil {
			t.Errorf("order: %s … %s", login.Name, blanket.Name)
		}
		if blanket.ObservedPeak != r.PerIPWindowCounts.Max {
			t.Errorf("blanket peak %d, the distribution's max %d", blanket.ObservedPeak, r.PerIPWindowCounts.Max)
		}
		for i, rec := range r.Recommendations {
			if rec.Limit != Readable(float64(rec.ObservedPeak)*1.5) || rec.WindowSeconds != 300 || rec.Buffer != 0.5 {
				t.Errorf("%s: limit %d for peak %d", rec.Name, rec.Limit, rec.ObservedPeak)
			}
			if i < len(r.Recommendations)-1 && rec.Limit >= blanket.Limit {
				t.Errorf("%s: limit %d not under the blanket %d", rec.Name, rec.Limit, blanket.Limit)
			}
			for _, w := range []string{"5-minute window", rec.PeakIP, " " + itoa(int(rec.ObservedPeak)) + " requests"} {
				if !strings.Contains(rec.Rationale, w) {
					t.Errorf("%s: rationale lacks %q: %s", rec.Name, w, rec.Rationale)
				}
			}
		}
		rules, _ := json.Marshal(r.Rules)
		acl, format, err := waf.Load(rules, waf.LoadOptions{})
		if err != nil || format != waf.FormatRules {
			t.Fatalf("the rules do not load: %v\n%s", err, rules)
		}
		if _, err := waf.New(acl, waf.Options{}); err != nil {
			t.Fatal(err)
		}
		for i, rule := range acl.Rules {
			if rule.Priority != int64(i+1) || rule.Statement.RateBasedStatement == nil || (rule.Action.Count != nil) != count {
				t.Errorf("rule %d: %+v", i, rule)
			}
		}
	}
}
