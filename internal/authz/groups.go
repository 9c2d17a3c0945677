package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/lockgate/lockgate/iampolicy"
	"github.com/lockgate/lockgate/problem"
)

// Errors of group stores.
var (
	ErrGroupNotFound = errors.New("no policy for this group")
	ErrReadOnly      = errors.New("the group policies come from a file: change the file")
)

// GroupPolicy is the IAM policy document mapped to a group.
type GroupPolicy struct {
	Group     string          `json:"group"`
	Policy    json.RawMessage `json:"policy"`
	UpdatedAt time.Time       `json:"updated_at,omitzero"`
}

// Store holds group policies: lockgate's database, a file, or a DynamoDB
// table.
type Store interface {
	// GroupPolicy returns a group's policy, or ErrGroupNotFound.
	GroupPolicy(ctx context.Context, group string) (GroupPolicy, error)
	GroupPolicies(ctx context.Context) ([]GroupPolicy, error)
	PutGroupPolicy(ctx context.Context, p GroupPolicy) error
	// DeleteGroupPolicy removes a group's policy, or returns
	// ErrGroupNotFound.
	DeleteGroupPolicy(ctx context.Context, group string) error
}

// CheckGroupName applies Cognito's GroupName rules (CreateGroup): 1 to
// 128 characters of letters, marks, symbols, numbers and punctuation.
func CheckGroupName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 128 || !utf8.ValidString(name) {
		return fmt.Errorf("group name %q: 1 to 128 characters", name)
	}
	for _, r := range name {
		if !unicode.In(r, unicode.L, unicode.M, unicode.S, unicode.N, unicode.P) {
			return fmt.Errorf("group name %q: %q is not a letter, mark, symbol, number or punctuation (Cognito's GroupName pattern)", name, r)
		}
	}
	return nil
}

// CompilePolicy validates a group's policy document as an identity-based
// IAM policy: every problem with its JSON path.
func CompilePolicy(doc []byte) (*iampolicy.Policy, error) {
	p, err := iampolicy.Parse(doc)
	if err != nil {
		return nil, err
	}
	set := iampolicy.Set{Identity: []iampolicy.Named{{Name: "policy", Policy: p}}}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// BrokenPolicyError is a stored policy that does not compile: requests
// of its group get API Gateway's 500, never a decision.
type BrokenPolicyError struct {
	Group string
	Err   error
}

func (e *BrokenPolicyError) Error() string {
	return fmt.Sprintf("the policy of group %q is broken: %v", e.Group, e.Err)
}

func (e *BrokenPolicyError) Unwrap() error { return e.Err }

// groups compiles and caches group policies. A policy changed through
// this lockgate bumps gen, so cached token entries compiled before are
// compiled again; changes elsewhere (another replica, the DynamoDB table)
// apply within ttl.
type groups struct {
	store Store
	ttl   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]compiledGroup
	gen   atomic.Uint64
}

type compiledGroup struct {
	policy *iampolicy.Policy // nil: the group has no policy
	raw    json.RawMessage
	err    error
	at     time.Time
	gen    uint64
}

func newGroups(s Store, ttl time.Duration, now func() time.Time) *groups {
	return &groups{store: s, ttl: ttl, now: now, cache: map[string]compiledGroup{}}
}

// changed forgets every compiled policy.
func (g *groups) changed() {
	g.mu.Lock()
	g.cache = map[string]compiledGroup{}
	g.mu.Unlock()
	g.gen.Add(1)
}

