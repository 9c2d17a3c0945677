package iampolicy

import (
	"strings"

	"github.com/lockgate/lockgate/internal/jsontree"
)

// Limits on what Parse accepts.
const (
	MaxPolicyBytes = 1 << 20
	maxDepth       = 16
	maxListLen     = 1000
	maxStatements  = 1000
)

type node = jsontree.Node

func decodeJSON(data []byte) (*node, error) { return jsontree.Decode(data, MaxPolicyBytes, maxDepth) }

func kindName(n *node) string { return n.KindName() }

var (
	pathKey   = jsontree.Key
	pathIndex = jsontree.Index
)

// Error is one problem in a policy, with the JSON path where it is.
type Error struct {
	Path string
	Msg  string
}

func (e Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem Parse found.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
