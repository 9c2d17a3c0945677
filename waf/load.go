package waf

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/lockgate/lockgate/internal/jsontree"
	"github.com/lockgate/lockgate/problem"
)

// Limits on what Load reads.
const (
	MaxDocumentBytes = 4 << 20
	maxDepth         = 40
	// MaxSearchStringBytes is AWS's limit on a ByteMatch search string.
	MaxSearchStringBytes = 200
)

// Error is one problem, with the JSON path where it is.
type Error = problem.Problem

// Errors is every problem found.
type Errors = problem.List

type validator struct {
	errs   Errors
	bodies map[string]CustomResponseBody // of the rules being checked
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// reported reports whether a problem was found at path or inside it: a
// later check that would refuse the same member again (an unknown
// statement is also unimplemented, and dropped by decoding) stays quiet,
// so that one mistake is one problem.
func (v *validator) reported(path string) bool {
	for _, e := range v.errs {
		if rest, ok := strings.CutPrefix(e.Path, path); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return true
		}
	}
	return false
}

// Format says how a document was written.
type Format string

// The formats Load recognises.
const (
	FormatWebACL   Format = "WebACL"           // a WebACL object
	FormatEnvelope Format = "get-web-acl"      // {"WebACL": …, "LockToken": …}
	FormatRule     Format = "rule"             // one rule, as the console's JSON editor shows it
	FormatRules    Format = "rules"            // a Rules array
	defaultName           = "lockgate-web-acl" // name given to bare rules
	defaultMetric         = "lockgate-web-acl"
)

// LoadOptions change how Load reads a document.
type LoadOptions struct {
	// SearchStringBase64 reads every SearchString as base64, as AWS's API
	// writes it. The get-web-acl envelope always is; a WebACL object, a
	// bare rule and a Rules array are read as plain text (the console's
	// JSON editor) unless this is set.
	SearchStringBase64 bool
}

// Load reads and validates a web ACL document. Bare rules and Rules
// arrays get a web ACL named lockgate-web-acl whose default action is
// Allow.
func Load(data []byte, opts LoadOptions) (*WebACL, Format, error) {
	root, err := jsontree.Decode(data, MaxDocumentBytes, maxDepth)
	if err != nil {
		return nil, "", jsontree.Problems(err)
	}
	v := &validator{}
	var acl *jsontree.Node
	var format Format
	base64Search := opts.SearchStringBase64
	path := ""
	switch {
	case root.Kind == jsontree.Array:
		format = FormatRules
		acl = &jsontree.Node{Kind: jsontree.Object, Keys: []string{"Name", "DefaultAction", "VisibilityConfig", "Rules"},
			Vals: []*jsontree.Node{str(defaultName), obj("Allow", obj()), visibility(), root}}
	case root.Kind == jsontree.Object && root.Get("WebACL") != nil:
		format, acl, path, base64Search = FormatEnvelope, root.Get("WebACL"), "WebACL", true
		for _, k := range root.Keys {
			if k != "WebACL" && k != "LockToken" && k != "ApplicationIntegrationURL" {
				v.errorf(k, "unknown member of the get-web-acl answer")
			}
		}
	case root.Kind == jsontree.Object && root.Get("Statement") != nil:
		format = FormatRule
		acl = &jsontree.Node{Kind: jsontree.Object, Keys: []string{"Name", "DefaultAction", "VisibilityConfig", "Rules"},
			Vals: []*jsontree.Node{str(defaultName), obj("Allow", obj()), visibility(), {Kind: jsontree.Array, Vals: []*jsontree.Node{root}}}}
	case root.Kind == jsontree.Object:
		format, acl = FormatWebACL, root
	default:
		return nil, "", Errors{{Msg: "a web ACL document is an object or a list of rules, not " + root.KindName()}}
	}
	if acl.Kind != jsontree.Object {
		return nil, format, Errors{{Path: path, Msg: "must be an object"}}
	}
	v.normalizeSearchStrings(acl, path, base64Search)
	v.checkShape(acl, "WebACL", path)
	// Go on after the model's complaints when the document still decodes,
	// so that one run reports every problem.
	var w WebACL
	if err := json.Unmarshal(mustMarshal(acl), &w); err != nil {
		if len(v.errs) > 0 {
			return nil, format, v.errs
		}
		return nil, format, Errors{{Path: path, Msg: err.Error()}}
	}
	v.checkWebACL(&w, acl, path)
	v.checkDropped(acl, &w, path)
	if len(v.errs) > 0 {
		return nil, format, v.errs
	}
	return &w, format, nil
}

