package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lockgate/lockgate/waf"
)

// chromium finds Debian's chromium; with CI=true its absence fails the
// test, elsewhere it skips with the command that installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (CI=true): apt-get install chromium")
	}
	t.Skip("chromium is not installed: apt-get install chromium")
	return ""
}

// replayedReport is the generated logs' report with its replay, as
// lockgate analyze --replay makes it.
func replayedReport(t *testing.T) *Report {
	t.Helper()
	dir, g := generated(t)
	r := analyzeFiles(t, Options{From: g.Healthy[0], To: g.Healthy[1].Add(-1), Buffer: 0.5, Header: "X-Forwarded-For"}, dir)
	rules, _ := json.Marshal(r.Rules)
	acl, _, err := waf.Load(rules, waf.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Replay = replay(t, ReplayOptions{ACL: acl, Span: r.Span}, dir)
	for i := range r.Recommendations {
		for _, x := range r.Replay.Rules {
			if x.Rule == r.Recommendations[i].Name {
				r.Recommendations[i].WouldBlockRequests = &x.Requests
			}
		}
	}
	return r
}

// TestHTMLInChromium renders the report in headless Chromium: the page
// makes no request but its own file, shows the charts the blog shows
// (top requesters over time, per IP and URI), the distribution, the
// recommendations and the replay, and its screenshot has them drawn.
func TestHTMLInChromium(t *testing.T) {
	exe := chromium(t)
	r := replayedReport(t)
	var page bytes.Buffer
	if err := r.Write(&page, "html"); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	// Self-contained: no script, no external reference, a policy that
	// forbids fetching anything.
	if strings.Contains(html, "<script") || regexp.MustCompile(`(?i)(src|href)\s*=\s*"[a-z]+:`).MatchString(html) ||
		!strings.Contains(html, `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`) {
		t.Fatal("the page is not self-contained")
	}
	path := filepath.Join(t.TempDir(), "report.html")
	os.WriteFile(path, page.Bytes(), 0o644)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1000, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	var mu sync.Mutex
	var requests []string
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}))
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("#replay-table"))); err != nil {
		t.Fatal(err)
	}
	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	series, uriBars, histBars := count("#chart-over-time polyline.series"), count("#chart-ip-uri rect.bar"), count("#chart-distribution rect.bar")
	recRows, replayRows := count("#recommendation-table tr"), count("#replay-table tr")
	summary, percentiles, legend := text("#summary"), text("#percentiles"), text(".legend")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(requests) == 0 {
		t.Error("no request seen: the listener does not work")
	}
	for _, u := range requests {
		if u != "file://"+path {
			t.Errorf("the page fetched %s", u)
		}
	}
	mu.Unlock()
	if series != len(r.Series) || series == 0 || uriBars != len(r.TopIPURIs) || histBars != len(r.Histogram) ||
		recRows != len(r.Recommendations)+1 || replayRows != len(r.Replay.Rules)+1 {
		t.Errorf("series %d, IP+URI bars %d, histogram bars %d, recommendation rows %d, replay rows %d", series, uriBars, histBars, recRows, replayRows)
	}
	d := r.PerIPWindowCounts
	if !strings.Contains(summary, num(r.Records)+" records") || !strings.Contains(percentiles, fmt.Sprintf("p99 %s", num(d.P99))) ||
		!strings.Contains(legend, r.TopIPs[0].ClientIP) {
		t.Errorf("summary %q, percentiles %q, legend %q", summary, percentiles, legend)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(t.TempDir(), "report.png"), shot, 0o644)
	if b := img.Bounds(); b.Dx() < 900 || b.Dy() < 1500 {
		t.Errorf("screenshot %v: the page is not laid out", b)
	}
	// The first series is drawn in red (#d62728), the IP+URI bars in blue
	// (#1f77b4): both colours are on the screenshot.
	if !hasColor(img, 0xd6, 0x27, 0x28) || !hasColor(img, 0x1f, 0x77, 0xb4) {
		t.Error("the screenshot lacks the charts' colours")
	}
	if dir := os.Getenv("LOCKGATE_SCREENSHOT_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, "analyze-report.png"), shot, 0o644)
	}
}

func hasColor(img image.Image, r, g, b uint8) bool {
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if near(cr>>8, r) && near(cg>>8, g) && near(cb>>8, b) {
				return true
			}
		}
	}
	return false
}

func near(a uint32, b uint8) bool { return a+6 >= uint32(b) && a <= uint32(b)+6 }

// TestHTMLBadCounts: a record whose client IP is no IP address is a bad
// record for the analysis as for the replay (which cannot evaluate it),
// so the page's summary and the replay's warning give the same count.
func TestHTMLBadCounts(t *testing.T) {
	rs := burst(30, 0, time.Second, "203.0.113.1", "/")
	data := lines(rs...) + lines(req{at: 40 * time.Second, ip: "not-an-address", uri: "/"})
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), data, false)
	r := analyzeFiles(t, Options{}, path)
	rules, _ := json.Marshal(r.Rules)
	acl, _, err := waf.Load(rules, waf.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Replay = replay(t, ReplayOptions{ACL: acl, Span: r.Span}, path)
	if r.Records != 30 || r.BadRecords != 1 || r.Replay.BadRecords != r.BadRecords {
		t.Errorf("analysis: %d records, %d bad; replay: %d bad", r.Records, r.BadRecords, r.Replay.BadRecords)
	}
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, path+":31: httpRequest.clientIp is not an IP address") {
		t.Errorf("warnings %q", w)
	}
	var page bytes.Buffer
	if err := r.Write(&page, "html"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "<span><b>1</b> bad</span>") {
		t.Error("the page's summary does not count the bad record")
	}
}

// TestHTMLOneWindow: logs of a single window still draw the requests
// over time (a polyline of one point draws nothing): the screenshot of
// the chart has the first series' colour.
func TestHTMLOneWindow(t *testing.T) {
	exe := chromium(t)
	rs := append(burst(40, 0, time.Second, "203.0.113.1", "/"), burst(10, 0, time.Second, "203.0.113.2", "/")...)
	path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(rs...), false)
	r := analyzeFiles(t, Options{}, path)
	if len(r.Series) != 2 || len(r.Series[0].Points) != 1 {
		t.Fatalf("series %+v: not one window", r.Series)
	}
	var page bytes.Buffer
	if err := r.Write(&page, "html"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "report.html")
	os.WriteFile(file, page.Bytes(), 0o644)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1000, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.CSS("#chart-over-time"))); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("#chart-over-time")))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if !hasColor(img, 0xd6, 0x27, 0x28) || !hasColor(img, 0x1f, 0x77, 0xb4) {
		t.Error("the chart of one window draws neither series")
	}
}
