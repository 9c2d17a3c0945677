package waf

import (
	"slices"
	"strings"
)

// Decision is the outcome of evaluating a request: everything an AWS WAF
// log record needs.
type Decision struct {
	// Action is ALLOW or BLOCK.
	Action string
	// TerminatingRuleID is the rule that decided, or Default_Action.
	TerminatingRuleID string
	// TerminatingRuleType is REGULAR, RATE_BASED, GROUP or
	// MANAGED_RULE_GROUP.
	TerminatingRuleType string
	// TerminatingDetails is what the terminating rule's SQLi and XSS
	// statements found (terminatingRuleMatchDetails).
	TerminatingDetails []MatchDetail
	// Labels are the fully qualified labels added, in order.
	Labels []string
	// NonTerminating lists rules that matched with Count.
	NonTerminating []RuleMatch
	// RateBased lists the rate-based rules limiting this request's key.
	RateBased []RateBasedMatch
	// RuleGroups lists the rule groups (managed or referenced) in which a
	// rule matched.
	RuleGroups []GroupMatch
	// CustomResponse and ResponseBody are a Block's answer, when set.
	CustomResponse *CustomResponse
	ResponseBody   *CustomResponseBody
	// InsertHeaders go to the upstream (as x-amzn-waf-NAME) on Allow.
	InsertHeaders []CustomHTTPHeader

	// st is the evaluation's scratch, kept here so that reusing a
	// Decision reuses it (interface calls make it escape otherwise).
	st evalState
}

// RuleMatch is a rule that matched.
type RuleMatch struct {
	RuleID string `json:"ruleId"`
	Action string `json:"action"`
	// OverriddenAction is the rule's own action when a rule group
	// reference overrode it.
	OverriddenAction string `json:"overriddenAction,omitempty"`
	// Details is what its SQLi and XSS statements found.
	Details []MatchDetail `json:"ruleMatchDetails,omitempty"`
}

// MatchDetail is what a SQLi or XSS statement found, as AWS WAF logs it
// in ruleMatchDetails.
type MatchDetail struct {
	ConditionType    string   `json:"conditionType"`              // SQL_INJECTION or XSS
	SensitivityLevel string   `json:"sensitivityLevel,omitempty"` // SQL_INJECTION only
	Location         string   `json:"location"`                   // the request component
	MatchedData      []string `json:"matchedData"`
	// Name is the header's (SingleHeader, lower case) or query
	// argument's whose value matched; not logged, it lets a log redact
	// the details of a redacted header.
	Name string `json:"-"`
}

// RateBasedMatch is a rate-based rule limiting the request's key.
type RateBasedMatch struct {
	// RuleID identifies the rule (rateBasedRuleId): a UUID derived
	// from the web ACL's ARN (or name) and the rule's name.
	RuleID              string `json:"rateBasedRuleId"`
	RuleName            string `json:"rateBasedRuleName"`
	LimitKey            string `json:"limitKey"`
	LimitValue          string `json:"limitValue"`
	MaxRateAllowed      int64  `json:"maxRateAllowed"`
	EvaluationWindowSec int64  `json:"evaluationWindowSec"`
	// CustomValues are the components of a CUSTOM_KEYS key.
	CustomValues []CustomValue `json:"customValues,omitempty"`
}

// CustomValue is one component of a CUSTOM_KEYS aggregation key.
type CustomValue struct {
	Key   string `json:"key"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
}

// GroupMatch is a rule group in which a rule matched.
type GroupMatch struct {
	// RuleGroupID is the group's ARN, or VENDOR#NAME for a managed
	// group (AWS#AWSManagedRulesAmazonIpReputationList), as AWS logs it.
	RuleGroupID     string      `json:"ruleGroupId"`
	TerminatingRule *RuleMatch  `json:"terminatingRule"`
	NonTerminating  []RuleMatch `json:"nonTerminatingMatchingRules"`
	// Excluded lists the matching rules the reference excluded
	// (ExcludedRules: counted, not acted on).
	Excluded []string `json:"excludedRules,omitempty"`
}

// OversizeFields lists the request components a rule inspected that were
// over AWS WAF's inspection limits, in the log's names: REQUEST_BODY,
// REQUEST_JSON_BODY, REQUEST_HEADERS, REQUEST_COOKIES.
func (d *Decision) OversizeFields() []string {
	var out []string
	for i, name := range oversizeNames {
		if d.st.oversize&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

type oversize uint8

const (
	oversizeBody oversize = 1 << iota
	oversizeJSONBody
	oversizeHeaders
	oversizeCookies
)

var oversizeNames = [...]string{"REQUEST_BODY", "REQUEST_JSON_BODY", "REQUEST_HEADERS", "REQUEST_COOKIES"}

func (d *Decision) reset() {
	d.Action, d.TerminatingRuleID, d.TerminatingRuleType = "", "", ""
	d.TerminatingDetails = d.TerminatingDetails[:0]
	d.Labels = d.Labels[:0]
	d.NonTerminating = d.NonTerminating[:0]
	d.RateBased = d.RateBased[:0]
	d.RuleGroups = d.RuleGroups[:0]
	d.CustomResponse, d.ResponseBody = nil, nil
	d.InsertHeaders = d.InsertHeaders[:0]
}

func (d *Decision) terminate(rule, typ string, a action) {
	d.TerminatingRuleID, d.TerminatingRuleType = rule, typ
	d.Action = a.kind.String()
	if a.kind == actBlock {
		// Count rules' headers are inserted only into a request that
		// goes on: "You can instruct AWS WAF to insert custom headers
		// into the original HTTP request when it permits the request to
		// go through." (AWS WAF Developer Guide, Custom request header
		// insertions). A blocked request has none, and logs none.
		d.CustomResponse, d.ResponseBody = a.resp, a.body
		d.InsertHeaders = d.InsertHeaders[:0]
		return
	}
	d.insert(a.headers)
}

// insert adds a rule's inserted headers. "If you define headers in
// multiple rules with identical names, the last rule to inspect the
// request and find a match would have its header added, and any previous
// rules would not." (AWS WAF Developer Guide, Custom request header
// insertions): a later header replaces an earlier one of the same name.
func (d *Decision) insert(hs []CustomHTTPHeader) {
	for _, h := range hs {
		d.InsertHeaders = slices.DeleteFunc(d.InsertHeaders, func(x CustomHTTPHeader) bool { return strings.EqualFold(x.Name, h.Name) })
		d.InsertHeaders = append(d.InsertHeaders, h)
	}
}
