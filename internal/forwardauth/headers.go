package forwardauth

import (
	"slices"
	"strings"

	"github.com/lockgate/lockgate/waf"
)

// insertNames lists every header a web ACL may insert on an allowed
// request (x-amzn-waf-NAME, lower case): its default action, its rules'
// Allow and Count actions, overrides, and the rules of the rule groups
// it references. Each must be in forward_auth.copy_headers, which every
// allow answers — empty when this request got none, also on a route
// without a web ACL — so that a proxy copying them (one configuration
// for all routes) replaces a client's forged copy whatever its version:
// Caddy before 2.10 copies a header missing from the answer as its
// placeholder text ("{http.reverse_proxy.header.X-Amzn-Waf-Api}"), later
// versions skip it and keep the client's (caddyserver/caddy#6610,
// GHSA-7r4p-vjf4-gxv4). The list is the configuration's, not the running
// web ACLs', so that a reload removing the last rule that inserts a name
// does not stop answering it.
func insertNames(acl *waf.WebACL, groups map[string]*waf.RuleGroup) []string {
	var names []string
	add := func(c *waf.CustomRequestHandling) {
		if c == nil {
			return
		}
		for _, h := range c.InsertHeaders {
			n := "x-amzn-waf-" + strings.ToLower(h.Name)
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	action := func(a *waf.RuleAction) {
		if a == nil {
			return
		}
		if a.Allow != nil {
			add(a.Allow.CustomRequestHandling)
		}
		if a.Count != nil {
			add(a.Count.CustomRequestHandling)
		}
	}
	var rules func([]waf.Rule)
	rules = func(rs []waf.Rule) {
		for i := range rs {
			r := &rs[i]
			action(r.Action)
			if r.OverrideAction != nil && r.OverrideAction.Count != nil {
				add(r.OverrideAction.Count.CustomRequestHandling)
			}
			if ref := r.Statement.RuleGroupReferenceStatement; ref != nil {
				for j := range ref.RuleActionOverrides {
					action(&ref.RuleActionOverrides[j].ActionToUse)
				}
				if g := groups[ref.ARN]; g != nil {
					rules(g.Rules)
				}
			}
			if m := r.Statement.ManagedRuleGroupStatement; m != nil {
				for j := range m.RuleActionOverrides {
					action(&m.RuleActionOverrides[j].ActionToUse)
				}
			}
		}
	}
	if acl.DefaultAction.Allow != nil {
		add(acl.DefaultAction.Allow.CustomRequestHandling)
	}
	rules(acl.Rules)
	slices.Sort(names)
	return names
}