// LoadRuleGroup reads and validates a rule group: a RuleGroup object (its
// SearchStrings plain text unless opts say base64) or the answer of
// aws wafv2 get-rule-group (base64).
func LoadRuleGroup(data []byte, opts LoadOptions) (*RuleGroup, error) {
	root, err := jsontree.Decode(data, MaxDocumentBytes, maxDepth)
	if err != nil {
		return nil, jsontree.Problems(err)
	}
	if root.Kind != jsontree.Object {
		return nil, Errors{{Msg: "a rule group document is an object, not " + root.KindName()}}
	}
	v := &validator{}
	n, path, base64Search := root, "", opts.SearchStringBase64
	if g := root.Get("RuleGroup"); g != nil {
		n, path, base64Search = g, "RuleGroup", true
		for _, k := range root.Keys {
			if k != "RuleGroup" && k != "LockToken" {
				v.errorf(k, "unknown member of the get-rule-group answer")
			}
		}
		if n.Kind != jsontree.Object {
			return nil, Errors{{Path: path, Msg: "must be an object"}}
		}
	}
	v.normalizeSearchStrings(n, path, base64Search)
	v.checkShape(n, "RuleGroup", path)
	var g RuleGroup
	if err := json.Unmarshal(mustMarshal(n), &g); err != nil {
		if len(v.errs) > 0 {
			return nil, v.errs
		}
		return nil, Errors{{Path: path, Msg: err.Error()}}
	}
	v.checkRules(g.CustomResponseBodies, g.Rules, n.Get("Rules"), jsontree.Key(path, "Rules"), true)
	if g.LabelNamespace != "" && !strings.HasSuffix(g.LabelNamespace, ":") {
		v.errorf(jsontree.Key(path, "LabelNamespace"), "%q: a label namespace ends with ':'", g.LabelNamespace)
	}
	v.checkDropped(n, &g, path)
	if len(v.errs) == 0 && g.Capacity > 0 {
		if wcu := ruleCapacity(g.Rules, nil); wcu > g.Capacity {
			v.errorf(jsontree.Key(path, "Capacity"), "the rules need %d WCUs, more than the group's capacity %d", wcu, g.Capacity)
		}
	}
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return &g, nil
}

// checkDropped refuses members the model allows but lockgate's types do
// not carry: decoding would drop them silently, and a setting ignored is
// protection weakened. It compares the document with its typed form.
func (v *validator) checkDropped(in *jsontree.Node, typed any, path string) {
	b, err := json.Marshal(typed)
	if err != nil {
		v.errorf(path, "%v", err)
		return
	}
	out, err := jsontree.Decode(b, len(b)+1, 4*maxDepth)
	if err != nil {
		v.errorf(path, "%v", err)
		return
	}
	v.dropped(in, out, path)
}

func (v *validator) dropped(in, out *jsontree.Node, path string) {
	switch {
	case in.Kind == jsontree.Object && out.Kind == jsontree.Object:
		for i, k := range in.Keys {
			o := out.Get(k)
			if o == nil {
				if kp := jsontree.Key(path, k); !emptyValue(in.Vals[i]) && !v.reported(kp) {
					v.errorf(kp, "%s is not implemented by lockgate yet: refused rather than ignored", k)
				}
				continue
			}
			v.dropped(in.Vals[i], o, jsontree.Key(path, k))
		}
	case in.Kind == jsontree.Array && out.Kind == jsontree.Array:
		for i := range min(len(in.Vals), len(out.Vals)) {
			v.dropped(in.Vals[i], out.Vals[i], jsontree.Index(path, i))
		}
	}
}

// emptyValue: a member whose value is its zero (omitted when encoded).
func emptyValue(n *jsontree.Node) bool {
	switch n.Kind {
	case jsontree.Null:
		return true
	case jsontree.String:
		return n.Str == ""
	case jsontree.Number:
		return n.Str == "0"
	case jsontree.Bool:
		return !n.Bool
	case jsontree.Array:
		return len(n.Vals) == 0
	}
	return false
}

