package waflog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/waf"
)

// hiveType is a column type of the Athena DDL.
type hiveType struct {
	kind   string // string, int, bigint, boolean, double, array, struct
	elem   *hiveType
	fields map[string]*hiveType
	order  []string
}

// parseDDL reads the columns of a CREATE EXTERNAL TABLE statement.
func parseDDL(t *testing.T, ddl string) (map[string]*hiveType, []string) {
	t.Helper()
	// The column list is the first parenthesis and its match (column
	// types nest with <>, never parentheses); PARTITIONED BY and
	// TBLPROPERTIES follow it.
	open, close := strings.Index(ddl, "("), -1
	for i, depth := open, 0; open >= 0 && i < len(ddl); i++ {
		if ddl[i] == '(' {
			depth++
		} else if ddl[i] == ')' {
			if depth--; depth == 0 {
				close = i
				break
			}
		}
	}
	if open < 0 || close < 0 {
		t.Fatal("no column list in the DDL")
	}
	cols := map[string]*hiveType{}
	var order []string
	for _, line := range strings.Split(ddl[open+1:close], "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		if line == "" {
			continue
		}
		name, typ, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "`") {
			t.Fatalf("column line %q", line)
		}
		p := &typeParser{s: strings.ReplaceAll(typ, " ", "")}
		ht := p.parse(t)
		if p.s != "" {
			t.Fatalf("%s: trailing %q", name, p.s)
		}
		n := strings.Trim(name, "`")
		cols[n] = ht
		order = append(order, n)
	}
	return cols, order
}

type typeParser struct{ s string }

func (p *typeParser) take(prefix string) bool {
	if strings.HasPrefix(p.s, prefix) {
		p.s = p.s[len(prefix):]
		return true
	}
	return false
}

func (p *typeParser) parse(t *testing.T) *hiveType {
	switch {
	case p.take("array<"):
		e := p.parse(t)
		if !p.take(">") {
			t.Fatalf("array: %q", p.s)
		}
		return &hiveType{kind: "array", elem: e}
	case p.take("struct<"):
		st := &hiveType{kind: "struct", fields: map[string]*hiveType{}}
		for {
			i := strings.IndexByte(p.s, ':')
			name := p.s[:i]
			p.s = p.s[i+1:]
			st.fields[name] = p.parse(t)
			st.order = append(st.order, name)
			if p.take(">") {
				return st
			}
			if !p.take(",") {
				t.Fatalf("struct: %q", p.s)
			}
		}
	}
	for _, k := range []string{"string", "bigint", "int", "boolean", "double"} {
		if p.take(k) {
			return &hiveType{kind: k}
		}
	}
	t.Fatalf("type %q", p.s)
	return nil
}

// structuredStrings are the columns the DDL declares string where AWS
// writes a JSON array: the OpenX SerDe reads the array's text into them.
var structuredStrings = map[string]bool{"rulegrouplist.excludedrules": true, "oversizefields": true}

// undeclared are members AWS writes that its DDL leaves out (the SerDe
// ignores them); any other member missing from the DDL is an error.
var undeclared = map[string]bool{
	"ratebasedrulelist.ratebasedrulename": true, "ratebasedrulelist.evaluationwindowsec": true,
	"ratebasedrulelist.limitvalue": true, "ratebasedrulelist.customvalues": true,
}

