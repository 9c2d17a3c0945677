// Package redisstore shares the counts of rate-based rules between
// engines through Redis. It is its own package so that importing waf or
// waf/ratelimit does not pull in a Redis client: import it only when
// counts are shared.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lockgate/lockgate/waf/ratelimit"
)

// Store shares rate-based counts between engines through Redis.
//
// Most requests do not wait on Redis: a hit is counted locally and
// answered from the key's last known shared count plus the hits not yet
// sent. Every Interval the store sends each key's new hits and reads back
// its shared count over the window, in one pipelined round trip (a Lua
// script per key), and records the engine in a heartbeat set so that each
// engine knows how many share the counts (N).
//
// Between syncs N engines could each admit a key up to the limit, so a
// request does wait for one round trip in two cases: the key's first hit
// on this engine, and once the engine's unsent hits for the key reach a
// quarter of its 1/N share of the remaining headroom. Concurrent requests
// for that key wait for the same answer. Measured with three engines at
// full speed on one key, the admitted count stays within 1% of the limit,
// or N requests for small limits (TestRedisOverAdmission*), with a few
// dozen waiting requests per key and window. Concurrent requests are
// ordered by when Redis counts them, not by when they arrived, so under
// concurrency a few can also be refused just below the limit (up to the
// requests in flight for the key: 4 of 6 in flight were seen with N = 3 on
// a loaded machine). The 1% needs the sync loops to get the CPU they ask
// for: with the cores starved by other work, a late sync was once seen to
// let 8% over the limit through in one second of full-speed hammering. No engine ever under-counts its own hits.
//
// When Redis does not answer, engines keep counting on their own (each
// still enforces the limit on what it sees, so the limit holds per
// engine), nothing waits, and the held hits are sent once it answers.
// A Redis that accepts connections and never answers costs the requests
// waiting at that moment at most the Timeout budget (with a client set
// up by Bound); the failed exchange opens the circuit: no request waits
// again until a background sync gets an answer.
type Store struct {
	client   redis.UniversalClient
	prefix   string
	interval time.Duration
	timeout  time.Duration // the longest a request waits for Redis
	maxKeys  int

	mu       sync.Mutex
	counters []*Counter

	errors   atomic.Int64
	onHealth func(error)
	started  atomic.Bool  // an exchange has happened (the first sets healthy)
	waits    atomic.Int64 // requests that waited for Redis
	healthy  atomic.Bool  // the last exchange with Redis worked
	engines  atomic.Int64 // engines seen syncing recently (at least 1)
	id       string
	stop     chan struct{}
	done     chan struct{}
	now      func() time.Time
}

// Options configure a Store.
type Options struct {
	// Prefix starts every Redis key (default "lockgate:rl:"); engines
	// that share counts use the same prefix.
	Prefix string
	// Interval between synchronisations (default 100 ms). Shorter is
	// more exact and costs more round trips.
	Interval time.Duration
	// Timeout is the per-request budget: the longest a request waits for
	// Redis (default DefaultTimeout). Give the client the same with
	// Bound, so that no call (dial, write, read, pool wait) outlasts it.
	Timeout time.Duration
	// MaxKeys bounds the keys each counter tracks locally (0: 100,000).
	MaxKeys int
	// Now is the clock (tests); time.Now by default.
	Now func() time.Time
	// OnHealth, when set, hears when Redis stops answering (the error)
	// and when it answers again (nil): once per change, not per sync.
	OnHealth func(error)
	// Manual disables the background loop: the caller calls Sync (tests
	// and measurements that need exact interleavings).
	Manual bool
}

// New starts a store; Close stops it after a last sync.
func New(client redis.UniversalClient, opts Options) *Store {
	s := &Store{client: client, prefix: opts.Prefix, interval: opts.Interval, maxKeys: opts.MaxKeys, now: opts.Now, onHealth: opts.OnHealth,
		stop: make(chan struct{}), done: make(chan struct{})}
	if s.prefix == "" {
		s.prefix = "lockgate:rl:"
	}
	if s.interval <= 0 {
		s.interval = 100 * time.Millisecond
	}
	if s.timeout = opts.Timeout; s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.maxKeys <= 0 {
		s.maxKeys = 100_000
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.engines.Store(1)
	var id [8]byte
	rand.Read(id[:])
	s.id = hex.EncodeToString(id[:])
	if opts.Manual {
		close(s.done)
		return s
	}
	go s.loop()
	return s
}

func (s *Store) loop() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 5*s.interval+time.Second)
			_ = s.Sync(ctx)
			cancel()
		}
	}
}