func str(s string) *jsontree.Node { return &jsontree.Node{Kind: jsontree.String, Str: s} }

func obj(kv ...any) *jsontree.Node {
	n := &jsontree.Node{Kind: jsontree.Object}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Keys = append(n.Keys, kv[i].(string))
		n.Vals = append(n.Vals, kv[i+1].(*jsontree.Node))
	}
	return n
}

func visibility() *jsontree.Node {
	return obj("SampledRequestsEnabled", &jsontree.Node{Kind: jsontree.Bool, Str: "false"},
		"CloudWatchMetricsEnabled", &jsontree.Node{Kind: jsontree.Bool, Str: "false"},
		"MetricName", str(defaultMetric))
}

// mustMarshal writes a tree back to JSON (for encoding/json to decode
// into the typed structs once it has been validated).
func mustMarshal(n *jsontree.Node) []byte {
	var b strings.Builder
	var write func(n *jsontree.Node)
	write = func(n *jsontree.Node) {
		switch n.Kind {
		case jsontree.Object:
			b.WriteByte('{')
			for i, k := range n.Keys {
				if i > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				write(n.Vals[i])
			}
			b.WriteByte('}')
		case jsontree.Array:
			b.WriteByte('[')
			for i, e := range n.Vals {
				if i > 0 {
					b.WriteByte(',')
				}
				write(e)
			}
			b.WriteByte(']')
		case jsontree.String:
			sb, _ := json.Marshal(n.Str)
			b.Write(sb)
		case jsontree.Null:
			b.WriteString("null")
		default:
			b.WriteString(n.Str)
		}
	}
	write(n)
	return []byte(b.String())
}

// normalizeSearchStrings makes every ByteMatch SearchString plain text:
// it decodes base64 (API format, or CloudFormation's SearchStringBase64)
// and checks AWS's 200-byte limit.
func (v *validator) normalizeSearchStrings(n *jsontree.Node, path string, base64Search bool) {
	switch n.Kind {
	case jsontree.Array:
		for i, e := range n.Vals {
			v.normalizeSearchStrings(e, jsontree.Index(path, i), base64Search)
		}
	case jsontree.Object:
		for i, k := range n.Keys {
			p := jsontree.Key(path, k)
			if k == "ByteMatchStatement" && n.Vals[i].Kind == jsontree.Object {
				v.normalizeByteMatch(n.Vals[i], p, base64Search)
			}
			v.normalizeSearchStrings(n.Vals[i], p, base64Search)
		}
	}
}

func (v *validator) normalizeByteMatch(bm *jsontree.Node, path string, base64Search bool) {
	plain, b64 := bm.Get("SearchString"), bm.Get("SearchStringBase64")
	var raw []byte
	switch {
	case plain != nil && b64 != nil:
		v.errorf(path, "has both SearchString and SearchStringBase64; use one")
		return
	case b64 != nil:
		if b64.Kind != jsontree.String {
			v.errorf(jsontree.Key(path, "SearchStringBase64"), "must be a string")
			return
		}
		var err error
		if raw, err = base64.StdEncoding.DecodeString(b64.Str); err != nil {
			v.errorf(jsontree.Key(path, "SearchStringBase64"), "%q is not base64", b64.Str)
			return
		}
		for i, k := range bm.Keys {
			if k == "SearchStringBase64" {
				bm.Keys[i] = "SearchString"
			}
		}
		plain = b64
	case plain == nil || plain.Kind != jsontree.String:
		return // the model check reports it
	case base64Search:
		var err error
		if raw, err = base64.StdEncoding.DecodeString(plain.Str); err != nil {
			v.errorf(jsontree.Key(path, "SearchString"), "%q is not base64 (the API and get-web-acl write SearchString in base64)", plain.Str)
			return
		}
	default:
		raw = []byte(plain.Str) // the console's plain text, as UTF-8
	}
	if len(raw) == 0 || len(raw) > MaxSearchStringBytes {
		v.errorf(jsontree.Key(path, "SearchString"), "is %d bytes; AWS allows 1 to %d", len(raw), MaxSearchStringBytes)
	}
	// From here on the search string is base64, as the API's blob is:
	// any byte from 0x00 to 0xFF survives the typed decoding.
	plain.Str = base64.StdEncoding.EncodeToString(raw)
}

var validWindows = map[int64]bool{60: true, 120: true, 300: true, 600: true}

