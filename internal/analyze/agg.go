package analyze

import (
	"bytes"
	"errors"
	"math"
	"sync"
	"sync/atomic"
)

// pair packs two 32-bit numbers (a window and an id) in a map key.
func pair(a, b uint32) uint64 { return uint64(a)<<32 | uint64(b) }

func unpair(k uint64) (uint32, uint32) { return uint32(k >> 32), uint32(k) }

type triple struct{ w, ip, uri uint32 }

// drops are what the bound on pairs left uncounted: requests missing
// from the (window, IP) counts and from the (window, IP, URI) counts,
// and header values missing from the (window, value) counts.
type drops struct{ ip, ipURI, hdr int64 }

func (d drops) any() bool { return d.ip+d.ipURI+d.hdr > 0 }

// agg counts one worker's records. Memory grows with the distinct (key,
// window) pairs; maxKeys bounds them and requests of new pairs past the
// bound are counted in dropped instead, per list, so that the warning
// says what is missing from which.
type agg struct {
	winMs   int64
	maxKeys int
	keys    int
	// budget, when set, is the pairs every worker of a pass may still
	// add, shared so that --max-keys bounds the pass's pairs and not a
	// fixed share of them per worker: with the bound split evenly, each
	// worker saw most of the input's pairs and dropped past its share,
	// and counts went missing far below the bound (an independent check:
	// 84% of the requests dropped with 9,995 pairs under a bound of
	// 20,000 on 8 workers). allow is what this worker has taken from it
	// and not used yet: taken in grants, not one pair at a time, so the
	// workers do not contend for one counter on every new pair.
	budget *keyBudget
	allow  int64

	ips, uris, vals, names intern // names: countries, actions and rules
	// v4 numbers the IPv4 addresses of ips; they are not in ips's own
	// table (ipNumber and ipLookup know where to look).
	v4   v4Table
	last [3]lastName

	ipWin map[uint64]uint32 // (window, ip)
	// cur counts the (window, ip) pairs of the window curW in an array
	// indexed by ip: records come in time order (AWS writes an object
	// every 5 minutes), so most fall in the window of the record before,
	// and an array index costs less than a map access to a million
	// entries. flush moves the counts into ipWin when the window changes
	// and before ipWin is read.
	curW     uint32
	curOK    bool
	cur      []uint32
	touched  []uint32
	ipURIWin windowTriples     // (window, ip, uri)
	hdrWin   map[uint64]uint32 // (window, header value)
	country  map[uint32]int64
	action   map[uint32]int64
	rule     map[uint64]int64 // (rule, action)

	records int64
	dropped drops
	minTS   int64
	maxTS   int64
}

func newAgg(winMs int64, maxKeys int) *agg {
	return &agg{winMs: winMs, maxKeys: maxKeys, ips: newIntern(), v4: newV4Table(), uris: newIntern(), vals: newIntern(), names: newIntern(),
		ipWin: make(map[uint64]uint32), ipURIWin: newWindowTriples(), hdrWin: make(map[uint64]uint32),
		country: make(map[uint32]int64), action: make(map[uint32]int64), rule: make(map[uint64]int64),
		minTS: math.MaxInt64, maxTS: math.MinInt64}
}

// filter says which records are analysed.
type filter struct {
	from, to  int64 // inclusive, ms
	uriPrefix []byte
	method    []byte
	action    []byte
	country   []byte
}

func (f *filter) keep(r *fields) bool {
	if r.ts < f.from || r.ts > f.to {
		return false
	}
	if len(f.uriPrefix) > 0 && !bytes.HasPrefix(r.uri, f.uriPrefix) {
		return false
	}
	if len(f.method) > 0 && !bytes.EqualFold(r.method, f.method) {
		return false
	}
	if len(f.action) > 0 && !bytes.EqualFold(r.action, f.action) {
		return false
	}
	if len(f.country) > 0 && !bytes.EqualFold(r.country, f.country) {
		return false
	}
	return true
}

