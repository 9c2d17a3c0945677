package analyze

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/lockgate/lockgate/internal/jsontree"
)

// Scope is the traffic a recommendation was computed from when filters
// narrowed the analysis (--uri-prefix, --method, --country): the proposed
// rule carries it as its ScopeDownStatement, so that it limits exactly
// the requests its peak was counted over. A limit computed from /cart's
// requests and applied to every request would block most of the site.
type Scope struct {
	URIPrefix string `json:"uri_prefix,omitempty"`
	Method    string `json:"method,omitempty"`  // upper case
	Country   string `json:"country,omitempty"` // ISO 3166 alpha-2, upper case
}

// scopeOf is the scope of the analysis's filters, or why no rule can be
// proposed from it.
func scopeOf(o Options) (*Scope, string) {
	if o.Action != "" {
		return nil, fmt.Sprintf("no rules are proposed with --action %s: it selects requests by what the current web ACL did to them, which no rule statement can express, so a limit computed from them cannot be scoped to them; analyze without --action to get rules", o.Action)
	}
	if o.URIPrefix == "" && o.Method == "" && o.Country == "" {
		return nil, ""
	}
	s := &Scope{URIPrefix: o.URIPrefix, Method: strings.ToUpper(o.Method), Country: strings.ToUpper(o.Country)}
	if c := s.Country; c != "" && (len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z') {
		return nil, fmt.Sprintf("no rules are proposed with --country %s: a GeoMatchStatement takes ISO 3166 country codes, so a limit computed from these requests cannot be scoped to them", o.Country)
	}
	if len(s.URIPrefix) > maxSearchString {
		return nil, fmt.Sprintf("no rules are proposed with --uri-prefix of %d bytes: AWS's SearchString holds at most %d", len(s.URIPrefix), maxSearchString)
	}
	return s, ""
}

// String names the scope as the flags did.
func (s *Scope) String() string {
	if s == nil {
		return ""
	}
	var parts []string
	if s.URIPrefix != "" {
		parts = append(parts, "URIs starting with "+s.URIPrefix)
	}
	if s.Method != "" {
		parts = append(parts, "method "+s.Method)
	}
	if s.Country != "" {
		parts = append(parts, "country "+s.Country)
	}
	return strings.Join(parts, ", ")
}

// nameSuffix is what the scope adds to a rule name.
func (s *Scope) nameSuffix() string {
	if s == nil {
		return ""
	}
	return strings.Join([]string{s.URIPrefix, s.Method, s.Country}, " ")
}

// statements are the conditions a recommendation's requests meet: its
// own URI prefix and the scope's filters, as WAFv2 statements. The
// scope's prefix is left out when the rule's own prefix implies it.
func (rec Recommendation) statements() []statementJSON {
	var out []statementJSON
	uri := func(p string) statementJSON {
		return statementJSON{ByteMatchStatement: &byteMatchJSON{FieldToMatch: map[string]any{"UriPath": struct{}{}}, PositionalConstraint: "STARTS_WITH",
			SearchString: p, TextTransformations: []textTransf{{Type: "NONE", Priority: 0}}}}
	}
	s := rec.Scope
	if s != nil && s.URIPrefix != "" && (rec.URIPrefix == nil || !strings.HasPrefix(*rec.URIPrefix, s.URIPrefix)) {
		out = append(out, uri(s.URIPrefix))
	}
	if rec.URIPrefix != nil {
		out = append(out, uri(*rec.URIPrefix))
	}
	if s != nil && s.Method != "" {
		// The filter compares without case; so does the rule.
		out = append(out, statementJSON{ByteMatchStatement: &byteMatchJSON{FieldToMatch: map[string]any{"Method": struct{}{}}, PositionalConstraint: "EXACTLY",
			SearchString: strings.ToLower(s.Method), TextTransformations: []textTransf{{Type: "LOWERCASE", Priority: 0}}}})
	}
	if s != nil && s.Country != "" {
		out = append(out, statementJSON{GeoMatchStatement: &geoMatchJSON{CountryCodes: []string{s.Country}}})
	}
	return out
}

