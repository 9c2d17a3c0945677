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
//
// A tracked key costs under 100 bytes: its buckets live in a slab,
// indexed from a map keyed by the address's 16 bytes. A bucket only needs
// to count to limit+1: a bucket holding more keeps the key over the limit
// for as long as it stays in the window, whatever its exact count, so
// counts saturate there and limits under 65,535 fit in 16-bit buckets.
type Memory struct {
	width   int64 // bucket width in nanoseconds
	limit   int64
	maxKeys int
	wide    bool // 32-bit buckets (limit ≥ 65,535)
	shards  [shardCount]shard
}

const shardCount = 32

type shard struct {
	mu    sync.Mutex
	ips   map[[16]byte]uint32 // IP keys (IPv4 as IPv4-mapped)
	texts map[string]uint32   // text keys
	slab  []entry
	wslab [][slots]uint32 // 32-bit buckets of entry i, when wide
	free  []uint32
}

// entry is one key's buckets: 25 × 2 + 8 bytes.
type entry struct {
	counts [slots]uint16
	head   uint32 // bucket number of the newest bucket (mod 2^32)
	total  uint32
}

// NewMemory returns a counter for a window, a limit and at most maxKeys
// tracked keys (0: 100,000). When full, it evicts keys under the limit,
// the quietest first, so that no key over its limit escapes.
func NewMemory(window time.Duration, limit int64, maxKeys int) *Memory {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	m := &Memory{width: int64(window) / Buckets, limit: limit, maxKeys: maxKeys, wide: limit >= 0xffff}
	for i := range m.shards {
		m.shards[i].ips = make(map[[16]byte]uint32)
		m.shards[i].texts = make(map[string]uint32)
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

// cap is the most a bucket counts: limit+1 (see Memory).
func (m *Memory) cap() uint32 {
	if m.limit+1 < 0xffffffff {
		return uint32(m.limit + 1)
	}
	return 0xffffffff
}

// advance moves entry i to bucket now, dropping buckets that left the
// window.
func (m *Memory) advance(s *shard, i uint32, now uint32) {
	e := &s.slab[i]
	gap := now - e.head
	if gap == 0 || gap > 1<<31 { // same bucket, or a clock step back
		return
	}
	if gap >= slots {
		if m.wide {
			s.wslab[i] = [slots]uint32{}
		} else {
			e.counts = [slots]uint16{}
		}
		e.total = 0
	} else {
		for b := e.head + 1; b != now+1; b++ {
			j := b % slots
			if m.wide {
				e.total -= s.wslab[i][j]
				s.wslab[i][j] = 0
			} else {
				e.total -= uint32(e.counts[j])
				e.counts[j] = 0
			}
		}
	}
	e.head = now
}

func (s *shard) lookup(k Key) (uint32, bool) {
	if k.IP.IsValid() {
		i, ok := s.ips[k.IP.As16()]
		return i, ok
	}
	i, ok := s.texts[k.Text]
	return i, ok
}

func (m *Memory) insert(s *shard, k Key, now uint32) uint32 {
	var i uint32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
		s.slab[i] = entry{head: now}
		if m.wide {
			s.wslab[i] = [slots]uint32{}
		}
	} else {
		i = uint32(len(s.slab))
		s.slab = append(s.slab, entry{head: now})
		if m.wide {
			s.wslab = append(s.wslab, [slots]uint32{})
		}
	}
	if k.IP.IsValid() {
		s.ips[k.IP.As16()] = i
	} else {
		s.texts[k.Text] = i
	}
	return i
}

// Hit implements Counter.
func (m *Memory) Hit(_ context.Context, key Key, now time.Time) (int64, error) {
	b := uint32(now.UnixNano() / m.width)
	s := m.shardOf(key)
	s.mu.Lock()
	i, ok := s.lookup(key)
	if !ok {
		if len(s.slab)-len(s.free) >= m.maxKeys/shardCount {
			m.evict(s, b)
		}
		i = m.insert(s, key, b)
	}
	m.advance(s, i, b)
	e := &s.slab[i]
	j := b % slots
	if m.wide {
		if s.wslab[i][j] < m.cap() {
			s.wslab[i][j]++
			e.total++
		}
	} else if uint32(e.counts[j]) < m.cap() {
		e.counts[j]++
		e.total++
	}
	n := int64(e.total)
	s.mu.Unlock()
	return n, nil
}

// evict removes the quietest of a sample of keys that are not over the
// limit. A shard whose sample holds only limited keys grows instead:
// evicting one of them would let it escape.
func (m *Memory) evict(s *shard, now uint32) {
	best, seen := int64(-1), 0
	var victimIP [16]byte
	var victimText string
	victimIsIP := false
	consider := func(i uint32) bool {
		m.advance(s, i, now)
		t := int64(s.slab[i].total)
		better := t <= m.limit && (best < 0 || t < best)
		if better {
			best = t
		}
		seen++
		return better
	}
	for k, i := range s.ips {
		if consider(i) {
			victimIP, victimIsIP = k, true
		}
		if seen >= 16 && best >= 0 {
			break
		}
	}
	if seen < 16 || best < 0 {
		for k, i := range s.texts {
			if consider(i) {
				victimText, victimIsIP = k, false
			}
			if seen >= 32 && best >= 0 {
				break
			}
		}
	}
	if best < 0 {
		return
	}
	var i uint32
	if victimIsIP {
		i = s.ips[victimIP]
		delete(s.ips, victimIP)
	} else {
		i = s.texts[victimText]
		delete(s.texts, victimText)
	}
	s.free = append(s.free, i)
}

// Limited implements Counter.
func (m *Memory) Limited(_ context.Context, now time.Time) ([]KeyCount, error) {
	b := uint32(now.UnixNano() / m.width)
	var out []KeyCount
	for si := range m.shards {
		s := &m.shards[si]
		s.mu.Lock()
		for k, i := range s.ips {
			m.advance(s, i, b)
			if t := int64(s.slab[i].total); t > m.limit {
				out = append(out, KeyCount{Key{IP: netip.AddrFrom16(k).Unmap()}, t})
			}
		}
		for k, i := range s.texts {
			m.advance(s, i, b)
			if t := int64(s.slab[i].total); t > m.limit {
				out = append(out, KeyCount{Key{Text: k}, t})
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
		n += len(m.shards[i].ips) + len(m.shards[i].texts)
		m.shards[i].mu.Unlock()
	}
	return n
}