// Close stops the loop and sends what is pending.
func (s *Store) Close(ctx context.Context) error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return s.Sync(ctx)
}

// DefaultTimeout is the per-request budget when Options.Timeout is 0.
const DefaultTimeout = 100 * time.Millisecond

// Bound sets a go-redis client's options so that no call outlasts
// budget: the dial, each write and read, and the wait for a pooled
// connection; the caller's context deadline is honoured
// (ContextTimeoutEnabled); and a failed command is not retried (that
// would spend the budget again: the next sync retries). Without it
// go-redis waits up to its defaults (5 s reads, 3 retries) whatever the
// request's budget.
func Bound(o *redis.Options, budget time.Duration) {
	if budget <= 0 {
		budget = DefaultTimeout
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = budget, budget, budget, budget
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	o.DialerRetries = 1
}

// shareFactor: an engine asks Redis once its unsent hits reach
// 1/(shareFactor·N) of the key's remaining headroom. Larger is closer to
// exact and makes more requests near the limit wait; 4 keeps a steady
// 3-engine attacker within about 1% of limits of 1,000 and more.
const shareFactor = 4

// Waits is how many requests waited for Redis (first hits of keys, and
// hits near the limit).
func (s *Store) Waits() int64 { return s.waits.Load() }

// Errors is how many synchronisations failed.
func (s *Store) Errors() int64 { return s.errors.Load() }

// Counter returns the counter of one rate-based rule. name must be
// unique among the rules that share the store (web ACL and rule name).
func (s *Store) Counter(name string, window time.Duration, limit int64) *Counter {
	c := &Counter{store: s, name: name, width: int64(window) / ratelimit.Buckets, window: window, limit: limit, keys: map[ratelimit.Key]*redisEntry{}}
	s.mu.Lock()
	s.counters = append(s.counters, c)
	s.mu.Unlock()
	return c
}

// Counter is a ratelimit.Counter whose counts are shared through a
// Store.
type Counter struct {
	store  *Store
	name   string
	width  int64
	window time.Duration
	limit  int64

	mu   sync.Mutex
	keys map[ratelimit.Key]*redisEntry
}

type redisEntry struct {
	shared  int64 // the key's count over the window, as Redis last said
	pending int64 // hits not yet sent
	sending int64 // hits sent, answer not yet back
	sentAt  int64 // bucket of the last answer
	dirty   bool  // has pending hits the next sync must send
	known   bool  // shared has been read from Redis
	// waiting is closed when the request asking Redis for this key has
	// its answer; nil when none is asking.
	waiting chan struct{}
}

func (e *redisEntry) count() int64 { return e.shared + e.pending + e.sending }

// take moves the pending hits to an item to send. Only one item per key
// is ever in flight (e.waiting marks it): two answers racing would count
// the hits of one of them twice.
func (e *redisEntry) take(c *Counter, key ratelimit.Key) syncItem {
	it := syncItem{c: c, key: key, n: e.pending, done: make(chan struct{})}
	e.sending += e.pending
	e.pending, e.dirty = 0, false
	e.waiting = it.done
	return it
}

// bucket is the shared bucket number of a time: all engines must agree,
// so it is derived from Unix time.
func (c *Counter) bucket(now time.Time) int64 { return now.UnixNano() / c.width }

// Hit implements Counter. With other engines about, a request waits for
// Redis in two cases only: the key's first hit on this engine (what the
// others counted is unknown), and once this engine's unsent hits reach
// its share of the key's remaining headroom (see shareFactor). Then one
// request asks and the others for the same key wait for its answer, so a
// burst cannot slip through while the question is out. Otherwise N
// engines could each admit up to the limit before the next sync.
func (c *Counter) Hit(ctx context.Context, key ratelimit.Key, now time.Time) (int64, error) {
	b := c.bucket(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.keys[key]
	if !ok {
		if len(c.keys) >= c.store.maxKeys {
			c.evictLocked()
		}
		e = &redisEntry{sentAt: b}
		c.keys[key] = e
	}
	if b-e.sentAt > ratelimit.Buckets { // the shared count has left the window
		e.shared = 0
	}
	e.pending++
	e.dirty = true
	for {
		n := e.count()
		engines := c.store.engines.Load()
		if n > c.limit || engines <= 1 || !c.store.healthy.Load() ||
			e.known && shareFactor*(e.pending+e.sending)*engines <= c.limit-e.shared {
			return n, nil
		}
		if e.waiting != nil { // another request is asking: wait for it
			ch := e.waiting
			c.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
			}
			c.mu.Lock()
			if ctx.Err() != nil || c.keys[key] != e {
				return e.count(), nil
			}
			if e.known && e.pending == 0 && e.sending == 0 {
				// Our hit went out with the answer we waited for.
				return e.count(), nil
			}
			continue
		}
		items := []syncItem{e.take(c, key)}
		c.store.waits.Add(1)
		c.mu.Unlock()
		sctx, cancel := context.WithTimeout(ctx, c.store.timeout)
		err := c.store.exchange(sctx, items, now, false)
		cancel()
		c.store.apply(items, err, now)
		c.mu.Lock()
		if err != nil {
			return e.count(), nil
		}
		if e.pending == 0 {
			return e.count(), nil
		}
	}
}

// evictLocked drops a key with nothing pending and under the limit.
func (c *Counter) evictLocked() {
	seen := 0
	for k, e := range c.keys {
		if e.pending == 0 && e.sending == 0 && e.waiting == nil && e.shared <= c.limit {
			delete(c.keys, k)
			return
		}
		if seen++; seen > 64 {
			break
		}
	}
}

func (c *Counter) redisKey(k ratelimit.Key) string {
	if k.IP.IsValid() {
		return c.store.prefix + c.name + ":ip:" + k.IP.String()
	}
	return c.store.prefix + c.name + ":t:" + k.Text
}

func (c *Counter) limitedKey() string { return c.store.prefix + c.name + ":limited" }

// hitScript adds n hits to bucket b of a key's hash, drops buckets older
// than the window, and returns the sum of the rest. ARGV: b, n, oldest
// bucket kept, TTL in ms. A limited key is remembered in KEYS[2] (a
// sorted set scored by the time it was last over the limit) so that the
// limited keys can be listed without scanning.
var hitScript = redis.NewScript(`
local b, n, oldest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if n > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], n) end
local all = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #all, 2 do
  if tonumber(all[i]) < oldest then
    redis.call('HDEL', KEYS[1], all[i])
  else
    total = total + tonumber(all[i+1])
  end
end
if total > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
if total > tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return total
`)

type syncItem struct {
	c    *Counter
	key  ratelimit.Key
	n    int64
	cmd  *redis.Cmd
	done chan struct{} // closed when the answer is applied
}

// Sync sends every pending hit and refreshes the shared counts of the
// keys that had hits since the last sync.
func (s *Store) Sync(ctx context.Context) error {
	now := s.now()
	s.mu.Lock()
	counters := append([]*Counter(nil), s.counters...)
	s.mu.Unlock()
	var items []syncItem
	for _, c := range counters {
		c.mu.Lock()
		for k, e := range c.keys {
			if e.dirty && e.waiting == nil { // a key being asked about goes next time
				items = append(items, e.take(c, k))
			}
		}
		c.mu.Unlock()
	}
	err := s.exchange(ctx, items, now, true)
	return s.apply(items, err, now)
}

// exchange sends items (and, with register, this engine's heartbeat) in
// one pipeline, loading the script again if Redis lost it.
func (s *Store) exchange(ctx context.Context, items []syncItem, now time.Time, register bool) error {
	err := s.send(ctx, items, now, register)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") { // Redis restarted or flushed its scripts
		if err = hitScript.Load(ctx, s.client).Err(); err == nil {
			err = s.send(ctx, items, now, register)
		}
	}
	was := s.healthy.Swap(err == nil)
	first := !s.started.Swap(true)
	if s.onHealth != nil && (first && err != nil || !first && was != (err == nil)) {
		s.onHealth(err)
	}
	return err
}

