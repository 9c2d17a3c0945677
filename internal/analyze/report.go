// Package analyze reads AWS WAF logs and finds the rate limits they
// call for, the way AWS's blog "The three most important AWS WAF
// rate-based rules" does with Athena: requests per client IP per
// 5-minute window (and per IP and URI, and per value of a header such as
// X-Forwarded-For) over a busy, healthy period, a limit with a growth
// buffer above the peak, rules ordered from the most specific. It then
// replays the logged traffic through the proposed web ACL with lockgate's
// WAF engine to show what the limits would have blocked.
package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Windows are AWS WAF's EvaluationWindowSec values.
var Windows = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute}

// Options say what to analyse and how.
type Options struct {
	// Window is the counting window: one of Windows (5 minutes, the
	// blog's, when zero).
	Window time.Duration
	// From and To bound the records' timestamps, both included (the
	// blog's BETWEEN); zero for no bound.
	From, To time.Time
	// Filters: records whose URI starts with URIPrefix, whose method,
	// action (ALLOW, BLOCK…) or country is the one given (without case).
	URIPrefix, Method, Action, Country string
	// Header names the header whose values are counted per window
	// (top_header_values); "" for none.
	Header string
	// Top is the length of the top lists (10 when zero).
	Top int
	// Buffer is the growth allowance over the observed peak: 0.5 sets
	// limits 50% above it (the command's default).
	Buffer float64
	// RuleURIs are URI prefixes that get a URI-specific limit whatever
	// their share of the traffic.
	RuleURIs []string
	// ExpensiveURIs is how many URI prefixes, ranked by their share of
	// the clients' peak windows, are considered for URI-specific limits
	// besides login-like ones (2 when zero; -1 for none).
	ExpensiveURIs int
	// Count makes the proposed rules count instead of block.
	Count bool
	// MaxKeys bounds the distinct (key, window) pairs counted (5,000,000
	// when zero): memory is about 100 bytes a pair.
	MaxKeys int
	// Workers is how many records are scanned in parallel (GOMAXPROCS
	// when zero).
	Workers int
	// Strict makes a bad record or a damaged input an error.
	Strict bool
	// Progress, when set, counts the bytes read.
	Progress *Progress

	// rangeSize and readSize, when set, replace the sizes of the ranges
	// of a file and of the blocks workers read (tests).
	rangeSize int64
	readSize  int
}

// DefaultMaxKeys is the bound on distinct (key, window) pairs.
const DefaultMaxKeys = 5_000_000