// ipID is the number of a client IP, or false when it is no IP address:
// such a record is a bad one, as replay, which must evaluate it, finds
// it. An address is parsed only the first time it is seen.
func (a *agg) ipID(b []byte) (uint32, bool) {
	if v, ok := parseIPv4(b); ok {
		if id, ok := a.v4.get(v); ok {
			return id, true
		}
		id := a.ips.push(string(b))
		a.v4.put(v, id)
		return id, true
	}
	// The table holds canonical spellings only (canonIP): an address
	// written as AWS writes it is found at once, any other spelling is
	// parsed and looked up as its address.
	id, h, ok := a.ips.find(b)
	if ok {
		return id, true
	}
	c, ok := canonIP(b)
	if !ok {
		return 0, false
	}
	if c != string(b) {
		if v, ok := parseIPv4([]byte(c)); ok { // an IPv4-mapped IPv6 address
			if id, ok := a.v4.get(v); ok {
				return id, true
			}
			id := a.ips.push(c)
			a.v4.put(v, id)
			return id, true
		}
		return a.ips.idString(c), true
	}
	return a.ips.add(c, h), true
}

// ipNumber is ipID for an address known to be valid, as a string.
func (a *agg) ipNumber(s string) uint32 {
	if v, ok := parseIPv4([]byte(s)); ok {
		if id, ok := a.v4.get(v); ok {
			return id
		}
		id := a.ips.push(s)
		a.v4.put(v, id)
		return id
	}
	return a.ips.idString(s)
}

// ipLookup returns the number of the client IP s, or false if it was
// not counted.
func (a *agg) ipLookup(s string) (uint32, bool) {
	if v, ok := parseIPv4([]byte(s)); ok {
		return a.v4.get(v)
	}
	return a.ips.lookup(s)
}

// validIP reports whether b is a client IP as replay reads it.
func validIP(b []byte) bool {
	_, ok := canonIP(b)
	return ok
}

var errNotIP = errors.New("httpRequest.clientIp is not an IP address")

// add counts a record whose client IP has the number ip (from ipID).
func (a *agg) add(r *fields, ip uint32) {
	a.records++
	a.minTS = min(a.minTS, r.ts)
	a.maxTS = max(a.maxTS, r.ts)
	w := uint32(floorDiv(r.ts, a.winMs))
	if !a.curOK || w != a.curW {
		a.flush()
		a.curW, a.curOK = w, true
	}
	if int(ip) >= len(a.cur) {
		a.cur = append(a.cur, make([]uint32, int(ip)+1-len(a.cur)+len(a.cur)/2)...)
	}
	if n := a.cur[ip]; n > 0 {
		a.cur[ip] = n + 1
	} else if _, ok := a.ipWin[pair(w, ip)]; ok || a.room() {
		a.cur[ip] = 1
		a.touched = append(a.touched, ip)
	} else {
		a.dropped.ip++
	}
	if k := (triple{w, ip, a.uris.id(r.uri)}); !a.ipURIWin.bump(k) {
		if a.room() {
			a.ipURIWin.add(k, 1)
		} else {
			a.dropped.ipURI++
		}
	}
	for _, h := range r.hdr {
		if !bump(a, a.hdrWin, pair(w, a.vals.id(h.value))) {
			a.dropped.hdr++
		}
	}
	a.country[a.last[0].lookup(&a.names, r.country)]++
	act := a.last[1].lookup(&a.names, r.action)
	a.action[act]++
	a.rule[pair(a.last[2].lookup(&a.names, r.rule), act)]++
}

// lastName remembers the last name looked up in a field: countries,
// actions and rules repeat from record to record, and comparing bytes is
// cheaper than hashing them.
type lastName struct {
	b  []byte
	id uint32
	ok bool
}

func (l *lastName) lookup(t *intern, b []byte) uint32 {
	if l.ok && string(l.b) == string(b) {
		return l.id
	}
	l.id, l.ok = t.id(b), true
	l.b = append(l.b[:0], b...)
	return l.id
}

