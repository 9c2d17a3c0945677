package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/jsontree"
	"github.com/lockgate/lockgate/waf"
)

// ApplyResult says what Apply changed.
type ApplyResult struct {
	Backup  string   // the copy of the file as it was
	Updated []string // rules whose limit was changed in place
	Added   []string // rules added
}

// Apply writes recommendations into a web ACL file: a rule that already
// implements one (a rate-based IP rule with the same name, or of the same
// shape: no scope-down for the blanket rule, a STARTS_WITH UriPath match
// on the prefix for a URI rule) gets the new limit and window and keeps
// everything else; the others are added, URI rules before the blanket
// rule, and priorities are renumbered in the resulting order. The file
// keeps its format (WebACL, get-web-acl answer or Rules array, with
// SearchString in base64 where the format has it), is checked with the
// WAF loader before it replaces the old one (atomically, so that a
// watching gateway reloads a whole file), and the old one is kept beside
// it as FILE.TIMESTAMP.bak.
func Apply(path string, recs []Recommendation, count bool, now time.Time) (*ApplyResult, error) {
	// A web ACL file that is a symbolic link (a configuration directory
	// pointing at a shared copy) is updated where it lives: renaming over
	// the link would replace it with a file the other readers never see.
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	old, err := os.ReadFile(target)
	if err != nil {
		return nil, err
	}
	root, err := jsontree.Decode(old, waf.MaxDocumentBytes, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, _, err := waf.Load(old, waf.LoadOptions{}); err != nil {
		return nil, fmt.Errorf("%s does not load as it is; fix it first:\n%w", path, err)
	}
	rules, base64Search := rulesNode(root)
	if rules == nil {
		return nil, fmt.Errorf("%s: no Rules array (a web ACL, a get-web-acl answer or a Rules array)", path)
	}
	res := &ApplyResult{}
	var added []*jsontree.Node
	changedOrder := false
	for i, rec := range recs {
		n, err := findRule(rules, rec, base64Search)
		if err != nil {
			return nil, fmt.Errorf("%s: %w; %s is unchanged", path, err, path)
		}
		if n != nil {
			rb := n.Get("Statement").Get("RateBasedStatement")
			setMember(rb, "Limit", &jsontree.Node{Kind: jsontree.Number, Str: strconv.FormatInt(rec.Limit, 10)})
			setMember(rb, "EvaluationWindowSec", &jsontree.Node{Kind: jsontree.Number, Str: strconv.FormatInt(rec.WindowSeconds, 10)})
			res.Updated = append(res.Updated, n.Get("Name").Str)
			continue
		}
		raw := ruleJSONIn(rec, i, count, base64Search)
		n, err = jsontree.Decode(raw, waf.MaxDocumentBytes, 64)
		if err != nil {
			return nil, err
		}
		added = append(added, n)
		res.Added = append(res.Added, rec.Name)
		changedOrder = true
	}
	if changedOrder {
		ordered := orderRules(rules.Vals, added)
		for i, n := range ordered {
			setMember(n, "Priority", &jsontree.Node{Kind: jsontree.Number, Str: strconv.Itoa(i)})
		}
		rules.Vals = ordered
	}
	var out bytes.Buffer
	writeNode(&out, root, "")
	out.WriteByte('\n')
	if _, _, err := waf.Load(out.Bytes(), waf.LoadOptions{}); err != nil {
		return nil, fmt.Errorf("the web ACL with the new rules does not load, %s is unchanged:\n%w", path, err)
	}
	// The backup holds what the file held (a web ACL may name internal
	// addresses and paths): it gets the file's permissions, not the
	// umask's.
	res.Backup = path + "." + now.UTC().Format("20060102T150405Z") + ".bak"
	if err := writeAtomic(res.Backup, old, st.Mode().Perm()); err != nil {
		return nil, err
	}
	if err := writeAtomic(target, out.Bytes(), st.Mode().Perm()); err != nil {
		return nil, err
	}
	return res, nil
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// rulesNode finds the Rules array of a web ACL document.
func rulesNode(root *jsontree.Node) (rules *jsontree.Node, base64Search bool) {
	switch {
	case root.Kind == jsontree.Array:
		return root, false
	case root.Kind == jsontree.Object && root.Get("WebACL") != nil:
		if r := root.Get("WebACL").Get("Rules"); r != nil && r.Kind == jsontree.Array {
			return r, true // the API's answer: SearchString in base64
		}
	case root.Kind == jsontree.Object:
		if r := root.Get("Rules"); r != nil && r.Kind == jsontree.Array {
			return r, false
		}
		if root.Get("Statement") != nil {
			return nil, false // a single rule: nowhere to add
		}
	}
	return nil, false
}

// findRule finds the rule that implements a recommendation: a rate-based
// IP rule whose scope-down is the recommendation's conditions (none for
// the blanket rule, a STARTS_WITH UriPath match on the prefix for a URI
// rule, and the filters' conditions when the analysis was filtered). A
// rule of the recommendation's name must be that rule: a rule named
// UriBasedRule-api that limits /admin, or a BlanketRule keyed on
// forwarded IPs, is another rule, and giving it the /api limit or adding
// a second rule of its name would be wrong, so Apply refuses.
func findRule(rules *jsontree.Node, rec Recommendation, base64Search bool) (*jsontree.Node, error) {
	want := rec.shape()
	for i, n := range rules.Vals {
		if name := n.Get("Name"); name == nil || name.Str != rec.Name {
			continue
		}
		if rb := rateIP(n); rb != nil && ruleShape(rb, base64Search) == want {
			return n, nil
		}
		return nil, fmt.Errorf("the rule at Rules[%d] is named %s but does not do what the recommendation %s does (a rate-based rule keyed on the client IP, limiting %s): rename that rule, or apply to another file",
			i, rec.Name, rec.Name, describeShape(rec))
	}
	for _, n := range rules.Vals {
		if rb := rateIP(n); rb != nil && ruleShape(rb, base64Search) == want {
			return n, nil
		}
	}
	return nil, nil
}

func describeShape(rec Recommendation) string {
	if rec.URIPrefix == nil && rec.Scope == nil {
		return "every request"
	}
	var parts []string
	if rec.URIPrefix != nil {
		parts = append(parts, "URIs starting with "+*rec.URIPrefix)
	}
	if rec.Scope != nil {
		parts = append(parts, rec.Scope.String())
	}
	return strings.Join(parts, " within ")
}

// rateIP returns a rule's RateBasedStatement when it aggregates by IP.
func rateIP(rule *jsontree.Node) *jsontree.Node {
	st := rule.Get("Statement")
	if st == nil {
		return nil
	}
	rb := st.Get("RateBasedStatement")
	if rb == nil || rb.Get("AggregateKeyType") == nil || rb.Get("AggregateKeyType").Str != "IP" {
		return nil
	}
	return rb
}

// orderRules puts the new rules in: URI rules just before the first
// blanket (rate-based, no scope-down) rule, or at the end; a new blanket
// rule at the very end. Existing rules keep their order (by Priority).
func orderRules(existing, added []*jsontree.Node) []*jsontree.Node {
	out := slices.Clone(existing)
	prio := func(n *jsontree.Node) float64 {
		if p := n.Get("Priority"); p != nil {
			f, _ := strconv.ParseFloat(p.Str, 64)
			return f
		}
		return 0
	}
	slices.SortStableFunc(out, func(a, b *jsontree.Node) int {
		switch pa, pb := prio(a), prio(b); {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	blanketAt := func() int {
		for i, n := range out {
			if rb := rateIP(n); rb != nil && rb.Get("ScopeDownStatement") == nil {
				return i
			}
		}
		return len(out)
	}
	var blankets []*jsontree.Node
	for _, n := range added {
		if rateIP(n).Get("ScopeDownStatement") == nil {
			blankets = append(blankets, n)
			continue
		}
		i := blanketAt()
		out = slices.Insert(out, i, n)
	}
	return append(out, blankets...)
}

func setMember(obj *jsontree.Node, key string, v *jsontree.Node) {
	for i, k := range obj.Keys {
		if k == key {
			obj.Vals[i] = v
			return
		}
	}
	obj.Keys = append(obj.Keys, key)
	obj.Vals = append(obj.Vals, v)
}

// writeNode writes a tree as indented JSON, keys in their order.
func writeNode(b *bytes.Buffer, n *jsontree.Node, indent string) {
	in := indent + "  "
	switch n.Kind {
	case jsontree.Object:
		if len(n.Keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range n.Keys {
			b.WriteString(in)
			b.Write(mustJSON(k))
			b.WriteString(": ")
			writeNode(b, n.Vals[i], in)
			if i < len(n.Keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case jsontree.Array:
		if len(n.Vals) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, v := range n.Vals {
			b.WriteString(in)
			writeNode(b, v, in)
			if i < len(n.Vals)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case jsontree.String:
		b.Write(mustJSON(n.Str))
	case jsontree.Null:
		b.WriteString("null")
	default:
		b.WriteString(n.Str)
	}
}

// writeAtomic replaces a file by renaming a complete copy, with mode,
// over it. The copy is created in the file's directory (a rename does
// not cross file systems) with mode 0600 until it is complete.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", strings.TrimPrefix(path, "./"), err)
	}
	return nil
}