func (o *Options) normalize() error {
	if o.Window == 0 {
		o.Window = 5 * time.Minute
	}
	if !slices.Contains(Windows, o.Window) {
		return fmt.Errorf("window %v: AWS WAF evaluates rates over 1m, 2m, 5m or 10m", o.Window)
	}
	if o.Top == 0 {
		o.Top = 10
	}
	if o.Top < 0 {
		return fmt.Errorf("top %d: must be positive", o.Top)
	}
	if o.Buffer < 0 || math.IsNaN(o.Buffer) || math.IsInf(o.Buffer, 0) {
		return fmt.Errorf("buffer %v: must be 0 or more (0.5 is 50%% above the peak)", o.Buffer)
	}
	if !o.From.IsZero() && !o.To.IsZero() && o.To.Before(o.From) {
		return fmt.Errorf("--to %s is before --from %s", o.To.Format(time.RFC3339), o.From.Format(time.RFC3339))
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.ExpensiveURIs == 0 {
		o.ExpensiveURIs = 2
	}
	for _, p := range o.RuleURIs {
		if !strings.HasPrefix(p, "/") || len(p) > maxSearchString {
			return fmt.Errorf("rule URI %q: a URI path starting with / of at most %d bytes (AWS's limit on a search string)", p, maxSearchString)
		}
	}
	return nil
}

func (o *Options) filter() filter {
	f := filter{from: math.MinInt64, to: math.MaxInt64, uriPrefix: []byte(o.URIPrefix), method: []byte(o.Method), action: []byte(o.Action), country: []byte(o.Country)}
	if !o.From.IsZero() {
		f.from = fromMilli(o.From)
	}
	if !o.To.IsZero() {
		f.to = o.To.UnixMilli()
	}
	return f
}

// fromMilli is the first millisecond at or after t. Records carry
// milliseconds: a --from between two of them includes the later one only
// (16:00:00.0005 excludes a record at 16:00:00.000).
func fromMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// Report is the analysis. Its JSON shape is fixed: other tools read it.
type Report struct {
	Records           int64             `json:"records"`
	BadRecords        int64             `json:"bad_records"`
	WindowSeconds     int64             `json:"window_seconds"`
	From              Time              `json:"from"`
	To                Time              `json:"to"`
	TopIPs            []IPCount         `json:"top_ips"`
	TopIPURIs         []IPURICount      `json:"top_ip_uris"`
	TopHeaderValues   []HeaderCount     `json:"top_header_values"`
	PerIPWindowCounts Distribution      `json:"per_ip_window_counts"`
	ByCountry         []CountryCount    `json:"by_country"`
	ByAction          []ActionCount     `json:"by_action"`
	ByTerminatingRule []RuleCount       `json:"by_terminating_rule"`
	Recommendations   []Recommendation  `json:"recommendations"`
	Rules             []json.RawMessage `json:"rules"`
	// LowerBounds names the lists above whose counts are lower bounds
	// ("top_ips", "per_ip_window_counts", "top_ip_uris",
	// "top_header_values"): the bound on pairs (--max-keys) was reached
	// and requests of those lists went uncounted. Empty when every count
	// is exact.
	LowerBounds []string `json:"lower_bounds"`

	// What the JSON leaves out: the text and HTML outputs show it.
	Warnings   []string      `json:"-"`
	BadSamples []BadRecord   `json:"-"`
	Series     []Series      `json:"-"` // requests per window of the top clients
	Histogram  []Bucket      `json:"-"` // per-IP window counts
	Replay     *ReplayReport `json:"-"`
	Options    Options       `json:"-"`
	// Span is each input's first and last timestamp (ms), for replay.
	Span [][2]int64 `json:"-"`
}

// Time is a timestamp written in RFC 3339 (UTC), or null when unknown.
type Time struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

func (t Time) String() string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// IPCount is a client's requests in a window.
type IPCount struct {
	WindowStart Time   `json:"window_start"`
	ClientIP    string `json:"client_ip"`
	Requests    int64  `json:"requests"`
}

// IPURICount is a client's requests to a URI in a window.
type IPURICount struct {
	WindowStart Time   `json:"window_start"`
	ClientIP    string `json:"client_ip"`
	URI         string `json:"uri"`
	Requests    int64  `json:"requests"`
}

// HeaderCount is the requests with a header value in a window.
type HeaderCount struct {
	WindowStart Time   `json:"window_start"`
	Header      string `json:"header"`
	Value       string `json:"value"`
	Requests    int64  `json:"requests"`
}

// Distribution summarises the requests per (client IP, window) pair:
// keys is the number of pairs; the percentiles are nearest-rank (the
// smallest count at least that share of pairs do not exceed), as
// DuckDB's quantile_disc.
type Distribution struct {
	Keys int64 `json:"keys"`
	P50  int64 `json:"p50"`
	P90  int64 `json:"p90"`
	P99  int64 `json:"p99"`
	P999 int64 `json:"p999"`
	Max  int64 `json:"max"`
}

// CountryCount is the requests from a country.
type CountryCount struct {
	Country  string `json:"country"`
	Requests int64  `json:"requests"`
}

// ActionCount is the requests that got an action.
type ActionCount struct {
	Action   string `json:"action"`
	Requests int64  `json:"requests"`
}

// RuleCount is the requests a rule terminated with an action.
type RuleCount struct {
	Rule     string `json:"rule"`
	Action   string `json:"action"`
	Requests int64  `json:"requests"`
}

// Series is one client's requests per window, for the charts.
type Series struct {
	ClientIP string
	Points   []Point
}

// Point is a window's count.
type Point struct {
	WindowStart time.Time
	Requests    int64
}

// Bucket is a histogram bar: pairs whose count is in [Lo, Hi].
type Bucket struct {
	Lo, Hi int64
	Pairs  int64
}

// Analyze reads the inputs and computes the report and its
// recommendations.
func Analyze(ctx context.Context, inputs []Input, opts Options) (*Report, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	winMs := opts.Window.Milliseconds()
	p := &pass{inputs: inputs, workers: opts.Workers, winMs: winMs, maxKeys: opts.MaxKeys,
		header: []byte(strings.ToLower(opts.Header)), flt: opts.filter(), strict: opts.Strict, progress: opts.Progress,
		rangeSize: opts.rangeSize, readSize: opts.readSize}
	res, err := p.run(ctx)
	if err != nil {
		return nil, err
	}
	a := res.agg
	r := &Report{Records: a.records, BadRecords: res.bad, WindowSeconds: winMs / 1000, Options: opts, BadSamples: res.badSamples, Span: res.span,
		TopIPs: []IPCount{}, TopIPURIs: []IPURICount{}, TopHeaderValues: []HeaderCount{}, Recommendations: []Recommendation{}, Rules: []json.RawMessage{}, LowerBounds: []string{}}
	r.From, r.To = Time{opts.From}, Time{opts.To}
	if a.records > 0 {
		if opts.From.IsZero() {
			r.From = Time{time.UnixMilli(a.minTS).UTC()}
		}
		if opts.To.IsZero() {
			r.To = Time{time.UnixMilli(a.maxTS).UTC()}
		}
	}
	win := func(w uint32) Time { return Time{time.UnixMilli(int64(w) * winMs).UTC()} }
	// The recommendations only read the counts, as the lists below do:
	// computed beside them, they keep the second core busy at the end of
	// the pass. Their warnings follow the others, as before.
	rec := &Report{Options: r.Options, WindowSeconds: r.WindowSeconds, Recommendations: r.Recommendations, Rules: r.Rules}
	var recDone sync.WaitGroup
	recDone.Go(func() { recommend(rec, a) })

	// The lists carry each key's count: comparing by looking the counts
	// up again cost two lookups in tables larger than the caches for
	// every key offered to a full list (a million on 2 GB of logs).
	for _, x := range topPairs(opts.Top, a.ipWin, a.ips.strs) {
		r.TopIPs = append(r.TopIPs, IPCount{win(x.w), x.s, x.n})
	}
	topURIs := newTop(opts.Top, func(x, y counted[triple]) int {
		if c := cmpCount(x.n, y.n, uint64(x.k.w), uint64(y.k.w), a.ips.strs[x.k.ip], a.ips.strs[y.k.ip]); c != 0 {
			return c
		}
		return strings.Compare(a.uris.strs[x.k.uri], a.uris.strs[y.k.uri])
	})
	for k, n := range a.ipURIWin.all() {
		topURIs.add(counted[triple]{k, n})
	}
	for _, x := range topURIs.items {
		r.TopIPURIs = append(r.TopIPURIs, IPURICount{win(x.k.w), a.ips.strs[x.k.ip], a.uris.strs[x.k.uri], int64(x.n)})
	}
	for _, x := range topPairs(opts.Top, a.hdrWin, a.vals.strs) {
		r.TopHeaderValues = append(r.TopHeaderValues, HeaderCount{win(x.w), opts.Header, x.s, x.n})
	}
	counts := make([]int64, 0, len(a.ipWin))
	for _, n := range a.ipWin {
		counts = append(counts, int64(n))
	}
	slices.Sort(counts)
	r.PerIPWindowCounts = distribution(counts)
	r.Histogram = histogram(counts)
	r.ByCountry, r.ByAction, r.ByTerminatingRule = tallies(a)
	r.Series = series(a, r.TopIPs, winMs)

	if res.bad > 0 {
		w := fmt.Sprintf("%d bad records (not usable AWS WAF log records) were left out", res.bad)
		if len(res.badSamples) < int(res.bad) {
			w += fmt.Sprintf("; the first %d:", len(res.badSamples))
		} else {
			w += ":"
		}
		for _, b := range res.badSamples {
			w += "\n  " + b.String()
		}
		r.Warnings = append(r.Warnings, w)
	}
	r.Warnings = append(r.Warnings, res.damaged...)
	if a.dropped.any() {
		r.Warnings = append(r.Warnings, boundWarning(a.dropped, a.records, opts.MaxKeys, p.workerCount()))
		r.LowerBounds = a.dropped.lowerBounds()
	}
	recDone.Wait()
	if a.dropped.ip+a.dropped.ipURI > 0 {
		// The peaks are lower bounds: a pair first met past the bound
		// (or, with several workers, met by one that had no room left)
		// may be the busiest, and a limit under the true peak blocks a
		// healthy client. No limit is better than a wrong one: the
		// recommendations and rules are withheld, and --apply refuses.
		return r, nil // boundWarning says so
	}
	r.Recommendations, r.Rules = rec.Recommendations, rec.Rules
	r.Warnings = append(r.Warnings, rec.Warnings...)
	return r, nil
}

// lowerBounds names the report's lists that the drops leave incomplete.
func (d drops) lowerBounds() []string {
	out := []string{}
	if d.ip > 0 {
		out = append(out, "top_ips", "per_ip_window_counts")
	}
	if d.ipURI > 0 {
		out = append(out, "top_ip_uris")
	}
	if d.hdr > 0 {
		out = append(out, "top_header_values")
	}
	return out
}

// LowerBound is the note the table and HTML outputs put after the title
// of a list whose counts are lower bounds, "" for an exact one.
func (r *Report) LowerBound(list string) string {
	if slices.Contains(r.LowerBounds, list) {
		return " (lower bounds: --max-keys was reached)"
	}
	return ""
}

// boundWarning says which counts the bound on pairs left incomplete, and
// by how much: a request whose (window, IP) pair was counted is in
// top_ips and the distribution even when its (window, IP, URI) pair was
// not. The bound is per worker, so a pair one worker could not take may
// still be counted, with fewer requests, by another.
func boundWarning(d drops, records int64, maxKeys, workers int) string {
	pct := func(n int64) string { return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(max(records, 1))) }
	var missing []string
	if d.ip > 0 {
		missing = append(missing, fmt.Sprintf("%d requests (%s) from the per-client-IP counts (top_ips, per_ip_window_counts and the blanket peak)", d.ip, pct(d.ip)))
	}
	if d.ipURI > 0 {
		missing = append(missing, fmt.Sprintf("%d requests (%s) from the per-client-IP-and-URI counts (top_ip_uris and the URI peaks)", d.ipURI, pct(d.ipURI)))
	}
	if d.hdr > 0 {
		missing = append(missing, fmt.Sprintf("%d header values from the per-value counts (top_header_values)", d.hdr))
	}
	bound := fmt.Sprintf("%d distinct (key, window) pairs", maxKeys)
	if workers > 1 {
		bound += fmt.Sprintf(" (held by %d workers together; a pair two workers both met counts for each)", workers)
	}
	w := "the bound of " + bound + " was reached; pairs first seen after it were not counted: " + strings.Join(missing, "; ") +
		". The counts of those lists are lower bounds (lower_bounds): a pair may be missing, and "
	if workers > 1 {
		w += "a listed pair may lack the requests a worker without room met. "
	} else {
		w += "a missing pair may be busier than any listed. "
	}
	if d.ip+d.ipURI > 0 {
		w += "No rate limits are recommended (and --apply writes none): a limit under the true peak would block the busiest healthy client. "
	}
	return w + fmt.Sprintf("How many pairs would suffice is not known (more than %d; the pairs past the bound were not counted). ", maxKeys) +
		"The record, country, action and rule counts are complete; raise --max-keys (about 100 bytes a pair) or narrow --from/--to"
}

