package analyze

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// blockSize is how much of a stream one chunk holds (before it is cut at
// a record boundary). Chunks are what workers take in parallel.
const blockSize = 4 << 20

// chunk is a run of whole records of one input.
type chunk struct {
	src  int
	seq  int64 // order within its input
	data []byte
	buf  *[]byte // returned to the pool once scanned
	// rng, when set, is a range of a file the worker reads itself
	// (data is nil).
	rng *fileRange
	// stream is set for an input the worker decodes itself (data is
	// nil).
	stream bool
}

// chunkInfo is what a scanned chunk tells the run besides its counts:
// enough to give its bad records file and line numbers.
type chunkInfo struct {
	src      int
	seq      int64
	lines    int // line ends in the chunk
	bad      []badAt
	badCount int64
}

type badAt struct {
	line int // within the chunk, from 0
	msg  string
}

// BadRecord is a record that is not a usable AWS WAF log record.
type BadRecord struct {
	Input string `json:"input"`
	Line  int    `json:"line"`
	Error string `json:"error"`
}

func (b BadRecord) String() string { return fmt.Sprintf("%s:%d: %s", b.Input, b.Line, b.Error) }

// maxBadSamples is how many bad records are reported with their place.
const maxBadSamples = 10

// scanResult is one pass over the inputs.
type scanResult struct {
	agg        *agg
	bad        int64
	badSamples []BadRecord
	// span is each input's first and last timestamp (math.MaxInt64,
	// math.MinInt64 when it had no records): replay opens an input only
	// once its records are due.
	span [][2]int64
	// damaged lists inputs that could not be read to their end.
	damaged []string
}

// pass reads every input once, in parallel over inputs and over chunks
// of each, and feeds each record that passes flt to a worker's
// aggregator.
type pass struct {
	inputs   []Input
	workers  int
	winMs    int64
	maxKeys  int
	header   []byte
	flt      filter
	strict   bool
	progress *Progress
	// rangeSize and readSize replace the constants of the same names
	// when set (tests: many ranges and blocks in small files).
	rangeSize int64
	readSize  int

	pool    sync.Pool
	mu      sync.Mutex
	damaged []string // inputs that could not be read to their end
	// notReadSeen holds the inputs reported as not read (each of a
	// file's ranges meets the same failure).
	notReadSeen map[int]bool
	// shrinkSeen holds the inputs reported as cut short while read.
	shrinkSeen map[int]bool
}

// workerCount is how many workers scan: each has its share of the bound
// on pairs.
func (p *pass) workerCount() int {
	if p.workers <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return p.workers
}

