package waf

// Decision is the outcome of evaluating a request: everything an AWS WAF
// log record needs.
type Decision struct {
	// Action is ALLOW or BLOCK.
	Action string
	// TerminatingRuleID is the rule that decided, or Default_Action.
	TerminatingRuleID string
	// TerminatingRuleType is REGULAR, RATE_BASED or MANAGED_RULE_GROUP.
	TerminatingRuleType string
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

// RuleMatch is a non-terminating match.
type RuleMatch struct {
	RuleID string `json:"ruleId"`
	Action string `json:"action"`
}

// RateBasedMatch is a rate-based rule limiting the request's key.
type RateBasedMatch struct {
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

// GroupMatch is a rule group that matched.
type GroupMatch struct {
	// RuleGroupID is the web ACL rule that references the group.
	RuleGroupID     string      `json:"ruleGroupId"`
	TerminatingRule *RuleMatch  `json:"terminatingRule"`
	NonTerminating  []RuleMatch `json:"nonTerminatingMatchingRules"`
}

func (d *Decision) reset() {
	d.Action, d.TerminatingRuleID, d.TerminatingRuleType = "", "", ""
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
		d.CustomResponse, d.ResponseBody = a.resp, a.body
		return
	}
	d.InsertHeaders = append(d.InsertHeaders, a.headers...)
}
