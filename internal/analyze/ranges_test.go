package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/waflog"
)

// TestRangesSameAnswer: an uncompressed file cut into ranges that
// workers read themselves gives the report of the same bytes gzipped,
// which one goroutine decodes and hands over in whole chunks: with
// records straddling every range and block boundary, CRLF line ends, no
// line end at the end, a line longer than a block and than a range,
// records concatenated without newlines (Firehose), bad records (their
// line numbers too), blank lines and an empty file.
func TestRangesSameAnswer(t *testing.T) {
	xff := func(v string) []waflog.Header { return []waflog.Header{{Name: "X-Forwarded-For", Value: v}} }
	var recs []string
	for i := range 300 {
		r := req{at: time.Duration(i) * 3 * time.Second, ip: fmt.Sprintf("203.0.113.%d", i%7), uri: fmt.Sprintf("/p/%d", i%5)}
		if i%3 == 0 {
			r.headers = xff(fmt.Sprintf("198.51.100.%d", i%4))
		}
		recs = append(recs, record(r))
	}
	huge := record(req{at: time.Minute, ip: "192.0.2.1", headers: xff(strings.Repeat("h", 40000))})
	joined := func(sep string, rs []string) string { return strings.Join(rs, sep) }
	tests := []struct {
		name string
		data string
	}{
		{"lines", joined("\n", recs) + "\n"},
		{"CRLF", joined("\r\n", recs) + "\r\n"},
		{"no line end at the end", joined("\n", recs)},
		{"one huge line", joined("\n", recs[:100]) + "\n" + huge + "\n" + joined("\n", recs[100:])},
		{"only a huge line", huge},
		{"concatenated", joined("", recs)},
		{"concatenated lines", joined("", recs[:150]) + "\n" + joined("", recs[150:]) + "\n"},
		{"bad records and blank lines", joined("\n", recs[:50]) + "\n\n" + recs[50][:100] + "\n" + joined("\n", recs[51:120]) + "\n{\"timestamp\":1}\n\n" + joined("\n", recs[120:])},
		{"empty", ""},
		{"blank", "\n\r\n\n"},
	}
	sizes := []struct {
		rangeSize int64
		readSize  int
		workers   int
	}{
		{0, 0, 1},
		{97, 64, 3},
		{331, 4096, 2},
		{1000, 1000, 3},
		{4096, 512, 4},
		{50000, 1 << 20, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "waf.log")
			writeFile(t, path, tt.data, true)
			want := reportJSON(t, Options{Workers: 1, Header: "X-Forwarded-For"}, path)
			writeFile(t, path, tt.data, false)
			if ranges, err := (&pass{inputs: []Input{FileInput(path, 0)}}).splitFile(0); err != nil || (ranges == nil) != (tt.data == "") {
				t.Fatalf("%d ranges, %v: the file is not read in ranges", len(ranges), err)
			}
			defer func() { mapRanges = true }()
			for _, mapped := range []bool{true, false} {
				mapRanges = mapped
				for _, s := range sizes {
					o := Options{Workers: s.workers, Header: "X-Forwarded-For", rangeSize: s.rangeSize, readSize: s.readSize}
					if got := reportJSON(t, o, path); !bytes.Equal(got, want) {
						t.Errorf("ranges of %d bytes (mapped %v), blocks of %d, %d workers:\n%s\nwant (gzip):\n%s", s.rangeSize, mapped, s.readSize, s.workers, got, want)
					}
				}
			}
		})
	}
}

func reportJSON(t *testing.T, o Options, path string) []byte {
	t.Helper()
	r := analyzeFiles(t, o, path)
	b, err := json.Marshal(struct {
		*Report
		Bad  []BadRecord
		Span [][2]int64
	}{r, r.BadSamples, r.Span})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFirstCut: a range starts at the first record boundary at or after
// its start.
func TestFirstCut(t *testing.T) {
	data := []byte("ab\ncd}{\"timestamp\":1}\r\n\nx")
	tests := []struct {
		x, limit, want int64
	}{
		{0, 5, 0},
		{1, 25, 3},
		{3, 25, 3},
		{4, 25, 6}, // after the } of a join
		{6, 25, 6},
		{7, 25, 23},
		{7, 20, 20}, // none before the limit
		{23, 25, 23},
		{24, 25, 24},
		{25, 25, 25},
		{20, 30, 23}, // a limit past the end
	}
	for _, tt := range tests {
		if got, err := firstCut(bytes.NewReader(data), tt.x, tt.limit); got != tt.want || err != nil {
			t.Errorf("firstCut(%d, %d) = %d, %v; want %d", tt.x, tt.limit, got, err, tt.want)
		}
	}
	// A join across two of firstCut's reads.
	long := append(bytes.Repeat([]byte{'x'}, 64<<10-5), `}{"timestamp":1}`...)
	if got, _ := firstCut(bytes.NewReader(long), 10, int64(len(long))); got != 64<<10-4 {
		t.Errorf("join across reads: %d, want %d", got, 64<<10-4)
	}
}

// TestRangesDeletedFile: a file gone between listing and reading is an
// error naming it.
func TestRangesDeletedFile(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(req{ip: "192.0.2.1"}), false)
	ins, err := Expand(t.Context(), []string{path}, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if _, err := Analyze(t.Context(), ins, Options{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v, want an error naming %s", err, path)
	}
}

// TestRangesTruncated: a file cut short after it was split into ranges
// (a log rewritten in place) is a damaged input, not a crash: a mapped
// range that reaches past the new end faults when its worker touches it.
// The records before the cut count, read or mapped.
func TestRangesTruncated(t *testing.T) {
	var rs []req
	for i := range 400 {
		rs = append(rs, req{at: time.Duration(i) * time.Second, ip: fmt.Sprintf("203.0.113.%d", i%7)})
	}
	data := lines(rs...)
	const cut = 40000 // inside the second range, pages before the end of its mapping
	if len(data) < 3*32<<10 {
		t.Fatalf("%d bytes of records: too few to reach past the cut by a page", len(data))
	}
	whole := strings.Count(data[:cut], "\n")
	defer func() { mapRanges = true }()
	for _, mapped := range []bool{true, false} {
		mapRanges = mapped
		path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), data, false)
		p := &pass{inputs: []Input{FileInput(path, 0)}, winMs: 300000, flt: (&Options{}).filter(), rangeSize: 32 << 10, readSize: 4096}
		ranges, err := p.splitFile(0)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, cut); err != nil {
			t.Fatal(err)
		}
		a := newAgg(300000, 1<<30)
		sc := &scanner{}
		var pool sync.Pool
		pool.New = func() any { b := make([]byte, 0, p.readSize); return &b }
		for k := range ranges {
			if err := p.scanRange(sc, a, 0, &ranges[k], &pool, func(chunkInfo, int64, int64) bool { return true }); err != nil {
				t.Fatalf("mapped %v: range %d: %v", mapped, k, err)
			}
		}
		a.flush()
		if a.records < int64(whole)-1 || a.records > int64(whole) {
			t.Errorf("mapped %v: %d records, want the %d (or the last one cut) before the cut", mapped, a.records, whole)
		}
		if mapped && (len(p.damaged) != 1 || !strings.Contains(p.damaged[0], "changed while it was read")) {
			t.Errorf("mapped: damaged inputs %q, want the file, changed while it was read", p.damaged)
		}
	}
}

