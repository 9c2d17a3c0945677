package analyze

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/lockgate/lockgate/internal/waflog"
)

// recordCase is an input and what every way of reading it must count.
type recordCase struct {
	name     string
	data     string
	records  int64
	badLines []int // the lines of the bad records, in order
	err      string
}

// recordCases are inputs with junk before records, byte order marks and
// records longer than maxRecord, which the tests set to 3000 bytes.
func recordCases(t *testing.T) []recordCase {
	r := record(req{ip: "192.0.2.1"})
	padded := func(n int) string { // a good record of n bytes
		pad := func(k int) string {
			return record(req{ip: "192.0.2.9", headers: []waflog.Header{{Name: "X-Pad", Value: strings.Repeat("p", k)}}})
		}
		s := pad(n - len(pad(0)))
		if len(s) != n {
			t.Fatalf("padded record of %d bytes, want %d", len(s), n)
		}
		return s
	}
	const bom = "\xef\xbb\xbf"
	long := strings.Repeat("x", 5000)
	tooLong := "longer than 3000 bytes"
	notObject := "a record is a JSON object"
	after := "unexpected data after the record"
	badUTF := "invalid UTF-8"
	// utf is a record whose uri is written as given, byte for byte
	// (json.Marshal would replace invalid UTF-8).
	utf := func(uri string) string {
		return strings.Replace(record(req{ip: "192.0.2.3", uri: "/URI"}), `"/URI"`, `"`+uri+`"`, 1)
	}
	return []recordCase{
		{"a byte order mark at the start", bom + r + "\n" + r + "\n", 2, nil, ""},
		{"a byte order mark before a Firehose concatenation", bom + r + r + r, 3, nil, ""},
		{"a byte order mark, CRLF", bom + r + "\r\n" + r + "\r\n", 2, nil, ""},
		{"a byte order mark alone", bom, 0, nil, ""},
		{"a byte order mark on a later line is junk", r + "\n" + bom + r + "\n" + r + "\n", 2, []int{2}, notObject},
		{"junk before a record", r + "\n" + "xx" + r + "\n" + r + "\n", 2, []int{2}, notObject},
		{"junk and a brace before a record", r + "\n" + "x{" + r + "\n" + r + "\n", 2, []int{2}, notObject},
		{"junk before a Firehose concatenation", r + "\n" + "xx" + r + r + r + "\n" + r + "\n", 4, []int{2}, notObject},
		{"junk between concatenated records", r + r + "junk" + r + r + "\n" + r + "\n", 3, []int{1}, "unexpected data after the record"},
		{"junk on two lines", "xx" + r + "\n" + r + "\n" + "yy" + r + r + "\n", 2, []int{1, 3}, notObject},
		{"a record as long as the bound", r + "\n" + padded(3000) + "\n" + r + "\n", 3, nil, ""},
		{"a record one byte longer than the bound", r + "\n" + padded(3001) + "\n" + r + "\n", 2, []int{2}, tooLong},
		{"a long record in a Firehose concatenation", r + r + padded(4000) + r + "\n" + r + "\n", 4, []int{1}, tooLong},
		{"a long record at a Firehose concatenation's start", padded(4000) + r + r, 2, []int{1}, tooLong},
		{"a line of garbage longer than the bound", r + "\n" + long + "\n" + r + "\n", 2, []int{2}, tooLong},
		{"garbage without a line end to the end", r + "\n" + long, 1, []int{2}, tooLong},
		{"only garbage", long + long + long, 0, []int{1}, tooLong},
		{"a long line of brackets", r + "\n" + strings.Repeat("[", 9000) + "\n" + r + "\n", 2, []int{2}, tooLong},
		{"junk, then a long record", r + "\n" + "xx" + padded(4000) + "\n" + r + "\n", 2, []int{2}, tooLong},
		{"a blank line longer than the bound, a value far into it", r + "\n" + strings.Repeat(" ", 4000) + "7" + "\n" + r + "\n", 2, []int{2}, tooLong},
		// CR: the CR of a CRLF line end is the line end's; a lone CR is
		// no line end, and after a record it is junk.
		{"a record as long as the bound, CRLF", r + "\r\n" + padded(3000) + "\r\n" + r + "\r\n", 3, nil, ""},
		{"a record one byte longer than the bound, CRLF", r + "\r\n" + padded(3001) + "\r\n" + r + "\r\n", 2, []int{2}, tooLong},
		{"a record as long as the bound ending a Firehose concatenation, CRLF", r + padded(3000) + "\r\n" + r + "\n", 3, nil, ""},
		{"a CR ending the data", r + "\n" + r + "\r", 2, nil, ""},
		{"records separated by a lone CR: one bad line", r + "\n" + r + "\r" + r + "\r" + r + "\n" + r + "\n", 2, []int{2}, "unexpected data after the record"},
		{"junk after a lone CR", r + "\rjunk\n" + r + "\n", 1, []int{1}, "unexpected data after the record"},
		{"an empty object, a lone CR and junk: one bad record", "{}\rjunk\n" + r + "\n", 1, []int{1}, "unexpected data after the record"},
		{"records separated by lone CRs, longer than the bound: one bad line", strings.Repeat(r+"\r", 10) + "\n" + r + "\n", 1, []int{1}, tooLong},
		{"long lines in a row", long + "\n" + long + "\r\n" + r + "\n" + long, 1, []int{1, 2, 4}, tooLong},
		// After a record's '}': its line end or `{"timestamp"`, the
		// Firehose concatenation; anything else makes the line one bad
		// record, not a good one beside a bad one.
		{"a brace after a record", r + "{\n" + r + "\n", 1, []int{1}, after},
		{"an object without a timestamp after a record", r + `{"x":1}` + "\n" + r + "\n", 1, []int{1}, after},
		{"a brace before a concatenated record", r + "{" + r + "\n" + r + "\n", 1, []int{1}, after},
		{"blanks between two records", r + "   " + r + "\n" + r + "\n", 1, []int{1}, after},
		{"a blank inside a concatenation's join", r + `{ "timestamp":1}` + "\n" + r + "\n", 1, []int{1}, after},
		{"blanks after a record", r + " \t\n" + r + "\n", 2, nil, ""},
		// Strings are UTF-8 (RFC 8259 §8.1), in every member.
		{"UTF-8", utf(`/caf\u00e9-é-€-𝄞`) + "\n" + r + "\n", 2, nil, ""},
		{"an escaped surrogate pair", utf(`/\ud834\udd1e`) + "\n" + r + "\n", 2, nil, ""},
		{"a byte 0xff", r + "\n" + utf("/a\xffb") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"a byte 0xfe", r + "\n" + utf("/a\xfeb") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"an overlong NUL", r + "\n" + utf("/a\xc0\x80b") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"an overlong slash, three bytes", r + "\n" + utf("/a\xe0\x80\xafb") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"an encoded surrogate", r + "\n" + utf("/a\xed\xa0\x80b") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"a truncated sequence", r + "\n" + utf("/a\xe2\x82b") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"a truncated sequence ending the string", r + "\n" + utf("/a\xc3") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"a lone continuation byte", r + "\n" + utf("/a\x80b") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"beyond U+10FFFF", r + "\n" + utf("/a\xf4\x90\x80\x80b") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"invalid UTF-8 in a member not read", r + "\n" + strings.Replace(r, `"REGULAR"`, "\"REG\xffULAR\"", 1) + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"invalid UTF-8 in a header", r + "\n" + strings.Replace(r, `"shop.example"`, "\"shop\xff\"", 1) + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"invalid UTF-8 on a line with escapes", r + "\n" + utf("/a\\\"\xffb") + "\n" + r + "\n", 2, []int{2}, badUTF},
		{"invalid UTF-8 in one record of a concatenation", r + utf("/a\xffb") + r + "\n" + r + "\n", 3, []int{1}, badUTF},
		{"invalid UTF-8 in a long line", r + "\n" + strings.Repeat(r, 20) + utf("/a\xffb") + "\n" + r + "\n", 22, []int{2}, badUTF},
		{"invalid UTF-8, CRLF", r + "\r\n" + utf("/a\xffb") + "\r\n" + r + "\r\n", 2, []int{2}, badUTF},
	}
}

