package analyze

import (
	"encoding/binary"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestIntern checks the string numbering against a map: each distinct
// string gets the next number, the same one on every lookup, through
// every growth of the table, from bytes and from strings alike.
func TestIntern(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 33, 1000, 50000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			in := newIntern()
			want := map[string]uint32{}
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			for range 3 * n {
				// Strings that share prefixes and lengths, and the
				// empty one: the stored hash and length do not settle
				// every mismatch.
				s := fmt.Sprintf("/products/%d", rng.IntN(n+1))
				switch rng.IntN(8) {
				case 0:
					s = s[:rng.IntN(len(s))]
				case 1:
					s = ""
				}
				id, ok := want[s]
				if !ok {
					id = uint32(len(want))
					want[s] = id
				}
				var got uint32
				if rng.IntN(2) == 0 {
					got = in.id([]byte(s))
				} else {
					got = in.idString(s)
				}
				if got != id {
					t.Fatalf("%q: number %d, want %d", s, got, id)
				}
			}
			for s, id := range want {
				if got, ok := in.lookup(s); !ok || got != id || in.strs[id] != s {
					t.Fatalf("lookup %q: %d %v, want %d", s, got, ok, id)
				}
			}
			if _, ok := in.lookup("not there"); ok {
				t.Fatal("lookup found a string never added")
			}
			if len(in.strs) != len(want) {
				t.Fatalf("%d strings, want %d", len(in.strs), len(want))
			}
		})
	}
}

// TestTripleTable checks the (window, IP, URI) counts against a map,
// through the table's growth, with keys that differ in one part only:
// one table, and a table per window (windowTriples), also merged.
func TestTripleTable(t *testing.T) {
	type counts interface {
		bump(triple) bool
		add(triple, uint32)
		get(triple) uint32
		all() iter.Seq2[triple, uint32]
	}
	for _, kind := range []string{"one", "windowed", "merged"} {
		for _, n := range []int{1, 700, 768, 769, 100000} {
			t.Run(fmt.Sprint(kind, n), func(t *testing.T) {
				var tt counts
				var size func() int
				switch kind {
				case "one":
					x := newTripleTable()
					tt, size = &x, func() int { return x.n }
				default:
					x := newWindowTriples()
					tt, size = &x, func() int { return x.n }
				}
				want := map[triple]uint32{}
				rng := rand.New(rand.NewPCG(2, uint64(n)))
				for range 2 * n {
					k := triple{uint32(rng.IntN(4)), uint32(rng.IntN(n/4 + 1)), uint32(rng.IntN(8))}
					if rng.IntN(4) == 0 {
						k.w = 1<<32 - 1 // the top of each part
					}
					add := uint32(1 + rng.IntN(3))
					if add == 1 && tt.bump(k) {
						want[k]++
						continue
					}
					if add == 1 && want[k] > 0 {
						t.Fatalf("bump %v: not counted although counted %d", k, want[k])
					}
					tt.add(k, add)
					want[k] += add
				}
				if kind == "merged" {
					// Into a table holding some of the triples already,
					// with the numbers mapped to others.
					into := newWindowTriples()
					ipMap, uriMap := make([]uint32, n/4+1), make([]uint32, 8)
					for i := range ipMap {
						ipMap[i] = uint32(i) * 3
					}
					for i := range uriMap {
						uriMap[i] = uint32(7 - i)
					}
					mapped := map[triple]uint32{}
					for k, c := range want {
						m := triple{k.w, ipMap[k.ip], uriMap[k.uri]}
						mapped[m] += c
						if rng.IntN(2) == 0 {
							into.add(m, 5)
							mapped[m] += 5
						}
					}
					into.merge(tt.(*windowTriples), ipMap, uriMap)
					tt, size, want = &into, func() int { return into.n }, mapped
				}
				got := maps.Collect(tt.all())
				if !maps.Equal(got, want) || size() != len(want) {
					t.Fatalf("%d triples (n %d), want %d", len(got), size(), len(want))
				}
				for k, c := range want {
					if tt.get(k) != c {
						t.Fatalf("get %v: %d, want %d", k, tt.get(k), c)
					}
				}
				if tt.get(triple{5, 5, 5}) != 0 || tt.bump(triple{5, 5, 5}) {
					t.Fatal("a triple never added is counted")
				}
			})
		}
	}
}

