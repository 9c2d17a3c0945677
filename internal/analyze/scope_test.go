package analyze

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/waf"
)

// scopeLogs: one client sends 30 requests to /cart (POST from JP) in one
// window; ten others send 100 each to / from US. The site-wide peak is
// 100, the /cart peak 30.
func scopeLogs(t *testing.T) string {
	var rs []req
	for i := range 30 {
		rs = append(rs, req{at: time.Duration(i) * time.Second, ip: "198.51.100.7", uri: "/cart/add", method: "POST", country: "JP"})
	}
	for c := range 10 {
		for i := range 100 {
			rs = append(rs, req{at: time.Duration(i) * time.Second, ip: "203.0.113." + itoa(10+c), uri: "/"})
		}
	}
	return writeFile(t, filepath.Join(t.TempDir(), "a.log"), lines(rs...), false)
}

func aclOf(t *testing.T, r *Report) *waf.WebACL {
	t.Helper()
	rules, _ := json.Marshal(r.Rules)
	acl, _, err := waf.Load(rules, waf.LoadOptions{})
	if err != nil {
		t.Fatalf("the proposed rules do not load: %v\n%s", err, rules)
	}
	return acl
}

// A limit computed from filtered traffic is proposed for that traffic
// only: the rule carries the filters as its ScopeDownStatement, and a
// replay of all the logged requests agrees with the analysis (the 30
// /cart requests stay under a limit of 45; the 1,000 requests to / are
// not the rule's business). Before, the /cart peak came out as an
// unscoped BlanketRule of 45 that blocked 550 requests to /.
func TestFiltersScopeTheProposedRules(t *testing.T) {
	path := scopeLogs(t)
	for _, tc := range []struct {
		name string
		o    Options
		rule string
		want []string // in the rule's ScopeDownStatement
	}{
		{"uri", Options{URIPrefix: "/cart", Buffer: 0.5}, "ScopedRule-cart", []string{`"UriPath":{}`, `"SearchString":"/cart"`}},
		{"method", Options{Method: "post", Buffer: 0.5}, "ScopedRule-POST", []string{`"Method":{}`, `"SearchString":"post"`, `"LOWERCASE"`}},
		{"country", Options{Country: "jp", Buffer: 0.5}, "ScopedRule-JP", []string{`"GeoMatchStatement":{"CountryCodes":["JP"]}`}},
		{"all", Options{URIPrefix: "/cart", Method: "POST", Country: "JP", Buffer: 0.5}, "ScopedRule-cart-POST-JP", []string{`"AndStatement"`, `"/cart"`, `"post"`, `"JP"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := analyzeFiles(t, tc.o, path)
			var blanket *Recommendation
			for i, rec := range r.Recommendations {
				if rec.URIPrefix == nil {
					blanket = &r.Recommendations[i]
				}
			}
			if blanket == nil || blanket.Name != tc.rule || blanket.ObservedPeak != 30 || blanket.Limit != 45 || blanket.Scope == nil {
				t.Fatalf("recommendations %+v", r.Recommendations)
			}
			if !strings.Contains(blanket.Rationale, "scoped down") || strings.Contains(blanket.Rationale, "flooding the site") {
				t.Errorf("rationale presents a scoped peak as the site's: %s", blanket.Rationale)
			}
			raw := string(r.Rules[len(r.Rules)-1])
			for _, w := range tc.want {
				if !strings.Contains(raw, w) {
					t.Errorf("rule lacks %s:\n%s", w, raw)
				}
			}
			rep := replay(t, ReplayOptions{ACL: aclOf(t, r)}, path)
			for _, x := range rep.Rules {
				if x.Requests != 0 {
					t.Errorf("replay: %s would block %d requests; the analysis saw no client over its limit", x.Rule, x.Requests)
				}
			}
		})
	}
}

// --action selects requests by what the current web ACL did: no
// statement expresses that, so no rule is proposed, and it says why.
func TestActionFilterProposesNoRules(t *testing.T) {
	r := analyzeFiles(t, Options{Action: "allow"}, scopeLogs(t))
	if len(r.Recommendations) != 0 || len(r.Rules) != 0 {
		t.Errorf("rules proposed from --action traffic: %+v", r.Recommendations)
	}
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "no rules are proposed with --action") {
		t.Errorf("warnings %q", r.Warnings)
	}
	if s, why := scopeOf(Options{Country: "-"}); s != nil || !strings.Contains(why, "--country -") {
		t.Errorf("--country -: scope %v, %q", s, why)
	}
}

// --apply of a filtered analysis never touches the site-wide limit: the
// blog's BlanketRule keeps 7000 and the scoped rule is added before it.
func TestApplyFilteredKeepsTheBlanketLimit(t *testing.T) {
	src, err := os.ReadFile("../../examples/blog/blog-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "acl.json")
	os.WriteFile(path, src, 0o600)
	r := analyzeFiles(t, Options{URIPrefix: "/cart", Buffer: 0.5}, scopeLogs(t))
	res, err := Apply(path, r.Recommendations, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updated) != 0 || strings.Join(res.Added, ",") != "ScopedRule-cart" {
		t.Errorf("updated %v, added %v", res.Updated, res.Added)
	}
	data, _ := os.ReadFile(path)
	acl, _, err := waf.Load(data, waf.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rule := range acl.Rules {
		s := rule.Name
		if rb := rule.Statement.RateBasedStatement; rb != nil {
			s += ":" + itoa(int(rb.Limit))
		}
		got = append(got, s)
	}
	if want := "AWS-AWSManagedRulesAmazonIpReputationList UriBasedRule:150 ScopedRule-cart:45 BlanketRule:7000"; strings.Join(got, " ") != want {
		t.Errorf("rules %s, want %s", strings.Join(got, " "), want)
	}
}

// validName is the WAFv2 model's Rule Name: pattern ^[\w\-]+$, length 1..128.
var validName = regexp.MustCompile(`^[\w\-]{1,128}$`)

// Two prefixes that spell the same name get distinct, valid names
// (AWS: names unique in a web ACL, ^[\w\-]+$, 1..128).
func TestRuleNamesAreUnique(t *testing.T) {
	var rs []req
	rs = append(rs, burst(20, 0, time.Second, "198.51.100.1", "/wp-login.php")...)
	rs = append(rs, burst(15, 0, time.Second, "198.51.100.2", "/wp-login-php")...)
	long := "/" + strings.Repeat("a", 150)
	rs = append(rs, burst(12, 0, time.Second, "198.51.100.3", long)...)
	rs = append(rs, burst(11, 0, time.Second, "198.51.100.4", long+"-")...)
	path := writeFile(t, filepath.Join(t.TempDir(), "a.log"), lines(rs...), false)
	r := analyzeFiles(t, Options{RuleURIs: []string{"/wp-login.php", "/wp-login-php", long, long + "-"}}, path)
	seen := map[string]bool{}
	for _, rec := range r.Recommendations {
		if seen[rec.Name] || !validName.MatchString(rec.Name) {
			t.Errorf("name %q repeated or invalid", rec.Name)
		}
		seen[rec.Name] = true
	}
	if len(r.Recommendations) != 5 {
		t.Errorf("%d recommendations", len(r.Recommendations))
	}
	aclOf(t, r)
}

// --rule-uri for a prefix nobody requested says so instead of dropping it.
func TestRuleURIWithoutTrafficWarns(t *testing.T) {
	r := analyzeFiles(t, Options{RuleURIs: []string{"/wp-login.php"}}, scopeLogs(t))
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "--rule-uri /wp-login.php: no request") {
		t.Errorf("warnings %q", r.Warnings)
	}
}

// A rule that bears a recommendation's name but limits something else is
// not updated: Apply refuses and leaves the file alone.
func TestApplyRefusesANameOfAnotherShape(t *testing.T) {
	api := "/api"
	for name, rule := range map[string]string{
		"scoped-elsewhere": `{"Name":"UriBasedRule-api","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"a"},"Statement":{"RateBasedStatement":{"Limit":5000,"AggregateKeyType":"IP","ScopeDownStatement":{"ByteMatchStatement":{"FieldToMatch":{"UriPath":{}},"PositionalConstraint":"STARTS_WITH","SearchString":"/admin","TextTransformations":[{"Type":"NONE","Priority":0}]}}}}}`,
		"forwarded-ip":     `{"Name":"BlanketRule","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"b"},"Statement":{"RateBasedStatement":{"Limit":5000,"AggregateKeyType":"FORWARDED_IP","ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"MATCH"}}}}`,
	} {
		path := filepath.Join(t.TempDir(), name+".json")
		content := `[` + rule + `]`
		os.WriteFile(path, []byte(content), 0o600)
		recs := []Recommendation{{Name: "UriBasedRule-api", URIPrefix: &api, Limit: 45, WindowSeconds: 300}, {Name: "BlanketRule", Limit: 900, WindowSeconds: 300}}
		_, err := Apply(path, recs, false, time.Now())
		if err == nil || !strings.Contains(err.Error(), "does not do what the recommendation") {
			t.Errorf("%s: %v", name, err)
		}
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("%s changed", name)
		}
	}
}

func TestLimitText(t *testing.T) {
	for _, tc := range []struct {
		peak  int64
		limit int64
		want  string
	}{
		{30, 45, "buffer for growth, 45"},
		{875, 1400, "1312.5, rounded up to 1400"},
		{5, 10, "raised to AWS's minimum of 10"},
	} {
		got := limitText(Recommendation{ObservedPeak: tc.peak, Limit: tc.limit, Buffer: 0.5})
		if !strings.HasSuffix(got, tc.want) || strings.Contains(got, "which is") {
			t.Errorf("peak %d: %q, want …%q", tc.peak, got, tc.want)
		}
	}
}
