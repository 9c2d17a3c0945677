package analyze

import (
	"fmt"
	"maps"
	"math/rand/v2"
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
// through the table's growth, with keys that differ in one part only.
func TestTripleTable(t *testing.T) {
	for _, n := range []int{1, 700, 768, 769, 100000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			tt := newTripleTable()
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
			got := maps.Collect(tt.all())
			if !maps.Equal(got, want) || tt.n != len(want) {
				t.Fatalf("%d triples (n %d), want %d", len(got), tt.n, len(want))
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