// cmpCount orders by count descending, then window, then name.
func cmpCount(nx, ny uint32, wx, wy uint64, sx, sy string) int {
	switch {
	case nx != ny:
		if nx > ny {
			return -1
		}
		return 1
	case wx != wy:
		if wx < wy {
			return -1
		}
		return 1
	}
	return strings.Compare(sx, sy)
}

// counted is a key of a list and its count.
type counted[K any] struct {
	k K
	n uint32
}

// top keeps the k first items in an order.
type top[T any] struct {
	k     int
	cmp   func(a, b T) int
	items []T
}

func newTop[T any](k int, cmp func(a, b T) int) *top[T] { return &top[T]{k: k, cmp: cmp} }

func (t *top[T]) add(x T) {
	if len(t.items) == t.k {
		if t.cmp(x, t.items[t.k-1]) >= 0 {
			return
		}
		t.items = t.items[:t.k-1]
	}
	i, _ := slices.BinarySearchFunc(t.items, x, t.cmp)
	t.items = slices.Insert(t.items, i, x)
}

// quantile is DuckDB's quantile_disc: the element at ceil(n·q) − 1 of the
// sorted counts.
func quantile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*q)) - 1
	return sorted[max(i, 0)]
}

func distribution(sorted []int64) Distribution {
	d := Distribution{Keys: int64(len(sorted))}
	if len(sorted) > 0 {
		d.P50, d.P90, d.P99, d.P999 = quantile(sorted, 0.5), quantile(sorted, 0.9), quantile(sorted, 0.99), quantile(sorted, 0.999)
		d.Max = sorted[len(sorted)-1]
	}
	return d
}