// FuzzRanges: the ranges of any data start at record boundaries, follow
// each other and cover it; and when the data, JSON values one after the
// other, has no bad record when scanned whole, scanning it range by range, block by block counts the same.
func FuzzRanges(f *testing.F) {
	f.Add([]byte(rec+"\n"+rec+"\r\n"+rec), uint16(100), uint16(64))
	f.Add([]byte(rec+rec+"\n\n"+rec+rec), uint16(7), uint16(300))
	f.Add([]byte("\n"+rec+"\n"), uint16(1), uint16(1))
	f.Add([]byte(`}{"timestamp"`+"\n}"), uint16(3), uint16(5))
	f.Fuzz(func(t *testing.T, data []byte, step, block uint16) {
		newPass := func() *pass {
			return &pass{winMs: 300000, flt: (&Options{}).filter(), header: []byte("x-forwarded-for"), readSize: int(block%4096) + 1}
		}
		whole := newAgg(300000, 1<<30)
		info, _, _ := newPass().scan(&scanner{header: []byte("x-forwarded-for")}, whole, chunk{data: data})

		size := int64(len(data))
		rs := int64(step%2048) + 1
		p := newPass()
		a := newAgg(300000, 1<<30)
		sc := &scanner{header: p.header}
		var pool sync.Pool
		pool.New = func() any { b := make([]byte, 0, p.readSize); return &b }
		var bad int64
		lines := 0
		prevEnd := int64(0)
		for k, from := 0, int64(0); from < size; k, from = k+1, from+rs {
			r := &fileRange{k: k, from: from, to: min(from+rs, size), size: size}
			start, err := firstCut(bytes.NewReader(data), r.from, r.to)
			if err != nil {
				t.Fatal(err)
			}
			if start < r.to {
				if start != prevEnd || !isCut(data, start) {
					t.Fatalf("range %d starts at %d: the one before ended at %d, boundary %v", k, start, prevEnd, isCut(data, start))
				}
				if prevEnd, err = firstCut(bytes.NewReader(data), r.to, size); err != nil {
					t.Fatal(err)
				}
			}
			err = p.scanRangeAt(sc, a, 0, bytes.NewReader(data), r, &pool, func(in chunkInfo, lo, hi int64) bool {
				bad += in.badCount
				lines += in.lines
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if prevEnd != size {
			t.Fatalf("the ranges end at %d of %d bytes", prevEnd, size)
		}
		if info.badCount > 0 || !jsonStream(data) {
			// The scanner skips members without checking them: in data
			// that is not JSON, a record it reads whole may hold what
			// looks like the start of the next one, where a range or a
			// chunk may begin.
			return
		}
		whole.flush()
		a.flush()
		if bad != 0 || a.records != whole.records || lines != info.lines || len(a.ipWin) != len(whole.ipWin) || len(a.hdrWin) != len(whole.hdrWin) {
			t.Fatalf("ranges: %d records, %d bad, %d lines, %d+%d pairs; whole: %d records, %d lines, %d+%d pairs",
				a.records, bad, lines, len(a.ipWin), len(a.hdrWin), whole.records, info.lines, len(whole.ipWin), len(whole.hdrWin))
		}
	})
}

// jsonStream reports whether d is JSON values one after the other.
func jsonStream(d []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(d))
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err == io.EOF
		}
	}
}

// isCut is firstCut's boundary, written plainly.
func isCut(d []byte, p int64) bool {
	return p == 0 || d[p-1] == '\n' || d[p-1] == '}' && bytes.HasPrefix(d[p:], []byte(`{"timestamp"`))
}
