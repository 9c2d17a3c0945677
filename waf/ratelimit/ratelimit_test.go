package ratelimit

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

var ctx = context.Background()

func ip(s string) Key { return Key{IP: netip.MustParseAddr(s)} }

func TestSlidingWindow(t *testing.T) {
	m := NewMemory(5*time.Minute, 150, 0)
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	k := ip("203.0.113.7")
	for i := 1; i <= 150; i++ {
		if n, _ := m.Hit(ctx, k, t0.Add(time.Duration(i)*time.Second)); n != int64(i) {
			t.Fatalf("hit %d: count %d", i, n)
		}
	}
	if n, _ := m.Hit(ctx, k, t0.Add(151*time.Second)); n != 151 {
		t.Fatalf("151st: %d", n)
	}
	// Another key is counted apart.
	if n, _ := m.Hit(ctx, ip("198.51.100.1"), t0.Add(151*time.Second)); n != 1 {
		t.Fatalf("other key: %d", n)
	}
	lim, _ := m.Limited(ctx, t0.Add(152*time.Second))
	if len(lim) != 1 || lim[0].Key != k || lim[0].Count != 151 {
		t.Fatalf("limited: %+v", lim)
	}
	// Requests leave the window: after the window plus one bucket, all gone.
	if n, _ := m.Hit(ctx, k, t0.Add(151*time.Second+5*time.Minute+2*12500*time.Millisecond)); n != 1 {
		t.Fatalf("after the window: %d", n)
	}
}

// The count never falls below the true count over the last window.
func TestCountIsConservative(t *testing.T) {
	window := time.Minute
	m := NewMemory(window, 1000, 0)
	t0 := time.Unix(1_800_000_000, 0)
	k := ip("192.0.2.1")
	var times []time.Time
	for i := range 5000 {
		now := t0.Add(time.Duration(i) * 37 * time.Millisecond)
		times = append(times, now)
		got, _ := m.Hit(ctx, k, now)
		exact := int64(0)
		for _, tt := range times {
			if now.Sub(tt) < window {
				exact++
			}
		}
		if got < exact {
			t.Fatalf("at request %d: counted %d, %d arrived in the last window", i, got, exact)
		}
		if got > exact+2*exact/Buckets+30 {
			t.Fatalf("at request %d: counted %d, far over the %d that arrived", i, got, exact)
		}
	}
}

func TestEvictionKeepsLimitedKeys(t *testing.T) {
	m := NewMemory(time.Minute, 10, shardCount*4) // 4 keys a shard
	t0 := time.Unix(1_800_000_000, 0)
	attacker := ip("203.0.113.66")
	for range 50 {
		m.Hit(ctx, attacker, t0)
	}
	for i := range 5000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		m.Hit(ctx, Key{IP: a}, t0)
	}
	if m.Len() > shardCount*4+shardCount {
		t.Fatalf("%d keys tracked, bound %d", m.Len(), shardCount*4)
	}
	// Still over the limit (a bucket counts to limit+1: 11).
	if n, _ := m.Hit(ctx, attacker, t0); n != 11 {
		t.Fatalf("the limited key was evicted (count %d)", n)
	}
}

func BenchmarkHit(b *testing.B) {
	m := NewMemory(5*time.Minute, 7000, 0)
	k := ip("203.0.113.7")
	now := time.Unix(1_800_000_000, 0)
	b.ReportAllocs()
	for b.Loop() {
		m.Hit(ctx, k, now)
	}
}
