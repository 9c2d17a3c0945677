package analyze

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestInputKinds reads the same records as JSON lines, gzipped (named
// .log: the first bytes decide), a Firehose object with the records
// concatenated, standard input and a directory tree: the reports agree.
func TestInputKinds(t *testing.T) {
	var rs []req
	for i := range 300 {
		rs = append(rs, req{at: time.Duration(i) * 3 * time.Second, ip: fmt.Sprintf("203.0.113.%d", i%7), uri: fmt.Sprintf("/p%d", i%5)})
	}
	data := lines(rs...)
	dir := t.TempDir()
	plain := writeFile(t, filepath.Join(dir, "plain.log"), data, false)
	gz := writeFile(t, filepath.Join(dir, "gz.log"), data, true)
	firehose := writeFile(t, filepath.Join(dir, "firehose"), strings.ReplaceAll(data, "\n", ""), false)
	tree := filepath.Join(dir, "tree")
	half := strings.SplitAfterN(data, "\n", 151)
	writeFile(t, filepath.Join(tree, "2026", "11", "a.log"), strings.Join(half[:150], ""), false)
	writeFile(t, filepath.Join(tree, "2026", "12", "deeper", "b.log.gz"), half[150], true)
	writeFile(t, filepath.Join(tree, ".hidden"), "not a log\n", false)
	writeFile(t, filepath.Join(tree, ".git", "x.log"), "not a log\n", false)

	want := analyzeFiles(t, Options{}, plain)
	if want.Records != 300 || want.BadRecords != 0 {
		t.Fatalf("plain: %d records, %d bad", want.Records, want.BadRecords)
	}
	for name, args := range map[string][]string{"gzip": {gz}, "firehose": {firehose}, "tree": {tree}} {
		got := analyzeFiles(t, Options{}, args...)
		if !sameReport(got, want) {
			t.Errorf("%s: %+v\nwant %+v", name, got.TopIPs, want.TopIPs)
		}
	}
	ins, err := Expand(context.Background(), []string{"-"}, Sources{Stdin: strings.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Analyze(context.Background(), ins, Options{})
	if err != nil || !sameReport(got, want) {
		t.Errorf("stdin: %v", err)
	}
	ins, _ = Expand(context.Background(), []string{tree}, Sources{})
	var names []string
	for _, in := range ins {
		names = append(names, strings.TrimPrefix(in.Name, tree))
	}
	if strings.Join(names, " ") != "/2026/11/a.log /2026/12/deeper/b.log.gz" {
		t.Errorf("directory inputs %q", names)
	}
	if _, err := Expand(context.Background(), []string{"-", "-"}, Sources{Stdin: strings.NewReader("")}); err == nil {
		t.Error("standard input twice accepted")
	}
	if _, err := Expand(context.Background(), []string{filepath.Join(dir, "none")}, Sources{}); err == nil {
		t.Error("a missing file accepted")
	}
}

func sameReport(a, b *Report) bool {
	return a.Records == b.Records && reflect.DeepEqual(a.TopIPs, b.TopIPs) && reflect.DeepEqual(a.TopIPURIs, b.TopIPURIs) &&
		a.PerIPWindowCounts == b.PerIPWindowCounts && reflect.DeepEqual(a.ByCountry, b.ByCountry)
}

// TestBadRecords: bad records are counted and the first ten reported
// with their file and line, in order, across chunks read in parallel;
// --strict makes the first one an error.
func TestBadRecords(t *testing.T) {
	pad := strings.Repeat("x", 2000) // records big enough for several chunks
	good := record(req{at: time.Second, ip: "203.0.113.1", headers: nil})
	good = strings.Replace(good, `"requestId":"req"`, `"requestId":"`+pad+`"`, 1)
	var b strings.Builder
	var badLines []int
	for line := 1; line <= 6000; line++ {
		switch {
		case line%500 == 0:
			b.WriteString(good[:len(good)/2] + "\n") // cut short
			badLines = append(badLines, line)
		case line == 7:
			b.WriteString("\n") // a blank line is no record
		default:
			b.WriteString(good + "\n")
		}
	}
	if b.Len() < 3*blockSize {
		t.Fatalf("only %d bytes: not several chunks", b.Len())
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), b.String(), false)
	r := analyzeFiles(t, Options{Workers: 3}, path)
	if r.BadRecords != int64(len(badLines)) || r.Records != 6000-1-int64(len(badLines)) {
		t.Fatalf("%d records, %d bad", r.Records, r.BadRecords)
	}
	if len(r.BadSamples) != maxBadSamples {
		t.Fatalf("%d samples", len(r.BadSamples))
	}
	for i, s := range r.BadSamples {
		if s.Input != path || s.Line != badLines[i] || !strings.Contains(s.Error, "unterminated string") {
			t.Errorf("sample %d: %s, want line %d", i, s, badLines[i])
		}
	}
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], fmt.Sprintf("12 bad records (not usable AWS WAF log records) were left out; the first 10:\n  %s:500: ", path)) {
		t.Errorf("warning %q", r.Warnings)
	}
	ins, _ := Expand(context.Background(), []string{path}, Sources{})
	if _, err := Analyze(context.Background(), ins, Options{Strict: true}); err == nil || !strings.Contains(err.Error(), "bad record (--strict): "+path+":") {
		t.Errorf("strict: %v", err)
	}
}

