package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"sync"
	"unsafe"
)

// An uncompressed file is not read by one goroutine and handed to the
// workers in chunks: it is cut into ranges, and each worker scans its
// range itself. A chunk read by another goroutine reaches the scanning
// core from memory; on two cores, the scan's first pass over the bytes
// (the structural index) spent most of its time waiting for them.
//
// A worker maps its range read-only and scans the page cache in place.
// Reading it instead, in blocks small enough to be still in the core's
// cache when scanned, costs the kernel's copy of every byte: about a
// seventh of the CPU time of a whole analysis (BenchmarkAnalyzeRanges
// measures both ways). Where files cannot be mapped (not Unix, a file
// system that refuses), ranges are read that way still.
//
// Gzipped and unseekable inputs (standard input, S3 objects) are decoded
// by a worker, which scans each block it decodes and hands blocks to the
// other workers only when they have nothing else to do (scanStream).

const (
	// rangeSize is how much of a file one worker takes at a time: enough
	// that cutting a range to record boundaries costs nothing, small
	// enough that two workers share even a file of tens of megabytes.
	rangeSize = 16 << 20
	// readSize is the block a worker reads, when it reads its range,
	// and then scans: well inside a core's second-level cache.
	readSize = 256 << 10
)

// fileRange is bytes [from, to) of a file of size bytes: its worker
// counts the records starting in it, which it finds by moving both ends
// to the next record boundary (firstCut), so that consecutive ranges
// share no record and miss none.
type fileRange struct {
	path           string
	k              int // the range's place in its file
	from, to, size int64
}

// splitFile returns the ranges of input i, or nil when it is to be read
// as a stream: it is no local file, or it is gzipped.
func (p *pass) splitFile(i int) ([]fileRange, error) {
	in := p.inputs[i]
	if in.path == "" {
		return nil, nil
	}
	f, err := os.Open(in.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size == 0 {
		return nil, nil
	}
	var magic [2]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return nil, nil
	}
	step := p.rangeSize
	if step <= 0 {
		step = rangeSize
	}
	var out []fileRange
	for k, from := 0, int64(0); from < size; k, from = k+1, from+step {
		out = append(out, fileRange{path: in.path, k: k, from: from, to: min(from+step, size), size: size})
	}
	return out, nil
}

// scanRange reads and scans the records starting in a range of input
// src, reporting each block's result to done.
func (p *pass) scanRange(sc *scanner, a *agg, src int, r *fileRange, pool *sync.Pool, done func(info chunkInfo, lo, hi int64) bool) error {
	f, err := os.Open(r.path)
	if err != nil {
		if p.notRead(src, err) {
			return nil
		}
		return err
	}
	defer f.Close()
	if rangeOpened != nil {
		rangeOpened(r)
	}
	if mapRanges {
		ok, err := p.scanMapped(sc, a, src, f, r, done)
		if ok || err != nil {
			return p.shrunk(src, err)
		}
	}
	return p.shrunk(src, p.scanRangeAt(sc, a, src, f, r, pool, done))
}

// rangeOpened, when set, is called once a range's file is open, before
// it is read (tests: a file cut short at a chosen moment).
var rangeOpened func(r *fileRange)

// shrinkError is a file found shorter than it was when it was split into
// ranges: a log rotated (copytruncate) or rewritten in place while it is
// read.
type shrinkError struct{ from, to int64 }

func (e *shrinkError) Error() string {
	return fmt.Sprintf("bytes %d to %d: the file changed while it was read (it is shorter than it was)", e.from, e.to)
}

// shrunk reports a file cut short as a damaged input, once per input
// (every range past the cut meets it), rather than as an error that ends
// the analysis: the records read before the cut count. Other errors are
// returned.
func (p *pass) shrunk(src int, err error) error {
	var se *shrinkError
	if !errors.As(err, &se) {
		return err
	}
	p.mu.Lock()
	seen := p.shrinkSeen[src]
	if p.shrinkSeen == nil {
		p.shrinkSeen = map[int]bool{}
	}
	p.shrinkSeen[src] = true
	p.mu.Unlock()
	if !seen {
		p.readFailed(src, err)
	}
	return nil
}

// mapRanges is whether ranges are mapped rather than read (tests read
// them both ways).
var mapRanges = true

// scanMapped scans a range through a read-only mapping of the file (see
// the top of this file). It reports false, having read nothing, when the
// file cannot be mapped: it is then read.
//
// A mapped file that is cut short while it is read (a log being rotated
// or rewritten in place) does not give the scanner an error: touching a
// page past the new end raises SIGBUS, which would end the process. The
// scan is therefore run with the runtime's panic on fault, and such a
// fault is reported as a damaged input, as a read error is; the records
// scanned before it count.
func (p *pass) scanMapped(sc *scanner, a *agg, src int, f *os.File, r *fileRange, done func(info chunkInfo, lo, hi int64) bool) (ok bool, err error) {
	from, err := firstCut(f, r.from, r.to)
	if err != nil {
		return false, err
	}
	if from >= r.to {
		return true, nil // the range is inside a record that starts before it
	}
	to, lineEnd, cut := r.end(f)
	if cut != nil && !isShrink(cut) {
		return false, cut
	}
	if to <= from {
		return true, cut // cut short before the range
	}
	data, unmap, err := mapRange(f, from, to)
	if err != nil {
		return false, nil
	}
	defer unmap()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		e := recover()
		if e == nil {
			return
		}
		if fault, isFault := e.(interface{ Addr() uintptr }); isFault && inside(data, fault.Addr()) {
			ok, err = true, &shrinkError{from, to} // true: not to be read again
			return
		}
		panic(e)
	}()
	info, lo, hi := p.scan(sc, a, chunk{src: src, seq: int64(r.k) << 32, data: data})
	if lineEnd {
		info.lines++
	}
	if p.progress != nil {
		p.progress.add(int64(len(data)))
	}
	done(info, lo, hi)
	return true, cut
}