// checkType checks a decoded JSON value against a column type, as the
// OpenX SerDe reads it: any column may be null; strings take scalars
// (the SerDe writes numbers and booleans as text).
func checkType(path string, v any, ht *hiveType) []string {
	if v == nil {
		return nil
	}
	bad := func(f string, a ...any) []string { return []string{path + ": " + fmt.Sprintf(f, a...)} }
	switch ht.kind {
	case "string":
		switch v.(type) {
		case string, json.Number, bool:
			return nil
		case []any:
			if structuredStrings[strings.TrimPrefix(typePath(path), ".")] {
				return nil
			}
		}
		return bad("%T in a string column", v)
	case "int", "bigint":
		n, ok := v.(json.Number)
		if !ok {
			return bad("%T in an %s column", v, ht.kind)
		}
		i, err := n.Int64()
		if err != nil || ht.kind == "int" && (i > math.MaxInt32 || i < math.MinInt32) {
			return bad("%s does not fit an %s", n, ht.kind)
		}
		return nil
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("%T in a boolean column", v)
		}
		return nil
	case "array":
		a, ok := v.([]any)
		if !ok {
			return bad("%T in an array column", v)
		}
		var out []string
		for i, e := range a {
			out = append(out, checkType(fmt.Sprintf("%s[%d]", path, i), e, ht.elem)...)
		}
		return out
	case "struct":
		m, ok := v.(map[string]any)
		if !ok {
			return bad("%T in a struct column", v)
		}
		var out []string
		for k, e := range m {
			ft, ok := ht.fields[strings.ToLower(k)]
			if !ok {
				if !undeclared[strings.TrimPrefix(typePath(path), ".")+"."+strings.ToLower(k)] {
					out = append(out, path+"."+k+": not a field of the table")
				}
				continue
			}
			out = append(out, checkType(path+"."+k, e, ft)...)
		}
		return out
	}
	return bad("unknown type %s", ht.kind)
}

var indexes = regexp.MustCompile(`\[\d+\]`)

// typePath is a value's path without array indexes, lower case.
func typePath(p string) string { return strings.ToLower(indexes.ReplaceAllString(p, "")) }