// TestDamagedGzip: a damaged gzip object, whatever the damage (cut short,
// a damaged header, damaged data), is reported beside the records of the
// other inputs, and --strict refuses it.
func TestDamagedGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	var rs []req
	for i := range 2000 {
		rs = append(rs, req{at: time.Duration(i) * time.Second, ip: fmt.Sprintf("198.51.100.%d", i%200)})
	}
	zw.Write([]byte(lines(rs...)))
	zw.Close()
	gz := buf.Bytes()
	method := bytes.Clone(gz)
	method[2] = 7 // no deflate
	flipped := bytes.Clone(gz)
	flipped[len(gz)/2] ^= 0xff
	dir := t.TempDir()
	good := filepath.Join(dir, "good.log")
	os.WriteFile(good, []byte(lines(req{ip: "192.0.2.1"}, req{ip: "192.0.2.2"})), 0o644)
	tests := []struct {
		name    string
		data    []byte
		records func(n int64) bool // of the damaged object
		warning string
	}{
		{"cut short", gz[:len(gz)*2/3], func(n int64) bool { return n > 0 && n < 2000 }, ": unexpected EOF (the records before it were read)"},
		{"only the magic", gz[:2], func(n int64) bool { return n == 0 }, ": gzip: unexpected EOF (the records before it were read)"},
		{"a header cut short", gz[:5], func(n int64) bool { return n == 0 }, ": gzip: unexpected EOF (the records before it were read)"},
		{"garbage after the magic", []byte("\x1f\x8bgarbage, no gzip header"), func(n int64) bool { return n == 0 }, ": gzip: invalid header (the records before it were read)"},
		{"an unknown compression method", method, func(n int64) bool { return n == 0 }, ": gzip: invalid header (the records before it were read)"},
		{"damaged data", flipped, func(n int64) bool { return n < 2000 }, ": gzip: invalid checksum (the records decoded before it were read, and those after the damage may be garbage: --strict refuses the input)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".log.gz")
			os.WriteFile(path, tt.data, 0o644)
			r := analyzeFiles(t, Options{}, good, path)
			if !tt.records(r.Records-2) || !strings.Contains(strings.Join(r.Warnings, "\n"), path+tt.warning) {
				t.Errorf("%d records, warnings %q", r.Records, r.Warnings)
			}
			ins, _ := Expand(context.Background(), []string{good, path}, Sources{})
			if _, err := Analyze(context.Background(), ins, Options{Strict: true}); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("strict: %v", err)
			}
		})
	}
}

// TestParallelSameAnswer: one worker or many, one file or many, the
// report is the same.
func TestParallelSameAnswer(t *testing.T) {
	dir, _ := generated(t)
	one := analyzeFiles(t, Options{Workers: 1, Header: "X-Forwarded-For"}, dir)
	many := analyzeFiles(t, Options{Workers: 5, Header: "X-Forwarded-For"}, dir)
	a, _ := json.Marshal(one)
	b, _ := json.Marshal(many)
	if !bytes.Equal(a, b) {
		t.Errorf("1 worker:\n%s\n5 workers:\n%s", a, b)
	}
}

// TestStreamHandOff: a stream whose decoder hands some of its blocks to
// another worker (as it does when one is idle) counts every record once
// and numbers its bad records as when it scans them all; the stream is
// two gzip members, as Firehose writes them.
func TestStreamHandOff(t *testing.T) {
	var rs []req
	for i := range 300 {
		rs = append(rs, req{at: time.Duration(i) * time.Second, ip: fmt.Sprintf("203.0.113.%d", i%7)})
	}
	recs := strings.SplitAfter(lines(rs...), "\n")
	recs[122] = "{\"timestamp\":1}\n" // line 123
	var z bytes.Buffer
	for _, part := range []string{strings.Join(recs[:150], ""), strings.Join(recs[150:], "")} {
		zw := gzip.NewWriter(&z)
		zw.Write([]byte(part))
		zw.Close()
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "firehose.log"), "", false)
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, every := range []int64{0, 1, 2, 3} { // hand over every n-th block, none for 0
		p := &pass{inputs: []Input{FileInput(path, 0)}, winMs: 300000, flt: (&Options{}).filter(), readSize: 1024}
		p.pool.New = func() any { b := make([]byte, 0, p.readSize); return &b }
		var handed []chunk
		handOff := func(c chunk) bool {
			if every == 0 || c.seq%every != 0 {
				return false
			}
			handed = append(handed, c)
			return true
		}
		var infos []chunkInfo
		done := func(info chunkInfo, lo, hi int64) bool { infos = append(infos, info); return true }
		a, b := newAgg(300000, 1<<30), newAgg(300000, 1<<30)
		if err := p.scanStream(t.Context(), &scanner{}, a, 0, handOff, done); err != nil {
			t.Fatal(err)
		}
		for _, c := range handed {
			done(p.scan(&scanner{}, b, c))
		}
		a.merge(b)
		slices.Reverse(infos) // workers report in any order
		bad, n := p.badRecords(infos)
		if a.records != 299 || n != 1 || bad[0].Line != 123 || len(handed) == 0 && every != 0 {
			t.Errorf("every %d blocks handed over (%d): %d records, %d bad %v; want 299, line 123", every, len(handed), a.records, n, bad)
		}
	}
}