func (p *pass) run(ctx context.Context) (*scanResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := p.workerCount()
	if p.readSize <= 0 {
		p.readSize = readSize
	}
	p.pool.New = func() any { b := make([]byte, 0, p.readSize); return &b }
	// jobs carries the work: ranges of files, streams to decode, and
	// blocks of a stream that its decoder hands to an idle worker.
	jobs := make(chan chunk, workers)
	var (
		mu      sync.Mutex
		infos   []chunkInfo
		spans   = make([][2]int64, len(p.inputs))
		aggs    = make([]*agg, workers)
		failed  atomic.Bool
		idle    atomic.Int32
		streams sync.WaitGroup // streams being decoded, which may still send blocks
		readErr = make([]error, len(p.inputs))
	)
	for i := range spans {
		spans[i] = [2]int64{math.MaxInt64, math.MinInt64}
	}
	var wg sync.WaitGroup
	budget := newKeyBudget(p.maxKeys, workers)
	for w := range workers {
		a := newAgg(p.winMs, p.maxKeys)
		a.budget = budget
		aggs[w] = a
		wg.Go(func() {
			sc := &scanner{header: p.header}
			var src int
			done := func(info chunkInfo, lo, hi int64) bool {
				mu.Lock()
				infos = append(infos, info)
				spans[src][0] = min(spans[src][0], lo)
				spans[src][1] = max(spans[src][1], hi)
				mu.Unlock()
				if p.strict && info.badCount > 0 && !failed.Swap(true) {
					cancel(errStrict)
				}
				return ctx.Err() == nil
			}
			var blocks sync.Pool // this worker's read blocks
			blocks.New = func() any { b := make([]byte, 0, p.readSize); return &b }
			// handOff gives a decoded block to a worker that has nothing
			// to do, if there is one (the tail of the last stream).
			handOff := func(c chunk) bool {
				if idle.Load() == 0 {
					return false
				}
				select {
				case jobs <- c:
					return true
				default:
					return false
				}
			}
			for {
				idle.Add(1)
				c, ok := <-jobs
				idle.Add(-1)
				if !ok {
					return
				}
				src = c.src
				switch {
				case c.rng != nil:
					if ctx.Err() != nil {
						continue
					}
					if err := p.scanRange(sc, a, c.src, c.rng, &blocks, done); err != nil {
						cancel(fmt.Errorf("%s: %w", p.inputs[c.src].Name, err))
					}
				case c.stream:
					if ctx.Err() == nil {
						if err := p.scanStream(ctx, sc, a, c.src, handOff, done); err != nil {
							readErr[c.src] = err
							cancel(err)
						}
					}
					streams.Done()
				default:
					info, lo, hi := p.scan(sc, a, c)
					p.pool.Put(c.buf)
					done(info, lo, hi)
				}
			}
		})
	}
	// The feeder: every input, as ranges or as a stream to decode.
	for i := range p.inputs {
		if ctx.Err() != nil {
			break
		}
		if err := p.feed(ctx, i, jobs, &streams); err != nil {
			readErr[i] = err
			cancel(err)
			break
		}
	}
	// Decoders hand blocks over the same channel: it is closed once
	// they are done.
	streams.Wait()
	close(jobs)
	wg.Wait()

	res := &scanResult{span: spans, damaged: p.damaged}
	res.badSamples, res.bad = p.badRecords(infos)
	if err := context.Cause(ctx); err != nil && !errors.Is(err, errStrict) {
		for i, e := range readErr {
			if e != nil {
				return nil, fmt.Errorf("%s: %w", p.inputs[i].Name, e)
			}
		}
		return nil, err
	}
	if p.strict && res.bad > 0 {
		return nil, fmt.Errorf("bad record (--strict): %s", res.badSamples[0])
	}
	if p.strict && len(res.damaged) > 0 {
		return nil, fmt.Errorf("damaged input (--strict): %s", res.damaged[0])
	}
	total := aggs[0]
	total.flush()
	for _, a := range aggs[1:] {
		total.merge(a)
	}
	res.agg = total
	return res, nil
}

var errStrict = errors.New("bad record")

// scan reads a chunk's records into a.
func (p *pass) scan(sc *scanner, a *agg, c chunk) (info chunkInfo, lo, hi int64) {
	info = chunkInfo{src: c.src, seq: c.seq}
	lo, hi = math.MaxInt64, math.MinInt64
	*sc = scanner{full: c.data, header: sc.header, f: fields{hdr: sc.f.hdr[:0]}, keys: sc.keys, idx: sc.idx, slow: sc.slow, open: sc.open}
	if c.seq == 0 { // the input's first bytes
		sc.skipBOM()
	}
	lastOff, lastLine := 0, 0
	for {
		start, err := sc.next()
		if start < 0 {
			break
		}
		r := &sc.f
		var ip uint32
		if err == nil {
			keep := p.flt.keep(r)
			switch {
			case keep:
				var ok bool
				if ip, ok = a.ipID(r.ip); !ok {
					err = errNotIP
				}
			case !validIP(r.ip):
				err = errNotIP
			}
			if err == nil {
				lo, hi = min(lo, r.ts), max(hi, r.ts)
				if keep {
					a.add(r, ip)
				}
				continue
			}
		}
		info.badCount++
		if len(info.bad) < maxBadSamples {
			lastLine += bytes.Count(c.data[lastOff:start], []byte{'\n'})
			lastOff = start
			info.bad = append(info.bad, badAt{line: lastLine, msg: err.Error()})
		}
	}
	info.lines = sc.lines
	return info, lo, hi
}

// badRecords orders the chunks' bad records by input and line and gives
// them their line numbers.
func (p *pass) badRecords(infos []chunkInfo) ([]BadRecord, int64) {
	slices.SortFunc(infos, func(a, b chunkInfo) int {
		if a.src != b.src {
			return a.src - b.src
		}
		return cmp.Compare(a.seq, b.seq)
	})
	var out []BadRecord
	var total int64
	line, src := 0, -1
	for _, in := range infos {
		if in.src != src {
			line, src = 0, in.src
		}
		total += in.badCount
		for _, b := range in.bad {
			if len(out) < maxBadSamples {
				out = append(out, BadRecord{Input: p.inputs[in.src].Name, Line: line + b.line + 1, Error: b.msg})
			}
		}
		line += in.lines
	}
	return out, total
}

