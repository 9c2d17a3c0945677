package iampolicy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Request is what a principal asks to do.
type Request struct {
	// Principal is the caller: an IAM user's ARN, the root user's
	// (arn:aws:iam::ACCOUNT:root), a role session's
	// (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), a federated
	// user's (arn:aws:sts::ACCOUNT:federated-user/NAME), a service
	// principal (s3.amazonaws.com), or an identity provider for web
	// identity and SAML callers. With neither Principal nor
	// PrincipalAccount the request is taken to come from the resource's
	// own account, so identity policies decide alone.
	Principal string
	// PrincipalType says what Principal is; the zero value infers it from
	// Principal's form.
	PrincipalType PrincipalType
	// PrincipalAccount is the caller's account; taken from Principal's ARN
	// (or RoleARN's) when empty.
	PrincipalAccount string
	// RoleARN is a role session's role with its path, as
	// arn:aws:iam::ACCOUNT:role/service-role/build: a session ARN does not
	// carry the path. Without it, the role is known by name only: a
	// Principal element naming a role of that name with a path is taken
	// to name it in a Deny statement and not in an Allow statement.
	RoleARN string
	// UniqueID is an IAM user's unique ID (AIDA…) or a role session's
	// role's (AROA…): SetPrincipalKeys makes aws:userid from it.
	UniqueID string
	// FederatedBy is, for a federated user, the ARN of the IAM user (or
	// root user) who called GetFederationToken: a resource-based policy
	// naming that user grants the session within its boundary and
	// session policies.
	FederatedBy string
	// Action is service:name, as s3:GetObject.
	Action string
	// Resource is the resource's ARN, or "*".
	Resource string
	// ResourceAccount owns the resource; taken from the resource ARN when
	// empty, and the principal's account when the ARN has none (S3).
	ResourceAccount string
	// Context holds the condition keys.
	Context *Context
	// Time is the request's time, the value of aws:CurrentTime and
	// aws:EpochTime when the context does not set them.
	Time time.Time
}

// Context is a request's condition keys. Keys are case-insensitive;
// values are strings, as AWS passes them, and are parsed by each operator
// (numbers, dates, booleans, IP addresses, ARNs). A key may have several
// values. The zero value is empty and ready to use.
type Context struct {
	m map[string][]string
}

// NewContext returns a context with the given single-valued keys.
func NewContext(kv map[string]string) *Context {
	c := &Context{}
	for k, v := range kv {
		c.Set(k, v)
	}
	return c
}

// Set gives key the values, replacing what it had. Set with no values
// makes a present but empty multi-valued key.
func (c *Context) Set(key string, values ...string) {
	if c.m == nil {
		c.m = make(map[string][]string)
	}
	c.m[strings.ToLower(key)] = values
}

// Add appends values to key.
func (c *Context) Add(key string, values ...string) {
	if c.m == nil {
		c.m = make(map[string][]string)
	}
	k := strings.ToLower(key)
	c.m[k] = append(c.m[k], values...)
}

// SetTime sets a date key in the ISO 8601 form AWS uses.
func (c *Context) SetTime(key string, t time.Time) {
	c.Set(key, t.UTC().Format(time.RFC3339))
}

// SetBool sets a boolean key.
func (c *Context) SetBool(key string, b bool) { c.Set(key, strconv.FormatBool(b)) }

// SetNumber sets a numeric key.
func (c *Context) SetNumber(key string, n float64) {
	c.Set(key, strconv.FormatFloat(n, 'f', -1, 64))
}

// SetIP sets an IP address key.
func (c *Context) SetIP(key string, ip netip.Addr) { c.Set(key, ip.String()) }

// Get returns a key's values.
func (c *Context) Get(key string) ([]string, bool) { return c.lookup(strings.ToLower(key)) }

// lookup takes an already lower-cased key: the request path does not
// allocate.
func (c *Context) lookup(key string) ([]string, bool) {
	if c == nil || c.m == nil {
		return nil, false
	}
	v, ok := c.m[key]
	return v, ok
}

// Keys lists the keys set, lower-cased.
func (c *Context) Keys() []string {
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.m))
	for k := range c.m {
		out = append(out, k)
	}
	return out
}
