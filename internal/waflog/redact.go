package waflog

import (
	"strings"

	"github.com/lockgate/lockgate/waf"
)

// redact replaces the values of the redacted fields with REDACTED: in
// httpRequest, and where AWS says redaction reaches, in the match details
// of the rules that inspected the field (WAFV2 API Reference,
// RedactedFields: "if you redact the SingleHeader field, the HEADER field
// in the logs will be REDACTED for all rules that use the SingleHeader
// FieldToMatch setting") and in rate-based custom key values.
//
// Where AWS would log a redacted value through another component lockgate
// redacts it too: with QueryString redacted, the details and key values of
// single query arguments and of all of them (a token in the query must
// not appear anywhere); with Cookie redacted, those of cookies; with Host
// redacted, httpRequest.host. As AWS, "the SingleHeader redaction doesn't
// apply to rules that use the Headers FieldToMatch".
func redact(rec *Record, fields []waf.FieldToMatch) {
	if len(fields) == 0 {
		return
	}
	var locations []string  // match detail locations whose data goes
	var headers []string    // header names
	var customKeys []string // custom key kinds whose values go (all names)
	for _, f := range fields {
		switch {
		case f.UriPath != nil:
			rec.HTTPRequest.URI = redacted
			locations = append(locations, "URI")
			customKeys = append(customKeys, "URIPATH")
		case f.QueryString != nil:
			rec.HTTPRequest.Args = redacted
			locations = append(locations, "QUERY_STRING", "ALL_QUERY_ARGS", "SINGLE_QUERY_ARG")
			customKeys = append(customKeys, "QUERY_STRING", "QUERY_ARGUMENT")
		case f.Method != nil:
			rec.HTTPRequest.HTTPMethod = redacted
			locations = append(locations, "METHOD")
			customKeys = append(customKeys, "HTTP_METHOD")
		case f.SingleHeader != nil:
			name := f.SingleHeader.Name
			headers = append(headers, name)
			for i, h := range rec.HTTPRequest.Headers {
				if strings.EqualFold(h.Name, name) {
					rec.HTTPRequest.Headers[i].Value = redacted
				}
			}
			switch strings.ToLower(name) {
			case "host":
				rec.HTTPRequest.Host = redacted
			case "cookie":
				locations = append(locations, "COOKIES")
				customKeys = append(customKeys, "COOKIE")
			}
		}
	}
	hides := func(m MatchDetail) bool {
		if m.Location == "HEADER" {
			return containsFold(headers, m.Name)
		}
		return containsFold(locations, m.Location)
	}
	details := func(ds []MatchDetail) []MatchDetail {
		copied := false
		for i, m := range ds {
			if hides(m) {
				if !copied { // the decision's storage may be shared: copy on first write
					ds, copied = append([]MatchDetail(nil), ds...), true
				}
				ds[i].MatchedData = []string{redacted}
			}
		}
		return ds
	}
	rec.TerminatingRuleMatchDetails = details(rec.TerminatingRuleMatchDetails)
	for i := range rec.NonTerminatingMatchingRules {
		rec.NonTerminatingMatchingRules[i].RuleMatchDetails = details(rec.NonTerminatingMatchingRules[i].RuleMatchDetails)
	}
	for i := range rec.RuleGroupList {
		g := &rec.RuleGroupList[i]
		if g.TerminatingRule != nil {
			g.TerminatingRule.RuleMatchDetails = details(g.TerminatingRule.RuleMatchDetails)
		}
		for j := range g.NonTerminatingMatchingRules {
			g.NonTerminatingMatchingRules[j].RuleMatchDetails = details(g.NonTerminatingMatchingRules[j].RuleMatchDetails)
		}
	}
	for i := range rec.RateBasedRuleList {
		r := &rec.RateBasedRuleList[i]
		var cv []waf.CustomValue
		for j, v := range r.CustomValues {
			if v.Key == "HEADER" && containsFold(headers, v.Name) || containsFold(customKeys, v.Key) {
				if cv == nil {
					cv = append([]waf.CustomValue(nil), r.CustomValues...)
				}
				cv[j].Value = redacted
			}
		}
		if cv != nil {
			r.CustomValues = cv
		}
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
