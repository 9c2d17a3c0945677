// Package jsontree decodes JSON into a tree that keeps object key order,
// refuses duplicate keys and deep nesting, and names its paths, so that
// validators can report every problem with where it is.
package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/lockgate/lockgate/problem"
)

// Kind is a node's JSON type.
type Kind byte

// The kinds.
const (
	Object Kind = 'o'
	Array  Kind = 'a'
	String Kind = 's'
	Number Kind = 'n'
	Bool   Kind = 'b'
	Null   Kind = 'z'
)

// Node is a decoded JSON value. For strings, numbers and booleans Str
// holds the text; objects keep Keys and Vals in order; arrays keep Vals.
type Node struct {
	Kind Kind
	Str  string
	Bool bool
	Keys []string
	Vals []*Node
}

// Decode parses data, refusing more than maxBytes, nesting deeper than
// maxDepth, duplicate object keys and trailing data. A problem of syntax
// is a problem.Problem with the line and column where it is (1-based,
// the column counted in bytes, as go/scanner does); a duplicate key a
// *DuplicateKeyError.
func Decode(data []byte, maxBytes, maxDepth int) (*Node, error) {
	if len(data) > maxBytes {
		return nil, fmt.Errorf("document is %d bytes, over the %d-byte limit", len(data), maxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := decodeValue(dec, 0, maxDepth)
	if dup := (*DuplicateKeyError)(nil); errors.As(err, &dup) {
		dup.Path = dup.path("")
		dup.Line, dup.Column = lineCol(data, dup.Offset-1)
		return nil, dup
	}
	if err != nil {
		var se *json.SyntaxError
		var de *depthError
		switch {
		case errors.As(err, &se):
			return nil, at(data, se.Offset-1, "invalid JSON: "+se.Error())
		case errors.As(err, &de):
			return nil, at(data, de.offset, fmt.Sprintf("JSON nested deeper than %d levels", de.max))
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, at(data, int64(len(data)), "invalid JSON: unexpected end of input")
		}
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, at(data, dec.InputOffset()-1, "trailing data after the document")
	}
	return n, nil
}

// Problems is what Decode's error says, as problems with their line,
// column and (for a duplicate key) path.
func Problems(err error) problem.List {
	if dup := (*DuplicateKeyError)(nil); errors.As(err, &dup) {
		return problem.List{{Line: dup.Line, Column: dup.Column, Path: dup.Path, Msg: fmt.Sprintf("duplicate key %q", dup.Key)}}
	}
	var l problem.List
	l.Append("", err)
	return l
}

// depthError is a document nested too deep, at a byte offset.
type depthError struct {
	max    int
	offset int64
}

func (e *depthError) Error() string {
	return fmt.Sprintf("JSON nested deeper than %d levels at byte %d", e.max, e.offset)
}

// at is a problem at the byte offset off of data.
func at(data []byte, off int64, msg string) problem.Problem {
	line, col := lineCol(data, off)
	return problem.Problem{Line: line, Column: col, Msg: msg}
}

// lineCol turns a 0-based byte offset into a 1-based line and column
// (in bytes); an offset past the end is the end.
func lineCol(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	return line, int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
}

// DuplicateKeyError is an object holding a key twice; Path names the
// key's place ("Statement[0].Effect").
type DuplicateKeyError struct {
	Path   string
	Key    string
	Offset int64 // just past the second occurrence
	// Line and Column are where the second occurrence ends.
	Line, Column int
	// up is the path from the key to the root, gathered as the decoder
	// unwinds (no path is built for documents without the error): an
	// object key as itself, an array index as "[i]".
	up []step
}

type step struct {
	key   string
	index int // -1: an object key
}

func (e *DuplicateKeyError) path(root string) string {
	p := root
	for i := len(e.up) - 1; i >= 0; i-- {
		if s := e.up[i]; s.index >= 0 {
			p = Index(p, s.index)
		} else {
			p = Key(p, s.key)
		}
	}
	return p
}

func (e *DuplicateKeyError) Error() string {
	return e.Path + ": " + e.Msg()
}

// Msg is the error without its path.
func (e *DuplicateKeyError) Msg() string {
	return fmt.Sprintf("duplicate key %q (again at line %d, column %d)", e.Key, e.Line, e.Column)
}

func decodeValue(dec *json.Decoder, depth, maxDepth int) (*Node, error) {
	if depth > maxDepth {
		return nil, &depthError{max: maxDepth, offset: dec.InputOffset()}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &Node{Kind: Object}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				if n.Get(k) != nil {
					return nil, &DuplicateKeyError{Key: k, Offset: dec.InputOffset(), up: []step{{k, -1}}}
				}
				v, err := decodeValue(dec, depth+1, maxDepth)
				if dup := (*DuplicateKeyError)(nil); errors.As(err, &dup) {
					dup.up = append(dup.up, step{k, -1})
				}
				if err != nil {
					return nil, err
				}
				n.Keys = append(n.Keys, k)
				n.Vals = append(n.Vals, v)
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &Node{Kind: Array}
			for i := 0; dec.More(); i++ {
				v, err := decodeValue(dec, depth+1, maxDepth)
				if dup := (*DuplicateKeyError)(nil); errors.As(err, &dup) {
					dup.up = append(dup.up, step{index: i})
				}
				if err != nil {
					return nil, err
				}
				n.Vals = append(n.Vals, v)
			}
			_, err := dec.Token()
			return n, err
		}
	case string:
		return &Node{Kind: String, Str: t}, nil
	case json.Number:
		return &Node{Kind: Number, Str: t.String()}, nil
	case bool:
		return &Node{Kind: Bool, Bool: t, Str: strconv.FormatBool(t)}, nil
	case nil:
		return &Node{Kind: Null}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// Get returns the value of key in an object, or nil.
func (n *Node) Get(key string) *Node {
	for i, k := range n.Keys {
		if k == key {
			return n.Vals[i]
		}
	}
	return nil
}

// KindName names a node's kind for messages ("an object", "a string"…).
func (n *Node) KindName() string {
	switch n.Kind {
	case Object:
		return "an object"
	case Array:
		return "an array"
	case String:
		return "a string"
	case Number:
		return "a number"
	case Bool:
		return "a boolean"
	}
	return "null"
}

// Show is a node as it appears in messages: quoted strings, literal
// numbers and booleans, else its kind.
func (n *Node) Show() string {
	switch n.Kind {
	case String:
		return strconv.Quote(n.Str)
	case Number, Bool:
		return n.Str
	}
	return n.KindName()
}

// Key appends a key to a path: .Name for identifiers, ["a:b"] otherwise.
func Key(path, key string) string {
	ident := key != ""
	for _, r := range key {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			ident = false
			break
		}
	}
	if ident {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// Index appends an array index to a path.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Error is one problem in a document, with the JSON path where it is.
type Error = problem.Problem

// Errors is every problem found in a document, one a line.
type Errors = problem.List