// TestRecordBounds: junk before a record makes it one bad record up to
// the next line end or join, a byte order mark at the start of an input
// is skipped, and a record longer than maxRecord is one bad record; every
// way of reading an input counts the same records and bad records on
// the same lines: a file in ranges of many sizes (mapped and read), gzip,
// standard input, and the replay.
func TestRecordBounds(t *testing.T) {
	defer func(m int) { maxRecord = m }(maxRecord)
	maxRecord = 3000
	sizes := []struct {
		rangeSize int64
		readSize  int
		workers   int
	}{
		{0, 0, 1},
		{97, 64, 3},
		{1000, 1000, 2},
		{4096, 512, 4},
		{7000, 1 << 20, 2},
	}
	defer func() { mapRanges = true }()
	for _, tt := range recordCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			check := func(how string, r *Report) {
				t.Helper()
				var lines []int
				for _, b := range r.BadSamples {
					lines = append(lines, b.Line)
					if !strings.Contains(b.Error, tt.err) {
						t.Errorf("%s: line %d: %q, want %q", how, b.Line, b.Error, tt.err)
					}
				}
				if r.Records != tt.records || r.BadRecords != int64(len(tt.badLines)) || fmt.Sprint(lines) != fmt.Sprint(tt.badLines) {
					t.Errorf("%s: %d records, %d bad on lines %v; want %d, bad on lines %v", how, r.Records, r.BadRecords, lines, tt.records, tt.badLines)
				}
			}
			dir := t.TempDir()
			plain := writeFile(t, filepath.Join(dir, "plain.log"), tt.data, false)
			gz := writeFile(t, filepath.Join(dir, "gz.log"), tt.data, true)
			for _, s := range sizes {
				o := Options{Workers: s.workers, rangeSize: s.rangeSize, readSize: s.readSize}
				check(fmt.Sprintf("gzip, blocks of %d", s.readSize), analyzeFiles(t, o, gz))
				for _, mapped := range []bool{true, false} {
					mapRanges = mapped
					check(fmt.Sprintf("ranges of %d bytes (mapped %v), blocks of %d", s.rangeSize, mapped, s.readSize), analyzeFiles(t, o, plain))
				}
				mapRanges = true
			}
			ins, err := Expand(t.Context(), []string{"-"}, Sources{Stdin: strings.NewReader(tt.data)})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Analyze(t.Context(), ins, Options{readSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			check("standard input", r)

			// Replay reads an input without a good record too, for its
			// bad records.
			rep := replay(t, ReplayOptions{ACL: aclWith(t, "Blanket", 100, 60, "")}, plain)
			var got string
			for _, w := range rep.Warnings {
				if strings.Contains(w, "bad records") {
					got = w
				}
			}
			if rep.Records != tt.records || rep.BadRecords != int64(len(tt.badLines)) {
				t.Errorf("replay: %d records, %d bad, %q; want %d, %d", rep.Records, rep.BadRecords, got, tt.records, len(tt.badLines))
			}
			for _, l := range tt.badLines {
				if !strings.Contains(got, fmt.Sprintf("\n  %s:%d: ", plain, l)) {
					t.Errorf("replay: %q names no bad record on line %d", got, l)
				}
			}
		})
	}
}