// apply takes the shared counts Redis answered; hits that were not sent
// stay pending for the next sync.
func (s *Store) apply(items []syncItem, err error, now time.Time) error {
	failed := false
	for _, it := range items {
		total, cerr := it.cmd.Int64()
		c := it.c
		c.mu.Lock()
		e := c.keys[it.key]
		if e == nil { // evicted meanwhile
			c.mu.Unlock()
			close(it.done)
			continue
		}
		if e.waiting == it.done {
			e.waiting = nil
		}
		e.sending -= it.n
		if cerr != nil {
			e.pending += it.n // not sent: the next sync sends them
			e.dirty = true
			failed = true
		} else {
			e.shared, e.known = total, true
			e.sentAt = c.bucket(now)
		}
		c.mu.Unlock()
		close(it.done)
	}
	if err != nil || failed {
		s.errors.Add(1)
		if err == nil {
			err = errFailedItems
		}
		return err
	}
	return nil
}

// send runs the hit script for every item in one pipeline; with register
// it also records this engine as alive and counts the engines alive.
func (s *Store) send(ctx context.Context, items []syncItem, now time.Time, register bool) error {
	pipe := s.client.Pipeline()
	var card *redis.IntCmd
	if register {
		key := s.prefix + "engines"
		ms := now.UnixMilli()
		pipe.ZAdd(ctx, key, redis.Z{Score: float64(ms), Member: s.id})
		pipe.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(ms-(5*s.interval).Milliseconds()-1000, 10))
		pipe.PExpire(ctx, key, 10*s.interval+time.Minute)
		card = pipe.ZCard(ctx, key)
	}
	for i := range items {
		it := &items[i]
		it.cmd = it.c.script(ctx, pipe, it.key, now, it.n)
	}
	if len(items) == 0 && !register {
		return nil
	}
	_, err := pipe.Exec(ctx)
	if card != nil {
		if n, cerr := card.Result(); cerr == nil && n > 0 {
			s.engines.Store(n)
		}
	}
	return err
}

