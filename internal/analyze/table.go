package analyze

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// The counting tables of the scan. They do the work of Go maps with
// less: open addressing with linear probing in one array, so that a
// lookup in a table of a million keys, far larger than the caches,
// usually costs one cache miss where a map costs two or three, and no
// hashing of keys through the generic map code.

// intern gives each distinct string a small number, so that the counting
// tables hold fixed-size keys. A slot holds a string's number plus one
// (zero: empty) and 32 bits of its hash, which settle most mismatches
// without comparing bytes.
type intern struct {
	slots []internSlot
	strs  []string
	seed  maphash.Seed
}

type internSlot struct{ hash, id uint32 }

func newIntern() intern {
	return intern{slots: make([]internSlot, 64), seed: maphash.MakeSeed()}
}

// find returns b's number, or false and the hash to give add.
func (t *intern) find(b []byte) (uint32, uint64, bool) {
	// A seeded hash: the strings are from the logs, and a fixed hash
	// would let whoever writes URIs fill one chain.
	h := maphash.Bytes(t.seed, b)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.id == 0 {
			return 0, h, false
		}
		if s.hash == uint32(h>>32) && t.strs[s.id-1] == string(b) {
			return s.id - 1, h, true
		}
	}
}

// findString is find for a string.
func (t *intern) findString(b string) (uint32, uint64, bool) {
	h := maphash.String(t.seed, b)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.id == 0 {
			return 0, h, false
		}
		if s.hash == uint32(h>>32) && t.strs[s.id-1] == b {
			return s.id - 1, h, true
		}
	}
}

// add numbers a string find did not find; h is its hash.
func (t *intern) add(s string, h uint64) uint32 {
	id := uint32(len(t.strs))
	t.strs = append(t.strs, s)
	if 2*len(t.strs) > len(t.slots) { // at most half full
		t.grow()
	} else {
		t.place(h, id)
	}
	return id
}

func (t *intern) place(h uint64, id uint32) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].id != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = internSlot{uint32(h >> 32), id + 1}
}

// grow makes the table at most half full again. Its strings include
// those push numbered without entering them (IPv4 addresses, which
// v4Table finds), so doubling once may not be enough: a table of 64 slots
// holding 200 pushed strings when the first IPv6 address came would be
// filled and place would search it for a free slot forever.
func (t *intern) grow() {
	n := 2 * len(t.slots)
	for 2*len(t.strs) > n {
		n *= 2
	}
	t.slots = written[internSlot](n)
	for id, s := range t.strs {
		t.place(maphash.String(t.seed, s), uint32(id))
	}
}

// push numbers s without entering it in the table, for a caller that
// finds its strings by other means (v4Table).
func (t *intern) push(s string) uint32 {
	t.strs = append(t.strs, s)
	return uint32(len(t.strs) - 1)
}

func (t *intern) id(b []byte) uint32 {
	id, h, ok := t.find(b)
	if ok {
		return id
	}
	return t.add(string(b), h)
}

func (t *intern) idString(s string) uint32 {
	id, h, ok := t.findString(s)
	if ok {
		return id
	}
	return t.add(s, h)
}

// lookup returns s's number, or false if it has none.
func (t *intern) lookup(s string) (uint32, bool) {
	id, _, ok := t.findString(s)
	return id, ok
}

// written returns a slice of n zero elements whose pages have each been
// written once. A large make is memory fresh from the kernel, which the
// runtime knows to be zero and does not write; a table's first access to
// a page is then a probe, a read, which maps the kernel's shared zero
// page, and the first write to it faults again and replaces the mapping,
// which flushes the other cores' TLBs (an interprocessor interrupt per
// page): 4% of the whole report's CPU on 2 GB of logs (perf,
// ptep_clear_flush under tripleTable.added). A write first costs one
// fault a page.
func written[T any](n int) []T {
	s := make([]T, n)
	var zero T
	step := max(1, 4096/int(unsafe.Sizeof(zero)))
	for i := 0; i < n; i += step {
		s[i] = zero
	}
	return s
}

// tripleTable counts (window, ip, uri) triples. A slot with a zero count
// is empty: a key is only there once counted.
type tripleTable struct {
	slots []tripleSlot
	n     int
	shift uint
	seed  uint64
}

type tripleSlot struct {
	wip uint64 // window<<32 | ip
	uri uint32
	n   uint32
}

func newTripleTable() tripleTable {
	return tripleTable{slots: make([]tripleSlot, 1024), shift: 64 - 10, seed: rand.Uint64() | 1}
}

func (k triple) packed() uint64 { return uint64(k.w)<<32 | uint64(k.ip) }

