// Package waf evaluates AWS WAFv2 web ACLs written in AWS's own JSON.
//
// Load accepts a WebACL object, the `aws wafv2 get-web-acl` envelope, a
// bare rule or a Rules array as the console's JSON editor shows them, and
// validates them against AWS's WAFV2 service model (every member, enum,
// pattern and limit) and the rules the model cannot express, naming the
// JSON path of every problem. A feature lockgate does not implement is
// refused at load, never ignored.
package waf

import "encoding/json"

// WebACL is a web ACL as AWS's API writes it.
type WebACL struct {
	Name                 string                        `json:"Name"`
	Id                   string                        `json:"Id,omitempty"`
	ARN                  string                        `json:"ARN,omitempty"`
	Description          string                        `json:"Description,omitempty"`
	DefaultAction        DefaultAction                 `json:"DefaultAction"`
	Rules                []Rule                        `json:"Rules"`
	VisibilityConfig     VisibilityConfig              `json:"VisibilityConfig"`
	CustomResponseBodies map[string]CustomResponseBody `json:"CustomResponseBodies,omitempty"`
	LabelNamespace       string                        `json:"LabelNamespace,omitempty"`
	Capacity             int64                         `json:"Capacity,omitempty"`
}

// DefaultAction is Allow or Block.
type DefaultAction struct {
	Allow *AllowAction `json:"Allow,omitempty"`
	Block *BlockAction `json:"Block,omitempty"`
}

// Rule is one rule of a web ACL or rule group.
type Rule struct {
	Name             string           `json:"Name"`
	Priority         int64            `json:"Priority"`
	Statement        Statement        `json:"Statement"`
	Action           *RuleAction      `json:"Action,omitempty"`
	OverrideAction   *OverrideAction  `json:"OverrideAction,omitempty"`
	RuleLabels       []Label          `json:"RuleLabels,omitempty"`
	VisibilityConfig VisibilityConfig `json:"VisibilityConfig"`
}

// Label is a rule label.
type Label struct {
	Name string `json:"Name"`
}

// VisibilityConfig names a rule's metrics.
type VisibilityConfig struct {
	SampledRequestsEnabled   bool   `json:"SampledRequestsEnabled"`
	CloudWatchMetricsEnabled bool   `json:"CloudWatchMetricsEnabled"`
	MetricName               string `json:"MetricName"`
}

// RuleAction is exactly one of the actions.
type RuleAction struct {
	Allow     *AllowAction    `json:"Allow,omitempty"`
	Block     *BlockAction    `json:"Block,omitempty"`
	Count     *CountAction    `json:"Count,omitempty"`
	Captcha   json.RawMessage `json:"Captcha,omitempty"`
	Challenge json.RawMessage `json:"Challenge,omitempty"`
}

// OverrideAction applies to rule group references: None keeps the
// group's actions, Count turns them into counts.
type OverrideAction struct {
	None  *struct{}    `json:"None,omitempty"`
	Count *CountAction `json:"Count,omitempty"`
}

// AllowAction may insert request headers.
type AllowAction struct {
	CustomRequestHandling *CustomRequestHandling `json:"CustomRequestHandling,omitempty"`
}

// CountAction may insert request headers.
type CountAction struct {
	CustomRequestHandling *CustomRequestHandling `json:"CustomRequestHandling,omitempty"`
}

// BlockAction may send a custom response.
type BlockAction struct {
	CustomResponse *CustomResponse `json:"CustomResponse,omitempty"`
}

// CustomRequestHandling lists headers to insert (named x-amzn-waf-NAME).
type CustomRequestHandling struct {
	InsertHeaders []CustomHTTPHeader `json:"InsertHeaders"`
}

// CustomHTTPHeader is a header name and value.
type CustomHTTPHeader struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// CustomResponse is a Block's answer.
type CustomResponse struct {
	ResponseCode          int64              `json:"ResponseCode"`
	CustomResponseBodyKey string             `json:"CustomResponseBodyKey,omitempty"`
	ResponseHeaders       []CustomHTTPHeader `json:"ResponseHeaders,omitempty"`
}

// CustomResponseBody is a named response body.
type CustomResponseBody struct {
	ContentType string `json:"ContentType"`
	Content     string `json:"Content"`
}