// implemented lists what lockgate evaluates; anything else the model
// allows is refused at load rather than ignored.
var (
	implementedStatements = map[string]bool{"ByteMatchStatement": true, "RegexMatchStatement": true, "SizeConstraintStatement": true,
		"GeoMatchStatement": true, "IPSetReferenceStatement": true, "LabelMatchStatement": true, "AndStatement": true,
		"OrStatement": true, "NotStatement": true, "RateBasedStatement": true, "ManagedRuleGroupStatement": true,
		"RuleGroupReferenceStatement": true, "RegexPatternSetReferenceStatement": true, "SqliMatchStatement": true, "XssMatchStatement": true}
	implementedFields = map[string]bool{"UriPath": true, "QueryString": true, "Method": true, "AllQueryArguments": true,
		"SingleHeader": true, "SingleQueryArgument": true, "Body": true, "UriFragment": true, "JsonBody": true,
		"Headers": true, "Cookies": true, "HeaderOrder": true}
)

// checkWebACL checks what the model cannot express.
func (v *validator) checkWebACL(w *WebACL, n *jsontree.Node, path string) {
	if w.DefaultAction.Allow == nil == (w.DefaultAction.Block == nil) {
		v.errorf(jsontree.Key(path, "DefaultAction"), "must be exactly one of Allow and Block")
	}
	if w.DefaultAction.Block != nil {
		v.checkCustomResponse(w.CustomResponseBodies, w.DefaultAction.Block.CustomResponse, jsontree.Key(jsontree.Key(path, "DefaultAction"), "Block"))
	}
	rulesPath := jsontree.Key(path, "Rules")
	v.checkRules(w.CustomResponseBodies, w.Rules, n.Get("Rules"), rulesPath, false)
}

// checkRules checks a web ACL's or, inGroup, a rule group's rules;
// bodies are the custom response bodies their Block actions may name.
func (v *validator) checkRules(bodies map[string]CustomResponseBody, rules []Rule, n *jsontree.Node, path string, inGroup bool) {
	v.bodies = bodies
	priorities := map[int64]string{}
	names := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		rp := jsontree.Index(path, i)
		if prev, dup := priorities[r.Priority]; dup {
			v.errorf(jsontree.Key(rp, "Priority"), "%d is also the priority of rule %q; priorities must be unique", r.Priority, prev)
		}
		priorities[r.Priority] = r.Name
		if names[r.Name] {
			v.errorf(jsontree.Key(rp, "Name"), "%q names two rules; names must be unique", r.Name)
		}
		names[r.Name] = true
		group := r.Statement.ManagedRuleGroupStatement != nil || r.Statement.RuleGroupReferenceStatement != nil
		switch {
		case r.Action != nil && r.OverrideAction != nil:
			v.errorf(rp, "has both Action and OverrideAction; a rule has exactly one")
		case group && r.Action != nil:
			v.errorf(jsontree.Key(rp, "Action"), "a rule group reference takes OverrideAction, not Action")
		case !group && r.OverrideAction != nil:
			v.errorf(jsontree.Key(rp, "OverrideAction"), "only rule group references take OverrideAction; use Action")
		case group && r.OverrideAction == nil:
			v.errorf(rp, "a rule group reference needs OverrideAction (None or Count)")
		case !group && r.Action == nil:
			v.errorf(rp, "needs an Action")
		}
		if r.Action != nil {
			v.checkAction(bodies, r.Action, jsontree.Key(rp, "Action"))
		}
		if r.OverrideAction != nil && (r.OverrideAction.None == nil) == (r.OverrideAction.Count == nil) {
			v.errorf(jsontree.Key(rp, "OverrideAction"), "must be exactly one of None and Count")
		}
		if group && len(r.RuleLabels) > 0 {
			// Rule.RuleLabels: "Any rule that isn't a rule group
			// reference statement or managed rule group statement can
			// add labels to matching web requests."
			v.errorf(jsontree.Key(rp, "RuleLabels"), "a rule group reference or managed rule group cannot add labels; its rules add their own")
		}
		for j, l := range r.RuleLabels {
			v.checkLabel(l.Name, jsontree.Index(jsontree.Key(rp, "RuleLabels"), j)+".Name")
		}
		var sn *jsontree.Node
		if n != nil && i < len(n.Vals) {
			sn = n.Vals[i].Get("Statement")
		}
		if inGroup && group {
			v.errorf(jsontree.Key(rp, "Statement"), "a rule group cannot contain rule group references or managed rule groups")
			continue
		}
		v.checkStatement(&r.Statement, sn, jsontree.Key(rp, "Statement"), 0)
	}
}

