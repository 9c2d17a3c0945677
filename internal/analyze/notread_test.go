package analyze

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFileGoneAfterWalk: a file of a directory that is removed between
// the walk and its turn (rotation, a sync of a live log directory) is
// reported as not read, beside the records of the others, by the
// analysis and by replay alike; --strict refuses it.
func TestFileGoneAfterWalk(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), lines(burst(3, 0, time.Second, "192.0.2.1", "/")...), false)
	gone := writeFile(t, filepath.Join(dir, "b.log"), lines(burst(5, 0, time.Second, "192.0.2.2", "/")...), false)
	goneGz := writeFile(t, filepath.Join(dir, "sub", "c.log.gz"), lines(burst(4, 0, time.Second, "192.0.2.3", "/")...), true)
	writeFile(t, filepath.Join(dir, "sub", "d.log"), lines(burst(2, 0, time.Second, "192.0.2.4", "/")...), false)
	ins, err := Expand(t.Context(), []string{dir}, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{gone, goneGz} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{gone + ": not read: no such file or directory", goneGz + ": not read: no such file or directory"}
	check := func(what string, records int64, warnings []string) {
		t.Helper()
		got := strings.Join(warnings, "\n")
		for _, w := range want {
			if strings.Count(got, w) != 1 {
				t.Errorf("%s: warnings %q, want %q once", what, got, w)
			}
		}
		if records != 5 {
			t.Errorf("%s: %d records, want 5", what, records)
		}
	}
	r, err := Analyze(t.Context(), ins, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check("analysis", r.Records, r.Warnings)
	// Ranges of a file: each meets the failure, one warning.
	p := &pass{inputs: ins, winMs: 60_000, maxKeys: 10, flt: filter{from: 1, to: 0}, rangeSize: 64}
	res, err := p.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.damaged) != 2 {
		t.Errorf("small ranges: damaged %q, want the two files once each", res.damaged)
	}
	rep, err := Replay(t.Context(), ins, ReplayOptions{ACL: aclWith(t, "Blanket", 100, 60, "")})
	if err != nil {
		t.Fatal(err)
	}
	check("replay", rep.Records, rep.Warnings)
	if _, err := Analyze(t.Context(), ins, Options{Strict: true}); err == nil || !strings.Contains(err.Error(), "damaged input (--strict): ") {
		t.Errorf("strict: %v", err)
	}
	// A file named, not met in a directory, that cannot be opened is an
	// error: it is what was asked for.
	named := writeFile(t, filepath.Join(t.TempDir(), "named.log"), lines(burst(1, 0, time.Second, "192.0.2.1", "/")...), false)
	ins, err = Expand(t.Context(), []string{named}, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(named)
	if _, err := Analyze(t.Context(), ins, Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a named file removed: %v", err)
	}
}

// TestReplayInputsWithoutGoodRecords: an input that holds no good record
// is read by replay all the same, so that its bad records and damage are
// counted and reported as the analysis reports them.
func TestReplayInputsWithoutGoodRecords(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.log"), lines(burst(3, 0, time.Second, "192.0.2.1", "/")...), false)
	junk := writeFile(t, filepath.Join(dir, "junk.log"), "hello\nworld\n", false)
	// A gzip object cut inside its data.
	whole := writeFile(t, filepath.Join(t.TempDir(), "x.gz"), lines(burst(50, 0, time.Second, "192.0.2.2", "/")...), true)
	b, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	cut := writeFile(t, filepath.Join(dir, "cut.gz"), string(b[:12]), false)
	ins, err := Expand(t.Context(), []string{good, junk, cut}, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(t.Context(), ins, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, span := range [][][2]int64{nil, r.Span} {
		rep, err := Replay(t.Context(), ins, ReplayOptions{ACL: aclWith(t, "Blanket", 100, 60, ""), Span: span})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(rep.Warnings, "\n")
		if rep.Records != r.Records || rep.BadRecords != r.BadRecords || rep.BadRecords != 2 ||
			!strings.Contains(got, junk+":1: ") || !strings.Contains(got, junk+":2: ") || !strings.Contains(got, cut+": ") {
			t.Errorf("span given %v: replay %d records, %d bad, warnings %q; analysis %d records, %d bad, warnings %q",
				span != nil, rep.Records, rep.BadRecords, got, r.Records, r.BadRecords, r.Warnings)
		}
	}
}

// TestShrinkWhileStreamed: a file read as a stream (every file replay
// reads, a gzipped one the analysis reads) that is cut short after it
// was opened is reported as changed, as a mapped range is, not read as
// if it ended there.
func TestShrinkWhileStreamed(t *testing.T) {
	// Random URIs: the gzipped file too is longer than what is read
	// ahead of the scan when it is opened.
	var rs []req
	for i := range 20000 {
		rs = append(rs, req{at: time.Duration(i) * time.Second, ip: "192.0.2.1", uri: "/" + rand.Text() + rand.Text() + rand.Text()})
	}
	body := lines(rs...)
	// With a progress line, the file's bytes are counted as they are
	// read: the count must not take the place of the check.
	for _, tc := range []struct {
		gz   bool
		prog *Progress
	}{{false, nil}, {true, nil}, {false, NewProgress(io.Discard, 1, time.Now)}, {true, NewProgress(io.Discard, 1, time.Now)}} {
		gz := tc.gz
		path := writeFile(t, filepath.Join(t.TempDir(), "x.log"), body, gz)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		r, closer, err := openRecords(t.Context(), FileInput(path, st.Size()), tc.prog)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, st.Size()/2); err != nil {
			t.Fatal(err)
		}
		c := &chunker{r: r, pool: &sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}, size: 4096}
		for data, _ := c.next(); data != nil; data, _ = c.next() {
		}
		closer.Close()
		if c.err == nil || !strings.Contains(c.err.Error(), "the file changed while it was read (it is shorter than it was)") {
			t.Errorf("gzip %v, progress %v: read error %v, want the file changed", gz, tc.prog != nil, c.err)
		}
	}
}

// TestReplayKeepsSpanPassDamage: replay without the analysis's spans
// reads its inputs twice; damage the first pass met (a file cut short
// while it read it) is reported although the second reads the input,
// as it now is, to its end; damage both met is reported once.
func TestReplayKeepsSpanPassDamage(t *testing.T) {
	body := lines(burst(6, 0, time.Second, "192.0.2.1", "/")...)
	half := body[:strings.Index(body[len(body)/2:], "\n")+len(body)/2+1]
	changed := errors.New("bytes 10 to 20: the file changed while it was read (it is shorter than it was)")
	opens := 0
	in := Input{Name: "rotated.log", Size: -1, open: func(context.Context) (io.ReadCloser, error) {
		opens++
		if opens == 1 {
			return io.NopCloser(io.MultiReader(strings.NewReader(half), failingReader{changed})), nil
		}
		return io.NopCloser(strings.NewReader(half)), nil
	}}
	whole := writeFile(t, filepath.Join(t.TempDir(), "x.gz"), body, true)
	b, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	cut := writeFile(t, filepath.Join(t.TempDir(), "cut.gz"), string(b[:len(b)-20]), false)
	rep, err := Replay(t.Context(), []Input{in, FileInput(cut, int64(len(b)-20))}, ReplayOptions{ACL: aclWith(t, "Blanket", 100, 60, "")})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(rep.Warnings, "\n")
	if opens != 2 || strings.Count(got, "rotated.log: "+changed.Error()) != 1 || strings.Count(got, cut+": ") != 1 {
		t.Errorf("%d opens, warnings %q", opens, rep.Warnings)
	}
}

// TestStdinIsAFile: standard input redirected from a file is read once
// however else the file is named, before or after `-` (its name, or
// /dev/stdin, here /proc/self/fd/N: the test's own standard input is no
// file).
func TestStdinIsAFile(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "a.log"), lines(burst(3, 0, time.Second, "192.0.2.1", "/")...), false)
	for _, other := range []string{"", "path", "fd"} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"-", path}
		switch other {
		case "path":
			args = []string{path, "-"}
		case "fd":
			args[1] = "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
			if _, err := os.Stat(args[1]); err != nil {
				t.Skip("no /proc/self/fd")
			}
		}
		ins, err := Expand(t.Context(), args, Sources{Stdin: f})
		if err != nil {
			t.Fatal(err)
		}
		r, err := Analyze(t.Context(), ins, Options{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) != 1 || ins[0].Name != args[0] || r.Records != 3 {
			t.Errorf("%q: %d inputs (first %s), %d records, want 1 (%s) and 3 records", args, len(ins), ins[0].Name, r.Records, args[0])
		}
	}
}
