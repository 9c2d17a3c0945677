package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRangesCutWhileRead: a file cut short (copytruncate log rotation)
// between the moment it is split into ranges and the moment a range is
// read is a damaged input, reported once, whether the cut falls in the
// middle of a line, at a range's start or leaves nothing; the records
// before the cut count, and so do the other inputs'. The file is longer
// than a record's greatest length past a range, so that a range's end is
// looked for past the cut (the path that ended the analysis with a bare
// "EOF").
func TestRangesCutWhileRead(t *testing.T) {
	var rs []req
	for i := range 40000 {
		rs = append(rs, req{at: time.Duration(i) * time.Millisecond, ip: fmt.Sprintf("203.0.113.%d", i%7), uri: "/a/long/enough/path/to/make/the/file/large"})
	}
	data := lines(rs...)
	const step = 64 << 10
	if len(data) < 2*step+maxRecord+len(recordJoin) {
		t.Fatalf("%d bytes: too few for a range's end to be looked for past the cut", len(data))
	}
	midLine := func(at int) int { return strings.LastIndexByte(data[:at], '\n') + 1 + 20 }
	lineStart := func(at int) int { return strings.LastIndexByte(data[:at], '\n') + 1 }
	tests := []struct {
		name  string
		when  int // the range whose opening cuts the file
		cut   int
		found bool // the file was met in a directory
		read  int  // bytes read before the cut, when more than cut
	}{
		{"mid-line in the first range, as it opens", 0, midLine(1000), false, 0},
		{"mid-line in the first range's last line", 0, midLine(step - 10), false, 0},
		{"mid-line in the second range, as it opens", 1, midLine(step + 5000), false, 0},
		{"mid-line in the third range, as the second opens", 1, midLine(2*step + 5000), false, 0},
		{"at a line start in the second range", 1, lineStart(step + 5000), false, 0},
		{"to nothing", 0, 0, false, 0},
		{"to nothing, after the first range", 1, 0, false, strings.IndexByte(data[step:], '\n') + step + 1},
		{"mid-line, a file met in a directory", 1, midLine(step + 5000), true, 0},
	}
	defer func() { mapRanges, rangeOpened = true, nil }()
	for _, tt := range tests {
		for _, mapped := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/mapped=%v", tt.name, mapped), func(t *testing.T) {
				mapRanges = mapped
				dir := t.TempDir()
				path := writeFile(t, filepath.Join(dir, "a", "waf.log"), data, false)
				other := writeFile(t, filepath.Join(dir, "b.log"), lines(burst(3, 0, time.Second, "192.0.2.9", "/")...), false)
				done := false
				rangeOpened = func(r *fileRange) {
					if r.path == path && r.k == tt.when && !done {
						done = true
						if err := os.Truncate(path, int64(tt.cut)); err != nil {
							t.Error(err)
						}
					}
				}
				in := FileInput(path, 0)
				in.found = tt.found
				p := &pass{inputs: []Input{in, FileInput(other, 0)}, workers: 1, winMs: 300000, maxKeys: 1 << 30,
					flt: (&Options{}).filter(), rangeSize: step, readSize: 4096}
				res, err := p.run(t.Context())
				if err != nil {
					t.Fatalf("analysis failed: %v", err)
				}
				if !done {
					t.Fatal("the file was not cut")
				}
				if len(res.damaged) != 1 || !strings.Contains(res.damaged[0], path+": ") || !strings.Contains(res.damaged[0], "the file changed while it was read (it is shorter than it was)") {
					t.Errorf("damaged inputs %q, want %s, changed while it was read, once", res.damaged, path)
				}
				whole := int64(strings.Count(data[:max(tt.cut, tt.read)], "\n")) + 3
				if res.agg.records != whole {
					t.Errorf("%d records, want the %d before the cut and the other file's", res.agg.records, whole)
				}
			})
		}
	}
}
