// Package waflog writes AWS WAF log records: one JSON object a line, in
// the field names and shapes AWS WAF uses ("Log fields for web ACL
// traffic" in the AWS WAF Developer Guide), so that Athena's WAF table and
// lockgate's analyzer read them unchanged. The gateway and lockgate waf
// test both build their records with New and encode them with Marshal.
package waflog

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/waf"
)

// Record is one request's log record, its members in AWS's order.
type Record struct {
	Timestamp                   int64           `json:"timestamp"`
	FormatVersion               int             `json:"formatVersion"`
	WebACLID                    string          `json:"webaclId"`
	TerminatingRuleID           string          `json:"terminatingRuleId"`
	TerminatingRuleType         string          `json:"terminatingRuleType"`
	Action                      string          `json:"action"`
	TerminatingRuleMatchDetails []MatchDetail   `json:"terminatingRuleMatchDetails"`
	HTTPSourceName              string          `json:"httpSourceName"`
	HTTPSourceID                string          `json:"httpSourceId"`
	RuleGroupList               []RuleGroup     `json:"ruleGroupList"`
	RateBasedRuleList           []RateBasedRule `json:"rateBasedRuleList"`
	NonTerminatingMatchingRules []MatchingRule  `json:"nonTerminatingMatchingRules"`
	RequestHeadersInserted      []Header        `json:"requestHeadersInserted"`
	ResponseCodeSent            *int64          `json:"responseCodeSent"`
	HTTPRequest                 HTTPRequest     `json:"httpRequest"`
	Labels                      []Label         `json:"labels,omitempty"`
	RequestBodySize             int64           `json:"requestBodySize"`
	RequestBodySizeInspected    int64           `json:"requestBodySizeInspectedByWAF"`
	OversizeFields              []string        `json:"oversizeFields,omitempty"`
}

// RuleGroup is a rule group in which a rule matched.
type RuleGroup struct {
	RuleGroupID                 string         `json:"ruleGroupId"`
	TerminatingRule             *GroupRule     `json:"terminatingRule"`
	NonTerminatingMatchingRules []MatchingRule `json:"nonTerminatingMatchingRules"`
	ExcludedRules               []ExcludedRule `json:"excludedRules"`
}

// GroupRule is a rule group's terminating rule. AWS writes its
// ruleMatchDetails as null when there are none.
type GroupRule struct {
	RuleID           string        `json:"ruleId"`
	Action           string        `json:"action"`
	RuleMatchDetails []MatchDetail `json:"ruleMatchDetails"`
}

// ExcludedRule is a rule of a rule group that matched but that the
// reference excluded (ExcludedRules).
type ExcludedRule struct {
	ExclusionType string `json:"exclusionType"`
	RuleID        string `json:"ruleId"`
}

// RateBasedRule is a rate-based rule limiting the request's key.
type RateBasedRule struct {
	RateBasedRuleID     string            `json:"rateBasedRuleId"`
	RateBasedRuleName   string            `json:"rateBasedRuleName"`
	LimitKey            string            `json:"limitKey"`
	MaxRateAllowed      int64             `json:"maxRateAllowed"`
	EvaluationWindowSec string            `json:"evaluationWindowSec"`
	LimitValue          string            `json:"limitValue,omitempty"`
	CustomValues        []waf.CustomValue `json:"customValues,omitempty"`
}

// MatchingRule is a rule that matched with Count (or, in a rule group,
// whose action a reference overrode).
type MatchingRule struct {
	RuleID           string        `json:"ruleId"`
	Action           string        `json:"action"`
	OverriddenAction string        `json:"overriddenAction,omitempty"`
	RuleMatchDetails []MatchDetail `json:"ruleMatchDetails"`
}

// MatchDetail is what a SQL injection or XSS statement found.
type MatchDetail = waf.MatchDetail