// feed sends input i to the workers: as ranges when it is an
// uncompressed file, else as one stream to decode.
func (p *pass) feed(ctx context.Context, i int, out chan<- chunk, streams *sync.WaitGroup) error {
	if in := p.inputs[i]; in.skip != "" {
		p.mu.Lock()
		p.damaged = append(p.damaged, in.Name+": "+in.skip)
		p.mu.Unlock()
		return nil
	}
	ranges, err := p.splitFile(i)
	if err != nil {
		if p.notRead(i, err) {
			return nil
		}
		return err
	}
	for k := range ranges {
		select {
		case out <- chunk{src: i, rng: &ranges[k]}:
		case <-ctx.Done():
			return nil
		}
	}
	if ranges != nil {
		return nil
	}
	streams.Add(1)
	select {
	case out <- chunk{src: i, stream: true}:
	case <-ctx.Done():
		streams.Done()
	}
	return nil
}

// scanStream decodes input i in blocks and scans each block as soon as
// it is decoded, while it is in this core's cache; a block goes to
// another worker instead when handOff finds one idle, so that the last
// stream keeps every core busy.
func (p *pass) scanStream(ctx context.Context, sc *scanner, a *agg, i int, handOff func(chunk) bool, done func(info chunkInfo, lo, hi int64) bool) error {
	r, closer, err := openRecords(ctx, p.inputs[i], p.progress)
	if err != nil {
		if p.notRead(i, err) {
			return nil
		}
		return err
	}
	defer closer.Close()
	c := &chunker{r: r, pool: &p.pool, size: p.readSize}
	for seq := int64(0); ; seq++ {
		data, buf := c.next()
		if data == nil {
			break
		}
		ch := chunk{src: i, seq: seq, data: data, buf: buf}
		if handOff(ch) {
			continue
		}
		info, lo, hi := p.scan(sc, a, ch)
		p.pool.Put(buf)
		if !done(info, lo, hi) {
			return nil
		}
	}
	if c.err != nil {
		// A damaged stream (a gzip object cut short): what was read
		// counts, the rest is reported.
		p.readFailed(i, c.err)
	}
	return nil
}

// chunker cuts a stream into chunks of whole records.
type chunker struct {
	r     io.Reader
	pool  *sync.Pool // of *[]byte with size capacity
	size  int        // blockSize when zero
	carry []byte
	eof   bool
	err   error // a read error other than io.EOF
	// skipping is set when carry holds the first maxRecord+1 bytes of a
	// segment longer than maxRecord: the rest, up to the next boundary,
	// is read and dropped, and the head alone is scanned (the scanner
	// finds it too long). tail is the segment's last bytes read, where a
	// boundary `}{"timestamp"` may start.
	skipping bool
	tail     []byte
}

// next returns the next chunk and the pooled buffer holding it, or nil at
// the end.
func (c *chunker) next() ([]byte, *[]byte) {
	for {
		if c.skipping {
			return c.skip()
		}
		if c.eof && len(c.carry) == 0 {
			return nil, nil
		}
		buf := c.pool.Get().(*[]byte)
		b := *buf
		if len(c.carry) > cap(b)/2 {
			size := c.size
			if size <= 0 {
				size = blockSize
			}
			b = make([]byte, 0, 2*len(c.carry)+size)
		}
		b = append(b[:0], c.carry...)
		if !c.eof {
			n, rerr := fill(c.r, b[len(b):cap(b)])
			b = b[:len(b)+n]
			if rerr != nil {
				c.eof = true
				if rerr != io.EOF {
					c.err = rerr
				}
			}
		}
		cut := len(b)
		if !c.eof {
			cut = boundary(b)
			// A segment (from the last boundary of either kind) without a
			// boundary in maxRecord bytes and a join's length (a join
			// starting in those last bytes would still end it past
			// maxRecord) is too long: its head is kept, the rest dropped,
			// so that memory stays bounded whatever the input.
			// (The last boundary of either kind is looked for only when
			// the part after the cut is that long: bytes.LastIndex of a
			// join reads every byte of the block.)
			if seg := b[max(cut, 0):]; len(seg) >= maxRecord+len(recordJoin) && len(b)-lastBoundary(b) >= maxRecord+len(recordJoin) {
				seg = b[lastBoundary(b):]
				c.carry = append(c.carry[:0:0], seg[:maxRecord+1]...)
				c.tail = append(c.tail[:0], seg[len(seg)-len(recordJoin)+1:]...)
				c.skipping = true
				if cut = len(b) - len(seg); cut == 0 {
					c.pool.Put(buf)
					continue
				}
				*buf = b
				return b[:cut], buf
			}
			if cut < 0 {
				// One record longer than the buffer: read on (the buffer
				// goes with carry).
				c.carry = b
				continue
			}
		}
		c.carry = append(c.carry[:0:0], b[cut:]...)
		*buf = b
		if cut > 0 {
			return b[:cut], buf
		}
		c.pool.Put(buf)
	}
}

