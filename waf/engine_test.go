package waf

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

var bg = context.Background()

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// loadACLFile loads a web ACL from testdata.
func loadACLFile(t testing.TB, name string) *WebACL {
	t.Helper()
	data, err := readTestdata(name)
	if err != nil {
		t.Fatal(err)
	}
	acl, _, err := Load(data, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return acl
}

func blogEngine(t testing.TB, clock *fakeClock) *Engine {
	t.Helper()
	e, err := New(loadACLFile(t, "blog-acl.json"), Options{
		IPReputation: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
		Now:          clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func get(ip, uri string) *Request {
	return &Request{ClientIP: netip.MustParseAddr(ip), Method: "GET", URI: uri, Headers: []Header{{"Host", "shop.example"}}}
}

// The blog's rules behave as it describes: the /login rule blocks one IP
// after 150 requests in 5 minutes while other paths stay open up to
// 7,000; the IP reputation list blocks first of all.
func TestBlogACL(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := blogEngine(t, clock)
	attacker := "203.0.113.7"
	allowed := 0
	var d Decision
	for i := range 400 {
		clock.t = clock.t.Add(500 * time.Millisecond) // 400 requests in 200 s
		e.EvaluateInto(bg, get(attacker, "/login"), &d)
		if d.Action == "ALLOW" {
			allowed++
			continue
		}
		if d.TerminatingRuleID != "UriBasedRule" || d.TerminatingRuleType != "RATE_BASED" || len(d.RateBased) != 1 ||
			d.RateBased[0].LimitValue != attacker || d.RateBased[0].MaxRateAllowed != 150 || d.RateBased[0].EvaluationWindowSec != 300 {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	if allowed != 150 {
		t.Fatalf("%d /login requests allowed in 5 minutes, want 150", allowed)
	}
	// Other paths stay open for the same client, and /login for others.
	if d := e.Evaluate(bg, get(attacker, "/products")); d.Action != "ALLOW" {
		t.Fatalf("other path blocked: %+v", d)
	}
	if d := e.Evaluate(bg, get("192.0.2.10", "/login")); d.Action != "ALLOW" {
		t.Fatalf("other client blocked: %+v", d)
	}
	// Blanket: 7,000 requests in 5 minutes pass, the next is blocked.
	client := "192.0.2.20"
	for i := range 7000 {
		clock.t = clock.t.Add(40 * time.Millisecond)
		if d := e.Evaluate(bg, get(client, "/products")); d.Action != "ALLOW" {
			t.Fatalf("blanket request %d blocked: %+v", i+1, d)
		}
	}
	if d := e.Evaluate(bg, get(client, "/products")); d.Action != "BLOCK" || d.TerminatingRuleID != "BlanketRule" {
		t.Fatalf("request 7,001: %+v", d)
	}
	// The block lifts by itself once the rate falls: no fixed period.
	clock.t = clock.t.Add(5*time.Minute + 30*time.Second)
	if d := e.Evaluate(bg, get(attacker, "/login")); d.Action != "ALLOW" {
		t.Fatalf("still blocked after the window: %+v", d)
	}
	// A known bad IP is blocked by the managed group before anything else.
	d = e.Evaluate(bg, get("198.51.100.9", "/"))
	if d.Action != "BLOCK" || d.TerminatingRuleID != "AWS-AWSManagedRulesAmazonIpReputationList" || d.TerminatingRuleType != "MANAGED_RULE_GROUP" ||
		len(d.Labels) != 1 || d.Labels[0] != "awswaf:managed:aws:amazon-ip-list:AWSManagedIPReputationList" {
		t.Fatalf("reputation: %+v", d)
	}
	lim, err := e.Limited(bg, "UriBasedRule")
	if err != nil || len(lim) != 0 {
		t.Fatalf("limited after the window: %v %v", lim, err)
	}
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile("testdata/" + name) }

// acl builds a web ACL from rules (JSON) for statement tests.
func engineFor(t *testing.T, rules string, opts Options) *Engine {
	t.Helper()
	acl, _, err := Load([]byte(`{"Name":"t","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"t"},
		"CustomResponseBodies":{"denied":{"ContentType":"APPLICATION_JSON","Content":"{\"error\":\"denied\"}"}},"Rules":[`+rules+`]}`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(acl, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ruleJSON(name string, priority int, action, statement string) string {
	return rule(name, priority, action, statement)
}

func bm(field, pos, search, tt string) string {
	return `{"ByteMatchStatement":{"SearchString":"` + search + `","FieldToMatch":` + field + `,"TextTransformations":` + tt + `,"PositionalConstraint":"` + pos + `"}}`
}

const none = `[{"Priority":0,"Type":"NONE"}]`

func TestStatements(t *testing.T) {
	country := func(ip netip.Addr) string {
		if strings.HasPrefix(ip.String(), "192.0.2.") {
			return "FR"
		}
		return "US"
	}
	opts := Options{Geo: CountryFunc(country), IPSets: map[string][]netip.Prefix{"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/x": {netip.MustParsePrefix("203.0.113.0/24")}}}
	tests := []struct {
		name      string
		statement string
		req       *Request
		want      bool
	}{
		{"exactly", bm(`{"UriPath":{}}`, "EXACTLY", "/login", none), get("192.0.2.1", "/login"), true},
		{"exactly miss", bm(`{"UriPath":{}}`, "EXACTLY", "/login", none), get("192.0.2.1", "/login/x"), false},
		{"starts with", bm(`{"UriPath":{}}`, "STARTS_WITH", "/login", none), get("192.0.2.1", "/login/x"), true},
		{"ends with", bm(`{"UriPath":{}}`, "ENDS_WITH", ".php", none), get("192.0.2.1", "/a/index.php"), true},
		{"contains", bm(`{"QueryString":{}}`, "CONTAINS", "union", `[{"Priority":0,"Type":"LOWERCASE"}]`), &Request{ClientIP: netip.MustParseAddr("192.0.2.1"), URI: "/", Query: "q=1+UNION+select"}, true},
		{"contains word", bm(`{"QueryString":{}}`, "CONTAINS_WORD", "admin", none), &Request{URI: "/", Query: "role=admin&x=1"}, true},
		{"contains word miss", bm(`{"QueryString":{}}`, "CONTAINS_WORD", "admin", none), &Request{URI: "/", Query: "role=administrator"}, false},
		{"transformations in order", bm(`{"UriPath":{}}`, "EXACTLY", "/etc/passwd", `[{"Priority":1,"Type":"NORMALIZE_PATH"},{"Priority":0,"Type":"URL_DECODE"}]`), get("192.0.2.1", "/a/..%2Fetc/passwd"), true},
		{"method", bm(`{"Method":{}}`, "EXACTLY", "POST", none), &Request{Method: "POST"}, true},
		{"uri fragment", bm(`{"UriFragment":{}}`, "EXACTLY", "top", none), &Request{URI: "/", Fragment: "top"}, true},
		{"uri fragment miss", bm(`{"UriFragment":{}}`, "EXACTLY", "top", none), &Request{URI: "/"}, false},
		{"single header, any case", bm(`{"SingleHeader":{"Name":"user-agent"}}`, "CONTAINS", "sqlmap", none), &Request{Headers: []Header{{"User-Agent", "sqlmap/1.0"}}}, true},
		{"missing header", bm(`{"SingleHeader":{"Name":"x-token"}}`, "EXACTLY", "a", none), &Request{}, false},
		{"single query argument", bm(`{"SingleQueryArgument":{"Name":"ID"}}`, "EXACTLY", "7", none), &Request{Query: "x=1&id=7"}, true},
		{"all query arguments", bm(`{"AllQueryArguments":{}}`, "EXACTLY", "evil", none), &Request{Query: "a=1&b=evil"}, true},
		{"body", bm(`{"Body":{}}`, "CONTAINS", "<script>", none), &Request{Body: []byte(`x=<script>`), BodySize: 10}, true},
		{"oversize body, match", bm(`{"Body":{"OversizeHandling":"MATCH"}}`, "CONTAINS", "zzz", none), &Request{Body: make([]byte, 100), BodySize: 1 << 20}, true},
		{"oversize body, no match", bm(`{"Body":{"OversizeHandling":"NO_MATCH"}}`, "CONTAINS", "a", none), &Request{Body: []byte("aaaa"), BodySize: 1 << 20}, false},
		{"oversize body, continue", bm(`{"Body":{"OversizeHandling":"CONTINUE"}}`, "CONTAINS", "a", none), &Request{Body: []byte("aaaa"), BodySize: 1 << 20}, true},
		{"regex", `{"RegexMatchStatement":{"RegexString":"^/api/v[0-9]+/","FieldToMatch":{"UriPath":{}},"TextTransformations":` + none + `}}`, get("1.1.1.1", "/api/v2/x"), true},
		{"size", `{"SizeConstraintStatement":{"FieldToMatch":{"QueryString":{}},"ComparisonOperator":"GT","Size":10,"TextTransformations":` + none + `}}`, &Request{Query: "a=0123456789"}, true},
		{"geo", `{"GeoMatchStatement":{"CountryCodes":["FR","DE"]}}`, get("192.0.2.1", "/"), true},
		{"geo miss", `{"GeoMatchStatement":{"CountryCodes":["FR"]}}`, get("8.8.8.8", "/"), false},
		{"geo forwarded", `{"GeoMatchStatement":{"CountryCodes":["FR"],"ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"NO_MATCH"}}}`, &Request{ClientIP: netip.MustParseAddr("8.8.8.8"), Headers: []Header{{"X-Forwarded-For", "192.0.2.5, 10.0.0.1"}}}, true},
		{"geo forwarded absent", `{"GeoMatchStatement":{"CountryCodes":["US"],"ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"MATCH"}}}`, get("8.8.8.8", "/"), false},
		{"geo forwarded invalid", `{"GeoMatchStatement":{"CountryCodes":["FR"],"ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"MATCH"}}}`, &Request{Headers: []Header{{"X-Forwarded-For", "junk"}}}, true},
		{"ip set", `{"IPSetReferenceStatement":{"ARN":"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/x"}}`, get("203.0.113.9", "/"), true},
		{"ip set miss", `{"IPSetReferenceStatement":{"ARN":"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/x"}}`, get("192.0.2.9", "/"), false},
		{"ip set forwarded last", `{"IPSetReferenceStatement":{"ARN":"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/x","IPSetForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"NO_MATCH","Position":"LAST"}}}`, &Request{Headers: []Header{{"X-Forwarded-For", "192.0.2.1, 203.0.113.5"}}}, true},
		{"ip set forwarded first", `{"IPSetReferenceStatement":{"ARN":"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/x","IPSetForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"NO_MATCH","Position":"FIRST"}}}`, &Request{Headers: []Header{{"X-Forwarded-For", "192.0.2.1, 203.0.113.5"}}}, false},
		{"ip set forwarded any", `{"IPSetReferenceStatement":{"ARN":"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/x","IPSetForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"NO_MATCH","Position":"ANY"}}}`, &Request{Headers: []Header{{"X-Forwarded-For", "192.0.2.1, 203.0.113.5, 10.0.0.1"}}}, true},
		{"and", `{"AndStatement":{"Statements":[` + bm(`{"Method":{}}`, "EXACTLY", "POST", none) + `,` + bm(`{"UriPath":{}}`, "STARTS_WITH", "/login", none) + `]}}`, &Request{Method: "POST", URI: "/login"}, true},
		{"and miss", `{"AndStatement":{"Statements":[` + bm(`{"Method":{}}`, "EXACTLY", "POST", none) + `,` + bm(`{"UriPath":{}}`, "STARTS_WITH", "/login", none) + `]}}`, &Request{Method: "GET", URI: "/login"}, false},
		{"or", `{"OrStatement":{"Statements":[` + bm(`{"Method":{}}`, "EXACTLY", "POST", none) + `,` + bm(`{"UriPath":{}}`, "STARTS_WITH", "/login", none) + `]}}`, &Request{Method: "GET", URI: "/login"}, true},
		{"not", `{"NotStatement":{"Statement":` + bm(`{"Method":{}}`, "EXACTLY", "GET", none) + `}}`, &Request{Method: "POST"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engineFor(t, ruleJSON("r", 0, `{"Block":{}}`, tt.statement), opts)
			d := e.Evaluate(bg, tt.req)
			if got := d.Action == "BLOCK"; got != tt.want {
				t.Fatalf("matched %v, want %v (%+v)", got, tt.want, d)
			}
		})
	}
}

func TestActionsAndLabels(t *testing.T) {
	rules := strings.Join([]string{
		// Count and label admin paths; a later rule blocks labelled POSTs.
		strings.Replace(ruleJSON("tag-admin", 0, `{"Count":{"CustomRequestHandling":{"InsertHeaders":[{"Name":"admin","Value":"yes"}]}}}`, bm(`{"UriPath":{}}`, "STARTS_WITH", "/admin", none)), `"VisibilityConfig"`, `"RuleLabels":[{"Name":"app:admin"}],"VisibilityConfig"`, 1),
		ruleJSON("block-admin-post", 1, `{"Block":{"CustomResponse":{"ResponseCode":429,"CustomResponseBodyKey":"denied","ResponseHeaders":[{"Name":"retry","Value":"60"}]}}}`,
			`{"AndStatement":{"Statements":[{"LabelMatchStatement":{"Scope":"LABEL","Key":"app:admin"}},`+bm(`{"Method":{}}`, "EXACTLY", "POST", none)+`]}}`),
		ruleJSON("allow-health", 2, `{"Allow":{"CustomRequestHandling":{"InsertHeaders":[{"Name":"health","Value":"1"}]}}}`, bm(`{"UriPath":{}}`, "EXACTLY", "/healthz", none)),
		ruleJSON("namespace", 3, `{"Block":{}}`, `{"LabelMatchStatement":{"Scope":"NAMESPACE","Key":"app:"}}`),
	}, ",")
	e := engineFor(t, rules, Options{})
	d := e.Evaluate(bg, &Request{Method: "POST", URI: "/admin/users"})
	if d.Action != "BLOCK" || d.TerminatingRuleID != "block-admin-post" || d.CustomResponse.ResponseCode != 429 || d.ResponseBody.Content != `{"error":"denied"}` {
		t.Fatalf("%+v", d)
	}
	if len(d.NonTerminating) != 1 || d.NonTerminating[0].RuleID != "tag-admin" || d.Labels[0] != "awswaf:000000000000:webacl:t:app:admin" {
		t.Fatalf("count and label: %+v", d)
	}
	d = e.Evaluate(bg, &Request{Method: "GET", URI: "/admin/users"})
	if d.Action != "BLOCK" || d.TerminatingRuleID != "namespace" {
		t.Fatalf("namespace match: %+v", d)
	}
	d = e.Evaluate(bg, &Request{Method: "GET", URI: "/healthz"})
	if d.Action != "ALLOW" || d.TerminatingRuleID != "allow-health" || len(d.InsertHeaders) != 1 || d.InsertHeaders[0].Name != "health" {
		t.Fatalf("allow: %+v", d)
	}
	d = e.Evaluate(bg, &Request{Method: "GET", URI: "/"})
	if d.Action != "ALLOW" || d.TerminatingRuleID != "Default_Action" {
		t.Fatalf("default: %+v", d)
	}
}

func TestNewErrors(t *testing.T) {
	acl, _, err := Load([]byte(`[`+ruleJSON("r", 0, `{"Block":{}}`, `{"IPSetReferenceStatement":{"ARN":"arn:aws:wafv2:us-east-1:1:regional/ipset/none/x"}}`)+`,`+
		`{"Name":"m","Priority":1,"OverrideAction":{"None":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"m"},"Statement":{"ManagedRuleGroupStatement":{"VendorName":"lockgate","Name":"AnonymousIPList"}}},`+
		ruleJSON("g", 2, `{"Block":{}}`, `{"GeoMatchStatement":{"CountryCodes":["FR"]}}`)+`]`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(acl, Options{})
	for _, want := range []string{`no IP set "arn:aws:wafv2:us-east-1:1:regional/ipset/none/x"`, `Options.AnonymousIP in Go`, "GeoMatch needs a geolocation database"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New lacks %q: %v", want, err)
		}
	}
}

func BenchmarkBlogACLAllowed(b *testing.B) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := blogEngine(b, clock)
	// 1,000 clients, each well under both limits; keys already tracked.
	reqs := make([]*Request, 1000)
	for i := range reqs {
		reqs[i] = &Request{ClientIP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Method: "GET", URI: "/products/42", Headers: []Header{{"Host", "shop.example"}}}
	}
	var d Decision
	for _, r := range reqs {
		e.EvaluateInto(bg, r, &d)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%1000 == 0 {
			clock.t = clock.t.Add(time.Second) // ~1 request/s per client
		}
		e.EvaluateInto(bg, reqs[i%1000], &d)
		if d.Action != "ALLOW" {
			b.Fatal(d)
		}
		i++
	}
}

// The baseline for BenchmarkBlogACLAllowed: the same requests through a
// web ACL with no rules (the default action alone).
func BenchmarkEmptyACLAllowed(b *testing.B) {
	acl, _, err := Load([]byte(`[]`), LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(acl, Options{})
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*Request, 1000)
	for i := range reqs {
		reqs[i] = &Request{ClientIP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Method: "GET", URI: "/products/42", Headers: []Header{{"Host", "shop.example"}}}
	}
	var d Decision
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.EvaluateInto(bg, reqs[i%1000], &d)
		i++
	}
}

// The evaluate hot path allocates nothing: an allowed request through the
// blog's web ACL (a managed IP list, two rate-based rules) with a reused
// Decision, keys already tracked. BenchmarkBlogACLAllowed measures its
// speed; this pins the zero.
func TestEvaluateAllocs(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := blogEngine(t, clock)
	reqs := make([]*Request, 1000)
	for i := range reqs {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		reqs[i] = &Request{ClientIP: ip, Method: "GET", URI: []string{"/products/42", "/login", "/"}[i%3],
			Headers: []Header{{"Host", "shop.example"}, {"User-Agent", "curl/8"}, {"Cookie", "a=b; c=d"}}}
	}
	var d Decision
	for _, r := range reqs {
		e.EvaluateInto(bg, r, &d)
	}
	i := 0
	if n := testing.AllocsPerRun(999, func() {
		e.EvaluateInto(bg, reqs[i%len(reqs)], &d)
		if d.Action != "ALLOW" {
			t.Fatal(d.Action)
		}
		i++
	}); n != 0 {
		t.Fatalf("EvaluateInto allocates %v times per allowed request", n)
	}
}
