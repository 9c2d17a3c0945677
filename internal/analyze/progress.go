package analyze

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress draws a progress bar for a long run: bytes read of the total,
// rate and time left. It stays silent for the first couple of seconds,
// so that short runs print nothing; the caller makes one only when the
// output is a terminal.
type Progress struct {
	w     io.Writer
	total int64 // bytes as stored; ≤ 0 when unknown (standard input)
	done  atomic.Int64
	start time.Time
	now   func() time.Time
	quiet time.Duration

	mu      sync.Mutex
	drawn   bool
	stop    chan struct{}
	stopped chan struct{}
}

// NewProgress returns a progress bar for total bytes; now is the clock
// (time.Now when nil).
func NewProgress(w io.Writer, total int64, now func() time.Time) *Progress {
	if now == nil {
		now = time.Now
	}
	return &Progress{w: w, total: total, now: now, start: now(), quiet: 2 * time.Second}
}

// Start redraws the bar every interval until Stop.
func (p *Progress) Start(interval time.Duration) {
	p.stop, p.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.Draw()
			case <-p.stop:
				return
			}
		}
	}()
}

// Stop ends the redrawing and clears the bar.
func (p *Progress) Stop() {
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
		p.stop = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// Draw writes the bar once, if the run has lasted past the quiet time.
func (p *Progress) Draw() {
	now := p.now()
	if now.Sub(p.start) < p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r"+p.line(now)+"\033[K")
	p.drawn = true
}

// line renders the bar: [=====>    ] 1.2 GB / 2.0 GB  410 MB/s  ETA 2s.
func (p *Progress) line(now time.Time) string {
	done := p.done.Load()
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el
	}
	if p.total <= 0 {
		return fmt.Sprintf("%s read  %s/s", bytesText(done), bytesText(int64(rate)))
	}
	frac := min(float64(done)/float64(p.total), 1)
	const width = 30
	n := int(frac * width)
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	eta := "?"
	if rate > 0 {
		secs := int64(max(float64(p.total-done)/rate, 0) + 0.5)
		eta = fmt.Sprintf("%ds", secs)
		if secs >= 60 {
			eta = fmt.Sprintf("%dm%02ds", secs/60, secs%60)
		}
	}
	return fmt.Sprintf("[%s] %3.0f%%  %s / %s  %s/s  ETA %s", bar, frac*100, bytesText(done), bytesText(p.total), bytesText(int64(rate)), eta)
}

// reader counts the bytes read through r.
func (p *Progress) reader(r io.Reader) io.Reader { return &countingReader{r: r, n: &p.done} }

// add counts n bytes read otherwise (a mapped file).
func (p *Progress) add(n int64) { p.done.Add(n) }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// bytesText writes a byte count in decimal units: 1.2 GB.
func bytesText(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTP"[exp])
}
