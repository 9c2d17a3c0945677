package iamtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// testdata/model.json holds the operations of AWS's IAM service model
// (API version 2010-05-08) that the server implements, and every shape
// they reach: the authority for each request member, pattern, length,
// enum, list size and error code. TestModelIsTheReferenceTrimmed keeps it
// equal to the reference model trimmed.
//
//go:embed testdata/model.json
var modelJSON []byte

type shapeRef struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type     string              `json:"type"`
	Members  map[string]shapeRef `json:"members,omitempty"`
	Required []string            `json:"required,omitempty"`
	Member   *shapeRef           `json:"member,omitempty"`
	Enum     []string            `json:"enum,omitempty"`
	Pattern  string              `json:"pattern,omitempty"`
	Min      *int64              `json:"min,omitempty"`
	Max      *int64              `json:"max,omitempty"`
	Error    *struct {
		Code        string `json:"code"`
		Status      int    `json:"httpStatusCode"`
		SenderFault bool   `json:"senderFault"`
	} `json:"error,omitempty"`
	Exception bool `json:"exception,omitempty"`

	re *regexp.Regexp
}

type operation struct {
	Name   string `json:"name"`
	Input  *shapeRef
	Output *struct {
		Shape         string `json:"shape"`
		ResultWrapper string `json:"resultWrapper"`
	} `json:"output,omitempty"`
	Errors []shapeRef `json:"errors,omitempty"`
}

type model struct {
	Metadata   map[string]any        `json:"metadata"`
	Operations map[string]*operation `json:"operations"`
	Shapes     map[string]*shape     `json:"shapes"`
	// errors maps an error code to its shape.
	errors map[string]*shape
}

var iamModel = loadModel(modelJSON)

func loadModel(data []byte) *model {
	var m model
	if err := json.Unmarshal(data, &m); err != nil {
		panic("iamtest: testdata/model.json: " + err.Error())
	}
	m.errors = map[string]*shape{}
	for name, s := range m.Shapes {
		if s.Pattern != "" {
			re, err := compilePattern(s.Pattern)
			if err != nil {
				panic(fmt.Sprintf("iamtest: testdata/model.json: shape %s: %v", name, err))
			}
			s.re = re
		}
		if s.Error != nil {
			m.errors[s.Error.Code] = s
		}
	}
	return &m
}

