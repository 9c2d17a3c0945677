package ratelimit

import (
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestAccuracy: a client sending at 2×, 10× and 100× the limit, evenly,
// for five windows. Every request counts (blocked ones too, as in AWS
// WAF), so after its first window such a client stays blocked; what
// matters is that no sliding window ever admits more than the limit.
func TestAccuracy(t *testing.T) {
	var table strings.Builder
	fmt.Fprintf(&table, "| window | limit | client rate | admitted per window (1st..5th) | most admitted in any sliding window |\n|---|---|---|---|---|\n")
	for _, tc := range []struct {
		window time.Duration
		limit  int64
	}{{time.Minute, 100}, {5 * time.Minute, 150}} {
		for _, mult := range []int64{2, 10, 100} {
			m := NewMemory(tc.window, tc.limit, 0)
			key := Key{IP: netip.MustParseAddr("203.0.113.7")}
			t0 := time.Unix(1_800_000_000, 0)
			perWindow := tc.limit * mult
			gap := tc.window / time.Duration(perWindow)
			var admitted []time.Time
			perFixed := make([]int64, 5)
			for i := range 5 * perWindow {
				now := t0.Add(time.Duration(i) * gap)
				if n, _ := m.Hit(ctx, key, now); n <= tc.limit {
					admitted = append(admitted, now)
					perFixed[now.Sub(t0)/tc.window]++
				}
			}
			// Most admitted in any window-long interval.
			most, j := 0, 0
			for i := range admitted {
				for admitted[i].Sub(admitted[j]) >= tc.window {
					j++
				}
				most = max(most, i-j+1)
			}
			if int64(most) > tc.limit {
				t.Errorf("window %v, limit %d, %d×: %d admitted in one sliding window", tc.window, tc.limit, mult, most)
			}
			if perFixed[0] != tc.limit {
				t.Errorf("window %v, limit %d, %d×: first window admitted %d, want the limit", tc.window, tc.limit, mult, perFixed[0])
			}
			fmt.Fprintf(&table, "| %v | %d | %d× (%d/window) | %v | %d |\n", tc.window, tc.limit, mult, perWindow, perFixed, most)
		}
	}
	t.Logf("\n%s", table.String())
}

// A client that stops is released within one bucket (window/24) of the
// moment its count falls to the limit.
func TestRelease(t *testing.T) {
	window := time.Minute
	m := NewMemory(window, 100, 0)
	key := Key{IP: netip.MustParseAddr("203.0.113.8")}
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 200 { // 200 requests over 20 s, then silence
		m.Hit(ctx, key, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	// Exactly: the 100 newest were sent in [10 s, 20 s); the count falls to
	// 100 once the 100th-newest is older than the window, at 70 s.
	exact := t0.Add(10*time.Second + window)
	var released time.Time
	for s := 0; s < 200; s++ {
		now := t0.Add(time.Duration(s) * 500 * time.Millisecond)
		lim, _ := m.Limited(ctx, now)
		if len(lim) == 0 && now.After(t0.Add(20*time.Second)) {
			released = now
			break
		}
	}
	if released.Before(exact) || released.Sub(exact) > window/Buckets+time.Second {
		t.Fatalf("released at +%v, exact +%v (lag allowed %v)", released.Sub(t0), exact.Sub(t0), window/Buckets)
	}
	t.Logf("released %v after the exact moment", released.Sub(exact))
}

// TestMemoryPerKey: a million distinct client IPs, one request each.
func TestMemoryPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~120 MB")
	}
	for _, limit := range []int64{100, 100_000} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := NewMemory(5*time.Minute, limit, 2_000_000)
		now := time.Unix(1_800_000_000, 0)
		for i := range 1_000_000 {
			m.Hit(ctx, Key{IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}, now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perKey := float64(after.HeapAlloc-before.HeapAlloc) / float64(m.Len())
		t.Logf("limit %d: %d keys, %.0f MB, %.1f bytes per key", limit, m.Len(), float64(after.HeapAlloc-before.HeapAlloc)/1e6, perKey)
		if limit < 0xffff && perKey > 128 {
			t.Errorf("%.1f bytes per tracked key, over 128", perKey)
		}
		runtime.KeepAlive(m)
	}
}

// 32-bit buckets (limits of 65,535 and more) count like 16-bit ones.
func TestWideBuckets(t *testing.T) {
	m := NewMemory(time.Minute, 100_000, 0)
	key := Key{Text: "CONSTANT"}
	t0 := time.Unix(1_800_000_000, 0)
	var n int64
	for i := range 100_001 {
		n, _ = m.Hit(ctx, key, t0.Add(time.Duration(i)*100*time.Microsecond)) // 10 s
	}
	if n != 100_001 {
		t.Fatalf("count %d", n)
	}
	if lim, _ := m.Limited(ctx, t0.Add(20*time.Second)); len(lim) != 1 || lim[0].Key != key {
		t.Fatalf("limited: %v", lim)
	}
	if n, _ := m.Hit(ctx, key, t0.Add(2*time.Minute)); n != 1 {
		t.Fatalf("after the window: %d", n)
	}
}