// Statement is exactly one statement.
type Statement struct {
	ByteMatchStatement                *ByteMatchStatement          `json:"ByteMatchStatement,omitempty"`
	RegexMatchStatement               *RegexMatchStatement         `json:"RegexMatchStatement,omitempty"`
	RegexPatternSetReferenceStatement *RegexPatternSetStatement    `json:"RegexPatternSetReferenceStatement,omitempty"`
	SizeConstraintStatement           *SizeConstraintStatement     `json:"SizeConstraintStatement,omitempty"`
	GeoMatchStatement                 *GeoMatchStatement           `json:"GeoMatchStatement,omitempty"`
	IPSetReferenceStatement           *IPSetReferenceStatement     `json:"IPSetReferenceStatement,omitempty"`
	LabelMatchStatement               *LabelMatchStatement         `json:"LabelMatchStatement,omitempty"`
	AndStatement                      *CompoundStatement           `json:"AndStatement,omitempty"`
	OrStatement                       *CompoundStatement           `json:"OrStatement,omitempty"`
	NotStatement                      *NotStatement                `json:"NotStatement,omitempty"`
	RateBasedStatement                *RateBasedStatement          `json:"RateBasedStatement,omitempty"`
	ManagedRuleGroupStatement         *ManagedRuleGroupStatement   `json:"ManagedRuleGroupStatement,omitempty"`
	RuleGroupReferenceStatement       *RuleGroupReferenceStatement `json:"RuleGroupReferenceStatement,omitempty"`
	SqliMatchStatement                *SqliMatchStatement          `json:"SqliMatchStatement,omitempty"`
	XssMatchStatement                 *XssMatchStatement           `json:"XssMatchStatement,omitempty"`
	AsnMatchStatement                 json.RawMessage              `json:"AsnMatchStatement,omitempty"`
}

// TextTransformation is applied to a field before matching.
type TextTransformation struct {
	Priority int64  `json:"Priority"`
	Type     string `json:"Type"`
}

// ByteMatchStatement looks for a string in a field.
type ByteMatchStatement struct {
	// SearchString is the bytes to look for (AWS's blob: base64 in
	// JSON), any byte from 0x00 to 0xFF.
	SearchString         []byte               `json:"SearchString"`
	FieldToMatch         FieldToMatch         `json:"FieldToMatch"`
	TextTransformations  []TextTransformation `json:"TextTransformations"`
	PositionalConstraint string               `json:"PositionalConstraint"`
}

// RegexMatchStatement matches a regular expression.
type RegexMatchStatement struct {
	RegexString         string               `json:"RegexString"`
	FieldToMatch        FieldToMatch         `json:"FieldToMatch"`
	TextTransformations []TextTransformation `json:"TextTransformations"`
}

// RegexPatternSetStatement matches any pattern of a set.
type RegexPatternSetStatement struct {
	ARN                 string               `json:"ARN"`
	FieldToMatch        FieldToMatch         `json:"FieldToMatch"`
	TextTransformations []TextTransformation `json:"TextTransformations"`
}

// SizeConstraintStatement compares a field's size.
type SizeConstraintStatement struct {
	FieldToMatch        FieldToMatch         `json:"FieldToMatch"`
	ComparisonOperator  string               `json:"ComparisonOperator"`
	Size                int64                `json:"Size"`
	TextTransformations []TextTransformation `json:"TextTransformations"`
}

// ForwardedIPConfig reads the client IP from a header.
type ForwardedIPConfig struct {
	HeaderName       string `json:"HeaderName"`
	FallbackBehavior string `json:"FallbackBehavior"`
}

// IPSetForwardedIPConfig reads IPs from a header for IP set matching.
type IPSetForwardedIPConfig struct {
	HeaderName       string `json:"HeaderName"`
	FallbackBehavior string `json:"FallbackBehavior"`
	Position         string `json:"Position"`
}

// GeoMatchStatement matches countries.
type GeoMatchStatement struct {
	CountryCodes      []string           `json:"CountryCodes"`
	ForwardedIPConfig *ForwardedIPConfig `json:"ForwardedIPConfig,omitempty"`
}

// IPSetReferenceStatement matches an IP set.
type IPSetReferenceStatement struct {
	ARN                    string                  `json:"ARN"`
	IPSetForwardedIPConfig *IPSetForwardedIPConfig `json:"IPSetForwardedIPConfig,omitempty"`
}

// LabelMatchStatement matches labels added by earlier rules.
type LabelMatchStatement struct {
	Scope string `json:"Scope"`
	Key   string `json:"Key"`
}