var labelPart = regexp.MustCompile(`^[0-9A-Za-z_\-]+$`)

// AWS's limits on a rule's label (Rule.RuleLabels).
const (
	maxLabelPart       = 128
	maxLabelNamespaces = 5
)

// checkLabel: parts of letters, digits, _ and - separated by colons, as
// Rule.RuleLabels says: "Each namespace or name can have up to 128
// characters. You can specify up to 5 namespaces in a label." AWS
// reserves some words as the first part.
func (v *validator) checkLabel(name, path string) {
	parts := strings.Split(name, ":")
	for _, part := range parts {
		if !labelPart.MatchString(part) {
			v.errorf(path, "%q: label parts are letters, digits, _ and -, separated by :", name)
			return
		}
		if len(part) > maxLabelPart {
			v.errorf(path, "%q: the part %.20q… has %d characters, more than AWS's %d", name, part, len(part), maxLabelPart)
			return
		}
	}
	if len(parts)-1 > maxLabelNamespaces {
		v.errorf(path, "%q has %d namespaces, more than AWS's %d", name, len(parts)-1, maxLabelNamespaces)
		return
	}
	first := strings.ToLower(strings.SplitN(name, ":", 2)[0])
	for _, reserved := range []string{"awswaf", "aws", "waf", "rulegroup", "webacl", "regexpatternset", "ipset", "managed"} {
		if first == reserved {
			v.errorf(path, "%q: %q is reserved by AWS WAF", name, reserved)
			return
		}
	}
}

func (v *validator) checkAction(bodies map[string]CustomResponseBody, a *RuleAction, path string) {
	n := 0
	for _, set := range []bool{a.Allow != nil, a.Block != nil, a.Count != nil, a.Captcha != nil, a.Challenge != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.errorf(path, "must be exactly one of Allow, Block, Count, Captcha and Challenge")
		return
	}
	switch {
	case a.Captcha != nil:
		v.errorf(jsontree.Key(path, "Captcha"), "CAPTCHA is not implemented by lockgate yet: refused rather than ignored")
	case a.Challenge != nil:
		v.errorf(jsontree.Key(path, "Challenge"), "Challenge is not implemented by lockgate yet: refused rather than ignored")
	case a.Block != nil:
		v.checkCustomResponse(bodies, a.Block.CustomResponse, jsontree.Key(path, "Block"))
	}
}

func (v *validator) checkCustomResponse(bodies map[string]CustomResponseBody, cr *CustomResponse, path string) {
	if cr == nil || cr.CustomResponseBodyKey == "" {
		return
	}
	if _, ok := bodies[cr.CustomResponseBodyKey]; !ok {
		v.errorf(jsontree.Key(jsontree.Key(path, "CustomResponse"), "CustomResponseBodyKey"), "%q is not a key of the web ACL's CustomResponseBodies", cr.CustomResponseBodyKey)
	}
}

