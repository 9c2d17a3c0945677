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
	// Synced reports whether every change committed before the call has
	// been announced to this process. Another replica's commit returns
	// before its announcement arrives here: without this, a check right
	// after a lock acknowledged elsewhere would answer from a cache that
	// has not heard of it yet.
	Synced(ctx context.Context) (bool, error)
}

// accountCache keeps what the lock check read of accounts, present or
// absent, by application and key. A fill is kept only when no change was
// announced since its read began (gen), so a read that raced a change is
// dropped instead of cached.
type accountCache struct {
	w    AccountWatcher
	live atomic.Bool
	gen  atomic.Uint64
	mu   sync.RWMutex
	m    map[cacheKey]cached
	// apps holds application settings the same way: a settings change
	// (unknown_account: locked) decides checks as a lock does.
	apps map[string]Settings
}

type cacheKey struct{ app, key string }

type cached struct {
	acc   Account
	found bool
}

// maxCached bounds the cache; when full it starts over.
const maxCached = 200_000

func newAccountCache(w AccountWatcher) *accountCache {
	c := &accountCache{w: w, m: map[cacheKey]cached{}, apps: map[string]Settings{}}
	w.WatchAccounts(c.changed, c.setLive)
	return c
}

func (c *accountCache) setLive(ok bool) {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.m)
	clear(c.apps)
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
		clear(c.apps)
	case key == "":
		delete(c.apps, app)
		for k := range c.m {
			if k.app == app {
				delete(c.m, k)
			}
		}
	default:
		delete(c.m, cacheKey{app, key})
	}
}

// synced reports whether the cache may answer a check starting now.
func (c *accountCache) synced(ctx context.Context) (bool, error) {
	if c == nil || !c.live.Load() {
		return false, nil
	}
	return c.w.Synced(ctx)
}

// settings returns the current settings of app, whose verified copy may
// be up to the key cache's age: from the cache when fresh, else read.
func (c *accountCache) settings(ctx context.Context, st accountReader, app Application, fresh bool) (Settings, error) {
	if c == nil {
		a, err := st.Application(ctx, app.ID)
		return a.Settings, err
	}
	if fresh {
		c.mu.RLock()
		set, ok := c.apps[app.ID]
		c.mu.RUnlock()
		if ok {
			return set, nil
		}
	}
	gen := c.gen.Load()
	a, err := st.Application(ctx, app.ID)
	if err != nil {
		return Settings{}, err
	}
	c.mu.Lock()
	if fresh && c.gen.Load() == gen && c.live.Load() {
		c.apps[app.ID] = a.Settings
	}
	c.mu.Unlock()
	return a.Settings, nil
}

// account is store.Account through the cache; fresh is what synced
// answered at the check's start.
func (c *accountCache) account(ctx context.Context, st accountReader, app, key string, fresh bool) (Account, error) {
	if c == nil || !fresh || !c.live.Load() {
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