// compilePattern turns a model pattern (Java syntax, matched against the
// whole value) into a Go regexp: \uXXXX becomes \x{XXXX}; \p{L}, \p{Z},
// \p{N} and \w mean the same in both.
func compilePattern(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+6 <= len(p) && p[i+1] == 'u' {
			b.WriteString(`\x{` + p[i+2:i+6] + `}`)
			i += 5
			continue
		}
		if p[i] == '\\' && i+1 < len(p) {
			b.WriteString(p[i : i+2])
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	return regexp.Compile(`^(?:` + b.String() + `)$`)
}

// commonErrors are the errors every IAM action may return (the Query
// API's common errors), beside those the model lists per operation.
var commonErrors = []string{"ValidationError", "Throttling", "ServiceUnavailable", "InternalFailure", "AccessDenied",
	"InvalidAction", "MissingAction", "MissingAuthenticationToken", "IncompleteSignature", "InvalidClientTokenId"}

// allows reports whether the model lets action answer with code.
func (m *model) allows(action, code string) bool {
	if slices.Contains(commonErrors, code) {
		return true
	}
	op := m.Operations[action]
	if op == nil {
		return false
	}
	for _, e := range op.Errors {
		if s := m.Shapes[e.Shape]; s != nil && s.Error != nil && s.Error.Code == code {
			return true
		}
	}
	return false
}

// qnode is a Query-protocol request decoded into a tree: "Tags.member.1.Key"
// is kids["Tags"].kids["member"].kids["1"].kids["Key"].
type qnode struct {
	val  *string
	kids map[string]*qnode
}

func parseQuery(form url.Values) *qnode {
	root := &qnode{}
	for key, vals := range form {
		if key == "Action" || key == "Version" {
			continue
		}
		n := root
		for _, part := range strings.Split(key, ".") {
			if n.kids == nil {
				n.kids = map[string]*qnode{}
			}
			c := n.kids[part]
			if c == nil {
				c = &qnode{}
				n.kids[part] = c
			}
			n = c
		}
		v := vals[0]
		n.val = &v
	}
	return root
}

// Validate checks a request's parameters against the model's input shape
// for action, as IAM does before acting, and returns IAM's answer to an
// invalid request: ValidationError, listing every constraint violated in
// IAM's words ("1 validation error detected: Value 'a,b' at
// 'tags.1.member.value' failed to satisfy constraint: Member must satisfy
// regular expression pattern: …"). It returns nil for a valid request.
func Validate(action string, form url.Values) error {
	if e := iamModel.validate(action, form); e != nil {
		return e
	}
	return nil
}

func (m *model) validate(action string, form url.Values) *apiError {
	op := m.Operations[action]
	if op == nil {
		return errorOf("InvalidAction", "Could not find operation "+action+" for version 2010-05-08")
	}
	if op.Input == nil {
		return nil
	}
	var v violations
	m.check(op.Input.Shape, parseQuery(form), "", &v)
	if len(v) == 0 {
		return nil
	}
	noun := "errors"
	if len(v) == 1 {
		noun = "error"
	}
	return errorOf("ValidationError", fmt.Sprintf("%d validation %s detected: %s", len(v), noun, strings.Join(v, "; ")))
}

type violations []string

func (v *violations) add(value, path, constraint string) {
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, path, constraint))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// check validates n against shape name at path (IAM's spelling:
// lowerCamel members, list items as "tags.1.member").
func (m *model) check(name string, n *qnode, path string, v *violations) {
	s := m.Shapes[name]
	if s == nil {
		panic("iamtest: model has no shape " + name)
	}
	switch s.Type {
	case "structure":
		members := make([]string, 0, len(s.Members))
		for k := range s.Members {
			members = append(members, k)
		}
		sort.Strings(members)
		for _, k := range members {
			p := join(path, lowerFirst(k))
			c := n.kids[k]
			if c == nil {
				if slices.Contains(s.Required, k) {
					v.add("null", p, "Member must not be null")
				}
				continue
			}
			m.check(s.Members[k].Shape, c, p, v)
		}
	case "list":
		items := n.kids["member"]
		var idx []int
		if items != nil {
			for k := range items.kids {
				i, err := strconv.Atoi(k)
				if err != nil || i < 1 {
					v.add("'"+k+"'", path, "Member must be a list index")
					continue
				}
				idx = append(idx, i)
			}
		}
		sort.Ints(idx)
		var shown []string
		for _, i := range idx {
			shown = append(shown, render(items.kids[strconv.Itoa(i)]))
		}
		value := "'[" + strings.Join(shown, ", ") + "]'"
		if s.Max != nil && int64(len(idx)) > *s.Max {
			v.add(value, path, fmt.Sprintf("Member must have length less than or equal to %d", *s.Max))
		}
		if s.Min != nil && int64(len(idx)) < *s.Min {
			v.add(value, path, fmt.Sprintf("Member must have length greater than or equal to %d", *s.Min))
		}
		for _, i := range idx {
			m.check(s.Member.Shape, items.kids[strconv.Itoa(i)], join(path, strconv.Itoa(i)+".member"), v)
		}
	case "string":
		val := ""
		if n.val != nil {
			val = *n.val
		}
		// Java counts UTF-16 code units.
		length := int64(len(utf16.Encode([]rune(val))))
		quoted := "'" + val + "'"
		if s.Max != nil && length > *s.Max {
			v.add(quoted, path, fmt.Sprintf("Member must have length less than or equal to %d", *s.Max))
		}
		if s.Min != nil && length < *s.Min {
			v.add(quoted, path, fmt.Sprintf("Member must have length greater than or equal to %d", *s.Min))
		}
		if s.re != nil && !s.re.MatchString(val) {
			v.add(quoted, path, "Member must satisfy regular expression pattern: "+s.Pattern)
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, val) {
			v.add(quoted, path, "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
		}
	case "integer", "long":
		val := ""
		if n.val != nil {
			val = *n.val
		}
		i, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			v.add("'"+val+"'", path, "Member must be a number")
			return
		}
		if s.Max != nil && i > *s.Max {
			v.add("'"+val+"'", path, fmt.Sprintf("Member must have value less than or equal to %d", *s.Max))
		}
		if s.Min != nil && i < *s.Min {
			v.add("'"+val+"'", path, fmt.Sprintf("Member must have value greater than or equal to %d", *s.Min))
		}
	case "boolean":
		if n.val == nil || (*n.val != "true" && *n.val != "false") {
			v.add("'"+deref(n.val)+"'", path, "Member must be true or false")
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// render shows a list item in a message: its value, or its members.
func render(n *qnode) string {
	if n == nil {
		return "null"
	}
	if n.val != nil && len(n.kids) == 0 {
		return *n.val
	}
	keys := make([]string, 0, len(n.kids))
	for k := range n.kids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+render(n.kids[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// CheckValue validates one value against a string shape of the model
// (tagValueType, policyDocumentType, …), for tests proving that what the
// responder writes is valid by construction.
func CheckValue(shapeName, value string) error {
	s := iamModel.Shapes[shapeName]
	if s == nil || s.Type != "string" {
		return fmt.Errorf("iamtest: the model has no string shape %s", shapeName)
	}
	var v violations
	iamModel.check(shapeName, &qnode{val: &value}, lowerFirst(shapeName), &v)
	if len(v) > 0 {
		return fmt.Errorf("%s", strings.Join(v, "; "))
	}
	return nil
}