// zeros is a stream of n zero bytes: no line end, no record.
type zeros struct{ n int64 }

func (z *zeros) Read(b []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(b)), z.n)
	clear(b[:k])
	z.n -= k
	return int(k), nil
}

// TestLongInputBoundedMemory: 256 MiB without a line end, on standard
// input and gzipped, is one bad record, read in memory bounded by
// maxRecord (4 MiB), not buffered whole: the bytes allocated while it is
// read stay far below its size.
func TestLongInputBoundedMemory(t *testing.T) {
	const size = 256 << 20
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	if _, err := io.Copy(zw, &zeros{size}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "zeros.gz")
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   Input
	}{
		{"standard input", ReaderInput("-", &zeros{size})},
		{"gzip", FileInput(path, int64(z.Len()))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, err := Analyze(context.Background(), []Input{tt.in}, Options{Workers: 2})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("%d MiB allocated to read %d MiB without a line end", alloc>>20, size>>20)
			}
			if r.Records != 0 || r.BadRecords != 1 || len(r.BadSamples) != 1 || r.BadSamples[0].Line != 1 || !strings.Contains(r.BadSamples[0].Error, "longer than 4194304 bytes") {
				t.Errorf("%d records, %d bad %v; want one bad record on line 1, too long", r.Records, r.BadRecords, r.BadSamples)
			}
		})
	}
}