// TestParseIPv4 checks that parseIPv4 accepts only what netip accepts,
// with the same value: what it refuses goes through netip, but what it
// accepts is counted without it.
func TestParseIPv4(t *testing.T) {
	tests := []string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "10.0.0.1", "203.0.113.50",
		"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ",
		"1.2.3.1000", "::1", "::ffff:1.2.3.4", "1.2.3.4%eth0", "", "a.b.c.d", "1.2.3.-4", "999.999.999.999"}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 20000 {
		b := make([]byte, 7+rng.IntN(9))
		for i := range b {
			b[i] = "0123456789.."[rng.IntN(12)]
		}
		tests = append(tests, string(b))
	}
	for _, s := range tests {
		v, ok := parseIPv4([]byte(s))
		want, err := netip.ParseAddr(s)
		wantOK := err == nil && want.Is4()
		if ok != wantOK || ok && v != binary.BigEndian.Uint32(want.AsSlice()) {
			t.Errorf("%q: %x %v, netip %v %v", s, v, ok, want, err)
		}
		if ok && !validIP([]byte(s)) {
			t.Errorf("%q: parsed, yet no valid IP", s)
		}
	}
}

// TestIPNumbers checks that an address gets one number whichever way it
// is counted or merged: IPv4 through v4Table, others through intern.
func TestIPNumbers(t *testing.T) {
	a, b := newAgg(300000, 1<<20), newAgg(300000, 1<<20)
	for _, s := range []string{"1.2.3.4", "::1", "10.0.0.1", "2001:db8::1", "1.2.3.4", "::1"} {
		for _, x := range []*agg{a, b} {
			id, ok := x.ipID([]byte(s))
			if !ok || x.ips.strs[id] != s {
				t.Fatalf("%q: %d %v", s, id, ok)
			}
			if id2, ok := x.ipLookup(s); !ok || id2 != id || x.ipNumber(s) != id {
				t.Fatalf("%q: lookup %d %v, number %d, want %d", s, id2, ok, x.ipNumber(s), id)
			}
		}
	}
	b.ipID([]byte("192.0.2.9"))
	a.merge(b)
	if len(a.ips.strs) != 5 {
		t.Fatalf("merged: %q", a.ips.strs)
	}
	if _, ok := a.ipID([]byte("1.2.3.04")); ok {
		t.Fatal("1.2.3.04 counted as an IP")
	}
}

// TestIPv6AfterManyIPv4: the first IPv6 address after many IPv4 ones
// (numbered outside the table) grows the table enough for all of them;
// it once doubled it once and searched the full table forever (atk16h
// F4, seen when a file rewritten under the scan turned bytes into IPv6
// addresses).
func TestIPv6AfterManyIPv4(t *testing.T) {
	for _, n := range []int{10, 200, 5000} {
		a := newAgg(300000, 1<<20)
		for i := range n {
			if _, ok := a.ipID(fmt.Appendf(nil, "10.0.%d.%d", i>>8, i&255)); !ok {
				t.Fatal(i)
			}
		}
		for _, s := range []string{"2001:db8::1", "2001:db8::2"} {
			id, ok := a.ipID([]byte(s))
			if !ok || a.ips.strs[id] != s {
				t.Fatalf("%d IPv4, then %q: %d %v", n, s, id, ok)
			}
			if id2, ok := a.ipLookup(s); !ok || id2 != id {
				t.Fatalf("%d IPv4, then %q: lookup %d %v", n, s, id2, ok)
			}
		}
		if 2*len(a.ips.strs) > len(a.ips.slots) {
			t.Fatalf("%d strings in %d slots", len(a.ips.strs), len(a.ips.slots))
		}
	}
}

// TestRevisitedWindow: a window met again after another one holds its
// pairs in ipWin, not in the current window's array; counting a pair of
// it again takes no room under the bound of pairs.
func TestRevisitedWindow(t *testing.T) {
	a := newAgg(1000, 4) // (window, IP) and (window, IP, URI) in two windows
	ip, _ := a.ipID([]byte("192.0.2.1"))
	for _, ts := range []int64{10, 20, 1010, 30, 1020, 40} {
		a.add(&fields{ts: ts, hasTS: true, ip: []byte("192.0.2.1"), uri: []byte("/"), country: []byte("FR"), action: []byte("ALLOW"), rule: []byte("Default_Action")}, ip)
	}
	a.flush()
	if a.dropped.any() {
		t.Fatalf("dropped %+v under a bound the pairs fit", a.dropped)
	}
	if n0, n1 := a.ipWin[pair(0, ip)], a.ipWin[pair(1, ip)]; n0 != 4 || n1 != 2 {
		t.Fatalf("windows counted %d and %d requests, want 4 and 2", n0, n1)
	}
}