// room reports whether one more pair may be tracked, and counts it.
func (a *agg) room() bool {
	if a.budget != nil {
		if a.allow == 0 {
			if a.allow = a.budget.take(); a.allow == 0 {
				return false
			}
		}
		a.allow--
		a.keys++
		return true
	}
	if a.keys >= a.maxKeys {
		return false
	}
	a.keys++
	return true
}

// keyBudget is the pairs the workers of a pass may still add between
// them. A pair that two workers both meet is held by each until they
// merge, and takes a unit from each: the bound is on the pairs held in
// memory, which is what --max-keys is for.
type keyBudget struct {
	left  atomic.Int64
	grant int64
}

func newKeyBudget(maxKeys, workers int) *keyBudget {
	b := &keyBudget{grant: min(4096, max(1, int64(maxKeys)/int64(8*workers)))}
	b.left.Store(int64(maxKeys))
	return b
}

// take returns up to a grant of pairs, or 0 when the bound is reached.
func (b *keyBudget) take() int64 {
	for {
		left := b.left.Load()
		if left <= 0 {
			return 0
		}
		g := min(b.grant, left)
		if b.left.CompareAndSwap(left, left-g) {
			return g
		}
	}
}

// bump counts a request of the pair k, unless k is new and there is no
// room for it. It costs one map access when k is there (the common
// case): the map's length tells whether the increment added k.
func bump[K comparable](a *agg, m map[K]uint32, k K) bool {
	n := len(m)
	m[k]++
	if len(m) == n || a.room() {
		return true
	}
	delete(m, k)
	return false
}

// flush moves the current window's counts into ipWin.
func (a *agg) flush() {
	for _, ip := range a.touched {
		a.ipWin[pair(a.curW, ip)] += a.cur[ip]
		a.cur[ip] = 0
	}
	a.touched = a.touched[:0]
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// merge adds o's counts to a (a has no bound of its own: the bound was
// applied per worker).
func (a *agg) merge(o *agg) {
	a.flush()
	o.flush()
	a.records += o.records
	a.dropped.ip += o.dropped.ip
	a.dropped.ipURI += o.dropped.ipURI
	a.dropped.hdr += o.dropped.hdr
	a.minTS = min(a.minTS, o.minTS)
	a.maxTS = max(a.maxTS, o.maxTS)
	// The tables are independent: the numberings are merged two at a
	// time, then the counts, the largest table, the (window, IP, URI)
	// one, beside the others, so that this end of a pass, run while the
	// other workers have finished, keeps two cores busy.
	var wg sync.WaitGroup
	var ipMap, uriMap, valMap, nameMap []uint32
	wg.Go(func() {
		ipMap = make([]uint32, len(o.ips.strs))
		for i, s := range o.ips.strs {
			ipMap[i] = a.ipNumber(s)
		}
	})
	uriMap = remap(&a.uris, &o.uris)
	valMap = remap(&a.vals, &o.vals)
	nameMap = remap(&a.names, &o.names)
	wg.Wait()
	wg.Go(func() {
		a.ipURIWin.merge(&o.ipURIWin, ipMap, uriMap)
	})
	for k, n := range o.ipWin {
		w, ip := unpair(k)
		a.ipWin[pair(w, ipMap[ip])] += n
	}
	for k, n := range o.hdrWin {
		w, v := unpair(k)
		a.hdrWin[pair(w, valMap[v])] += n
	}
	for k, n := range o.country {
		a.country[nameMap[k]] += n
	}
	for k, n := range o.action {
		a.action[nameMap[k]] += n
	}
	for k, n := range o.rule {
		r, act := unpair(k)
		a.rule[pair(nameMap[r], nameMap[act])] += n
	}
	wg.Wait()
}

func remap(dst, src *intern) []uint32 {
	m := make([]uint32, len(src.strs))
	for i, s := range src.strs {
		m[i] = dst.idString(s)
	}
	return m
}