// CompoundStatement is And or Or.
type CompoundStatement struct {
	Statements []Statement `json:"Statements"`
}

// NotStatement negates a statement.
type NotStatement struct {
	Statement Statement `json:"Statement"`
}

// RateBasedStatement limits the rate of requests per aggregation key.
type RateBasedStatement struct {
	Limit               int64              `json:"Limit"`
	EvaluationWindowSec int64              `json:"EvaluationWindowSec,omitempty"`
	AggregateKeyType    string             `json:"AggregateKeyType"`
	ScopeDownStatement  *Statement         `json:"ScopeDownStatement,omitempty"`
	ForwardedIPConfig   *ForwardedIPConfig `json:"ForwardedIPConfig,omitempty"`
	CustomKeys          []RateBasedKey     `json:"CustomKeys,omitempty"`
}

// ManagedRuleGroupStatement uses a managed rule group.
type ManagedRuleGroupStatement struct {
	VendorName              string               `json:"VendorName"`
	Name                    string               `json:"Name"`
	Version                 string               `json:"Version,omitempty"`
	ExcludedRules           []ExcludedRule       `json:"ExcludedRules,omitempty"`
	ScopeDownStatement      *Statement           `json:"ScopeDownStatement,omitempty"`
	RuleActionOverrides     []RuleActionOverride `json:"RuleActionOverrides,omitempty"`
	ManagedRuleGroupConfigs []json.RawMessage    `json:"ManagedRuleGroupConfigs,omitempty"`
}

// RuleGroupReferenceStatement uses a rule group by ARN.
type RuleGroupReferenceStatement struct {
	ARN                 string               `json:"ARN"`
	ExcludedRules       []ExcludedRule       `json:"ExcludedRules,omitempty"`
	RuleActionOverrides []RuleActionOverride `json:"RuleActionOverrides,omitempty"`
}

// ExcludedRule is the older way of overriding a group's rule to Count.
type ExcludedRule struct {
	Name string `json:"Name"`
}

// RuleActionOverride changes the action of one rule of a group.
type RuleActionOverride struct {
	Name        string     `json:"Name"`
	ActionToUse RuleAction `json:"ActionToUse"`
}

// FieldToMatch is exactly one request component.
type FieldToMatch struct {
	UriPath             *struct{}       `json:"UriPath,omitempty"`
	QueryString         *struct{}       `json:"QueryString,omitempty"`
	Method              *struct{}       `json:"Method,omitempty"`
	AllQueryArguments   *struct{}       `json:"AllQueryArguments,omitempty"`
	SingleHeader        *NamedField     `json:"SingleHeader,omitempty"`
	SingleQueryArgument *NamedField     `json:"SingleQueryArgument,omitempty"`
	Body                *BodyField      `json:"Body,omitempty"`
	UriFragment         *UriFragment    `json:"UriFragment,omitempty"`
	JsonBody            *JsonBodyField  `json:"JsonBody,omitempty"`
	Headers             *HeadersField   `json:"Headers,omitempty"`
	Cookies             *CookiesField   `json:"Cookies,omitempty"`
	HeaderOrder         *BodyField      `json:"HeaderOrder,omitempty"`
	JA3Fingerprint      json.RawMessage `json:"JA3Fingerprint,omitempty"`
	JA4Fingerprint      json.RawMessage `json:"JA4Fingerprint,omitempty"`
}

// NamedField names a header or query argument.
type NamedField struct {
	Name string `json:"Name"`
}

// BodyField says what to do with a body over the inspection limit.
type BodyField struct {
	OversizeHandling string `json:"OversizeHandling,omitempty"`
}

// SqliMatchStatement inspects a component for SQL injection.
type SqliMatchStatement struct {
	FieldToMatch        FieldToMatch         `json:"FieldToMatch"`
	TextTransformations []TextTransformation `json:"TextTransformations"`
	SensitivityLevel    string               `json:"SensitivityLevel,omitempty"`
}

// XssMatchStatement inspects a component for cross-site scripting.
type XssMatchStatement struct {
	FieldToMatch        FieldToMatch         `json:"FieldToMatch"`
	TextTransformations []TextTransformation `json:"TextTransformations"`
}

// JsonBodyField inspects the body as JSON.
type JsonBodyField struct {
	MatchPattern            JsonMatchPattern `json:"MatchPattern"`
	MatchScope              string           `json:"MatchScope"`
	InvalidFallbackBehavior string           `json:"InvalidFallbackBehavior,omitempty"`
	OversizeHandling        string           `json:"OversizeHandling,omitempty"`
}

