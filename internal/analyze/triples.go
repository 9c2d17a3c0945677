package analyze

import (
	"iter"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// windowTriples counts (window, ip, uri) triples in a tripleTable per
// window. Records come in time order (AWS writes an object every five
// minutes, and a worker scans a range of one object at a time), so most
// counts go to the current window's table, which is small enough to stay
// in the core's caches, where one table of every window's triples, tens
// of megabytes on gigabytes of logs, made nearly every count a cache
// miss.
type windowTriples struct {
	byW map[uint32]*tripleTable
	// w and cur are the table last counted in, which most records use
	// again. Only counting sets them: get, which the report's goroutines
	// call side by side, does not.
	w   uint32
	cur *tripleTable
	n   int // triples, in every window
}

func newWindowTriples() windowTriples {
	return windowTriples{byW: make(map[uint32]*tripleTable)}
}

// table returns the table of window w, made if it is missing.
func (t *windowTriples) table(w uint32) *tripleTable {
	if t.cur != nil && t.w == w {
		return t.cur
	}
	tt := t.byW[w]
	if tt == nil {
		// A small first table: with short windows and few requests in
		// each, most windows hold a handful of triples.
		tt = &tripleTable{slots: make([]tripleSlot, 16), shift: 64 - 4, seed: rand.Uint64() | 1}
		t.byW[w] = tt
	}
	t.w, t.cur = w, tt
	return tt
}

// bump counts one request of k if k is counted already and reports
// whether it was.
func (t *windowTriples) bump(k triple) bool {
	if t.cur != nil && t.w == k.w {
		return t.cur.bump(k)
	}
	tt := t.byW[k.w]
	if tt == nil {
		return false
	}
	t.w, t.cur = k.w, tt
	return tt.bump(k)
}

// add adds n requests of k.
func (t *windowTriples) add(k triple, n uint32) {
	tt := t.table(k.w)
	before := tt.n
	tt.add(k, n)
	t.n += tt.n - before
}

// get returns k's count (zero when not counted).
func (t *windowTriples) get(k triple) uint32 {
	tt := t.byW[k.w]
	if tt == nil {
		return 0
	}
	return tt.get(k)
}

// all yields the counted triples, in no particular order.
func (t *windowTriples) all() iter.Seq2[triple, uint32] {
	return func(yield func(triple, uint32) bool) {
		for _, tt := range t.byW {
			for k, n := range tt.all() {
				if !yield(k, n) {
					return
				}
			}
		}
	}
}

// parts splits the counted triples into n sequences of whole windows,
// of about as many triples each, for n goroutines to read side by side.
func (t *windowTriples) parts(n int) []iter.Seq2[triple, uint32] {
	sets := make([][]*tripleTable, n)
	sizes := make([]int, n)
	for _, tt := range t.byW {
		i := 0
		for j := range sizes {
			if sizes[j] < sizes[i] {
				i = j
			}
		}
		sets[i], sizes[i] = append(sets[i], tt), sizes[i]+tt.n
	}
	seqs := make([]iter.Seq2[triple, uint32], n)
	for i, set := range sets {
		seqs[i] = func(yield func(triple, uint32) bool) {
			for _, tt := range set {
				for k, c := range tt.all() {
					if !yield(k, c) {
						return
					}
				}
			}
		}
	}
	return seqs
}

// merge adds o's counts, their IPs and URIs renumbered by ipMap and
// uriMap, window by window, each table grown once; the windows'
// tables are independent, and two goroutines share them out.
func (t *windowTriples) merge(o *windowTriples, ipMap, uriMap []uint32) {
	type job struct{ into, from *tripleTable }
	jobs := make([]job, 0, len(o.byW))
	for w, ot := range o.byW {
		jobs = append(jobs, job{t.table(w), ot})
	}
	var next atomic.Int64
	var added [2]int
	var wg sync.WaitGroup
	for g := range added {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(jobs)) {
					return
				}
				tt, ot := jobs[i].into, jobs[i].from
				before := tt.n
				tt.reserve(tt.n + ot.n)
				for k, n := range ot.all() {
					tt.add(triple{k.w, ipMap[k.ip], uriMap[k.uri]}, n)
				}
				added[g] += tt.n - before
			}
		})
	}
	wg.Wait()
	t.n += added[0] + added[1]
}