// checkStatement: exactly one member, implemented, with its own rules.
// depth 0 is a rule's own statement, where rate-based and rule group
// statements may stand.
func (v *validator) checkStatement(s *Statement, n *jsontree.Node, path string, depth int) {
	if n == nil || n.Kind != jsontree.Object {
		return
	}
	if len(n.Keys) != 1 {
		v.errorf(path, "must have exactly one statement, not %d", len(n.Keys))
		return
	}
	kind := n.Keys[0]
	sp := jsontree.Key(path, kind)
	if !implementedStatements[kind] {
		if !v.reported(sp) { // an unknown member: not a statement at all
			v.errorf(sp, "%s is not implemented by lockgate yet: refused rather than ignored", kind)
		}
		return
	}
	if depth > 0 && (kind == "RateBasedStatement" || kind == "ManagedRuleGroupStatement" || kind == "RuleGroupReferenceStatement") {
		v.errorf(sp, "a %s can only be a rule's own statement, not nested", kind)
		return
	}
	body := n.Vals[0]
	if body.Get("PreParseTextTransformations") != nil {
		v.errorf(jsontree.Key(sp, "PreParseTextTransformations"), "PreParseTextTransformations is not implemented by lockgate yet: refused rather than ignored")
	}
	switch {
	case s.RegexPatternSetReferenceStatement != nil:
		v.checkField(&s.RegexPatternSetReferenceStatement.FieldToMatch, body.Get("FieldToMatch"), jsontree.Key(sp, "FieldToMatch"))
		v.checkTransforms(s.RegexPatternSetReferenceStatement.TextTransformations, jsontree.Key(sp, "TextTransformations"))
	case s.SqliMatchStatement != nil:
		if s.SqliMatchStatement.SensitivityLevel == "" {
			s.SqliMatchStatement.SensitivityLevel = "LOW" // AWS's default
		}
		v.checkField(&s.SqliMatchStatement.FieldToMatch, body.Get("FieldToMatch"), jsontree.Key(sp, "FieldToMatch"))
		v.checkTransforms(s.SqliMatchStatement.TextTransformations, jsontree.Key(sp, "TextTransformations"))
	case s.XssMatchStatement != nil:
		v.checkField(&s.XssMatchStatement.FieldToMatch, body.Get("FieldToMatch"), jsontree.Key(sp, "FieldToMatch"))
		v.checkTransforms(s.XssMatchStatement.TextTransformations, jsontree.Key(sp, "TextTransformations"))
	case s.ByteMatchStatement != nil:
		v.checkField(&s.ByteMatchStatement.FieldToMatch, body.Get("FieldToMatch"), jsontree.Key(sp, "FieldToMatch"))
		v.checkTransforms(s.ByteMatchStatement.TextTransformations, jsontree.Key(sp, "TextTransformations"))
	case s.RegexMatchStatement != nil:
		if _, err := regexp.Compile(s.RegexMatchStatement.RegexString); err != nil {
			v.errorf(jsontree.Key(sp, "RegexString"), "not a regular expression lockgate can run (RE2): %v", err)
		}
		v.checkField(&s.RegexMatchStatement.FieldToMatch, body.Get("FieldToMatch"), jsontree.Key(sp, "FieldToMatch"))
		v.checkTransforms(s.RegexMatchStatement.TextTransformations, jsontree.Key(sp, "TextTransformations"))
	case s.SizeConstraintStatement != nil:
		v.checkField(&s.SizeConstraintStatement.FieldToMatch, body.Get("FieldToMatch"), jsontree.Key(sp, "FieldToMatch"))
		v.checkTransforms(s.SizeConstraintStatement.TextTransformations, jsontree.Key(sp, "TextTransformations"))
	case s.AndStatement != nil, s.OrStatement != nil:
		c := s.AndStatement
		if c == nil {
			c = s.OrStatement
		}
		list := body.Get("Statements")
		for i := range c.Statements {
			v.checkStatement(&c.Statements[i], list.Vals[i], jsontree.Index(jsontree.Key(sp, "Statements"), i), depth+1)
		}
	case s.NotStatement != nil:
		v.checkStatement(&s.NotStatement.Statement, body.Get("Statement"), jsontree.Key(sp, "Statement"), depth+1)
	case s.LabelMatchStatement != nil:
		if s.LabelMatchStatement.Scope == "NAMESPACE" && !strings.HasSuffix(s.LabelMatchStatement.Key, ":") {
			v.errorf(jsontree.Key(sp, "Key"), "%q: a NAMESPACE key ends with ':'", s.LabelMatchStatement.Key)
		}
	case s.RateBasedStatement != nil:
		v.checkRateBased(s.RateBasedStatement, body, sp)
	case s.ManagedRuleGroupStatement != nil:
		m := s.ManagedRuleGroupStatement
		if _, ok := managedGroups[managedKey(m.VendorName, m.Name)]; !ok {
			v.errorf(sp, "managed rule group %s/%s is not one lockgate provides (it has %s)", m.VendorName, m.Name, managedGroupList())
		}
		if len(m.ManagedRuleGroupConfigs) > 0 {
			v.errorf(jsontree.Key(sp, "ManagedRuleGroupConfigs"), "lockgate's managed groups take no configuration: refused rather than ignored")
		}
		if m.Version != "" {
			v.errorf(jsontree.Key(sp, "Version"), "lockgate's managed groups have one version, the IP-set files you give: remove Version")
		}
		g := managedGroups[managedKey(m.VendorName, m.Name)]
		for i, x := range m.ExcludedRules {
			if x.Name != g.rule {
				v.errorf(jsontree.Key(jsontree.Index(jsontree.Key(sp, "ExcludedRules"), i), "Name"), "%q is not a rule of %s/%s (its rule is %s)", x.Name, m.VendorName, m.Name, g.rule)
			}
		}
		for i, o := range m.RuleActionOverrides {
			p := jsontree.Index(jsontree.Key(sp, "RuleActionOverrides"), i)
			if o.Name != g.rule {
				v.errorf(jsontree.Key(p, "Name"), "%q is not a rule of %s/%s (its rule is %s)", o.Name, m.VendorName, m.Name, g.rule)
			}
			v.checkAction(v.bodies, &o.ActionToUse, jsontree.Key(p, "ActionToUse"))
		}
		if m.ScopeDownStatement != nil {
			v.checkStatement(m.ScopeDownStatement, body.Get("ScopeDownStatement"), jsontree.Key(sp, "ScopeDownStatement"), depth+1)
		}
	}
}