// HTTPRequest describes the request.
type HTTPRequest struct {
	ClientIP    string   `json:"clientIp"`
	Country     string   `json:"country"`
	Headers     []Header `json:"headers"`
	URI         string   `json:"uri"`
	Args        string   `json:"args"`
	HTTPVersion string   `json:"httpVersion"`
	HTTPMethod  string   `json:"httpMethod"`
	RequestID   string   `json:"requestId"`
	Fragment    string   `json:"fragment,omitempty"`
	Scheme      string   `json:"scheme"`
	Host        string   `json:"host"`
}

// Header is one request header, as AWS logs them.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Label is a label added to the request.
type Label struct {
	Name string `json:"name"`
}

// Source says where records come from.
type Source struct {
	WebACLID string // the web ACL's ARN, or lockgate's own id for it
	Name     string // httpSourceName
	ID       string // httpSourceId (the route)
	// RedactedFields is AWS's LoggingConfiguration.RedactedFields: the
	// components whose values are logged as REDACTED. AWS allows
	// UriPath, QueryString, SingleHeader and Method (CheckRedactedFields).
	RedactedFields []waf.FieldToMatch
}

// DefaultRedactedFields is lockgate's default where AWS redacts nothing:
// the headers that carry credentials stay out of the logs. The gateway
// always applies it, whatever else its configuration redacts.
var DefaultRedactedFields = RedactHeaders("Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key")

// RedactHeaders is RedactedFields naming headers (SingleHeader).
func RedactHeaders(names ...string) []waf.FieldToMatch {
	out := make([]waf.FieldToMatch, 0, len(names))
	for _, n := range names {
		out = append(out, waf.FieldToMatch{SingleHeader: &waf.NamedField{Name: strings.ToLower(n)}})
	}
	return out
}

// MaxRedactedFields is the model's limit on RedactedFields.
const MaxRedactedFields = 100

// CheckRedactedFields reports the first field AWS would refuse: "You can
// specify only the following fields for redaction: UriPath, QueryString,
// SingleHeader, and Method." (WAFV2 API Reference, LoggingConfiguration).
func CheckRedactedFields(fs []waf.FieldToMatch) error {
	if len(fs) > MaxRedactedFields {
		return fmt.Errorf("RedactedFields: %d fields, at most %d", len(fs), MaxRedactedFields)
	}
	for i, f := range fs {
		n := 0
		for _, set := range []bool{f.UriPath != nil, f.QueryString != nil, f.SingleHeader != nil, f.Method != nil} {
			if set {
				n++
			}
		}
		other := f.AllQueryArguments != nil || f.SingleQueryArgument != nil || f.Body != nil || f.JsonBody != nil ||
			f.Headers != nil || f.Cookies != nil || f.HeaderOrder != nil || f.UriFragment != nil || f.JA3Fingerprint != nil || f.JA4Fingerprint != nil
		if n != 1 || other {
			return fmt.Errorf("RedactedFields[%d]: only one of UriPath, QueryString, SingleHeader and Method can be redacted", i)
		}
		if f.SingleHeader != nil && f.SingleHeader.Name == "" {
			return fmt.Errorf("RedactedFields[%d].SingleHeader.Name: required", i)
		}
	}
	return nil
}

const redacted = "REDACTED"

