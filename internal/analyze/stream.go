package analyze

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lockgate/lockgate/waf"
)

// event is a logged request as replay needs it.
type event struct {
	ts        int64
	seq       int64 // order within its input, to keep ties stable
	ip        netip.Addr
	ipText    string
	method    string
	uri       string
	args      string
	country   string
	requestID string
	headers   []waf.Header
	bodySize  int64
	input     string
	line      int
}

// stream is one input being replayed: a goroutine decodes it and puts
// its events in order (within the reorder window) on ch.
type stream struct {
	idx   int
	ch    chan []*event
	batch []*event
	pos   int
	head  *event
}

// advance moves head to the stream's next event; false at its end.
func (s *stream) advance() bool {
	for s.pos >= len(s.batch) {
		b, ok := <-s.ch
		if !ok {
			return false
		}
		s.batch, s.pos = b, 0
	}
	s.head = s.batch[s.pos]
	s.pos++
	return true
}

// merger merges the inputs' events by time. An input is opened only when
// its first record is due, so that a long list of time-ordered files
// (AWS WAF's S3 objects) keeps few open at once.
type merger struct {
	inputs   []Input
	span     [][2]int64
	reorder  int64
	flt      filter
	strict   bool
	progress *Progress

	ctx     context.Context
	cancel  context.CancelCauseFunc
	pending []int
	h       eventHeap
	wg      sync.WaitGroup
	badN    atomic.Int64
	mu      sync.Mutex
	damaged []string
	samples []BadRecord
}

func (m *merger) start(ctx context.Context) error {
	m.ctx, m.cancel = context.WithCancelCause(ctx)
	for _, in := range m.inputs {
		if in.skip != "" {
			m.damaged = append(m.damaged, in.Name+": "+in.skip)
		}
	}
	// An input without a good record is read all the same, first (it
	// holds no event to wait for): its bad records and its damage are
	// counted and reported as the analysis reports them.
	var none []int
	for i, sp := range m.span {
		switch {
		case m.inputs[i].skip != "":
		case sp[0] > sp[1]:
			none = append(none, i)
		case sp[1] >= m.flt.from && sp[0] <= m.flt.to:
			m.pending = append(m.pending, i)
		}
	}
	slices.SortStableFunc(m.pending, func(a, b int) int {
		if m.span[a][0] < m.span[b][0] {
			return -1
		}
		if m.span[a][0] > m.span[b][0] {
			return 1
		}
		return 0
	})
	m.pending = append(none, m.pending...)
	return nil
}

// stop ends the decoding goroutines (blocked ones see the cancellation).
func (m *merger) stop() {
	m.cancel(nil)
	m.wg.Wait()
}

// next returns the earliest event of the open inputs, opening the ones
// that may hold earlier ones first; nil at the end.
func (m *merger) next(ctx context.Context) (*event, error) {
	for len(m.pending) > 0 && (len(m.h) == 0 || m.span[m.pending[0]][0]-m.reorder <= m.h[0].head.ts) {
		i := m.pending[0]
		m.pending = m.pending[1:]
		s := m.open(i)
		if s.advance() {
			heap.Push(&m.h, s)
		}
	}
	if err := context.Cause(m.ctx); err != nil {
		return nil, err
	}
	if len(m.h) == 0 {
		return nil, ctx.Err()
	}
	s := m.h[0]
	ev := s.head
	if s.advance() {
		heap.Fix(&m.h, 0)
	} else {
		heap.Pop(&m.h)
	}
	return ev, nil
}

func (m *merger) warnings() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.damaged)
	if n := m.badN.Load(); n > 0 {
		w := fmt.Sprintf("%d bad records were left out:", n)
		for _, b := range m.samples {
			w += "\n  " + b.String()
		}
		out = append(out, w)
	}
	return out
}

// alsoDamaged returns the damage the pass for the inputs' spans met in
// inputs whose replay met none: a file cut short while that pass read it
// is read whole, as it now is, by replay, which would otherwise not know
// that it changed.
func (m *merger) alsoDamaged(earlier []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, d := range earlier {
		if slices.Contains(m.damaged, d) {
			continue // the same words: an input not read
		}
		seen := false
		for _, in := range m.inputs {
			if strings.HasPrefix(d, in.Name+": ") && slices.ContainsFunc(m.damaged, func(r string) bool { return strings.HasPrefix(r, in.Name+": ") }) {
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, d)
		}
	}
	return out
}