// histogram buckets the counts by powers of two: 1, 2–3, 4–7, …
func histogram(sorted []int64) []Bucket {
	var out []Bucket
	for _, n := range sorted {
		lo := int64(1)
		for lo*2 <= n {
			lo *= 2
		}
		if len(out) == 0 || out[len(out)-1].Lo != lo {
			out = append(out, Bucket{Lo: lo, Hi: 2*lo - 1})
		}
		out[len(out)-1].Pairs++
	}
	return out
}

func tallies(a *agg) ([]CountryCount, []ActionCount, []RuleCount) {
	countries := []CountryCount{}
	for k, n := range a.country {
		countries = append(countries, CountryCount{a.names.strs[k], n})
	}
	slices.SortFunc(countries, func(x, y CountryCount) int { return cmpTally(x.Requests, y.Requests, x.Country, y.Country) })
	actions := []ActionCount{}
	for k, n := range a.action {
		actions = append(actions, ActionCount{a.names.strs[k], n})
	}
	slices.SortFunc(actions, func(x, y ActionCount) int { return cmpTally(x.Requests, y.Requests, x.Action, y.Action) })
	rules := []RuleCount{}
	for k, n := range a.rule {
		rule, act := unpair(k)
		rules = append(rules, RuleCount{a.names.strs[rule], a.names.strs[act], n})
	}
	slices.SortFunc(rules, func(x, y RuleCount) int {
		if c := cmpTally(x.Requests, y.Requests, x.Rule, y.Rule); c != 0 {
			return c
		}
		return strings.Compare(x.Action, y.Action)
	})
	return countries, actions, rules
}

