package waf

import (
	"crypto/md5"
	"encoding/base64"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The AWS behaviours of issue 12, each row naming the page and quoting
// the sentence it implements.

const (
	byteMatchPage  = "AWS WAF Developer Guide, String match rule statement: "
	labelMatchPage = "AWS WAF Developer Guide, Label match examples: "
	geoPage        = "WAFV2 API Reference, GeoMatchStatement: "
	fwdPage        = "AWS WAF Developer Guide, Using forwarded IP addresses: "
	headersPage    = "AWS WAF Developer Guide, Custom request header insertions: "
	quotasPage     = "AWS WAF Developer Guide, AWS WAF quotas: "
	apiJSONPointer = "WAFV2 API Reference, JsonMatchPattern, IncludedPaths: "
	apiLabelKey    = "WAFV2 API Reference, LabelMatchStatement, Key, \"If the Scope indicates NAMESPACE, then this specification can include any number of contiguous namespace strings, and can include the entire label namespace prefix from the rule group or web ACL where the label originates.\": "
)

// b64Rule is a ByteMatch rule whose SearchString is base64, as the API
// writes it.
func b64Rule(raw []byte, pos, field, tt string) string {
	return `{"WebACL":{"Name":"t","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"t"},"Rules":[` +
		rule("b", 0, `{"Block":{}}`, `{"ByteMatchStatement":{"SearchString":"`+base64.StdEncoding.EncodeToString(raw)+`","FieldToMatch":`+field+`,"TextTransformations":`+tt+`,"PositionalConstraint":"`+pos+`"}}`) +
		`]},"LockToken":"x"}`
}

func TestByteMatchOnBytes(t *testing.T) {
	sum := md5.Sum([]byte("admin"))
	tests := []struct {
		doc    string
		search []byte
		pos    string
		field  string
		tt     string
		req    *Request
		want   bool
	}{
		{byteMatchPage + `"You can use any character from hexadecimal 0x00 to 0xFF": a byte that is not UTF-8 (0xA0) matches itself`,
			[]byte{'x', 0xa0, 'y'}, "CONTAINS", `{"UriPath":{}}`, none, &Request{URI: "/a\xa0x\xa0y"}, true},
		{byteMatchPage + `"any character from hexadecimal 0x00 to 0xFF": 0xFF, and 0x00`,
			[]byte{0xff, 0x00}, "ENDS_WITH", `{"QueryString":{}}`, none, &Request{Query: "a=\xff\x00"}, true},
		{byteMatchPage + `0xA0 is not U+FFFD: a request carrying EF BF BD does not match`,
			[]byte{0xa0}, "CONTAINS", `{"UriPath":{}}`, none, &Request{URI: "/\uFFFD"}, false},
		{byteMatchPage + `an MD5 transformation compared EXACTLY with the 16-byte digest (base64 in the API) matches`,
			sum[:], "EXACTLY", `{"SingleHeader":{"Name":"user"}}`, `[{"Priority":0,"Type":"MD5"}]`, &Request{Headers: []Header{{"user", "admin"}}}, true},
		{byteMatchPage + `... and another value's digest does not`,
			sum[:], "EXACTLY", `{"SingleHeader":{"Name":"user"}}`, `[{"Priority":0,"Type":"MD5"}]`, &Request{Headers: []Header{{"user", "guest"}}}, false},
		{"WAFV2 API Reference, TextTransformation: HTML_ENTITY_DECODE \"Replaces (ampersand)nbsp; with a non-breaking space, decimal 160\": the byte 0xA0, which a 0xA0 search string finds",
			[]byte{'a', 0xa0, 'b'}, "EXACTLY", `{"QueryString":{}}`, `[{"Priority":0,"Type":"HTML_ENTITY_DECODE"}]`, &Request{Query: "a&nbsp;b"}, true},
	}
	for _, tt := range tests {
		acl, _, err := Load([]byte(b64Rule(tt.search, tt.pos, tt.field, tt.tt)), LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tt.doc, err)
		}
		if !slices.Equal(acl.Rules[0].Statement.ByteMatchStatement.SearchString, tt.search) {
			t.Errorf("%s: loaded %x, want %x", tt.doc, acl.Rules[0].Statement.ByteMatchStatement.SearchString, tt.search)
		}
		e, err := New(acl, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Evaluate(bg, tt.req).Action == "BLOCK"; got != tt.want {
			t.Errorf("%s: matched %v, want %v", tt.doc, got, tt.want)
		}
	}
}

func TestLabelScope(t *testing.T) {
	// Web ACL testWebACL in account 111122223333 with rule group
	// productionRules; rules label requests, then label match rules in
	// the web ACL look for them.
	group := &RuleGroup{Name: "productionRules", Rules: []Rule{{Name: "g", Priority: 0, Action: &RuleAction{Count: &CountAction{}},
		RuleLabels: []Label{{Name: "header:encoding:utf8"}}, Statement: Statement{ByteMatchStatement: &ByteMatchStatement{SearchString: []byte("/"),
			FieldToMatch: FieldToMatch{UriPath: &struct{}{}}, TextTransformations: []TextTransformation{{Type: "NONE"}}, PositionalConstraint: "STARTS_WITH"}}}}}
	const groupARN = "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/productionRules/1"
	tests := []struct {
		doc        string
		local      string // the label a web ACL rule adds ("" none)
		scope, key string
		want       bool
	}{
		{labelMatchPage + `Key "header:encoding:utf8" in testWebACL "would match the following labels. awswaf:111122223333:webacl:testWebACL:header:encoding:utf8"`,
			"header:encoding:utf8", "LABEL", "header:encoding:utf8", true},
		{labelMatchPage + `"... awswaf:111122223333:webacl:testWebACL:testNS1:testNS2:header:encoding:utf8"`,
			"testNS1:testNS2:header:encoding:utf8", "LABEL", "header:encoding:utf8", true},
		{labelMatchPage + `"It wouldn't match the following label, because the label string isn't an exact match. awswaf:111122223333:webacl:testWebACL:header:encoding2:utf8"`,
			"header:encoding2:utf8", "LABEL", "header:encoding:utf8", false},
		{labelMatchPage + `"It wouldn't match the following label, because the context isn't the same, so the prefix doesn't match. This is true even if you added the rule group productionRules to the web ACL testWebACL ... awswaf:111122223333:rulegroup:productionRules:header:encoding:utf8"`,
			"", "LABEL", "header:encoding:utf8", false},
		{labelMatchPage + `"The prefix is required in the specification for all rules running in the web ACL that aren't part of the named rule group."`,
			"", "LABEL", "awswaf:111122223333:rulegroup:productionRules:header:encoding:utf8", true},
		{labelMatchPage + `"This example label specification matches only the exact label."`,
			"", "LABEL", "awswaf:111122223333:rulegroup:productionRules:encoding:utf8", false},
		{labelMatchPage + `a NAMESPACE key without a prefix is local too: "header:encoding:" does not match the rule group's label`,
			"", "NAMESPACE", "header:encoding:", false},
		{labelMatchPage + `... and matches the web ACL's own`,
			"header:encoding:utf8", "NAMESPACE", "header:encoding:", true},
		{labelMatchPage + `a fully qualified NAMESPACE key matches the rule group's namespace`,
			"", "NAMESPACE", "awswaf:111122223333:rulegroup:productionRules:header:encoding:", true},
		{apiLabelKey + `"can include any number of contiguous namespace strings": n1:n2: matches n1:n2:n3:name`,
			"n1:n2:n3:name", "NAMESPACE", "n1:n2:", true},
		{apiLabelKey + `"any number of contiguous namespace strings": n2:n3: (not at the start) matches n1:n2:n3:name`,
			"n1:n2:n3:name", "NAMESPACE", "n2:n3:", true},
		{apiLabelKey + `"contiguous namespace strings": n1:n3: skips n2, no match`,
			"n1:n2:n3:name", "NAMESPACE", "n1:n3:", false},
		{apiLabelKey + `"contiguous namespace strings": the name is not a namespace, n3:name: does not match`,
			"n1:n2:n3:name", "NAMESPACE", "n3:name:", false},
		{apiLabelKey + `"and can include the entire label namespace prefix from the rule group or web ACL where the label originates": the group's prefix alone`,
			"", "NAMESPACE", "awswaf:111122223333:rulegroup:productionRules:", true},
		{apiLabelKey + `"... from the rule group or web ACL where the label originates": the web ACL's prefix alone`,
			"n1:name", "NAMESPACE", "awswaf:111122223333:webacl:testWebACL:", true},
		{apiLabelKey + `"... the entire label namespace prefix" and contiguous namespaces after it`,
			"", "NAMESPACE", "awswaf:111122223333:rulegroup:productionRules:header:", true},
		{apiLabelKey + `a fully qualified key starts with the prefix: skipping header: does not match`,
			"", "NAMESPACE", "awswaf:111122223333:rulegroup:productionRules:encoding:", false},
	}
	for _, tt := range tests {
		var rules []string
		rules = append(rules, `{"Name":"group","Priority":0,"OverrideAction":{"None":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"g"},"Statement":{"RuleGroupReferenceStatement":{"ARN":"`+groupARN+`"}}}`)
		if tt.local != "" {
			rules = append(rules, `{"Name":"local","Priority":1,"Action":{"Count":{}},"RuleLabels":[{"Name":"`+tt.local+`"}],"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"l"},"Statement":`+bm(`{"UriPath":{}}`, "STARTS_WITH", "/", none)+`}`)
		}
		rules = append(rules, rule("match", 2, `{"Block":{}}`, `{"LabelMatchStatement":{"Scope":"`+tt.scope+`","Key":"`+tt.key+`"}}`))
		acl, _, err := Load([]byte(`{"Name":"testWebACL","ARN":"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/testWebACL/1","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"t"},"Rules":[`+strings.Join(rules, ",")+`]}`), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(acl, Options{RuleGroups: map[string]*RuleGroup{groupARN: group}})
		if err != nil {
			t.Fatal(err)
		}
		d := e.Evaluate(bg, &Request{URI: "/"})
		if got := d.Action == "BLOCK"; got != tt.want {
			t.Errorf("%s\nlabels %v, key %s %q: matched %v, want %v", tt.doc, d.Labels, tt.scope, tt.key, got, tt.want)
		}
	}
}

// regions is a region-aware GeoLocator, as a MaxMind database is.
type regions map[netip.Addr][2]string

func (r regions) Locate(ip netip.Addr) (string, string) { v := r[ip]; return v[0], v[1] }

func TestGeoLabels(t *testing.T) {
	loc := regions{netip.MustParseAddr("192.0.2.1"): {"US", "CA"}, netip.MustParseAddr("192.0.2.2"): {"FR", ""}}
	tests := []struct {
		doc       string
		geo       GeoLocator
		fwd       string
		req       *Request
		wantMatch bool
		labels    []string
	}{
		{geoPage + `"A geo match rule labels every request that it inspects regardless of whether it finds a match." (no match: US is not FR)`,
			loc, "", &Request{ClientIP: netip.MustParseAddr("192.0.2.1")}, false,
			[]string{"awswaf:clientip:geo:country:US", "awswaf:clientip:geo:region:US-CA"}},
		{geoPage + `"If you use the web request origin, the label formats are awswaf:clientip:geo:region:<ISO country code>-<ISO region code> and awswaf:clientip:geo:country:<ISO country code>." (a match; no region known)`,
			loc, "", &Request{ClientIP: netip.MustParseAddr("192.0.2.2")}, true,
			[]string{"awswaf:clientip:geo:country:FR"}},
		{geoPage + `"If you use a forwarded IP address, the label formats are awswaf:forwardedip:geo:region:<ISO country code>-<ISO region code> and awswaf:forwardedip:geo:country:<ISO country code>."`,
			loc, `,"ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"NO_MATCH"}`, &Request{ClientIP: netip.MustParseAddr("192.0.2.2"), Headers: []Header{{"X-Forwarded-For", "192.0.2.1, 10.0.0.1"}}}, false,
			[]string{"awswaf:forwardedip:geo:country:US", "awswaf:forwardedip:geo:region:US-CA"}},
		{"Issue 12, from the AWS WAF Developer Guide: AWS uses XX when the country is unknown: an address no database places is labelled XX",
			loc, "", &Request{ClientIP: netip.MustParseAddr("10.0.0.1")}, false,
			[]string{"awswaf:clientip:geo:country:XX"}},
		{geoPage + `"labels every request that it inspects": a countries-only database gives country labels only`,
			CountryFunc(func(netip.Addr) string { return "DE" }), "", &Request{ClientIP: netip.MustParseAddr("192.0.2.9")}, false,
			[]string{"awswaf:clientip:geo:country:DE"}},
	}
	for _, tt := range tests {
		e := engineFor(t, ruleJSON("geo", 0, `{"Count":{}}`, `{"GeoMatchStatement":{"CountryCodes":["FR"]`+tt.fwd+`}}`)+","+
			ruleJSON("after", 1, `{"Block":{}}`, `{"LabelMatchStatement":{"Scope":"NAMESPACE","Key":"awswaf:clientip:geo:country:"}}`), Options{Geo: tt.geo})
		d := e.Evaluate(bg, tt.req)
		if got := len(d.NonTerminating) == 1; got != tt.wantMatch {
			t.Errorf("%s: matched %v, want %v", tt.doc, got, tt.wantMatch)
		}
		var geo []string
		for _, l := range d.Labels {
			if strings.Contains(l, ":geo:") {
				geo = append(geo, l)
			}
		}
		if !slices.Equal(geo, tt.labels) {
			t.Errorf("%s: labels %v, want %v", tt.doc, geo, tt.labels)
		}
		if wantBlock := tt.fwd == ""; (d.Action == "BLOCK") != wantBlock {
			t.Errorf("%s: a later rule matching the country label: %s", tt.doc, d.Action)
		}
		// apiLabelKey: "any number of contiguous namespace strings": the
		// broader awswaf:clientip:geo: holds every origin geo label.
		e = engineFor(t, ruleJSON("geo", 0, `{"Count":{}}`, `{"GeoMatchStatement":{"CountryCodes":["FR"]`+tt.fwd+`}}`)+","+
			ruleJSON("after", 1, `{"Block":{}}`, `{"LabelMatchStatement":{"Scope":"NAMESPACE","Key":"awswaf:clientip:geo:"}}`), Options{Geo: tt.geo})
		if d := e.Evaluate(bg, tt.req); (d.Action == "BLOCK") != (tt.fwd == "") {
			t.Errorf("%s: NAMESPACE awswaf:clientip:geo: gave %s (labels %v)", tt.doc, d.Action, d.Labels)
		}
	}
}

// A labelled request allocates nothing for its country label.
func TestGeoLabelAllocs(t *testing.T) {
	e := engineFor(t, ruleJSON("geo", 0, `{"Count":{}}`, `{"GeoMatchStatement":{"CountryCodes":["FR"]}}`), Options{Geo: regions{netip.MustParseAddr("192.0.2.1"): {"US", "CA"}}})
	req := &Request{ClientIP: netip.MustParseAddr("192.0.2.1")}
	var d Decision
	e.EvaluateInto(bg, req, &d)
	if n := testing.AllocsPerRun(100, func() { e.EvaluateInto(bg, req, &d) }); n != 0 {
		t.Errorf("%v allocations a request with country and region labels", n)
	}
}

func TestForwardedIPRateBased(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	fwd := func(fallback string) string {
		return `"ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"` + fallback + `"}`
	}
	tests := []struct {
		doc       string
		statement string
		xff       []string // one request each, in order
		blocked   []bool
		value     string // the last block's limitValue
	}{
		{fwdPage + `"MATCH - Treat the web request as matching the rule statement." In a rate-based rule the malformed requests are counted together (limitValue INVALID) and limited past the limit, not blocked from the first`,
			`{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"FORWARDED_IP",` + fwd("MATCH") + `}}`,
			repeat("junk", 11), append(repeatBool(false, 10), true), "INVALID"},
		{fwdPage + `"NO MATCH - Treat the web request as not matching the rule statement." Malformed requests are not counted`,
			`{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"FORWARDED_IP",` + fwd("NO_MATCH") + `}}`,
			repeat("junk", 11), repeatBool(false, 11), ""},
		{fwdPage + `"If the header that you specify isn't present in the request, AWS WAF doesn't apply the rule to the web request at all."`,
			`{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"FORWARDED_IP",` + fwd("MATCH") + `}}`,
			repeat("", 11), repeatBool(false, 11), ""},
		{fwdPage + `"MATCH": a malformed ForwardedIP custom key is a value of its own, counted with the other key components`,
			`{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"CUSTOM_KEYS","CustomKeys":[{"ForwardedIP":{}},{"HTTPMethod":{}}],` + fwd("MATCH") + `}}`,
			repeat("junk", 11), append(repeatBool(false, 10), true), ""},
		{fwdPage + `"NO MATCH": a malformed ForwardedIP custom key leaves the request uncounted`,
			`{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"CUSTOM_KEYS","CustomKeys":[{"ForwardedIP":{}},{"HTTPMethod":{}}],` + fwd("NO_MATCH") + `}}`,
			repeat("junk", 11), repeatBool(false, 11), ""},
		{fwdPage + `a valid forwarded address is its own key; a malformed one does not share it`,
			`{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"FORWARDED_IP",` + fwd("MATCH") + `}}`,
			append(repeat("203.0.113.9", 10), "junk", "203.0.113.9"), append(repeatBool(false, 11), true), "203.0.113.9"},
	}
	for _, tt := range tests {
		e := engineFor(t, ruleJSON("rate", 0, `{"Block":{}}`, tt.statement), Options{Now: clock.now})
		var d Decision
		for i, x := range tt.xff {
			req := &Request{ClientIP: netip.MustParseAddr("198.51.100.1"), Method: "GET", URI: "/"}
			if x != "" {
				req.Headers = []Header{{"X-Forwarded-For", x}}
			}
			e.EvaluateInto(bg, req, &d)
			if got := d.Action == "BLOCK"; got != tt.blocked[i] {
				t.Errorf("%s\nrequest %d: blocked %v, want %v", tt.doc, i+1, got, tt.blocked[i])
			}
		}
		if tt.value != "" && (len(d.RateBased) != 1 || d.RateBased[0].LimitValue != tt.value) {
			t.Errorf("%s: %+v", tt.doc, d.RateBased)
		}
		clock.t = clock.t.Add(time.Hour)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func repeatBool(b bool, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestInsertedHeaders(t *testing.T) {
	insert := func(name, value string) string {
		return `{"Count":{"CustomRequestHandling":{"InsertHeaders":[{"Name":"` + name + `","Value":"` + value + `"}]}}}`
	}
	all := bm(`{"UriPath":{}}`, "STARTS_WITH", "/", none)
	e := engineFor(t, ruleJSON("first", 0, insert("flag", "first"), all)+","+ruleJSON("other", 1, insert("other", "x"), all)+","+
		ruleJSON("second", 2, insert("Flag", "second"), all), Options{})
	d := e.Evaluate(bg, &Request{URI: "/"})
	want := []CustomHTTPHeader{{Name: "other", Value: "x"}, {Name: "Flag", Value: "second"}}
	if !slices.Equal(d.InsertHeaders, want) {
		t.Errorf(headersPage+`"if you define headers in multiple rules with identical names, the last rule to inspect the request and find a match would have its header added, and any previous rules would not": %v, want %v`, d.InsertHeaders, want)
	}
}

// A request that a later rule blocks does not go through, so a Count
// rule's headers are not inserted, nor logged as requestHeadersInserted.
func TestInsertedHeadersBlocked(t *testing.T) {
	all := bm(`{"UriPath":{}}`, "STARTS_WITH", "/", none)
	tests := []struct {
		doc   string
		block string // the second rule's action
		want  []CustomHTTPHeader
	}{
		{headersPage + `"You can instruct AWS WAF to insert custom headers into the original HTTP request when it permits the request to go through.": a later Block: none`,
			`{"Block":{}}`, nil},
		{headersPage + `"... when it permits the request to go through": a later Allow keeps the Count rule's`,
			`{"Allow":{}}`, []CustomHTTPHeader{{Name: "c", Value: "1"}}},
	}
	for _, tt := range tests {
		e := engineFor(t, ruleJSON("c", 0, `{"Count":{"CustomRequestHandling":{"InsertHeaders":[{"Name":"c","Value":"1"}]}}}`, all)+","+
			ruleJSON("b", 1, tt.block, all), Options{})
		var d Decision
		for range 2 { // a reused Decision too
			e.EvaluateInto(bg, &Request{URI: "/"}, &d)
			if len(d.InsertHeaders) != len(tt.want) || len(tt.want) > 0 && !slices.Equal(d.InsertHeaders, tt.want) {
				t.Errorf("%s: %s with inserted headers %v, want %v", tt.doc, d.Action, d.InsertHeaders, tt.want)
			}
		}
	}
}

// SizeConstraint measures what is inspected: over the body inspection
// limit with OversizeHandling CONTINUE, that is the first 16 KiB.
func TestSizeConstraintInspectedSize(t *testing.T) {
	const sizePage = `AWS WAF Developer Guide, Size constraint rule statement: "This statement uses the size of the component that AWS WAF receives for inspection. For body, header, and cookie components, this size could be less than the original size that was sent to the protected resource."`
	body := strings.Repeat("a", 20000)
	tests := []struct {
		op, over string
		size     int64
		body     string
		want     bool
	}{
		{"LE", "CONTINUE", 16384, body, true},
		{"EQ", "CONTINUE", 16384, body, true},
		{"GT", "CONTINUE", 16384, body, false},
		{"GT", "MATCH", 1 << 20, body, true},      // the oversize verdict
		{"GT", "NO_MATCH", 100, body, false},      // the oversize verdict
		{"EQ", "CONTINUE", 100, body[:100], true}, // within the limit: its size
	}
	for _, tt := range tests {
		e := engineFor(t, ruleJSON("size", 0, `{"Block":{}}`, `{"SizeConstraintStatement":{"FieldToMatch":{"Body":{"OversizeHandling":"`+tt.over+`"}},"ComparisonOperator":"`+tt.op+`","Size":`+strconv.FormatInt(tt.size, 10)+`,"TextTransformations":`+none+`}}`), Options{})
		r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
		req, err := e.RequestFromHTTP(r, netip.MustParseAddr("192.0.2.1"))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Evaluate(bg, req).Action == "BLOCK"; got != tt.want {
			t.Errorf("%s\n%d-byte body, %s, %s %d: matched %v, want %v", sizePage, len(tt.body), tt.over, tt.op, tt.size, got, tt.want)
		}
	}
}

func TestValidationLimits(t *testing.T) {
	tts := make([]string, 11)
	for i := range tts {
		tts[i] = `{"Priority":` + strconv.Itoa(i) + `,"Type":"NONE"}`
	}
	eleven := "[" + strings.Join(tts, ",") + "]"
	ten := "[" + strings.Join(tts[:10], ",") + "]"
	jb := func(path string) string {
		return `{"ByteMatchStatement":{"SearchString":"x","FieldToMatch":{"JsonBody":{"MatchPattern":{"IncludedPaths":["` + path + `"]},"MatchScope":"ALL"}},"TextTransformations":` + none + `,"PositionalConstraint":"CONTAINS"}}`
	}
	tests := []struct {
		doc, statement, problem string
	}{
		{quotasPage + `"Maximum number of text transformations per rule statement | 10": eleven are refused`, bm(`{"UriPath":{}}`, "CONTAINS", "x", eleven), "TextTransformations: has 11 text transformations; AWS allows at most 10"},
		{quotasPage + `"Maximum number of text transformations per rule statement | 10": ten are accepted`, bm(`{"UriPath":{}}`, "CONTAINS", "x", ten), ""},
		{apiJSONPointer + `"Provide the include paths using JSON Pointer syntax" (Pattern ([/])|([/](([^~])|(~[01]))+)): "a/b" is refused`, jb("a/b"), "does not match the pattern"},
		{apiJSONPointer + `the pattern: "/a~2" (an escape RFC 6901 does not have) is refused`, jb("/a~2"), "does not match the pattern"},
		{apiJSONPointer + `the pattern: "/dogs/0/name" is accepted`, jb("/dogs/0/name"), ""},
	}
	for _, tt := range tests {
		_, _, err := Load([]byte(`[`+rule("r", 0, `{"Block":{}}`, tt.statement)+`]`), LoadOptions{})
		switch {
		case tt.problem == "" && err != nil:
			t.Errorf("%s: %v", tt.doc, err)
		case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
			t.Errorf("%s: %v, want %q", tt.doc, err, tt.problem)
		}
	}
}

func TestMatchDetails(t *testing.T) {
	const page = "AWS WAF Developer Guide, Log fields for web ACL traffic, terminatingRuleMatchDetails: "
	e := engineFor(t, ruleJSON("sqli", 1, `{"Block":{}}`, `{"SqliMatchStatement":{"FieldToMatch":{"SingleHeader":{"Name":"x-q"}},"TextTransformations":`+none+`}}`)+","+
		ruleJSON("xss", 0, `{"Count":{}}`, `{"XssMatchStatement":{"FieldToMatch":{"QueryString":{}},"TextTransformations":[{"Priority":0,"Type":"URL_DECODE"}]}}`), Options{})
	d := e.Evaluate(bg, &Request{URI: "/", Query: "a=%3Cscript%3Ealert(1)%3C%2Fscript%3E", Headers: []Header{{"x-q", "10 AND 1=1"}}})
	if d.TerminatingRuleID != "sqli" || len(d.TerminatingDetails) != 1 || d.TerminatingDetails[0].ConditionType != "SQL_INJECTION" ||
		d.TerminatingDetails[0].SensitivityLevel != "LOW" || d.TerminatingDetails[0].Location != "HEADER" || !slices.Equal(d.TerminatingDetails[0].MatchedData, []string{"10", "AND", "1=1"}) {
		t.Errorf(page+`"This is only populated for SQL injection and cross-site scripting (XSS) match rule statements.": %+v`, d)
	}
	if len(d.NonTerminating) != 1 || len(d.NonTerminating[0].Details) != 1 || d.NonTerminating[0].Details[0].ConditionType != "XSS" || d.NonTerminating[0].Details[0].Location != "QUERY_STRING" {
		t.Errorf(page+`a counted XSS match carries its details too: %+v`, d.NonTerminating)
	}
	d = e.Evaluate(bg, &Request{URI: "/", Headers: []Header{{"x-q", "hello"}}})
	if len(d.TerminatingDetails) != 0 || len(d.NonTerminating) != 0 {
		t.Errorf("details without a match: %+v", d)
	}
}

// The service model's limits on labels and priorities, each row with the
// model's text; the boundary values load.
func TestLoadModelLimits(t *testing.T) {
	const ruleLabels = "WAFV2 service model, Rule.RuleLabels: "
	labelled := func(labels ...string) string {
		var ls []string
		for _, l := range labels {
			ls = append(ls, `{"Name":"`+l+`"}`)
		}
		return strings.Replace(`[`+rule("a", 0, `{"Count":{}}`, byteMatchDoc)+`]`, `"VisibilityConfig"`, `"RuleLabels":[`+strings.Join(ls, ",")+`],"VisibilityConfig"`, 1)
	}
	groupRef := `[{"Name":"g","Priority":0,"OverrideAction":{"None":{}},"RuleLabels":[{"Name":"x"}],"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"g"},"Statement":{"ManagedRuleGroupStatement":{"VendorName":"lockgate","Name":"IPReputationList"}}}]`
	tests := []struct {
		doc, acl string
		want     string // "" loads
	}{
		{ruleLabels + `"You can specify up to 5 namespaces in a label.": 5 load`, labelled("a:b:c:d:e:name"), ""},
		{ruleLabels + `"You can specify up to 5 namespaces in a label.": 6 do not`, labelled("a:b:c:d:e:f:name"), `Rules[0].RuleLabels[0].Name: "a:b:c:d:e:f:name" has 6 namespaces, more than AWS's 5`},
		{ruleLabels + `"Each namespace or name can have up to 128 characters.": 128 load`, labelled("ns:" + strings.Repeat("n", 128)), ""},
		{ruleLabels + `"Each namespace or name can have up to 128 characters.": a 129-character name does not`, labelled("ok", strings.Repeat("n", 129)), `Rules[0].RuleLabels[1].Name: `},
		{ruleLabels + `"Each namespace or name can have up to 128 characters.": nor a 129-character namespace`, labelled(strings.Repeat("n", 129) + ":x"), "more than AWS's 128"},
		{ruleLabels + `"Any rule that isn't a rule group reference statement or managed rule group statement can add labels to matching web requests."`, groupRef, "Rules[0].RuleLabels: a rule group reference or managed rule group cannot add labels"},
		{`WAFV2 service model: RulePriority is "type":"integer" (32-bit; aws-sdk-go-v2 decodes it as int32): 2^31-1 loads`, `[` + rule("a", 2147483647, `{"Block":{}}`, byteMatchDoc) + `]`, ""},
		{`WAFV2 service model: RulePriority is "type":"integer": 2^31 does not fit`, `[` + rule("a", 0, `{"Block":{}}`, byteMatchDoc) + `]`, "Rules[0].Priority: 2147483648 does not fit the model's integer"},
	}
	frag := func(f string) string {
		return `[` + rule("a", 0, `{"Block":{}}`, strings.Replace(byteMatchDoc, `{"UriPath":{}}`, `{"UriFragment":`+f+`}`, 1)) + `]`
	}
	tests = append(tests,
		struct{ doc, acl, want string }{`WAFV2 service model, UriFragment.FallbackBehavior, documented only as "What WAF should do if it fails to completely parse the JSON body": refused with the reason`,
			frag(`{"FallbackBehavior":"MATCH"}`), "Rules[0].Statement.ByteMatchStatement.FieldToMatch.UriFragment.FallbackBehavior: is not implemented by lockgate: AWS documents it only with the JSON body's text"},
		struct{ doc, acl, want string }{`WAFV2 service model, UriFragment: without FallbackBehavior it loads`, frag(`{}`), ""},
	)
	tests[len(tests)-3].acl = strings.Replace(tests[len(tests)-1].acl, `"Priority":0`, `"Priority":2147483648`, 1)
	for _, tt := range tests {
		_, _, err := Load([]byte(tt.acl), LoadOptions{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.doc, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error with %q", tt.doc, err, tt.want)
		}
	}
}