func (v *validator) checkRateBased(r *RateBasedStatement, body *jsontree.Node, path string) {
	if r.EvaluationWindowSec != 0 && !validWindows[r.EvaluationWindowSec] {
		v.errorf(jsontree.Key(path, "EvaluationWindowSec"), "%d is not 60, 120, 300 or 600", r.EvaluationWindowSec)
	}
	switch r.AggregateKeyType {
	case "CONSTANT":
		if r.ScopeDownStatement == nil {
			v.errorf(path, "AggregateKeyType CONSTANT needs a ScopeDownStatement")
		}
	case "FORWARDED_IP":
		if r.ForwardedIPConfig == nil {
			v.errorf(path, "AggregateKeyType FORWARDED_IP needs a ForwardedIPConfig")
		}
	case "CUSTOM_KEYS":
		v.checkCustomKeys(r, body.Get("CustomKeys"), jsontree.Key(path, "CustomKeys"))
	}
	if r.AggregateKeyType != "CUSTOM_KEYS" && len(r.CustomKeys) > 0 {
		v.errorf(jsontree.Key(path, "CustomKeys"), "only with AggregateKeyType CUSTOM_KEYS")
	}
	forwardedKey := false
	for _, k := range r.CustomKeys {
		forwardedKey = forwardedKey || k.ForwardedIP != nil
	}
	if r.AggregateKeyType != "FORWARDED_IP" && !forwardedKey && r.ForwardedIPConfig != nil {
		v.errorf(jsontree.Key(path, "ForwardedIPConfig"), "only with AggregateKeyType FORWARDED_IP or a ForwardedIP custom key")
	}
	if r.ScopeDownStatement != nil {
		v.checkStatement(r.ScopeDownStatement, body.Get("ScopeDownStatement"), jsontree.Key(path, "ScopeDownStatement"), 1)
	}
}

// checkCustomKeys: one to five keys, each of one kind; IP and ForwardedIP
// only beside another key; ForwardedIP needs the ForwardedIPConfig.
func (v *validator) checkCustomKeys(r *RateBasedStatement, n *jsontree.Node, path string) {
	if len(r.CustomKeys) == 0 {
		v.errorf(path, "AggregateKeyType CUSTOM_KEYS needs at least one custom key")
		return
	}
	ipOnly := true
	for i, k := range r.CustomKeys {
		kp := jsontree.Index(path, i)
		kn := n.Vals[i]
		if len(kn.Keys) != 1 {
			v.errorf(kp, "must be exactly one kind of key, not %d", len(kn.Keys))
			continue
		}
		kind := kn.Keys[0]
		switch kind {
		case "ASN", "JA3Fingerprint", "JA4Fingerprint":
			v.errorf(jsontree.Key(kp, kind), "aggregating on %s is not implemented by lockgate yet: refused rather than ignored", kind)
		case "IP", "ForwardedIP":
		default:
			ipOnly = false
		}
		switch {
		case k.ForwardedIP != nil && r.ForwardedIPConfig == nil:
			v.errorf(jsontree.Key(kp, kind), "a ForwardedIP key needs the statement's ForwardedIPConfig")
		case k.LabelNamespace != nil && !strings.HasSuffix(k.LabelNamespace.Namespace, ":"):
			v.errorf(jsontree.Key(jsontree.Key(kp, kind), "Namespace"), "%q: a namespace ends with ':'", k.LabelNamespace.Namespace)
		case k.Header != nil:
			v.checkTransforms(k.Header.TextTransformations, jsontree.Key(jsontree.Key(kp, kind), "TextTransformations"))
		case k.Cookie != nil:
			v.checkTransforms(k.Cookie.TextTransformations, jsontree.Key(jsontree.Key(kp, kind), "TextTransformations"))
		case k.QueryArgument != nil:
			v.checkTransforms(k.QueryArgument.TextTransformations, jsontree.Key(jsontree.Key(kp, kind), "TextTransformations"))
		case k.QueryString != nil:
			v.checkTransforms(k.QueryString.TextTransformations, jsontree.Key(jsontree.Key(kp, kind), "TextTransformations"))
		case k.UriPath != nil:
			v.checkTransforms(k.UriPath.TextTransformations, jsontree.Key(jsontree.Key(kp, kind), "TextTransformations"))
		}
	}
	if ipOnly {
		v.errorf(path, "IP and ForwardedIP keys need another kind of key beside them (use AggregateKeyType IP or FORWARDED_IP instead)")
	}
}