// New makes the record of a request and its decision. req is the view
// the engine inspected (its headers in the order and case received);
// country is the client's ("" when unknown, logged as "-").
func New(src *Source, now time.Time, r *http.Request, req *waf.Request, d *waf.Decision, country, requestID string) *Record {
	rec := &Record{
		Timestamp:                   now.UnixMilli(),
		FormatVersion:               1,
		WebACLID:                    src.WebACLID,
		TerminatingRuleID:           d.TerminatingRuleID,
		TerminatingRuleType:         d.TerminatingRuleType,
		Action:                      d.Action,
		TerminatingRuleMatchDetails: nonNil(d.TerminatingDetails),
		HTTPSourceName:              src.Name,
		HTTPSourceID:                src.ID,
		RuleGroupList:               []RuleGroup{},
		RateBasedRuleList:           []RateBasedRule{},
		NonTerminatingMatchingRules: []MatchingRule{},
		RequestBodySize:             req.BodySize,
		RequestBodySizeInspected:    int64(len(req.Body)),
		OversizeFields:              d.OversizeFields(),
	}
	if country == "" {
		country = "-"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	clientIP := "-" // the client is unknown (a forwarded hop did not parse)
	if req.ClientIP.IsValid() {
		clientIP = req.ClientIP.String()
	}
	rec.HTTPRequest = HTTPRequest{ClientIP: clientIP, Country: country, URI: req.URI, Args: req.Query,
		HTTPVersion: r.Proto, HTTPMethod: req.Method, RequestID: requestID, Fragment: req.Fragment, Scheme: scheme, Host: r.Host}
	rec.HTTPRequest.Headers = make([]Header, 0, len(req.Headers))
	for _, h := range req.Headers {
		rec.HTTPRequest.Headers = append(rec.HTTPRequest.Headers, Header{Name: h.Name, Value: h.Value})
	}
	for _, g := range d.RuleGroups {
		rg := RuleGroup{RuleGroupID: g.RuleGroupID, NonTerminatingMatchingRules: []MatchingRule{}}
		if g.TerminatingRule != nil {
			rg.TerminatingRule = &GroupRule{RuleID: g.TerminatingRule.RuleID, Action: g.TerminatingRule.Action, RuleMatchDetails: g.TerminatingRule.Details}
		}
		for _, m := range g.NonTerminating {
			rg.NonTerminatingMatchingRules = append(rg.NonTerminatingMatchingRules, matching(m))
		}
		for _, x := range g.Excluded {
			rg.ExcludedRules = append(rg.ExcludedRules, ExcludedRule{ExclusionType: "EXCLUDED_AS_COUNT", RuleID: x})
		}
		rec.RuleGroupList = append(rec.RuleGroupList, rg)
	}
	for _, m := range d.RateBased {
		rec.RateBasedRuleList = append(rec.RateBasedRuleList, RateBasedRule{RateBasedRuleID: m.RuleID, RateBasedRuleName: m.RuleName, LimitKey: m.LimitKey,
			MaxRateAllowed: m.MaxRateAllowed, EvaluationWindowSec: strconv.FormatInt(m.EvaluationWindowSec, 10), LimitValue: m.LimitValue, CustomValues: m.CustomValues})
	}
	for _, m := range d.NonTerminating {
		rec.NonTerminatingMatchingRules = append(rec.NonTerminatingMatchingRules, matching(m))
	}
	for _, h := range d.InsertHeaders {
		rec.RequestHeadersInserted = append(rec.RequestHeadersInserted, Header{Name: "x-amzn-waf-" + h.Name, Value: h.Value})
	}
	if d.CustomResponse != nil { // "The response code sent with a custom response"
		code := d.CustomResponse.ResponseCode
		rec.ResponseCodeSent = &code
	}
	for i, l := range d.Labels {
		if i == 100 { // AWS logs the first 100
			break
		}
		rec.Labels = append(rec.Labels, Label{Name: l})
	}
	redact(rec, src.RedactedFields)
	return rec
}

func matching(m waf.RuleMatch) MatchingRule {
	return MatchingRule{RuleID: m.RuleID, Action: m.Action, OverriddenAction: m.OverriddenAction, RuleMatchDetails: nonNil(m.Details)}
}

// nonNil copies details (a Decision's storage is reused), [] when none.
func nonNil(d []MatchDetail) []MatchDetail {
	return append([]MatchDetail{}, d...)
}

// WebACLID is the webaclId of a web ACL's records: its ARN, or
// lockgate:webacl/NAME when it has none.
func WebACLID(acl *waf.WebACL) string {
	if acl.ARN != "" {
		return acl.ARN
	}
	return "lockgate:webacl/" + acl.Name
}

// Marshal encodes a record as one line of a log (without the newline).
func Marshal(rec *Record) ([]byte, error) { return json.Marshal(rec) }
