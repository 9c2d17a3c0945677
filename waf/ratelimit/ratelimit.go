// Package ratelimit counts requests per aggregation key over a sliding
// window, for AWS WAF rate-based rules.
//
// Every request is counted the moment it arrives, so a rule reacts to a
// burst at once (AWS WAF re-evaluates rates every 10 to 30 seconds). A
// key's count over the window is the sum of its buckets, the oldest one
// included whole: it never counts fewer requests than arrived in the
// last window, so a client that keeps sending is never let through more
// than the limit in any window. The price is that a block can outlast
// the true rate by at most one bucket (window/24: 2.5 s for a 60-second
// window, 12.5 s for 300 seconds).
package ratelimit

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Buckets is how many buckets a window has. A key keeps one more: the
// current, partly filled bucket plus Buckets whole ones always cover at
// least the window.
const Buckets = 24

const slots = Buckets + 1

// Key is an aggregation key: an IP address, or text (custom keys).
type Key struct {
	IP   netip.Addr
	Text string
}

func (k Key) String() string {
	if k.IP.IsValid() {
		return k.IP.String()
	}
	return k.Text
}

// KeyCount is a key and its count over the window.
type KeyCount struct {
	Key   Key
	Count int64
}

// Counter counts requests of one rate-based rule.
type Counter interface {
	// Hit counts one request for key at now and returns the key's count
	// over the window, this request included.
	Hit(ctx context.Context, key Key, now time.Time) (int64, error)
	// Limited lists the keys whose count is over the limit at now.
	Limited(ctx context.Context, now time.Time) ([]KeyCount, error)
}

// Memory is an in-process Counter with a bound on tracked keys.
type Memory struct {
	width   int64 // bucket width in nanoseconds
	limit   int64
	maxKeys int
	shards  [shardCount]shard
}

const shardCount = 32

type shard struct {
	mu sync.Mutex
	m  map[Key]*entry
}

// entry is one key's buckets: 25 × 4 bytes + 16 = 116 bytes.
type entry struct {
	counts [slots]uint32
	head   int64 // bucket number of the newest bucket
	total  int64
}

// NewMemory returns a counter for a window, a limit and at most maxKeys
// tracked keys (0: 100,000). When full, it evicts keys under the limit,
// the quietest first, so that no key over its limit escapes.
func NewMemory(window time.Duration, limit int64, maxKeys int) *Memory {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	m := &Memory{width: int64(window) / Buckets, limit: limit, maxKeys: maxKeys}
	for i := range m.shards {
		m.shards[i].m = make(map[Key]*entry)
	}
	return m
}

func (m *Memory) shardOf(k Key) *shard {
	var h uint64
	if k.IP.IsValid() {
		b := k.IP.As16()
		for _, c := range b[8:] {
			h = h*31 + uint64(c)
		}
		for _, c := range b[:8] {
			h = h*31 + uint64(c)
		}
	} else {
		for i := 0; i < len(k.Text); i++ {
			h = h*31 + uint64(k.Text[i])
		}
	}
	return &m.shards[h%shardCount]
}

// advance moves e to bucket now, dropping buckets that left the window.
func (e *entry) advance(now int64) {
	if now <= e.head {
		return
	}
	gap := now - e.head
	if gap >= slots {
		e.counts = [slots]uint32{}
		e.total = 0
	} else {
		for b := e.head + 1; b <= now; b++ {
			i := b % slots
			e.total -= int64(e.counts[i])
			e.counts[i] = 0
		}
	}
	e.head = now
}

// Hit implements Counter.
func (m *Memory) Hit(_ context.Context, key Key, now time.Time) (int64, error) {
	b := now.UnixNano() / m.width
	s := m.shardOf(key)
	s.mu.Lock()
	e, ok := s.m[key]
	if !ok {
		if len(s.m) >= m.maxKeys/shardCount {
			m.evict(s, b)
		}
		e = &entry{head: b}
		s.m[key] = e
	}
	e.advance(b)
	if e.counts[b%slots] < ^uint32(0) {
		e.counts[b%slots]++
		e.total++
	}
	n := e.total
	s.mu.Unlock()
	return n, nil
}

// evict removes the quietest of a sample of keys that are not over the
// limit. A shard whose sample holds only limited keys grows instead:
// evicting one of them would let it escape.
func (m *Memory) evict(s *shard, now int64) {
	var victim Key
	best, seen := int64(-1), 0
	for k, e := range s.m {
		e.advance(now)
		if e.total <= m.limit && (best < 0 || e.total < best) {
			victim, best = k, e.total
		}
		if seen++; seen >= 16 && best >= 0 {
			break
		}
	}
	if best >= 0 {
		delete(s.m, victim)
	}
}

// Limited implements Counter.
func (m *Memory) Limited(_ context.Context, now time.Time) ([]KeyCount, error) {
	b := now.UnixNano() / m.width
	var out []KeyCount
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			e.advance(b)
			if e.total > m.limit {
				out = append(out, KeyCount{k, e.total})
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b KeyCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return 0
	})
	return out, nil
}

// Len is the number of tracked keys.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].m)
		m.shards[i].mu.Unlock()
	}
	return n
}