func (v *validator) checkField(f *FieldToMatch, n *jsontree.Node, path string) {
	if n == nil || n.Kind != jsontree.Object {
		return
	}
	if len(n.Keys) != 1 {
		v.errorf(path, "must name exactly one request component, not %d", len(n.Keys))
		return
	}
	if !implementedFields[n.Keys[0]] {
		v.errorf(jsontree.Key(path, n.Keys[0]), "inspecting %s is not implemented by lockgate yet: refused rather than ignored", n.Keys[0])
	}
	if f.Body != nil && f.Body.OversizeHandling == "" {
		f.Body.OversizeHandling = "CONTINUE" // AWS's default
	}
	if f.UriFragment != nil && f.UriFragment.FallbackBehavior != "" {
		v.errorf(jsontree.Key(jsontree.Key(path, "UriFragment"), "FallbackBehavior"),
			"is not implemented by lockgate: AWS documents it only with the JSON body's text (%q), so what it does for a fragment is unknown; refused rather than guessed", "What AWS WAF should do if it fails to completely parse the JSON body")
	}
	fp := jsontree.Key(path, n.Keys[0])
	one := func(p string, set ...bool) {
		k := 0
		for _, b := range set {
			if b {
				k++
			}
		}
		if k != 1 {
			v.errorf(jsontree.Key(fp, "MatchPattern"), "must be exactly one of %s", p)
		}
	}
	switch {
	case f.JsonBody != nil:
		j := f.JsonBody
		one("All and IncludedPaths", j.MatchPattern.All != nil, j.MatchPattern.IncludedPaths != nil)
		if j.OversizeHandling == "" {
			j.OversizeHandling = "CONTINUE"
		}
	case f.Headers != nil:
		m := f.Headers.MatchPattern
		one("All, IncludedHeaders and ExcludedHeaders", m.All != nil, m.IncludedHeaders != nil, m.ExcludedHeaders != nil)
	case f.Cookies != nil:
		m := f.Cookies.MatchPattern
		one("All, IncludedCookies and ExcludedCookies", m.All != nil, m.IncludedCookies != nil, m.ExcludedCookies != nil)
	}
}

// MaxTextTransformations is AWS's quota of text transformations per rule
// statement (or custom aggregation key).
const MaxTextTransformations = 10

func (v *validator) checkTransforms(ts []TextTransformation, path string) {
	if len(ts) > MaxTextTransformations {
		v.errorf(path, "has %d text transformations; AWS allows at most %d per statement", len(ts), MaxTextTransformations)
	}
	seen := map[int64]bool{}
	for i, t := range ts {
		tp := jsontree.Index(path, i)
		if seen[t.Priority] {
			v.errorf(jsontree.Key(tp, "Priority"), "%d is used twice; transformation priorities must differ", t.Priority)
		}
		seen[t.Priority] = true
		if !transformImplemented(t.Type) {
			v.errorf(jsontree.Key(tp, "Type"), "%s is not implemented by lockgate yet: refused rather than ignored", t.Type)
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Priority < ts[j].Priority })
}