// records evaluates requests that between them fill every part of a
// record, through the engine, and builds their records with New.
func records(t *testing.T) [][]byte {
	t.Helper()
	group := `{"Name":"app","Capacity":500,"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"app"},
	 "Rules":[
	  {"Name":"xss","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"x"},
	   "Statement":{"XssMatchStatement":{"FieldToMatch":{"QueryString":{}},"TextTransformations":[{"Priority":0,"Type":"URL_DECODE"}]}}},
	  {"Name":"admin","Priority":2,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"a"},
	   "Statement":{"ByteMatchStatement":{"SearchString":"/admin","FieldToMatch":{"UriPath":{}},"TextTransformations":[{"Priority":0,"Type":"NONE"}],"PositionalConstraint":"STARTS_WITH"}}},
	  {"Name":"old","Priority":1,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"o"},
	   "Statement":{"ByteMatchStatement":{"SearchString":"/admin/old","FieldToMatch":{"UriPath":{}},"TextTransformations":[{"Priority":0,"Type":"NONE"}],"PositionalConstraint":"STARTS_WITH"}}}]}`
	rg, err := waf.LoadRuleGroup([]byte(group), waf.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const groupARN = "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/app/1"
	vis := `"VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"m"}`
	acl := `{"Name":"shop","ARN":"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/shop/1","DefaultAction":{"Allow":{}},` + vis + `,
	 "CustomResponseBodies":{"slow":{"ContentType":"APPLICATION_JSON","Content":"{\"error\":\"slow down\"}"}},
	 "Rules":[
	  {"Name":"reputation","Priority":0,"OverrideAction":{"None":{}},` + vis + `,
	   "Statement":{"ManagedRuleGroupStatement":{"VendorName":"AWS","Name":"AWSManagedRulesAmazonIpReputationList"}}},
	  {"Name":"geo","Priority":1,"Action":{"Count":{"CustomRequestHandling":{"InsertHeaders":[{"Name":"geo","Value":"checked"}]}}},"RuleLabels":[{"Name":"seen"}],` + vis + `,
	   "Statement":{"GeoMatchStatement":{"CountryCodes":["FR"]}}},
	  {"Name":"sqli","Priority":2,"Action":{"Block":{}},` + vis + `,
	   "Statement":{"SqliMatchStatement":{"FieldToMatch":{"SingleHeader":{"Name":"x-q"}},"TextTransformations":[{"Priority":0,"Type":"NONE"}],"SensitivityLevel":"HIGH"}}},
	  {"Name":"body","Priority":3,"Action":{"Count":{}},` + vis + `,
	   "Statement":{"SizeConstraintStatement":{"FieldToMatch":{"Body":{"OversizeHandling":"MATCH"}},"ComparisonOperator":"GT","Size":100,"TextTransformations":[{"Priority":0,"Type":"NONE"}]}}},
	  {"Name":"app","Priority":4,"OverrideAction":{"None":{}},` + vis + `,
	   "Statement":{"RuleGroupReferenceStatement":{"ARN":"` + groupARN + `","ExcludedRules":[{"Name":"old"}]}}},
	  {"Name":"per-ip","Priority":5,"Action":{"Block":{"CustomResponse":{"ResponseCode":429,"CustomResponseBodyKey":"slow"}}},` + vis + `,
	   "Statement":{"RateBasedStatement":{"Limit":11,"AggregateKeyType":"IP","EvaluationWindowSec":60}}},
	  {"Name":"per-user","Priority":6,"Action":{"Block":{}},` + vis + `,
	   "Statement":{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"CUSTOM_KEYS","EvaluationWindowSec":120,"CustomKeys":[{"Header":{"Name":"user","TextTransformations":[{"Priority":0,"Type":"NONE"}]}},{"HTTPMethod":{}}]}}},
	  {"Name":"forwarded","Priority":7,"Action":{"Block":{}},` + vis + `,
	   "Statement":{"RateBasedStatement":{"Limit":10,"AggregateKeyType":"FORWARDED_IP","ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"MATCH"}}}}]}`
	w, _, err := waf.Load([]byte(acl), waf.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	eng, err := waf.New(w, waf.Options{
		IPReputation: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
		RuleGroups:   map[string]*waf.RuleGroup{groupARN: rg},
		Geo: waf.CountryFunc(func(ip netip.Addr) string {
			return map[bool]string{true: "FR", false: ""}[ip.Is4() && ip.As4()[0] == 192]
		}),
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{WebACLID: WebACLID(w), Name: "lockgate", ID: "shop", RedactedFields: append(slices.Clone(DefaultRedactedFields), waf.FieldToMatch{QueryString: &struct{}{}})}
	type send struct {
		ip, method, target string
		headers            []string
		body               string
		times              int
	}
	sends := []send{
		{ip: "198.51.100.9", method: "GET", target: "/"},                                              // managed group
		{ip: "192.0.2.1", method: "GET", target: "/?q=%3Cscript%3Ealert(1)%3C/script%3E"},             // geo count, XSS in a group
		{ip: "192.0.2.2", method: "GET", target: "/"},                                                 // geo count, allowed: its header inserted
		{ip: "203.0.113.1", method: "GET", target: "/", headers: []string{"x-q", "1' OR '1'='1"}},     // SQLi
		{ip: "203.0.113.2", method: "POST", target: "/upload", body: strings.Repeat("a", 20<<10)},     // oversize body
		{ip: "203.0.113.3", method: "GET", target: "/admin/old/x"},                                    // excluded, then the group's admin rule
		{ip: "203.0.113.4", method: "GET", target: "/", times: 12},                                    // per-ip, custom response
		{ip: "203.0.113.5", method: "PUT", target: "/", headers: []string{"user", "ella"}, times: 11}, // custom keys
		{ip: "203.0.113.6", method: "GET", target: "/", headers: []string{"X-Forwarded-For", "junk"}, times: 12},
		{ip: "2001:db8::1", method: "GET", target: "/", headers: []string{"Authorization", "Bearer secret", "Cookie", "s=1"}},
	}
	var out [][]byte
	for i, s := range sends {
		var rec *Record
		for range max(1, s.times) {
			r := httptest.NewRequest(s.method, "http://shop.example"+s.target, strings.NewReader(s.body))
			for j := 0; j+1 < len(s.headers); j += 2 {
				r.Header.Set(s.headers[j], s.headers[j+1])
			}
			ip := netip.MustParseAddr(s.ip)
			var req waf.Request
			if err := eng.FillRequest(&req, r, ip); err != nil {
				t.Fatal(err)
			}
			d := eng.Evaluate(context.Background(), &req)
			rec = New(src, now, r, &req, &d, eng.Country(ip), fmt.Sprintf("req-%d", i))
			if s.ip == "203.0.113.6" && d.Action == "BLOCK" { // a second client at the forwarded-IP limit
				break
			}
		}
		b, err := Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Every record loads into AWS's Athena table for WAF logs with each
// column's type right, and says no more at the top level than the table
// has columns for.
func TestAthenaColumnTypes(t *testing.T) {
	cols, order := parseDDL(t, AthenaDDL)
	if len(order) != 23 || cols["rulegrouplist"].elem.fields["terminatingrule"].fields["rulematchdetails"].elem.fields["matcheddata"].kind != "array" {
		t.Fatalf("the DDL parsed to %d columns: %v", len(order), order)
	}
	all := bytes.Join(records(t), []byte("\n"))
	for _, line := range bytes.Split(all, []byte("\n")) {
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			ht, ok := cols[strings.ToLower(k)]
			if !ok {
				t.Errorf("%s: no column %s in the table", line, k)
				continue
			}
			for _, p := range checkType(k, v, ht) {
				t.Errorf("%s\n%s", p, line)
			}
		}
	}
	// The records exercise what they are meant to.
	for _, part := range []string{`"ruleGroupId":"AWS#AWSManagedRulesAmazonIpReputationList"`, `"conditionType":"XSS"`, `"conditionType":"SQL_INJECTION","sensitivityLevel":"HIGH","location":"HEADER"`,
		`"oversizeFields":["REQUEST_BODY"]`, `"excludedRules":[{"exclusionType":"EXCLUDED_AS_COUNT","ruleId":"old"}]`, `"ruleGroupId":"arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/app/1"`,
		`"responseCodeSent":429`, `"limitKey":"CUSTOMKEYS"`, `"limitValue":"INVALID"`, `"requestHeadersInserted":[{"name":"x-amzn-waf-geo","value":"checked"}]`,
		`{"name":"Authorization","value":"REDACTED"}`, `"args":"REDACTED"`, `"country":"FR"`} {
		if !bytes.Contains(all, []byte(part)) {
			t.Errorf("no record has %s", part)
		}
	}
	if bytes.Contains(all, []byte("secret")) {
		t.Error("a redacted value was logged")
	}
}

// Each field's value is what the logging fields page says it is.
func TestRecordFieldValues(t *testing.T) {
	const page = "AWS WAF Developer Guide, Log fields for web ACL traffic: "
	type rec = map[string]any
	str := func(m rec, k string) string { s, _ := m[k].(string); return s }
	checks := []struct {
		doc   string
		check func(m rec) string
	}{
		{page + `timestamp "The timestamp in milliseconds."`, func(m rec) string {
			n, _ := m["timestamp"].(json.Number).Int64()
			if n < 1e12 || n > 1e13 {
				return fmt.Sprint(n)
			}
			return ""
		}},
		{page + `formatVersion "The format version for the log." (1)`, func(m rec) string {
			if m["formatVersion"].(json.Number) != "1" {
				return string(m["formatVersion"].(json.Number))
			}
			return ""
		}},
		{page + `action "The action applied by AWS WAF to the request": ALLOW, BLOCK, CAPTCHA or CHALLENGE`, func(m rec) string {
			if !slices.Contains([]string{"ALLOW", "BLOCK", "CAPTCHA", "CHALLENGE"}, str(m, "action")) {
				return str(m, "action")
			}
			return ""
		}},
		{page + `terminatingRuleType "Possible values: RATE_BASED, REGULAR, GROUP, and MANAGED_RULE_GROUP."`, func(m rec) string {
			if !slices.Contains([]string{"RATE_BASED", "REGULAR", "GROUP", "MANAGED_RULE_GROUP"}, str(m, "terminatingRuleType")) {
				return str(m, "terminatingRuleType")
			}
			return ""
		}},
		{page + `terminatingRuleMatchDetails "This is only populated for SQL injection and cross-site scripting (XSS) match rule statements."`, func(m rec) string {
			for _, d := range m["terminatingRuleMatchDetails"].([]any) {
				if c := str(d.(rec), "conditionType"); c != "SQL_INJECTION" && c != "XSS" {
					return c
				}
			}
			return ""
		}},
		{page + `httpRequest.country "If AWS WAF is unable to determine the country of origin, it sets this field to -."`, func(m rec) string {
			c := str(m["httpRequest"].(rec), "country")
			if c != "-" && !regexp.MustCompile(`^[A-Z]{2}$`).MatchString(c) {
				return c
			}
			return ""
		}},
		{page + `rateBasedRuleList: limitKey IP, FORWARDED_IP, CUSTOMKEYS or CONSTANT; evaluationWindowSec a string (the log examples' "evaluationWindowSec":"120")`, func(m rec) string {
			for _, r := range m["rateBasedRuleList"].([]any) {
				r := r.(rec)
				if !slices.Contains([]string{"IP", "FORWARDED_IP", "CUSTOMKEYS", "CONSTANT"}, str(r, "limitKey")) ||
					!slices.Contains([]string{"60", "120", "300", "600"}, str(r, "evaluationWindowSec")) {
					return fmt.Sprint(r)
				}
				if _, ok := r["limitValue"]; ok == (str(r, "limitKey") == "CUSTOMKEYS") {
					return "limitValue with CUSTOMKEYS, or customValues without: " + fmt.Sprint(r)
				}
			}
			return ""
		}},
		{page + `oversizeFields "This list can contain zero or more of the following values: REQUEST_BODY, REQUEST_JSON_BODY, REQUEST_HEADERS, and REQUEST_COOKIES."`, func(m rec) string {
			f, _ := m["oversizeFields"].([]any)
			for _, v := range f {
				if !slices.Contains([]string{"REQUEST_BODY", "REQUEST_JSON_BODY", "REQUEST_HEADERS", "REQUEST_COOKIES"}, v.(string)) {
					return v.(string)
				}
			}
			return ""
		}},
		{page + `responseCodeSent "The response code sent with a custom response." (null otherwise)`, func(m rec) string {
			if m["responseCodeSent"] != nil && str(m, "terminatingRuleId") != "per-ip" {
				return fmt.Sprint(m["responseCodeSent"])
			}
			return ""
		}},
		{page + `labels "AWS WAF logs the first 100 labels."`, func(m rec) string {
			if l, _ := m["labels"].([]any); len(l) > 100 {
				return fmt.Sprint(len(l))
			}
			return ""
		}},
		{page + `requestHeadersInserted: the inserted headers with their x-amzn-waf- prefix ("AWS WAF prefixes all request headers that it inserts with x-amzn-waf-")`, func(m rec) string {
			h, _ := m["requestHeadersInserted"].([]any)
			for _, x := range h {
				if !strings.HasPrefix(str(x.(rec), "name"), "x-amzn-waf-") {
					return str(x.(rec), "name")
				}
			}
			return ""
		}},
		{page + `ruleGroupList: a group's terminatingRule.ruleMatchDetails is null when it has none, as AWS writes it`, func(m rec) string {
			for _, g := range m["ruleGroupList"].([]any) {
				if tr, ok := g.(rec)["terminatingRule"].(rec); ok {
					if d, ok := tr["ruleMatchDetails"]; !ok || d != nil && len(d.([]any)) == 0 {
						return fmt.Sprint(tr)
					}
				}
			}
			return ""
		}},
	}
	for _, line := range records(t) {
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var m rec
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			if bad := c.check(m); bad != "" {
				t.Errorf("%s\n%q in %s", c.doc, bad, line)
			}
		}
	}
	_ = http.StatusOK
}
