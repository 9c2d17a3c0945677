package analyze

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// TestProgress: nothing in the first two seconds, then bytes of the
// total, the rate and the time left; cleared at the end.
func TestProgress(t *testing.T) {
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var out bytes.Buffer
	p := NewProgress(&out, 1_000_000_000, clock)
	io.Copy(io.Discard, p.reader(strings.NewReader(strings.Repeat("x", 100_000_000))))
	now = now.Add(time.Second)
	p.Draw()
	if out.Len() != 0 {
		t.Fatalf("drew within the quiet time: %q", out.String())
	}
	now = now.Add(3 * time.Second) // 100 MB in 4 s: 25 MB/s, 36 s left
	p.Draw()
	want := "\r[===>                          ]  10%  100.0 MB / 1.0 GB  25.0 MB/s  ETA 36s\033[K"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
	p.Stop()
	if !strings.HasSuffix(out.String(), "\r\033[K") {
		t.Errorf("not cleared: %q", out.String())
	}
	var u bytes.Buffer
	q := NewProgress(&u, -1, clock)
	q.start = now.Add(-10 * time.Second)
	io.Copy(io.Discard, q.reader(strings.NewReader(strings.Repeat("x", 5000))))
	q.Draw()
	if u.String() != "\r5.0 kB read  500 B/s\033[K" {
		t.Errorf("unknown total: %q", u.String())
	}
}