// inside reports whether addr is the address of one of b's bytes.
func inside(b []byte, addr uintptr) bool {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return addr >= start && addr < start+uintptr(len(b))
}

func (p *pass) scanRangeAt(sc *scanner, a *agg, src int, f io.ReaderAt, r *fileRange, pool *sync.Pool, done func(info chunkInfo, lo, hi int64) bool) error {
	from, err := firstCut(f, r.from, r.to)
	if err != nil {
		return err
	}
	if from >= r.to {
		return nil // the range is inside a record that starts before it
	}
	to, lineEnd, cut := r.end(f)
	if cut != nil && !isShrink(cut) {
		return cut
	}
	if to <= from {
		return cut // cut short before the range
	}
	// The section ends early, without an error, when the file was cut
	// short since it was split: shrinkReader makes that an error.
	var rd io.Reader = &shrinkReader{r: io.NewSectionReader(f, from, to-from), off: from, size: to - from}
	if p.progress != nil {
		rd = p.progress.reader(rd)
	}
	size := p.readSize
	if size <= 0 {
		size = readSize
	}
	c := &chunker{r: rd, pool: pool, size: size}
	j := 0
	for ; ; j++ {
		data, buf := c.next()
		if data == nil {
			break
		}
		info, lo, hi := p.scan(sc, a, chunk{src: src, seq: int64(r.k)<<32 | int64(j), data: data})
		pool.Put(buf)
		if !done(info, lo, hi) {
			return nil
		}
	}
	if c.err != nil {
		// As for a damaged stream: what was read counts, the rest is
		// reported (an error with --strict).
		if isShrink(c.err) {
			return c.err
		}
		p.readFailed(src, fmt.Errorf("reading bytes %d to %d: %w", from, to, c.err))
	}
	if lineEnd {
		done(chunkInfo{src: src, seq: int64(r.k)<<32 | int64(j), lines: 1}, math.MaxInt64, math.MinInt64)
	}
	return cut
}

func isShrink(err error) bool {
	var se *shrinkError
	return errors.As(err, &se)
}

// end is where the range's records end: at the first record boundary
// from its end, as the next range starts, but no further than a record's
// greatest length and a join's (maxRecord) past it. Without a boundary
// there, the segment across the range's end is too long to read, as the
// scanner finds from the part of it the range holds, and the range that
// holds its end starts after it; lineEnd then says that the segment ends
// with a line end, which this range counts. Without the bound, a range
// would reach to the end of a file of garbage without line ends, and be
// mapped whole.
//
// A file found cut short (shrinkError) ends the range where it now ends:
// the range's records before the cut are read, and the error is
// reported after them.
func (r *fileRange) end(f io.ReaderAt) (to int64, lineEnd bool, err error) {
	to, err = firstCut(f, r.to, r.size)
	bound := r.to + int64(maxRecord) + int64(len(recordJoin))
	var se *shrinkError
	if errors.As(err, &se) {
		return min(se.from, bound), false, err
	}
	if err != nil || to <= bound {
		return to, false, err
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], to-1); err != nil {
		if err == io.EOF {
			err = &shrinkError{to - 1, r.size}
			return bound, false, err // the read of the range meets the cut too
		}
		return 0, false, err
	}
	return bound, last[0] == '\n', nil
}

// firstCut returns the first record boundary at or after x and before
// limit, or limit when there is none. The file is at least limit bytes
// long when it was split: one that ends before is cut short
// (shrinkError). The boundaries are where the
// chunker cuts: the start of the data, the start of a line and the
// start of a record concatenated to the one before (`}{"timestamp"`).
func firstCut(r io.ReaderAt, x, limit int64) (int64, error) {
	if x <= 0 {
		return 0, nil
	}
	if x >= limit {
		return limit, nil
	}
	buf := make([]byte, 64<<10)
	// From x-1: a line end or a record's closing brace there makes x a
	// boundary.
	for off := x - 1; off < limit; {
		n, err := r.ReadAt(buf, off)
		b := buf[:n]
		cut := bytes.IndexByte(b, '\n')
		if i := bytes.Index(b, recordJoin); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
		if cut >= 0 {
			return min(off+int64(cut)+1, limit), nil
		}
		if err != nil {
			if err == io.EOF {
				if off+int64(n) < limit {
					return 0, &shrinkError{off + int64(n), limit}
				}
				return limit, nil
			}
			return 0, err
		}
		// The next block overlaps this one by a join's length less one,
		// so that a join across the two is found.
		off += int64(n - len(recordJoin) + 1)
	}
	return limit, nil
}