// policies returns the compiled policies of names (groups without a
// policy contribute nothing) and their documents. A broken policy is a
// *BrokenPolicyError; a store that fails, its error.
func (g *groups) policies(ctx context.Context, names []string) ([]iampolicy.Named, []json.RawMessage, error) {
	if g.store == nil {
		return nil, nil, errors.New("no group policy store is open")
	}
	var out []iampolicy.Named
	var docs []json.RawMessage
	gen := g.gen.Load()
	for _, name := range names {
		now := g.now()
		g.mu.Lock()
		c, ok := g.cache[name]
		g.mu.Unlock()
		if !ok || c.gen != gen || now.Sub(c.at) >= g.ttl {
			gp, err := g.store.GroupPolicy(ctx, name)
			c = compiledGroup{at: now, gen: gen}
			switch {
			case errors.Is(err, ErrGroupNotFound):
			case err != nil:
				return nil, nil, fmt.Errorf("reading the policy of group %q: %w", name, err)
			default:
				c.raw = gp.Policy
				if c.policy, err = CompilePolicy(gp.Policy); err != nil {
					c.err = &BrokenPolicyError{Group: name, Err: err}
				}
			}
			g.mu.Lock()
			g.cache[name] = c
			g.mu.Unlock()
		}
		if c.err != nil {
			return nil, nil, c.err
		}
		if c.policy != nil {
			out = append(out, iampolicy.Named{Name: "group/" + name, Policy: c.policy})
			docs = append(docs, c.raw)
		}
	}
	return out, docs, nil
}

// FileStore is group policies read from a YAML or JSON file mapping
// group names to policy documents: read-only, for GitOps.
type FileStore struct {
	File     string
	policies map[string]GroupPolicy
}

// LoadFile reads and checks a group policy file; every bad group name and
// policy is a problem located in the file.
func LoadFile(path string) (*FileStore, problem.List) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, problem.List{{File: path, Msg: err.Error()}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, problem.List{{File: path, Msg: err.Error()}}
	}
	fs := &FileStore{File: path, policies: map[string]GroupPolicy{}}
	if len(root.Content) == 0 {
		return fs, nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, problem.List{{File: path, Line: m.Line, Column: m.Column, Msg: "expected a mapping of group names to IAM policy documents"}}
	}
	var probs problem.List
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		at := func(msg string) problem.Problem {
			return problem.Problem{File: path, Line: k.Line, Column: k.Column, Path: k.Value, Msg: msg}
		}
		if err := CheckGroupName(k.Value); err != nil {
			probs = append(probs, at(err.Error()))
			continue
		}
		var doc any
		if err := v.Decode(&doc); err != nil {
			probs = append(probs, at(err.Error()))
			continue
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			probs = append(probs, at("the policy is not JSON-like: "+err.Error()))
			continue
		}
		if _, err := CompilePolicy(raw); err != nil {
			var pl problem.List
			pl.Append("", err)
			for _, p := range pl {
				where := at(p.Msg)
				if p.Path != "" {
					where.Path += "." + p.Path
					if n := findNode(v, p.Path); n != nil {
						where.Line, where.Column = n.Line, n.Column
					}
				}
				probs = append(probs, where)
			}
			continue
		}
		if _, dup := fs.policies[k.Value]; dup {
			probs = append(probs, at("the group is mapped twice"))
		}
		fs.policies[k.Value] = GroupPolicy{Group: k.Value, Policy: raw}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return fs, nil
}

// GroupPolicy implements Store.
func (f *FileStore) GroupPolicy(_ context.Context, group string) (GroupPolicy, error) {
	if p, ok := f.policies[group]; ok {
		return p, nil
	}
	return GroupPolicy{}, ErrGroupNotFound
}

// GroupPolicies implements Store.
func (f *FileStore) GroupPolicies(context.Context) ([]GroupPolicy, error) {
	out := make([]GroupPolicy, 0, len(f.policies))
	for _, p := range f.policies {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out, nil
}

// PutGroupPolicy refuses: the file is the source.
func (f *FileStore) PutGroupPolicy(context.Context, GroupPolicy) error {
	return fmt.Errorf("%w %s", ErrReadOnly, f.File)
}

// DeleteGroupPolicy refuses: the file is the source.
func (f *FileStore) DeleteGroupPolicy(context.Context, string) error {
	return fmt.Errorf("%w %s", ErrReadOnly, f.File)
}

// findNode follows a JSON path (Statement[0].Condition.IpAddress) into a
// YAML document, for the line of a problem.
func findNode(n *yaml.Node, path string) *yaml.Node {
	for _, part := range strings.Split(strings.NewReplacer("[", ".[").Replace(path), ".") {
		if part == "" {
			continue
		}
		if strings.HasPrefix(part, "[") {
			i, err := strconv.Atoi(strings.Trim(part, "[]"))
			if err != nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			continue
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
