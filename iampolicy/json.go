package iampolicy

import (
	"github.com/lockgate/lockgate/internal/jsontree"
	"github.com/lockgate/lockgate/problem"
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
type Error = problem.Problem

// Errors is every problem Parse found.
type Errors = problem.List
