package waf_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/lockgate/lockgate/waf"
)

// A web ACL as AWS writes it: block /admin, and any client sending more
// than 10 requests to /login in a minute.
const webACL = `{
  "Name": "shop",
  "DefaultAction": {"Allow": {}},
  "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "shop"},
  "Rules": [
    {"Name": "no-admin", "Priority": 0, "Action": {"Block": {}},
     "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "no-admin"},
     "Statement": {"ByteMatchStatement": {"SearchString": "/admin", "FieldToMatch": {"UriPath": {}},
       "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}], "PositionalConstraint": "STARTS_WITH"}}},
    {"Name": "login-rate", "Priority": 1, "Action": {"Block": {}},
     "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "login-rate"},
     "Statement": {"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "IP", "EvaluationWindowSec": 60,
       "ScopeDownStatement": {"ByteMatchStatement": {"SearchString": "/login", "FieldToMatch": {"UriPath": {}},
         "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "EXACTLY"}}}}}
  ]
}`

// Load a web ACL, compile it and decide a request.
func Example() {
	acl, _, err := waf.Load([]byte(webACL), waf.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	eng, err := waf.New(acl, waf.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	client := netip.MustParseAddr("203.0.113.7")
	for _, uri := range []string{"/products/42", "/ADMIN/users"} {
		d := eng.Evaluate(context.Background(), &waf.Request{ClientIP: client, Method: "GET", URI: uri})
		fmt.Println(uri, d.Action, d.TerminatingRuleID, d.TerminatingRuleType)
	}
	// Output:
	// /products/42 ALLOW Default_Action REGULAR
	// /ADMIN/users BLOCK no-admin REGULAR
}

// A rate-based rule counts every request as it arrives: the eleventh
// request to /login within the minute is blocked.
func ExampleEngine_EvaluateInto() {
	acl, _, _ := waf.Load([]byte(webACL), waf.LoadOptions{})
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	eng, _ := waf.New(acl, waf.Options{Now: func() time.Time { return now }})
	req := &waf.Request{ClientIP: netip.MustParseAddr("203.0.113.7"), Method: "POST", URI: "/login"}
	var d waf.Decision // reused: an allowed request allocates nothing
	for i := 1; i <= 11; i++ {
		eng.EvaluateInto(context.Background(), req, &d)
		now = now.Add(time.Second)
	}
	fmt.Println(d.Action, d.TerminatingRuleID, d.TerminatingRuleType)
	fmt.Println(d.RateBased[0].LimitKey, d.RateBased[0].LimitValue, d.RateBased[0].MaxRateAllowed)
	// Output:
	// BLOCK login-rate RATE_BASED
	// IP 203.0.113.7 10
}

// Load reports every problem with its JSON path.
func ExampleLoad() {
	_, _, err := waf.Load([]byte(`[{"Name":"r","Priority":0,"Action":{"Block":{}},
	  "VisibilityConfig":{"SampledRequestsEnabled":false,"CloudWatchMetricsEnabled":false,"MetricName":"r"},
	  "Statement":{"RateBasedStatement":{"Limit":5,"AggregateKeyType":"IP","EvaluationWindowSec":30}}}]`), waf.LoadOptions{})
	fmt.Println(err)
	// Output:
	// Rules[0].Statement.RateBasedStatement.Limit: 5 is below the minimum 10
	// Rules[0].Statement.RateBasedStatement.EvaluationWindowSec: 30 is not 60, 120, 300 or 600
}
