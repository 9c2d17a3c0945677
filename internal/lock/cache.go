package lock

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// AccountWatcher is a store that says when accounts change. The lock
// check keeps accounts in memory only behind one: a cached state must
// never outlive a lock.
type AccountWatcher interface {
	// WatchAccounts calls changed after every committed change of an
	// account, made by this process or, for a shared database, any other
	// (appID "" means every account; key "" every account of appID). live
	// reports whether changes are being received: while it is false,
	// nothing cached may be trusted.
	WatchAccounts(changed func(appID, key string), live func(bool))
}

// accountCache keeps what the lock check read of accounts, present or
// absent, by application and key. A fill is kept only when no change was
// announced since its read began (gen), so a read that raced a change is
// dropped instead of cached.
type accountCache struct {
	live atomic.Bool
	gen  atomic.Uint64
	mu   sync.RWMutex
	m    map[cacheKey]cached
}

type cacheKey struct{ app, key string }

type cached struct {
	acc   Account
	found bool
}

// maxCached bounds the cache; when full it starts over.
const maxCached = 200_000

func newAccountCache(w AccountWatcher) *accountCache {
	c := &accountCache{m: map[cacheKey]cached{}}
	w.WatchAccounts(c.changed, c.setLive)
	return c
}

func (c *accountCache) setLive(ok bool) {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.m)
	c.live.Store(ok)
	c.mu.Unlock()
}

func (c *accountCache) changed(app, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	switch {
	case app == "":
		clear(c.m)
	case key == "":
		for k := range c.m {
			if k.app == app {
				delete(c.m, k)
			}
		}
	default:
		delete(c.m, cacheKey{app, key})
	}
}

// account is store.Account through the cache.
func (c *accountCache) account(ctx context.Context, st accountReader, app, key string) (Account, error) {
	if c == nil || !c.live.Load() {
		return st.Account(ctx, app, key)
	}
	k := cacheKey{app, key}
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		if e.found {
			return e.acc, nil
		}
		return Account{}, ErrNotFound
	}
	gen := c.gen.Load()
	acc, err := st.Account(ctx, app, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return acc, err
	}
	c.mu.Lock()
	if c.gen.Load() == gen && c.live.Load() {
		if len(c.m) >= maxCached {
			clear(c.m)
		}
		c.m[k] = cached{acc: acc, found: err == nil}
	}
	c.mu.Unlock()
	return acc, err
}