func cmpTally(nx, ny int64, sx, sy string) int {
	if nx != ny {
		if nx > ny {
			return -1
		}
		return 1
	}
	return strings.Compare(sx, sy)
}

// maxSeries is how many clients the requests-over-time chart shows.
const maxSeries = 5

// series is, for the clients of the top list, their requests in every
// window of the period.
func series(a *agg, topIPs []IPCount, winMs int64) []Series {
	var out []Series
	ids := map[uint32]int{}
	for _, t := range topIPs {
		id, ok := a.ipLookup(t.ClientIP)
		if _, seen := ids[id]; !ok || seen || len(out) == maxSeries {
			continue
		}
		ids[id] = len(out)
		out = append(out, Series{ClientIP: t.ClientIP})
	}
	if len(out) == 0 || a.records == 0 {
		return out
	}
	lo, hi := floorDiv(a.minTS, winMs), floorDiv(a.maxTS, winMs)
	if hi-lo > 10_000 {
		lo = hi - 10_000 // a chart has no use for more points
	}
	for i := range out {
		for w := lo; w <= hi; w++ {
			out[i].Points = append(out[i].Points, Point{WindowStart: time.UnixMilli(w * winMs).UTC()})
		}
	}
	for k, n := range a.ipWin {
		w, ip := unpair(k)
		if i, ok := ids[ip]; ok && int64(w) >= lo && int64(w) <= hi {
			out[i].Points[int64(w)-lo].Requests = int64(n)
		}
	}
	return out
}

// pairCount is one entry of a top list keyed by (window, string).
type pairCount struct {
	w uint32 // the window
	s string
	n int64
}

// topPairs returns the top n of counts, keyed by pair(window, index into
// strs), in the order of the blog's queries: requests descending, then
// window, then the string. The top lists of client IPs and of header
// values are both this.
func topPairs(n int, counts map[uint64]uint32, strs []string) []pairCount {
	top := newTop(n, func(x, y counted[uint64]) int {
		return cmpCount(x.n, y.n, x.k>>32, y.k>>32, strs[uint32(x.k)], strs[uint32(y.k)])
	})
	for k, c := range counts {
		top.add(counted[uint64]{k, c})
	}
	out := make([]pairCount, len(top.items))
	for i, x := range top.items {
		w, j := unpair(x.k)
		out[i] = pairCount{w, strs[j], int64(x.n)}
	}
	return out
}
