// Package problem reports what is wrong with a document — a web ACL, an
// IAM policy, a configuration file — as a list of problems, each saying
// where it is (file, line, column, path inside the document) and what is
// wrong. Every lockgate validator returns its findings in this one shape,
// in the manner of go/scanner's Error and ErrorList.
package problem

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a document.
type Problem struct {
	File   string // the file read, or "" when the document came from elsewhere
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	// Path locates the value inside the document: a JSON path such as
	// Rules[2].Statement.RateBasedStatement.Limit or a YAML key path such
	// as gateway.routes[0].web_acl.
	Path string
	Msg  string
}

// Error formats the problem as file:line:column: path: message (without
// a file, "line L, column C: path: message"), leaving out the parts that
// are unknown.
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Line))
			if p.Column > 0 {
				b.WriteByte(':')
				b.WriteString(strconv.Itoa(p.Column))
			}
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "line %d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ", column %d", p.Column)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// List is every problem found in a document. Its zero value is empty and
// ready to use.
type List []Problem

// Add appends a problem at path.
func (l *List) Add(path, msg string) { *l = append(*l, Problem{Path: path, Msg: msg}) }

// Addf appends a problem at path with a formatted message.
func (l *List) Addf(path, format string, args ...any) {
	*l = append(*l, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Append adds the problems err holds: a List, a Problem, or any other
// error as one problem at path.
func (l *List) Append(path string, err error) {
	if err == nil {
		return
	}
	var pl List
	var p Problem
	switch {
	case errors.As(err, &pl):
		*l = append(*l, pl...)
	case errors.As(err, &p):
		*l = append(*l, p)
	default:
		l.Add(path, err.Error())
	}
}

// Within returns the problems err holds — found inside a file that the
// document names — as problems at path, the key that names the file, so
// that they are located where the file is named (the caller's Locate)
// and still say where inside the file they are: each message starts
// with the inner problem's file:line:column and path ("acl.json:3:33:
// invalid character ','"). A message of several lines becomes one
// problem a line, each with that prefix. A message that already names
// its file ("open acl.json: no such file") is not prefixed with it again.
func Within(path string, err error) List {
	var inner List
	inner.Append("", err)
	var out List
	for _, q := range inner {
		for line := range strings.SplitSeq(q.Msg, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			r := q
			r.Msg = line
			if r.File != "" && r.Line == 0 && strings.Contains(line, r.File) {
				r.File = ""
			}
			out = append(out, Problem{Path: path, Msg: r.Error()})
		}
	}
	return out
}

// Err returns the list as an error, or nil when it is empty, so that
// `return probs.Err()` never yields a non-nil error holding nothing.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Error lists the problems one a line.
func (l List) Error() string {
	var b strings.Builder
	for i, p := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// InFile sets File on every problem that has none.
func (l List) InFile(file string) List {
	for i := range l {
		if l[i].File == "" {
			l[i].File = file
		}
	}
	return l
}

// Sort orders the problems by file, line, column and path, keeping the
// order of problems at the same place.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return false
	})
}