// scopeDown is the recommendation's ScopeDownStatement, nil for none.
func (rec Recommendation) scopeDown() *statementJSON {
	switch st := rec.statements(); len(st) {
	case 0:
		return nil
	case 1:
		return &st[0]
	default:
		return &statementJSON{AndStatement: &andJSON{Statements: st}}
	}
}

// shape is a canonical text of the conditions a recommendation's
// requests meet; ruleShape is the same for a rule of a web ACL file
// ("?" when it has a condition lockgate does not propose). Apply updates
// a rule only when the shapes are equal.
func (rec Recommendation) shape() string {
	var parts []string
	for _, st := range rec.statements() {
		parts = append(parts, statementShape(st.ByteMatchStatement, st.GeoMatchStatement))
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

func statementShape(bm *byteMatchJSON, geo *geoMatchJSON) string {
	switch {
	case bm != nil:
		field := "?"
		for f := range bm.FieldToMatch {
			field = f
		}
		search := bm.SearchString
		if field == "Method" {
			search = strings.ToLower(search)
		}
		return field + " " + bm.PositionalConstraint + " " + search
	case geo != nil:
		c := slices.Clone(geo.CountryCodes)
		slices.Sort(c)
		return "Geo " + strings.Join(c, ",")
	}
	return "?"
}

func ruleShape(rb *jsontree.Node, base64Search bool) string {
	scope := rb.Get("ScopeDownStatement")
	if scope == nil {
		return ""
	}
	var parts []string
	var walk func(n *jsontree.Node) bool
	walk = func(n *jsontree.Node) bool {
		if n == nil || n.Kind != jsontree.Object || len(n.Keys) != 1 {
			return false
		}
		st := n.Vals[0]
		switch n.Keys[0] {
		case "AndStatement":
			list := st.Get("Statements")
			if list == nil || list.Kind != jsontree.Array {
				return false
			}
			for _, s := range list.Vals {
				if !walk(s) {
					return false
				}
			}
			return true
		case "ByteMatchStatement":
			f, pc, ss := st.Get("FieldToMatch"), st.Get("PositionalConstraint"), st.Get("SearchString")
			if f == nil || f.Kind != jsontree.Object || len(f.Keys) != 1 || pc == nil || ss == nil {
				return false
			}
			search := ss.Str
			if base64Search {
				b, err := base64.StdEncoding.DecodeString(search)
				if err != nil {
					return false
				}
				search = string(b)
			}
			if f.Keys[0] == "Method" && !lowercased(st) {
				return false // a case-sensitive method match is another rule
			}
			parts = append(parts, statementShape(&byteMatchJSON{FieldToMatch: map[string]any{f.Keys[0]: nil}, PositionalConstraint: pc.Str, SearchString: search}, nil))
			return true
		case "GeoMatchStatement":
			cc := st.Get("CountryCodes")
			if cc == nil || cc.Kind != jsontree.Array || st.Get("ForwardedIPConfig") != nil {
				return false
			}
			g := &geoMatchJSON{}
			for _, c := range cc.Vals {
				g.CountryCodes = append(g.CountryCodes, c.Str)
			}
			parts = append(parts, statementShape(nil, g))
			return true
		}
		return false
	}
	if !walk(scope) {
		return "?"
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

// lowercased reports whether a ByteMatchStatement lowercases what it
// inspects (and nothing else).
func lowercased(bm *jsontree.Node) bool {
	tt := bm.Get("TextTransformations")
	return tt != nil && tt.Kind == jsontree.Array && len(tt.Vals) == 1 && tt.Vals[0].Get("Type") != nil && tt.Vals[0].Get("Type").Str == "LOWERCASE"
}

// uniqueNames makes the recommendations' names distinct (two prefixes
// such as /wp-login.php and /wp-login-php give one name), each within
// AWS's Name pattern ^[\w\-]+$ and 128 characters.
func uniqueNames(recs []Recommendation) {
	seen := map[string]bool{}
	for i := range recs {
		name := recs[i].Name
		for n := 2; seen[name]; n++ {
			suffix := fmt.Sprintf("-%d", n)
			name = recs[i].Name[:min(len(recs[i].Name), 128-len(suffix))] + suffix
		}
		seen[name] = true
		recs[i].Name = name
	}
}