// skip drops the rest of a segment too long to read, up to the next
// boundary, and returns its head (with the line end that ended it, so
// that lines are counted).
func (c *chunker) skip() ([]byte, *[]byte) {
	head := c.carry
	c.carry, c.skipping = nil, false
	buf := c.pool.Get().(*[]byte)
	b := *buf
	if cap(b) < 64<<10 {
		b = make([]byte, 0, 64<<10) // room to read past the tail
	}
	b = append(b[:0], c.tail...)
	for !c.eof {
		n, rerr := fill(c.r, b[len(b):cap(b)])
		b = b[:len(b)+n]
		if rerr != nil {
			c.eof = true
			if rerr != io.EOF {
				c.err = rerr
			}
		}
		if cut := firstBoundary(b); cut >= 0 {
			if b[cut-1] == '\n' {
				head = append(head, '\n')
			}
			c.carry = append(c.carry, b[cut:]...)
			break
		}
		// The last bytes may start a join.
		b = b[:copy(b, b[len(b)-min(len(b), len(recordJoin)-1):])]
	}
	*buf = b
	c.pool.Put(buf)
	return head, &head
}

// lastBoundary is where the last record of b starts: after its last
// line end or the '}' of its last join; 0 when there is none.
func lastBoundary(b []byte) int {
	return max(bytes.LastIndexByte(b, '\n'), bytes.LastIndex(b, recordJoin)) + 1
}

// firstBoundary is where the first record of b ends: after its first
// line end or the '}' of its first join; -1 when there is none.
func firstBoundary(b []byte) int {
	cut := bytes.IndexByte(b, '\n')
	if i := bytes.Index(b, recordJoin); i >= 0 && (cut < 0 || i < cut) {
		cut = i
	}
	if cut < 0 {
		return -1
	}
	return cut + 1
}

// fill reads until b is full or the stream ends (io.EOF) or fails.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// notRead reports input i as not read, once, when it is a file met in a
// directory that cannot be opened (see Input.found): false for any other
// input, whose failure ends the analysis.
func (p *pass) notRead(i int, err error) bool {
	in := p.inputs[i]
	if !in.found {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.notReadSeen == nil {
		p.notReadSeen = map[int]bool{}
	}
	if !p.notReadSeen[i] {
		p.notReadSeen[i] = true
		p.damaged = append(p.damaged, in.Name+": not read: "+reason(err))
	}
	return true
}

func (p *pass) readFailed(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.damaged = append(p.damaged, fmt.Sprintf("%s: %v (%s)", p.inputs[i].Name, err, damageNote(err, "read")))
}

// boundary is where a block is cut: after its last line end, or between
// two concatenated records; -1 when it holds no boundary.
func boundary(b []byte) int {
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	if i := bytes.LastIndex(b, recordJoin); i >= 0 {
		return i + 1
	}
	return -1
}

// shrinkReader reads a regular file and fails, rather than end, when the
// file ends before the size it had when it was opened: a log rotated or
// rewritten in place while it is read. The ranges of a file that are
// mapped see it by the fault (scanMapped); a file read as a stream (a
// gzipped one, and every file replay reads) sees it here.
type shrinkReader struct {
	r    io.Reader
	off  int64 // where r starts in the file, for the message
	n    int64
	size int64
}

func (s *shrinkReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	s.n += int64(n)
	if err == io.EOF && s.n < s.size {
		err = &shrinkError{s.off + s.n, s.off + s.size}
	}
	return n, err
}

// openRecords opens an input and undoes gzip when its first bytes say so
// (AWS WAF's S3 objects are gzipped, whatever their name).
func openRecords(ctx context.Context, in Input, prog *Progress) (io.Reader, io.Closer, error) {
	rc, err := in.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	var src io.Reader = rc
	if f, ok := rc.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			src = &shrinkReader{r: rc, size: st.Size()}
		}
	}
	if prog != nil {
		src = prog.reader(src) // not rc: the file's shrinkReader stays
	}
	br := bufio.NewReaderSize(src, 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gunzip(br)
		if err != nil {
			// A damaged header is damage like any other in a gzip object:
			// the reader fails at once, and the input is reported as
			// damaged, fatal only with --strict.
			if !strings.HasPrefix(err.Error(), "gzip: ") {
				err = fmt.Errorf("gzip: %w", err)
			}
			return failingReader{err}, rc, nil
		}
		return zr, rc, nil
	}
	return br, rc, nil
}
