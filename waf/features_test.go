package waf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestMoreStatementsAndFields(t *testing.T) {
	const setARN = "arn:aws:wafv2:us-east-1:111122223333:regional/regexpatternset/bots/1"
	opts := Options{RegexSets: map[string][]string{setARN: {"(?i)sqlmap", "^curl/"}}}
	big := make([]Header, 201)
	for i := range big {
		big[i] = Header{"X-H", "v"}
	}
	field := func(f string) func(pos, s string) string {
		return func(pos, s string) string { return bm(f, pos, s, none) }
	}
	headers := field(`{"Headers":{"MatchPattern":{"All":{}},"MatchScope":"ALL","OversizeHandling":"CONTINUE"}}`)
	tests := []struct {
		name      string
		statement string
		req       *Request
		want      bool
	}{
		{"sqli in query argument", `{"SqliMatchStatement":{"FieldToMatch":{"AllQueryArguments":{}},"TextTransformations":[{"Priority":0,"Type":"URL_DECODE"}]}}`, &Request{Query: "id=1%27%20OR%20%271%27%3D%271"}, true},
		{"sqli clean", `{"SqliMatchStatement":{"FieldToMatch":{"AllQueryArguments":{}},"TextTransformations":[{"Priority":0,"Type":"URL_DECODE"}]}}`, &Request{Query: "id=42&name=O%27Brien"}, false},
		{"sqli high sees encoded comment", `{"SqliMatchStatement":{"FieldToMatch":{"Body":{}},"TextTransformations":` + none + `,"SensitivityLevel":"HIGH"}}`, &Request{Body: []byte("1%27%20UNION%20SELECT%20password%20FROM%20users--")}, true},
		{"xss in body", `{"XssMatchStatement":{"FieldToMatch":{"Body":{}},"TextTransformations":` + none + `}}`, &Request{Body: []byte(`comment=<script>alert(1)</script>`)}, true},
		{"xss clean", `{"XssMatchStatement":{"FieldToMatch":{"Body":{}},"TextTransformations":` + none + `}}`, &Request{Body: []byte(`comment=hello world`)}, false},
		{"regex pattern set", `{"RegexPatternSetReferenceStatement":{"ARN":"` + setARN + `","FieldToMatch":{"SingleHeader":{"Name":"user-agent"}},"TextTransformations":` + none + `}}`, &Request{Headers: []Header{{"User-Agent", "curl/8.0"}}}, true},
		{"regex pattern set miss", `{"RegexPatternSetReferenceStatement":{"ARN":"` + setARN + `","FieldToMatch":{"SingleHeader":{"Name":"user-agent"}},"TextTransformations":` + none + `}}`, &Request{Headers: []Header{{"User-Agent", "Mozilla/5.0"}}}, false},
		{"headers all, value", headers("EXACTLY", "evil"), &Request{Headers: []Header{{"A", "x"}, {"B", "evil"}}}, true},
		{"headers all, key", headers("EXACTLY", "B"), &Request{Headers: []Header{{"B", "x"}}}, true},
		{"headers key scope ignores values", bm(`{"Headers":{"MatchPattern":{"All":{}},"MatchScope":"KEY","OversizeHandling":"CONTINUE"}}`, "EXACTLY", "evil", none), &Request{Headers: []Header{{"B", "evil"}}}, false},
		{"headers included", bm(`{"Headers":{"MatchPattern":{"IncludedHeaders":["x-a"]},"MatchScope":"VALUE","OversizeHandling":"CONTINUE"}}`, "EXACTLY", "1", none), &Request{Headers: []Header{{"X-B", "1"}, {"X-A", "1"}}}, true},
		{"headers excluded", bm(`{"Headers":{"MatchPattern":{"ExcludedHeaders":["x-a"]},"MatchScope":"VALUE","OversizeHandling":"CONTINUE"}}`, "EXACTLY", "1", none), &Request{Headers: []Header{{"X-A", "1"}}}, false},
		{"headers oversize match", bm(`{"Headers":{"MatchPattern":{"All":{}},"MatchScope":"ALL","OversizeHandling":"MATCH"}}`, "EXACTLY", "nothing", none), &Request{Headers: big}, true},
		{"headers oversize no match", bm(`{"Headers":{"MatchPattern":{"All":{}},"MatchScope":"ALL","OversizeHandling":"NO_MATCH"}}`, "EXACTLY", "v", none), &Request{Headers: big}, false},
		{"cookies value", bm(`{"Cookies":{"MatchPattern":{"IncludedCookies":["session"]},"MatchScope":"VALUE","OversizeHandling":"CONTINUE"}}`, "EXACTLY", "stolen", none), &Request{Headers: []Header{{"Cookie", "theme=dark; session=stolen"}}}, true},
		{"cookie names keep case", bm(`{"Cookies":{"MatchPattern":{"IncludedCookies":["Session"]},"MatchScope":"VALUE","OversizeHandling":"CONTINUE"}}`, "EXACTLY", "stolen", none), &Request{Headers: []Header{{"Cookie", "session=stolen"}}}, false},
		{"cookies key", bm(`{"Cookies":{"MatchPattern":{"All":{}},"MatchScope":"KEY","OversizeHandling":"CONTINUE"}}`, "EXACTLY", "debug", none), &Request{Headers: []Header{{"Cookie", "a=1; debug=1"}}}, true},
		{"header order", bm(`{"HeaderOrder":{"OversizeHandling":"CONTINUE"}}`, "EXACTLY", "Host:User-Agent:Accept", none), &Request{Headers: []Header{{"Host", "a"}, {"User-Agent", "b"}, {"Accept", "*/*"}}}, true},
		{"json value", bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"VALUE"}}`, "EXACTLY", "admin", none), &Request{Body: []byte(`{"user":{"role":"admin"}}`)}, true},
		{"json key scope", bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"KEY"}}`, "EXACTLY", "admin", none), &Request{Body: []byte(`{"user":{"role":"admin"}}`)}, false},
		{"json key", bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"KEY"}}`, "EXACTLY", "role", none), &Request{Body: []byte(`{"user":{"role":"admin"}}`)}, true},
		{"json included path", bm(`{"JsonBody":{"MatchPattern":{"IncludedPaths":["/items/1/name"]},"MatchScope":"VALUE"}}`, "EXACTLY", "b", none), &Request{Body: []byte(`{"items":[{"name":"a"},{"name":"b"}]}`)}, true},
		{"json path excludes others", bm(`{"JsonBody":{"MatchPattern":{"IncludedPaths":["/items/0/name"]},"MatchScope":"VALUE"}}`, "EXACTLY", "b", none), &Request{Body: []byte(`{"items":[{"name":"a"},{"name":"b"}]}`)}, false},
		{"json number and bool", bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"VALUE"}}`, "EXACTLY", "true", none), &Request{Body: []byte(`{"n":1.50,"ok":true}`)}, true},
		{"json invalid, match", bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"ALL","InvalidFallbackBehavior":"MATCH"}}`, "EXACTLY", "zzz", none), &Request{Body: []byte(`{"a":`)}, true},
		{"json invalid, as string", bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"ALL","InvalidFallbackBehavior":"EVALUATE_AS_STRING"}}`, "CONTAINS", "DROP", none), &Request{Body: []byte(`not json; DROP TABLE`)}, true},
		{"json invalid, parsed part", bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"VALUE"}}`, "EXACTLY", "x", none), &Request{Body: []byte(`{"a":"x","b":`)}, true},
		{"json oversize", bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"ALL","OversizeHandling":"MATCH"}}`, "EXACTLY", "zzz", none), &Request{Body: []byte(`{}`), BodySize: 1 << 20}, true},
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