// eventBatch is how many events a stream hands over at once.
const eventBatch = 256

func (m *merger) open(i int) *stream {
	s := &stream{idx: i, ch: make(chan []*event, 4)}
	m.wg.Go(func() {
		defer close(s.ch)
		if err := m.decode(i, s.ch); err != nil {
			m.cancel(fmt.Errorf("%s: %w", m.inputs[i].Name, err))
		}
	})
	return s
}

// decode reads input i and sends its events, ordered within the reorder
// window.
func (m *merger) decode(i int, out chan<- []*event) error {
	in := m.inputs[i]
	r, closer, err := openRecords(m.ctx, in, m.progress)
	if err != nil {
		if !in.found {
			return err
		}
		// As the analysis does (pass.notRead): reported, not fatal.
		m.mu.Lock()
		m.damaged = append(m.damaged, in.Name+": not read: "+reason(err))
		m.mu.Unlock()
		return nil
	}
	defer closer.Close()
	pool := &sync.Pool{New: func() any { b := make([]byte, 0, blockSize); return &b }}
	c := &chunker{r: r, pool: pool}
	sc := &scanner{allHeaders: true}
	var (
		buf   reorderHeap
		batch []*event
		maxTS int64 = math.MinInt64
		seq   int64
		line  = 1
	)
	send := func(force bool) bool {
		for len(buf) > 0 && (force || maxTS-buf[0].ts > m.reorder) {
			batch = append(batch, heap.Pop(&buf).(*event))
			if len(batch) == eventBatch {
				select {
				case out <- batch:
				case <-m.ctx.Done():
					return false
				}
				batch = nil
			}
		}
		return true
	}
	for first := true; ; first = false {
		data, bp := c.next()
		if data == nil {
			break
		}
		*sc = scanner{full: data, allHeaders: true, f: fields{hdr: sc.f.hdr[:0]}, keys: sc.keys, idx: sc.idx}
		if first {
			sc.skipBOM()
		}
		last := 0
		for {
			start, err := sc.next()
			if start < 0 {
				break
			}
			line += bytes.Count(data[last:start], []byte{'\n'})
			last = start
			var ip netip.Addr
			var ipText string
			if err == nil {
				// The same address as the analysis counts (canonIP).
				var ok bool
				if ipText, ok = canonIP(sc.f.ip); ok {
					ip, _ = netip.ParseAddr(ipText)
				} else {
					err = errNotIP
				}
			}
			if err != nil {
				m.badRecord(in.Name, line, err)
				if m.strict {
					return fmt.Errorf("bad record (--strict) at line %d: %w", line, err)
				}
				continue
			}
			f := &sc.f
			if f.ts < m.flt.from || f.ts > m.flt.to {
				continue
			}
			ev := &event{ts: f.ts, seq: seq, ip: ip, ipText: ipText, method: string(f.method), uri: string(f.uri), args: string(f.args),
				country: string(f.country), requestID: string(f.requestID), bodySize: f.bodySize, input: in.Name, line: line}
			seq++
			ev.headers = make([]waf.Header, len(f.hdr))
			for j, h := range f.hdr {
				ev.headers[j] = waf.Header{Name: string(h.name), Value: string(h.value)}
			}
			heap.Push(&buf, ev)
			maxTS = max(maxTS, f.ts)
			if !send(false) {
				return nil
			}
		}
		line += bytes.Count(data[last:], []byte{'\n'})
		pool.Put(bp)
	}
	if c.err != nil {
		m.mu.Lock()
		m.damaged = append(m.damaged, fmt.Sprintf("%s: %v (%s)", in.Name, c.err, damageNote(c.err, "replayed")))
		m.mu.Unlock()
	}
	if !send(true) {
		return nil
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-m.ctx.Done():
		}
	}
	return nil
}

func (m *merger) badRecord(input string, line int, err error) {
	m.badN.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) < maxBadSamples {
		m.samples = append(m.samples, BadRecord{Input: input, Line: line, Error: err.Error()})
	}
}

// reorderHeap puts one input's events in time order.
type reorderHeap []*event

func (h reorderHeap) Len() int { return len(h) }
func (h reorderHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].seq < h[j].seq
}
func (h reorderHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *reorderHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *reorderHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
