package waf

// Web ACL capacity units, as the AWS WAF Developer Guide prices each
// statement: a base cost, +10 for AllQueryArguments, the base doubled for
// JsonBody, +10 per text transformation; logical statements cost what
// they contain; a rate-based rule 2 + 30 per custom key + its
// scope-down; a rule group what it declares as Capacity (or its rules).

// DefaultMaxCapacity is the web ACL capacity AWS allows without a quota
// increase.
const DefaultMaxCapacity = 5000

// Capacity is the web ACL's WCUs. groups holds the rule groups its
// RuleGroupReferenceStatements name, by ARN.
func Capacity(acl *WebACL, groups map[string]*RuleGroup) int64 {
	return ruleCapacity(acl.Rules, groups)
}

func ruleCapacity(rules []Rule, groups map[string]*RuleGroup) int64 {
	var total int64
	for i := range rules {
		total += statementCapacity(&rules[i].Statement, groups)
	}
	return total
}

func statementCapacity(s *Statement, groups map[string]*RuleGroup) int64 {
	switch {
	case s.ByteMatchStatement != nil:
		b := s.ByteMatchStatement
		base := int64(2)
		if b.PositionalConstraint == "CONTAINS" || b.PositionalConstraint == "CONTAINS_WORD" {
			base = 10
		}
		return matchCapacity(base, &b.FieldToMatch, b.TextTransformations)
	case s.RegexMatchStatement != nil:
		return matchCapacity(3, &s.RegexMatchStatement.FieldToMatch, s.RegexMatchStatement.TextTransformations)
	case s.RegexPatternSetReferenceStatement != nil:
		r := s.RegexPatternSetReferenceStatement
		return matchCapacity(25, &r.FieldToMatch, r.TextTransformations)
	case s.SizeConstraintStatement != nil:
		return matchCapacity(1, &s.SizeConstraintStatement.FieldToMatch, s.SizeConstraintStatement.TextTransformations)
	case s.SqliMatchStatement != nil:
		q := s.SqliMatchStatement
		base := int64(20)
		if q.SensitivityLevel == "HIGH" {
			base = 30
		}
		return matchCapacity(base, &q.FieldToMatch, q.TextTransformations)
	case s.XssMatchStatement != nil:
		return matchCapacity(40, &s.XssMatchStatement.FieldToMatch, s.XssMatchStatement.TextTransformations)
	case s.GeoMatchStatement != nil, s.LabelMatchStatement != nil:
		return 1
	case s.IPSetReferenceStatement != nil:
		if f := s.IPSetReferenceStatement.IPSetForwardedIPConfig; f != nil && f.Position == "ANY" {
			return 5
		}
		return 1
	case s.AndStatement != nil, s.OrStatement != nil:
		c := s.AndStatement
		if c == nil {
			c = s.OrStatement
		}
		var n int64
		for i := range c.Statements {
			n += statementCapacity(&c.Statements[i], groups)
		}
		return n
	case s.NotStatement != nil:
		return statementCapacity(&s.NotStatement.Statement, groups)
	case s.RateBasedStatement != nil:
		r := s.RateBasedStatement
		n := 2 + 30*int64(len(r.CustomKeys))
		if r.ScopeDownStatement != nil {
			n += statementCapacity(r.ScopeDownStatement, groups)
		}
		return n
	case s.ManagedRuleGroupStatement != nil:
		m := s.ManagedRuleGroupStatement
		n := managedGroups[managedKey(m.VendorName, m.Name)].capacity
		if m.ScopeDownStatement != nil {
			n += statementCapacity(m.ScopeDownStatement, groups)
		}
		return n
	case s.RuleGroupReferenceStatement != nil:
		g := groups[s.RuleGroupReferenceStatement.ARN]
		switch {
		case g == nil:
			return 0
		case g.Capacity > 0:
			return g.Capacity
		}
		return ruleCapacity(g.Rules, nil)
	}
	return 0
}

func matchCapacity(base int64, f *FieldToMatch, ts []TextTransformation) int64 {
	if f.JsonBody != nil {
		base *= 2
	}
	if f.AllQueryArguments != nil {
		base += 10
	}
	for _, t := range ts {
		if t.Type != "NONE" {
			base += 10
		}
	}
	return base
}
