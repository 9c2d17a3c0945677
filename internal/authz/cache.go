package authz

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"
	"unsafe"

	"github.com/lockgate/lockgate/iampolicy"
)

// identity is what a verified token says, kept per token.
type identity struct {
	Subject  string
	Username string
	Groups   []string
	// Headers are the identity headers the upstream receives, in order.
	Headers [][2]string
	// Tags are aws:PrincipalTag/… values; Claims the chosen claims.
	Tags   map[string]string
	Claims map[string]string
	Exp    time.Time
	// tagKeys are the aws:PrincipalTag/… keys, lower case, with values.
	tagKeys [][2]string
}

// entry is a token's verification and compiled policies, cached until
// the token expires or the TTL ends, whichever is first. It holds no
// decision: every request is evaluated against set.
type entry struct {
	id      *identity
	set     *iampolicy.Set
	docs    []json.RawMessage // the group policies' documents (Lambda answers)
	err     error             // a broken policy: every request of this token answers 500
	expires time.Time
	gen     uint64
}

// tokenCache maps a SHA-256 of the token (never the token itself) to its
// entry. It is bounded: when full, expired entries go first, then about
// an eighth of the rest (map order is random enough to be fair).
type tokenCache struct {
	mu  sync.RWMutex
	m   map[[32]byte]*entry
	max int
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[[32]byte]*entry), max: max}
}

// tokenKey hashes the token's bytes in place: a token is about 1 KiB,
// and copying it into a new slice for every request costs more than the
// rest of a cached decision's allocations.
func tokenKey(token string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

func (c *tokenCache) get(k [32]byte, now time.Time, gen uint64) *entry {
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e == nil || !now.Before(e.expires) || e.gen != gen {
		return nil
	}
	return e
}

func (c *tokenCache) put(k [32]byte, e *entry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for key, old := range c.m {
			if !now.Before(old.expires) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.max {
			drop := max(c.max/8, 1)
			for key := range c.m {
				if drop == 0 {
					break
				}
				delete(c.m, key)
				drop--
			}
		}
	}
	c.m[k] = e
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// forget drops one entry (benchmarks of first-time verification).
func (c *tokenCache) forget(k [32]byte) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}