// slot returns the slot of k, or the empty one where k would go.
func (t *tripleTable) slot(wip uint64, uri uint32) *tripleSlot {
	// Multiplicative hashing of the numbers, keyed by a random seed:
	// the numbers are dense, and the high bits of the product mix all
	// of them.
	h := ((wip^t.seed)*0x9e3779b97f4a7c15 ^ uint64(uri)*0xbf58476d1ce4e5b9) * 0x94d049bb133111eb
	mask := uint64(len(t.slots) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.n == 0 || s.wip == wip && s.uri == uri {
			return s
		}
	}
}

// bump counts one request of k if k is counted already and reports
// whether it was.
func (t *tripleTable) bump(k triple) bool {
	s := t.slot(k.packed(), k.uri)
	if s.n > 0 {
		s.n++
		return true
	}
	return false
}

// add adds n requests of k.
func (t *tripleTable) add(k triple, n uint32) {
	s := t.slot(k.packed(), k.uri)
	if s.n > 0 {
		s.n += n
		return
	}
	*s = tripleSlot{k.packed(), k.uri, n}
	t.added()
}

func (t *tripleTable) added() {
	t.n++
	if 4*t.n > 3*len(t.slots) { // at most three quarters full
		t.resize(2 * len(t.slots))
	}
}

// reserve makes room for n triples without growing, for a merge, which
// would otherwise rehash the table as it fills.
func (t *tripleTable) reserve(n int) {
	size := len(t.slots)
	for 4*n > 3*size {
		size *= 2
	}
	if size > len(t.slots) {
		t.resize(size)
	}
}

// resize moves the triples to a table of size slots, a power of two.
func (t *tripleTable) resize(size int) {
	old := t.slots
	t.slots = written[tripleSlot](size)
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, s := range old {
		if s.n > 0 {
			*t.slot(s.wip, s.uri) = s
		}
	}
}

// get returns k's count (zero when not counted).
func (t *tripleTable) get(k triple) uint32 { return t.slot(k.packed(), k.uri).n }

// all yields the counted triples, in no particular order.
func (t *tripleTable) all() iter.Seq2[triple, uint32] {
	return func(yield func(triple, uint32) bool) {
		for _, s := range t.slots {
			if s.n > 0 && !yield(triple{uint32(s.wip >> 32), uint32(s.wip), s.uri}, s.n) {
				return
			}
		}
	}
}

// v4Table numbers IPv4 client addresses by their 32-bit value: the
// address in the text of a record is parsed (cheaper than hashing it)
// and looked up without comparing strings. A slot holds the number plus
// one (zero: empty).
type v4Table struct {
	slots []v4Slot
	n     int
	shift uint
	seed  uint32
}

type v4Slot struct{ addr, id uint32 }

func newV4Table() v4Table {
	return v4Table{slots: make([]v4Slot, 256), shift: 64 - 8, seed: rand.Uint32()}
}

func (t *v4Table) slot(addr uint32) *v4Slot {
	h := uint64(addr^t.seed) * 0x9e3779b97f4a7c15
	mask := uint64(len(t.slots) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.id == 0 || s.addr == addr {
			return s
		}
	}
}

// get returns addr's number, or false.
func (t *v4Table) get(addr uint32) (uint32, bool) {
	s := t.slot(addr)
	return s.id - 1, s.id != 0
}

// put numbers addr, which get did not find.
func (t *v4Table) put(addr, id uint32) {
	*t.slot(addr) = v4Slot{addr, id + 1}
	t.n++
	if 2*t.n > len(t.slots) {
		old := t.slots
		t.slots = written[v4Slot](2 * len(old))
		t.shift--
		for _, s := range old {
			if s.id != 0 {
				*t.slot(s.addr) = s
			}
		}
	}
}

// parseIPv4 reads a dotted-quad IPv4 address as netip.ParseAddr does
// (four decimal numbers up to 255, no leading zeros), or returns false:
// whatever it refuses goes the general way, through netip.
func parseIPv4(b []byte) (uint32, bool) {
	if len(b) < 7 || len(b) > 15 {
		return 0, false
	}
	var addr uint32
	i := 0
	for part := range 4 {
		if part > 0 {
			if i >= len(b) || b[i] != '.' {
				return 0, false
			}
			i++
		}
		start, v := i, uint32(0)
		for i < len(b) && i-start < 3 && '0' <= b[i] && b[i] <= '9' {
			v = v*10 + uint32(b[i]-'0')
			i++
		}
		if i == start || v > 255 || i-start > 1 && b[start] == '0' {
			return 0, false
		}
		addr = addr<<8 | v
	}
	return addr, i == len(b)
}
