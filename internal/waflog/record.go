// Package waflog writes AWS WAF log records: one JSON object a line, in
// the field names and shapes AWS WAF uses, so that Athena's WAF table and
// lockgate's analyzer read them unchanged.
package waflog

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/waf"
)

// Record is one request's log record.
type Record struct {
	Timestamp                   int64           `json:"timestamp"`
	FormatVersion               int             `json:"formatVersion"`
	WebACLID                    string          `json:"webaclId"`
	TerminatingRuleID           string          `json:"terminatingRuleId"`
	TerminatingRuleType         string          `json:"terminatingRuleType"`
	Action                      string          `json:"action"`
	TerminatingRuleMatchDetails []any           `json:"terminatingRuleMatchDetails"`
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
}

// RuleGroup is a rule group in which a rule matched.
type RuleGroup struct {
	RuleGroupID                 string         `json:"ruleGroupId"`
	TerminatingRule             *MatchingRule  `json:"terminatingRule"`
	NonTerminatingMatchingRules []MatchingRule `json:"nonTerminatingMatchingRules"`
	ExcludedRules               []any          `json:"excludedRules"`
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

// MatchingRule is a rule that matched.
type MatchingRule struct {
	RuleID           string `json:"ruleId"`
	Action           string `json:"action"`
	RuleMatchDetails []any  `json:"ruleMatchDetails"`
}

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

// Source says where a record comes from.
type Source struct {
	WebACLID string // the web ACL's ARN, or lockgate's own id for it
	Name     string // httpSourceName
	ID       string // httpSourceId (the route)
	// Redact lists header names (lower case) whose values are replaced
	// by "REDACTED".
	Redact map[string]bool
	// RuleIDs maps a rate-based rule's name to the id logged as
	// rateBasedRuleId.
	RuleIDs map[string]string
}

// New makes the record of a request and its decision.
func New(src *Source, now time.Time, r *http.Request, req *waf.Request, d *waf.Decision, country, requestID string) *Record {
	rec := &Record{
		Timestamp:                   now.UnixMilli(),
		FormatVersion:               1,
		WebACLID:                    src.WebACLID,
		TerminatingRuleID:           d.TerminatingRuleID,
		TerminatingRuleType:         d.TerminatingRuleType,
		Action:                      d.Action,
		TerminatingRuleMatchDetails: []any{},
		HTTPSourceName:              src.Name,
		HTTPSourceID:                src.ID,
		RuleGroupList:               []RuleGroup{},
		RateBasedRuleList:           []RateBasedRule{},
		NonTerminatingMatchingRules: []MatchingRule{},
		RequestBodySize:             req.BodySize,
		RequestBodySizeInspected:    int64(len(req.Body)),
	}
	if country == "" {
		country = "-"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	rec.HTTPRequest = HTTPRequest{ClientIP: req.ClientIP.String(), Country: country, URI: req.URI, Args: req.Query,
		HTTPVersion: r.Proto, HTTPMethod: r.Method, RequestID: requestID, Fragment: req.Fragment, Scheme: scheme, Host: r.Host}
	rec.HTTPRequest.Headers = make([]Header, 0, len(req.Headers))
	for _, h := range req.Headers {
		v := h.Value
		if src.Redact[strings.ToLower(h.Name)] {
			v = "REDACTED"
		}
		rec.HTTPRequest.Headers = append(rec.HTTPRequest.Headers, Header{Name: h.Name, Value: v})
	}
	for _, g := range d.RuleGroups {
		rg := RuleGroup{RuleGroupID: g.RuleGroupID, NonTerminatingMatchingRules: []MatchingRule{}, ExcludedRules: nil}
		if g.TerminatingRule != nil {
			rg.TerminatingRule = &MatchingRule{RuleID: g.TerminatingRule.RuleID, Action: g.TerminatingRule.Action, RuleMatchDetails: []any{}}
		}
		for _, m := range g.NonTerminating {
			rg.NonTerminatingMatchingRules = append(rg.NonTerminatingMatchingRules, MatchingRule{RuleID: m.RuleID, Action: m.Action, RuleMatchDetails: []any{}})
		}
		rec.RuleGroupList = append(rec.RuleGroupList, rg)
	}
	for _, m := range d.RateBased {
		id := src.RuleIDs[m.RuleName]
		if id == "" {
			id = m.RuleName
		}
		rec.RateBasedRuleList = append(rec.RateBasedRuleList, RateBasedRule{RateBasedRuleID: id, RateBasedRuleName: m.RuleName, LimitKey: m.LimitKey,
			MaxRateAllowed: m.MaxRateAllowed, EvaluationWindowSec: strconv.FormatInt(m.EvaluationWindowSec, 10), LimitValue: m.LimitValue, CustomValues: m.CustomValues})
	}
	for _, m := range d.NonTerminating {
		rec.NonTerminatingMatchingRules = append(rec.NonTerminatingMatchingRules, MatchingRule{RuleID: m.RuleID, Action: m.Action, RuleMatchDetails: []any{}})
	}
	for _, h := range d.InsertHeaders {
		rec.RequestHeadersInserted = append(rec.RequestHeadersInserted, Header{Name: "x-amzn-waf-" + h.Name, Value: h.Value})
	}
	if d.CustomResponse != nil {
		code := d.CustomResponse.ResponseCode
		rec.ResponseCodeSent = &code
	}
	for i, l := range d.Labels {
		if i == 100 { // AWS logs the first 100
			break
		}
		rec.Labels = append(rec.Labels, Label{Name: l})
	}
	return rec
}