// JsonMatchPattern selects all of a JSON body or the elements at JSON
// Pointer paths.
type JsonMatchPattern struct {
	All           *struct{} `json:"All,omitempty"`
	IncludedPaths []string  `json:"IncludedPaths,omitempty"`
}

// HeadersField inspects headers chosen by MatchPattern.
type HeadersField struct {
	MatchPattern     HeaderMatchPattern `json:"MatchPattern"`
	MatchScope       string             `json:"MatchScope"`
	OversizeHandling string             `json:"OversizeHandling"`
}

// HeaderMatchPattern selects all headers, or those named (without case).
type HeaderMatchPattern struct {
	All             *struct{} `json:"All,omitempty"`
	IncludedHeaders []string  `json:"IncludedHeaders,omitempty"`
	ExcludedHeaders []string  `json:"ExcludedHeaders,omitempty"`
}

// CookiesField inspects cookies chosen by MatchPattern.
type CookiesField struct {
	MatchPattern     CookieMatchPattern `json:"MatchPattern"`
	MatchScope       string             `json:"MatchScope"`
	OversizeHandling string             `json:"OversizeHandling"`
}

// CookieMatchPattern selects all cookies, or those named (with case).
type CookieMatchPattern struct {
	All             *struct{} `json:"All,omitempty"`
	IncludedCookies []string  `json:"IncludedCookies,omitempty"`
	ExcludedCookies []string  `json:"ExcludedCookies,omitempty"`
}

// RateBasedKey is one component of a CUSTOM_KEYS aggregation key.
type RateBasedKey struct {
	Header         *RateBasedKeyNamed  `json:"Header,omitempty"`
	Cookie         *RateBasedKeyNamed  `json:"Cookie,omitempty"`
	QueryArgument  *RateBasedKeyNamed  `json:"QueryArgument,omitempty"`
	QueryString    *RateBasedKeyText   `json:"QueryString,omitempty"`
	UriPath        *RateBasedKeyText   `json:"UriPath,omitempty"`
	HTTPMethod     *struct{}           `json:"HTTPMethod,omitempty"`
	IP             *struct{}           `json:"IP,omitempty"`
	ForwardedIP    *struct{}           `json:"ForwardedIP,omitempty"`
	LabelNamespace *RateBasedKeyLabels `json:"LabelNamespace,omitempty"`
	ASN            json.RawMessage     `json:"ASN,omitempty"`
	JA3Fingerprint json.RawMessage     `json:"JA3Fingerprint,omitempty"`
	JA4Fingerprint json.RawMessage     `json:"JA4Fingerprint,omitempty"`
}

// RateBasedKeyNamed is a named header, cookie or query argument key.
type RateBasedKeyNamed struct {
	Name                string               `json:"Name"`
	TextTransformations []TextTransformation `json:"TextTransformations"`
}

// RateBasedKeyText is a query string or URI path key.
type RateBasedKeyText struct {
	TextTransformations []TextTransformation `json:"TextTransformations"`
}

// RateBasedKeyLabels keys on the labels of a namespace.
type RateBasedKeyLabels struct {
	Namespace string `json:"Namespace"`
}

// RuleGroup is a reusable list of rules, referenced by ARN.
type RuleGroup struct {
	Name                 string                        `json:"Name"`
	Id                   string                        `json:"Id,omitempty"`
	ARN                  string                        `json:"ARN,omitempty"`
	Description          string                        `json:"Description,omitempty"`
	Capacity             int64                         `json:"Capacity"`
	Rules                []Rule                        `json:"Rules,omitempty"`
	VisibilityConfig     VisibilityConfig              `json:"VisibilityConfig"`
	CustomResponseBodies map[string]CustomResponseBody `json:"CustomResponseBodies,omitempty"`
	LabelNamespace       string                        `json:"LabelNamespace,omitempty"`
	AvailableLabels      []json.RawMessage             `json:"AvailableLabels,omitempty"`
	ConsumedLabels       []json.RawMessage             `json:"ConsumedLabels,omitempty"`
}

// UriFragment inspects the request URI's fragment. Its FallbackBehavior
// (MATCH or NO_MATCH) is refused at load: the model and the API
// Reference describe it only with the JSON body's text, so what AWS does
// with it for a fragment is not documented.
type UriFragment struct {
	FallbackBehavior string `json:"FallbackBehavior,omitempty"`
}
