package waf

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/lockgate/lockgate/internal/jsontree"
)

// model.json holds the shapes of AWS's WAFV2 service model reachable from
// WebACL, RuleGroup, IPSet and RegexPatternSet: the authority for every
// member, enum, pattern and limit.
//
//go:embed model.json
var modelJSON []byte

type shapeRef struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type     string              `json:"type"`
	Members  map[string]shapeRef `json:"members"`
	Required []string            `json:"required"`
	Member   *shapeRef           `json:"member"`
	Key      *shapeRef           `json:"key"`
	Value    *shapeRef           `json:"value"`
	Enum     []string            `json:"enum"`
	Pattern  string              `json:"pattern"`
	Min      *float64            `json:"min"`
	Max      *float64            `json:"max"`
	re       *regexp.Regexp
}

var shapes = loadModel()

func loadModel() map[string]*shape {
	var m struct {
		Shapes map[string]*shape `json:"shapes"`
	}
	if err := json.Unmarshal(modelJSON, &m); err != nil {
		panic("waf: model.json: " + err.Error())
	}
	for name, s := range m.Shapes {
		if s.Pattern != "" {
			// AWS matches a pattern against the whole value (Java's
			// String.matches), not a part of it.
			re, err := regexp.Compile("^(?:" + s.Pattern + ")$")
			if err != nil {
				panic(fmt.Sprintf("waf: model.json: shape %s: pattern %q: %v", name, s.Pattern, err))
			}
			s.re = re
		}
	}
	return m.Shapes
}

// optionalInConfig are members the model requires in what AWS returns but
// a configuration written by hand does not carry: lockgate fills them.
var optionalInConfig = map[string][]string{
	"WebACL":          {"Id", "ARN"},
	"RuleGroup":       {"Id", "ARN", "Capacity"},
	"IPSet":           {"Id", "ARN"},
	"RegexPatternSet": nil,
}

// checkShape validates n against a model shape, adding every problem.
func (v *validator) checkShape(n *jsontree.Node, shapeName, path string) {
	s, ok := shapes[shapeName]
	if !ok {
		v.errorf(path, "lockgate's model has no shape %s", shapeName)
		return
	}
	switch s.Type {
	case "structure":
		if n.Kind != jsontree.Object {
			v.errorf(path, "must be an object, not %s", n.KindName())
			return
		}
		for i, k := range n.Keys {
			m, ok := s.Members[k]
			if !ok {
				v.errorf(jsontree.Key(path, k), "unknown member of %s (it has %s)", shapeName, memberList(s))
				continue
			}
			v.checkShape(n.Vals[i], m.Shape, jsontree.Key(path, k))
		}
		for _, r := range s.Required {
			if n.Get(r) == nil && !slices.Contains(optionalInConfig[shapeName], r) {
				v.errorf(jsontree.Key(path, r), "required")
			}
		}
	case "list":
		if n.Kind != jsontree.Array {
			v.errorf(path, "must be a list, not %s", n.KindName())
			return
		}
		v.checkRange(path, float64(len(n.Vals)), s, "entries")
		for i, e := range n.Vals {
			v.checkShape(e, s.Member.Shape, jsontree.Index(path, i))
		}
	case "map":
		if n.Kind != jsontree.Object {
			v.errorf(path, "must be an object, not %s", n.KindName())
			return
		}
		v.checkRange(path, float64(len(n.Keys)), s, "entries")
		for i, k := range n.Keys {
			v.checkString(k, shapes[s.Key.Shape], jsontree.Key(path, k)+" (key)")
			v.checkShape(n.Vals[i], s.Value.Shape, jsontree.Key(path, k))
		}
	case "string":
		if n.Kind != jsontree.String {
			v.errorf(path, "must be a string, not %s", n.KindName())
			return
		}
		v.checkString(n.Str, s, path)
	case "blob":
		if n.Kind != jsontree.String {
			v.errorf(path, "must be a string, not %s", n.KindName())
		}
	case "integer", "long":
		if n.Kind != jsontree.Number {
			v.errorf(path, "must be a number, not %s", n.KindName())
			return
		}
		x, err := strconv.ParseInt(n.Str, 10, 64)
		if err != nil {
			v.errorf(path, "%s is not a whole number", n.Str)
			return
		}
		// The model's integer shapes are 32-bit and its long shapes
		// 64-bit, as AWS's SDKs decode them (aws-sdk-go-v2: int32 and
		// int64): AWS cannot hold Priority 2^31, so it is refused here.
		if s.Type == "integer" && (x < math.MinInt32 || x > math.MaxInt32) {
			v.errorf(path, "%d does not fit the model's integer (32 bits, at most %d)", x, math.MaxInt32)
			return
		}
		v.checkRange(path, float64(x), s, "")
	case "boolean":
		if n.Kind != jsontree.Bool {
			v.errorf(path, "must be true or false, not %s", n.Show())
		}
	default:
		v.errorf(path, "lockgate does not validate shapes of type %s", s.Type)
	}
}

func (v *validator) checkString(str string, s *shape, path string) {
	if s == nil {
		return
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
		v.errorf(path, "%q is not one of %v", str, s.Enum)
		return
	}
	v.checkRange(path, float64(utf8.RuneCountInString(str)), s, "characters")
	if s.re != nil && !s.re.MatchString(str) {
		v.errorf(path, "%q does not match the pattern %s", str, s.Pattern)
	}
}

func (v *validator) checkRange(path string, x float64, s *shape, unit string) {
	what := func(b float64) string {
		if unit == "" {
			return strconv.FormatFloat(b, 'f', -1, 64)
		}
		return strconv.FormatFloat(b, 'f', -1, 64) + " " + unit
	}
	if s.Min != nil && x < *s.Min {
		if unit == "" {
			v.errorf(path, "%s is below the minimum %s", what(x), what(*s.Min))
		} else {
			v.errorf(path, "has %s, fewer than the minimum %s", what(x), what(*s.Min))
		}
	}
	if s.Max != nil && x > *s.Max {
		if unit == "" {
			v.errorf(path, "%s is above the maximum %s", what(x), what(*s.Max))
		} else {
			v.errorf(path, "has %s, more than the maximum %s", what(x), what(*s.Max))
		}
	}
}

func memberList(s *shape) string {
	names := make([]string, 0, len(s.Members))
	for k := range s.Members {
		names = append(names, k)
	}
	slices.Sort(names)
	if len(names) > 8 {
		names = append(names[:8], "…")
	}
	return fmt.Sprint(names)
}