// script runs hitScript for a key: n hits at now (0 to only read).
func (c *Counter) script(ctx context.Context, r redis.Scripter, k ratelimit.Key, now time.Time, n int64) *redis.Cmd {
	b := c.bucket(now)
	ttl := (c.window + time.Duration(2*c.width)).Milliseconds()
	return hitScript.EvalSha(ctx, r, []string{c.redisKey(k), c.limitedKey()}, b, n, b-ratelimit.Buckets, ttl, c.limit, k.String())
}

// parseKey reverses Key.String for the members of the limited set. A
// custom key's text never parses as an address (it ends with 0x1f).
func parseKey(s string) ratelimit.Key {
	if a, err := netip.ParseAddr(s); err == nil {
		return ratelimit.Key{IP: a}
	}
	return ratelimit.Key{Text: s}
}

type syncError string

func (e syncError) Error() string { return string(e) }

const errFailedItems = syncError("ratelimit: some counts were not sent to Redis")

// Limited implements Counter: the keys whose shared count is over the
// limit, from Redis (so every engine lists the same keys).
func (c *Counter) Limited(ctx context.Context, now time.Time) ([]ratelimit.KeyCount, error) {
	b := c.bucket(now)
	members, err := c.store.client.ZRangeByScore(ctx, c.limitedKey(), &redis.ZRangeBy{Min: strconv.FormatInt(b-ratelimit.Buckets, 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, err
	}
	var out []ratelimit.KeyCount
	for _, m := range members {
		k := parseKey(m)
		cmd := c.script(ctx, c.store.client, k, now, 0)
		if cmd.Err() != nil && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			_ = hitScript.Load(ctx, c.store.client).Err()
			cmd = c.script(ctx, c.store.client, k, now, 0)
		}
		total, err := cmd.Int64()
		if err != nil {
			return nil, err
		}
		if total > c.limit {
			out = append(out, ratelimit.KeyCount{Key: k, Count: total})
		} else {
			c.store.client.ZRem(ctx, c.limitedKey(), m)
		}
	}
	return out, nil
}

var _ ratelimit.Counter = (*Counter)(nil)
