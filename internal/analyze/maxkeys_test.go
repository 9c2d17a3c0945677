package analyze

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/waflog"
)

// TestMaxKeysLowerBounds: once --max-keys is reached, the lists that
// lost requests are marked as lower bounds in every output format, and
// no rate limit is recommended from them: with several workers a listed
// pair could carry a partial count and the blanket limit changed from
// run to run, below the busiest healthy client's peak (atk16j F4). A
// bound reached only by header values leaves the limits, which do not
// read them, in place; a bound not reached marks nothing.
func TestMaxKeysLowerBounds(t *testing.T) {
	hdr := func(i int) []waflog.Header {
		return []waflog.Header{{Name: "X-Forwarded-For", Value: "198.51.100." + itoa(i)}}
	}
	tests := []struct {
		name    string
		rs      func(i int) req
		maxKeys int
		lower   []string
		workers []int
	}{
		{"not reached", func(i int) req {
			return req{at: time.Duration(i) * time.Second, ip: "203.0.113." + itoa(i%60), uri: "/p" + itoa(i%3), headers: hdr(i)}
		}, 1_000_000, []string{}, []int{1, 2, 4}},
		{"reached by new clients", func(i int) req {
			return req{at: time.Duration(i) * time.Second, ip: "203.0.113." + itoa(i%200), uri: "/"}
		}, 50, []string{"top_ips", "per_ip_window_counts", "top_ip_uris"}, []int{1, 2, 4}},
		// One client in one window: the first pair a worker meets is the
		// client's. With several workers, one may find the bound reached
		// by the others' pairs before it meets it: one worker only.
		{"reached by one client's new URIs", func(i int) req {
			return req{at: time.Duration(i) * 500 * time.Millisecond, ip: "203.0.113.1", uri: "/p" + itoa(i)}
		}, 50, []string{"top_ip_uris"}, []int{1}},
		{"reached by header values only", func(i int) req {
			return req{at: time.Duration(i) * 500 * time.Millisecond, ip: "203.0.113.1", uri: "/", headers: hdr(i)}
		}, 50, []string{"top_header_values"}, []int{1}},
	}
	const header = "X-Forwarded-For"
	for _, tt := range tests {
		var rs []req
		for i := range 400 {
			rs = append(rs, tt.rs(i))
		}
		path := writeFile(t, filepath.Join(t.TempDir(), "waf.log"), lines(rs...), false)
		for _, workers := range tt.workers {
			t.Run(tt.name+"/workers="+itoa(workers), func(t *testing.T) {
				r := analyzeFiles(t, Options{MaxKeys: tt.maxKeys, Workers: workers, Header: header, Buffer: 0.5, rangeSize: 8 << 10, readSize: 4096}, path)
				if !slices.Equal(r.LowerBounds, tt.lower) {
					t.Errorf("lower bounds %q, want %q", r.LowerBounds, tt.lower)
				}
				limits := !slices.Contains(tt.lower, "top_ips") && !slices.Contains(tt.lower, "top_ip_uris")
				if got := len(r.Recommendations) > 0 && len(r.Rules) > 0; got != limits {
					t.Errorf("%d recommendations, %d rules; want some: %v", len(r.Recommendations), len(r.Rules), limits)
				}
				w := strings.Join(r.Warnings, "\n")
				if said := strings.Contains(w, "No rate limits are recommended"); said == limits {
					t.Errorf("warnings %q: say no limits are recommended: %v, want %v", w, said, !limits)
				}
				if len(tt.lower) > 0 && !strings.Contains(w, "more than "+itoa(tt.maxKeys)) {
					t.Errorf("warnings %q do not say how many pairs would not suffice", w)
				}
				out := map[string]string{}
				for _, f := range []string{"json", "table", "csv", "html"} {
					var b bytes.Buffer
					if err := r.Write(&b, f); err != nil {
						t.Fatal(err)
					}
					out[f] = b.String()
				}
				var j struct {
					LowerBounds []string `json:"lower_bounds"`
				}
				if err := json.Unmarshal([]byte(out["json"]), &j); err != nil || j.LowerBounds == nil || !slices.Equal(j.LowerBounds, tt.lower) {
					t.Errorf("json lower_bounds %q (%v), want %q", j.LowerBounds, err, tt.lower)
				}
				note := "(lower bounds: --max-keys was reached)"
				titles := map[string]string{"top_ips": "Top client IPs per 5-minute window ", "top_ip_uris": "Top client IP and URI pairs per 5-minute window ",
					"top_header_values": "Top X-Forwarded-For values per 5-minute window ", "per_ip_window_counts": "Requests per (client IP, window) "}
				htmls := map[string]string{"top_ips": "Top client IPs ", "top_ip_uris": "Per client IP and URI ",
					"top_header_values": "Top X-Forwarded-For values ", "per_ip_window_counts": "Requests per (client IP, window) "}
				for list, title := range titles {
					want := slices.Contains(tt.lower, list)
					if got := strings.Contains(out["table"], title+note); got != want {
						t.Errorf("table: %s marked %v, want %v", list, got, want)
					}
					if got := strings.Contains(out["html"], htmls[list]+note); got != want {
						t.Errorf("html: %s marked %v, want %v", list, got, want)
					}
					if got := strings.Contains(out["csv"], "\nlower_bound,,,,,"+list+","); got != want {
						t.Errorf("csv: %s marked %v, want %v", list, got, want)
					}
				}
			})
		}
	}
}