// TestRangeEndBounded: a range of a file without line ends ends a
// record's greatest length past its end, not at the end of the file: it
// is mapped or read no further.
func TestRangeEndBounded(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 64<<20)
	rd := bytes.NewReader(data)
	r := fileRange{from: 0, to: 16 << 20, size: int64(len(data))}
	end, lineEnd, err := r.end(rd)
	if want := r.to + int64(maxRecord+len(recordJoin)); err != nil || end != want || lineEnd {
		t.Errorf("range end %d, %v, %v; want %d, no line end", end, lineEnd, err, want)
	}
	// The line end past the bound is the range's to count.
	data[len(data)-1] = '\n'
	if end, lineEnd, err := r.end(rd); err != nil || end != r.to+int64(maxRecord+len(recordJoin)) || !lineEnd {
		t.Errorf("range end %d, %v, %v; want the bound and a line end", end, lineEnd, err)
	}
	// A boundary within the bound ends the range there.
	copy(data[r.to+1000:], "\n")
	if end, lineEnd, err := r.end(rd); err != nil || end != r.to+1001 || lineEnd {
		t.Errorf("range end %d, %v, %v; want %d", end, lineEnd, err, r.to+1001)
	}
}

// FuzzRecordBounds: with a small maxRecord, JSON values one after the
// other (junk among them is read as such in FuzzScanner) count the same
// records, bad records and lines scanned whole, read as a stream in
// blocks (where the chunker drops the tail of a too-long record) and cut
// into ranges (whose ends stop a record's greatest length past them).
func FuzzRecordBounds(f *testing.F) {
	f.Add([]byte(rec+"\n"+rec+rec+"\n"), uint16(700), uint16(64), uint16(100))
	f.Add([]byte(rec+"\n"+strings.Repeat(" ", 900)+"\n"+rec), uint16(800), uint16(5), uint16(300))
	f.Add([]byte(rec+rec+`{"timestamp":1,"x":"`+strings.Repeat("y", 900)+`"}`+rec), uint16(850), uint16(1000), uint16(97))
	f.Fuzz(fuzzRecordBoundsBody)
}

func fuzzRecordBoundsBody(t *testing.T, data []byte, limit, block, step uint16) {
	{
		defer func(m int) { maxRecord = m }(maxRecord)
		maxRecord = int(limit%2048) + 1
		if !jsonStream(data) {
			return
		}
		newPass := func() *pass {
			return &pass{winMs: 300000, flt: (&Options{}).filter(), readSize: int(block%4096) + 1}
		}
		count := func(scan func(p *pass, a *agg, done func(chunkInfo, int64, int64) bool)) (records, bad int64, lines int) {
			p, a := newPass(), newAgg(300000, 1<<30)
			scan(p, a, func(in chunkInfo, _, _ int64) bool {
				bad += in.badCount
				lines += in.lines
				return true
			})
			a.flush()
			return a.records, bad, lines
		}
		wr, wb, wl := count(func(p *pass, a *agg, done func(chunkInfo, int64, int64) bool) {
			done(p.scan(&scanner{}, a, chunk{data: data}))
		})
		sr, sb, sl := count(func(p *pass, a *agg, done func(chunkInfo, int64, int64) bool) {
			pool := &sync.Pool{New: func() any { b := make([]byte, 0, p.readSize); return &b }}
			c := &chunker{r: bytes.NewReader(data), pool: pool, size: p.readSize}
			sc := &scanner{}
			for seq := int64(0); ; seq++ {
				d, buf := c.next()
				if d == nil {
					return
				}
				done(p.scan(sc, a, chunk{seq: seq, data: d}))
				pool.Put(buf)
			}
		})
		rr, rb, rl := count(func(p *pass, a *agg, done func(chunkInfo, int64, int64) bool) {
			pool := &sync.Pool{New: func() any { b := make([]byte, 0, p.readSize); return &b }}
			size, rs := int64(len(data)), int64(step%2048)+1
			sc := &scanner{}
			for k, from := 0, int64(0); from < size; k, from = k+1, from+rs {
				r := &fileRange{k: k, from: from, to: min(from+rs, size), size: size}
				if err := p.scanRangeAt(sc, a, 0, bytes.NewReader(data), r, pool, done); err != nil {
					t.Fatal(err)
				}
			}
		})
		if sr != wr || sb != wb || sl != wl || rr != wr || rb != wb || rl != wl {
			t.Fatalf("maxRecord %d: whole %d records, %d bad, %d lines; stream %d, %d, %d; ranges %d, %d, %d", maxRecord, wr, wb, wl, sr, sb, sl, rr, rb, rl)
		}
	}
}