const groupARN = "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/app/1"

func loadGroup(t *testing.T) *RuleGroup {
	t.Helper()
	data, err := readTestdata("rule-group.json")
	if err != nil {
		t.Fatal(err)
	}
	g, err := LoadRuleGroup(data, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func groupRef(override, extra string) string {
	return `{"Name":"app-rules","Priority":0,"OverrideAction":` + override + `,"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"app"},` +
		`"Statement":{"RuleGroupReferenceStatement":{"ARN":"` + groupARN + `"` + extra + `}}}`
}

func TestRuleGroups(t *testing.T) {
	g := loadGroup(t)
	opts := Options{RuleGroups: map[string]*RuleGroup{groupARN: g}}
	admin := &Request{Method: "GET", URI: "/admin"}
	after := ruleJSON("after", 1, `{"Block":{}}`, `{"LabelMatchStatement":{"Scope":"LABEL","Key":"awswaf:111122223333:rulegroup:app:admin-path"}}`)

	e := engineFor(t, groupRef(`{"None":{}}`, ""), opts)
	d := e.Evaluate(bg, admin)
	if d.Action != "BLOCK" || d.TerminatingRuleID != "app-rules" || d.TerminatingRuleType != "GROUP" ||
		len(d.RuleGroups) != 1 || d.RuleGroups[0].TerminatingRule.RuleID != "block-admin" || len(d.RuleGroups[0].NonTerminating) != 1 {
		t.Fatalf("group block: %+v", d)
	}
	if d.CustomResponse == nil || d.ResponseBody == nil || d.ResponseBody.Content != "group says no" {
		t.Fatalf("the group's custom response body: %+v", d)
	}

	// OverrideAction Count: the group's block only counts, its labels stay.
	e = engineFor(t, groupRef(`{"Count":{}}`, "")+","+after, opts)
	d = e.Evaluate(bg, admin)
	if d.Action != "BLOCK" || d.TerminatingRuleID != "after" || len(d.NonTerminating) != 1 || d.NonTerminating[0].RuleID != "app-rules" {
		t.Fatalf("override count: %+v", d)
	}

	// RuleActionOverrides and ExcludedRules.
	e = engineFor(t, groupRef(`{"None":{}}`, `,"RuleActionOverrides":[{"Name":"block-admin","ActionToUse":{"Allow":{}}}]`), opts)
	if d := e.Evaluate(bg, admin); d.Action != "ALLOW" || d.TerminatingRuleID != "app-rules" {
		t.Fatalf("action override: %+v", d)
	}
	e = engineFor(t, groupRef(`{"None":{}}`, `,"ExcludedRules":[{"Name":"block-admin"}]`), opts)
	if d := e.Evaluate(bg, admin); d.Action != "ALLOW" || d.TerminatingRuleID != "Default_Action" {
		t.Fatalf("excluded rule: %+v", d)
	}

	// Unknown rule names and missing groups are errors at New.
	acl, _, err := Load([]byte(`[`+groupRef(`{"None":{}}`, `,"RuleActionOverrides":[{"Name":"nope","ActionToUse":{"Count":{}}}]`)+`]`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(acl, opts); err == nil || !strings.Contains(err.Error(), `has no rule "nope"`) {
		t.Fatalf("unknown override: %v", err)
	}
	if _, err := New(acl, Options{}); err == nil || !strings.Contains(err.Error(), "no rule group") {
		t.Fatalf("missing group: %v", err)
	}
	if c := Capacity(acl, opts.RuleGroups); c != 100 {
		t.Fatalf("capacity %d, want the group's 100", c)
	}
}

func TestRuleGroupErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"nested reference", `{"Name":"g","Capacity":10,"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"g"},"Rules":[` + groupRef(`{"None":{}}`, "") + `]}`, "cannot contain rule group references"},
		{"over capacity", `{"Name":"g","Capacity":5,"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"g"},"Rules":[` + rule("a", 0, `{"Block":{}}`, bm(`{"UriPath":{}}`, "CONTAINS", "x", none)) + `]}`, "need 10 WCUs, more than the group's capacity 5"},
		{"namespace", `{"Name":"g","Capacity":5,"LabelNamespace":"x","VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"g"}}`, "LabelNamespace"},
		{"not an object", `[]`, "is an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadRuleGroup([]byte(tt.doc), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCustomKeys(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	stmt := `{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"CUSTOM_KEYS","EvaluationWindowSec":60,"CustomKeys":[` +
		`{"Header":{"Name":"x-api-key","TextTransformations":[{"Priority":0,"Type":"LOWERCASE"}]}},{"IP":{}}]}}`
	e := engineFor(t, ruleJSON("per-key", 0, `{"Block":{}}`, stmt), Options{Now: clock.now})
	req := func(key string) *Request {
		r := &Request{ClientIP: netip.MustParseAddr("192.0.2.1"), URI: "/"}
		if key != "" {
			r.Headers = []Header{{"X-Api-Key", key}}
		}
		return r
	}
	for i := range 10 {
		// Case differs, the LOWERCASE transformation makes one key.
		k := "ABC"
		if i%2 == 0 {
			k = "abc"
		}
		if d := e.Evaluate(bg, req(k)); d.Action != "ALLOW" {
			t.Fatalf("request %d blocked", i)
		}
	}
	d := e.Evaluate(bg, req("abc"))
	if d.Action != "BLOCK" || len(d.RateBased) != 1 || d.RateBased[0].LimitKey != "CUSTOMKEYS" || len(d.RateBased[0].CustomValues) != 2 ||
		d.RateBased[0].CustomValues[0] != (CustomValue{Key: "HEADER", Name: "x-api-key", Value: "abc"}) || d.RateBased[0].CustomValues[1].Value != "192.0.2.1" {
		t.Fatalf("11th request: %+v", d)
	}
	if d := e.Evaluate(bg, req("other")); d.Action != "ALLOW" {
		t.Fatalf("another key blocked: %+v", d)
	}
	// Missing a component: neither counted nor limited.
	for range 20 {
		if d := e.Evaluate(bg, req("")); d.Action != "ALLOW" {
			t.Fatalf("request without the header blocked: %+v", d)
		}
	}
}

// Custom keys on a label namespace and a forwarded IP: a request without
// a label in the namespace, or without the header, is not counted.
func TestCustomKeysLabelsAndForwarded(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	rules := strings.Join([]string{
		strings.Replace(ruleJSON("tier", 0, `{"Count":{}}`, bm(`{"SingleHeader":{"Name":"x-tier"}}`, "EXACTLY", "free", none)),
			`"VisibilityConfig"`, `"RuleLabels":[{"Name":"tier:free"}],"VisibilityConfig"`, 1),
		ruleJSON("per-tier-client", 1, `{"Block":{}}`, `{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"CUSTOM_KEYS","EvaluationWindowSec":60,`+
			`"ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"NO_MATCH"},`+
			`"CustomKeys":[{"LabelNamespace":{"Namespace":"tier:"}},{"ForwardedIP":{}}]}}`),
	}, ",")
	e := engineFor(t, rules, Options{Now: clock.now})
	req := func(tier, xff string) *Request {
		r := &Request{ClientIP: netip.MustParseAddr("10.0.0.1"), URI: "/"}
		if tier != "" {
			r.Headers = append(r.Headers, Header{"X-Tier", tier})
		}
		if xff != "" {
			r.Headers = append(r.Headers, Header{"X-Forwarded-For", xff})
		}
		return r
	}
	for range 10 {
		if d := e.Evaluate(bg, req("free", "198.51.100.1")); d.Action != "ALLOW" {
			t.Fatalf("blocked early: %+v", d)
		}
	}
	d := e.Evaluate(bg, req("free", "198.51.100.1, 10.0.0.1"))
	if d.Action != "BLOCK" || len(d.RateBased) != 1 || d.RateBased[0].CustomValues[0] != (CustomValue{Key: "LABEL_NAMESPACE", Name: "tier:", Value: "free"}) ||
		d.RateBased[0].CustomValues[1].Value != "198.51.100.1" {
		t.Fatalf("11th: %+v", d)
	}
	for _, r := range []*Request{req("paid", "198.51.100.1"), req("free", ""), req("free", "junk"), req("free", "198.51.100.2")} {
		if r.Headers[0].Value == "free" && len(r.Headers) > 1 && r.Headers[1].Value != "198.51.100.2" {
			// Not counted: these can go on for ever.
			for range 50 {
				if d := e.Evaluate(bg, r); d.Action != "ALLOW" {
					t.Fatalf("uncounted request blocked: %+v", d)
				}
			}
		}
		for range 10 { // another key (the last: a new client) or not counted at all
			if d := e.Evaluate(bg, r); d.Action != "ALLOW" {
				t.Fatalf("%+v: %+v", r.Headers, d)
			}
		}
	}
}

func TestCustomKeyErrors(t *testing.T) {
	tests := []struct{ name, keys, want string }{
		{"ip alone", `[{"IP":{}}]`, "need another kind of key"},
		{"two kinds", `[{"IP":{},"HTTPMethod":{}}]`, "exactly one kind of key"},
		{"asn", `[{"ASN":{}},{"HTTPMethod":{}}]`, "ASN is not implemented"},
		{"namespace", `[{"LabelNamespace":{"Namespace":"a:b"}}]`, "does not match the pattern"},
		{"forwarded without config", `[{"ForwardedIP":{}},{"HTTPMethod":{}}]`, "needs the statement's ForwardedIPConfig"},
		{"none", `[]`, "at least one custom key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `[` + rule("r", 0, `{"Block":{}}`, `{"RateBasedStatement":{"Limit":100,"AggregateKeyType":"CUSTOM_KEYS","CustomKeys":`+tt.keys+`}}`) + `]`
			_, _, err := Load([]byte(doc), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRefusesWhatItWouldIgnore(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"pre-parse transformations", `[` + rule("r", 0, `{"Block":{}}`, `{"SqliMatchStatement":{"FieldToMatch":{"Body":{}},"TextTransformations":`+none+`,"PreParseTextTransformations":[{"Priority":0,"Type":"URL_DECODE"}]}}`) + `]`, "PreParseTextTransformations: PreParseTextTransformations is not implemented"},
		{"token domains", `{"Name":"t","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"t"},"Rules":[],"TokenDomains":["example.com"]}`, "TokenDomains: TokenDomains is not implemented"},
		{"managed group config", `[{"Name":"m","Priority":1,"OverrideAction":{"None":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"m"},"Statement":{"ManagedRuleGroupStatement":{"VendorName":"lockgate","Name":"AnonymousIPList","ManagedRuleGroupConfigs":[{"LoginPath":"/x"}]}}}]`, "take no configuration"},
		{"headers pattern", `[` + rule("r", 0, `{"Block":{}}`, bm(`{"Headers":{"MatchPattern":{},"MatchScope":"ALL","OversizeHandling":"CONTINUE"}}`, "EXACTLY", "x", none)) + `]`, "must be exactly one of All, IncludedHeaders and ExcludedHeaders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load([]byte(tt.doc), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// The blog's ACL, priced by hand from the Developer Guide: the blanket
// rate-based rule 2; the /login rule 2 + its STARTS_WITH UriPath
// scope-down 2; the Amazon IP reputation list 25.
func TestCapacity(t *testing.T) {
	if c := Capacity(loadACLFile(t, "blog-acl.json"), nil); c != 31 {
		t.Fatalf("blog ACL: %d WCUs, want 31", c)
	}
	tests := []struct {
		statement string
		want      int64
	}{
		{bm(`{"UriPath":{}}`, "CONTAINS", "x", `[{"Priority":0,"Type":"LOWERCASE"},{"Priority":1,"Type":"URL_DECODE"}]`), 30},
		{bm(`{"AllQueryArguments":{}}`, "EXACTLY", "x", none), 12},
		{bm(`{"JsonBody":{"MatchPattern":{"All":{}},"MatchScope":"ALL"}}`, "CONTAINS", "x", none), 20},
		{`{"SqliMatchStatement":{"FieldToMatch":{"Body":{}},"TextTransformations":` + none + `,"SensitivityLevel":"HIGH"}}`, 30},
		{`{"XssMatchStatement":{"FieldToMatch":{"Body":{}},"TextTransformations":` + none + `}}`, 40},
		{`{"RateBasedStatement":{"Limit":100,"AggregateKeyType":"CUSTOM_KEYS","CustomKeys":[{"HTTPMethod":{}},{"IP":{}}]}}`, 62},
		{`{"NotStatement":{"Statement":{"GeoMatchStatement":{"CountryCodes":["FR"]}}}}`, 1},
	}
	for _, tt := range tests {
		acl, _, err := Load([]byte(`[`+rule("r", 0, `{"Block":{}}`, tt.statement)+`]`), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c := Capacity(acl, nil); c != tt.want {
			t.Errorf("%s: %d WCUs, want %d", tt.statement, c, tt.want)
		}
	}
}

func TestParseSets(t *testing.T) {
	ips, err := ParseIPSet([]byte("# feed\n203.0.113.0/24 ; spamhaus\n198.51.100.7\n2001:db8::/32\n\n"))
	if err != nil || len(ips) != 3 || ips[1] != netip.MustParsePrefix("198.51.100.7/32") {
		t.Fatalf("plain list: %v %v", ips, err)
	}
	ips, err = ParseIPSet([]byte(`{"IPSet":{"Name":"bad","Id":"1","ARN":"a","IPAddressVersion":"IPV4","Addresses":["192.0.2.0/24"]},"LockToken":"t"}`))
	if err != nil || len(ips) != 1 {
		t.Fatalf("get-ip-set: %v %v", ips, err)
	}
	if _, err := ParseIPSet([]byte("10.0.0.0/8\nbogus\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad line: %v", err)
	}
	if _, err := ParseIPSet([]byte(`{"Addresses":["10.0.0.1"]}`)); err == nil || !strings.Contains(err.Error(), "Addresses[0]") {
		t.Fatalf("bad JSON address: %v", err)
	}
	res, err := ParseRegexPatternSet([]byte(`{"RegexPatternSet":{"RegularExpressionList":[{"RegexString":"^a"},{"RegexString":"b$"}]}}`))
	if err != nil || len(res) != 2 {
		t.Fatalf("get-regex-pattern-set: %v %v", res, err)
	}
	if _, err := ParseRegexPatternSet([]byte("ok\n(?<=x)y\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("RE2 refuses lookbehind: %v", err)
	}
}

// FuzzEvaluate runs arbitrary requests through an ACL that uses every
// statement and field: evaluation must neither panic nor decide outside
// ALLOW and BLOCK.
func FuzzEvaluate(f *testing.F) {
	e, err := New(loadACLFile(f, "all-statements.json"), Options{
		IPSets:  map[string][]netip.Prefix{"arn:aws:wafv2:us-east-1:1:regional/ipset/bad/1": {netip.MustParsePrefix("203.0.113.0/24")}},
		Geo:     CountryFunc(func(netip.Addr) string { return "FR" }),
		MaxKeys: 1000,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("POST", "/a/../b", "id=1'+OR+'1'='1&debug=1", "frag", "X-Forwarded-For: 203.0.113.1, junk\nCookie: s=a%20b; t=1", []byte(`{"a":["x"],"admin":true}`))
	f.Add("GET", "/", "", "", "", []byte(`<script>alert(1)</script>`))
	f.Add("PUT", "%2e%2e/", "a&b==&=", "", "Cookie: ;;=\nX-Real-IP: ::1", []byte(`{"a":[{"b":`))
	f.Fuzz(func(t *testing.T, method, uri, query, fragment, headers string, body []byte) {
		req := &Request{ClientIP: netip.MustParseAddr("192.0.2.1"), Method: method, URI: uri, Query: query, Fragment: fragment, Body: body, BodySize: int64(len(body))}
		for line := range strings.SplitSeq(headers, "\n") {
			name, value, _ := strings.Cut(line, ":")
			req.Headers = append(req.Headers, Header{name, strings.TrimSpace(value)})
		}
		d := e.Evaluate(bg, req)
		if d.Action != "ALLOW" && d.Action != "BLOCK" {
			t.Fatalf("action %q", d.Action)
		}
		if d.TerminatingRuleID == "" {
			t.Fatal("no terminating rule")
		}
	})
}
