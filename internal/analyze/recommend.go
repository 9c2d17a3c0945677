package analyze

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AWS's bounds on a rate-based rule's Limit, and on a ByteMatch search
// string (bytes).
const (
	MinLimit        = 10
	MaxLimit        = 2_000_000_000
	maxSearchString = 200
)

// Recommendation is a proposed rate-based rule.
type Recommendation struct {
	Name string `json:"name"`
	// URIPrefix scopes the rule to URIs starting with it; null for the
	// blanket rule.
	URIPrefix *string `json:"uri_prefix"`
	// Scope is the traffic the analysis was narrowed to (filters), which
	// the rule is scoped down to as well; absent without filters.
	Scope         *Scope  `json:"scope,omitempty"`
	Limit         int64   `json:"limit"`
	WindowSeconds int64   `json:"window_seconds"`
	ObservedPeak  int64   `json:"observed_peak"`
	Buffer        float64 `json:"buffer"`
	Rationale     string  `json:"rationale"`
	// WouldBlockRequests is how many logged requests the rule would
	// have blocked (counted, for Count rules), from a replay; null when
	// no replay ran.
	WouldBlockRequests *int64 `json:"would_block_requests"`

	PeakIP     string    `json:"-"`
	PeakWindow time.Time `json:"-"`
}

// Readable rounds a limit up to two significant digits (1,312.5 → 1,400)
// within AWS's bounds.
func Readable(x float64) int64 {
	v := int64(math.Ceil(x - 1e-9))
	if v >= 100 {
		p := int64(math.Pow10(int(math.Floor(math.Log10(float64(v)))) - 1))
		v = (v + p - 1) / p * p
	}
	return min(max(v, MinLimit), MaxLimit)
}

// loginLike matches a path segment that names a sign-in, sign-up or
// token endpoint.
var loginLike = regexp.MustCompile(`(?i)^(log-?in|log-?on|sign-?in|sign-?on|sign-?up|register|auth|authenticate|authorize|oauth2?|token|password|passwd|reset-?password|forgot-?password|session|sessions|otp|mfa|2fa|verify)(\.[a-z]+)?$`)

// loginPrefix is the URI up to its login-like segment, or "".
func loginPrefix(uri string) string {
	end := 0
	for seg := range strings.SplitSeq(uri[min(1, len(uri)):], "/") {
		end += 1 + len(seg)
		if loginLike.MatchString(seg) {
			return uri[:end]
		}
	}
	return ""
}

// loginPrefixSeen is loginPrefix with the segments' matches remembered
// in seen: over every URI counted (a hundred thousand on gigabytes of
// logs), the same few segments come again and again, and the regular
// expression cost more than the rest of the recommendations.
func loginPrefixSeen(uri string, seen map[string]bool) string {
	end := 0
	for seg := range strings.SplitSeq(uri[min(1, len(uri)):], "/") {
		end += 1 + len(seg)
		login, ok := seen[seg]
		if !ok {
			// Every word loginLike matches starts with one of these
			// letters (or, folded, with a non-ASCII one: ſ is s), and
			// most segments, numbers, start with none.
			login = seg != "" && (seg[0] >= 0x80 || strings.IndexByte("lsraotpfmv2LSRAOTPFMV", seg[0]) >= 0) && loginLike.MatchString(seg)
			if len(seen) < 1<<16 {
				seen[seg] = login
			}
		}
		if login {
			return uri[:end]
		}
	}
	return ""
}

// staticFile matches the URIs of static files: cheap to serve whatever
// their share.
var staticFile = regexp.MustCompile(`(?i)\.(js|mjs|css|map|png|jpe?g|gif|webp|avif|svg|ico|woff2?|ttf|otf|eot|txt|xml)$`)

// firstSegment is /segment of a URI ("" for the root).
func firstSegment(uri string) string {
	if len(uri) < 2 || uri[0] != '/' {
		return ""
	}
	if i := strings.IndexByte(uri[1:], '/'); i >= 0 {
		return uri[:i+1]
	}
	return uri
}

// ruleName is a rule name AWS accepts (^[\w-]+$, 128 characters at most):
// base and the letters and digits of what, dash-separated.
func ruleName(base, what string) string {
	var b strings.Builder
	b.WriteString(base)
	dash := true
	for _, c := range what {
		if c < 128 && (c == '_' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			if dash {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
		} else {
			dash = true
		}
	}
	s := b.String()
	return s[:min(len(s), 128)]
}

// peakShareClients is how many of the busiest clients' peak windows the
// URI shares are taken from.
const peakShareClients = 100

// minShare is the share of those windows a URI prefix must have to be
// proposed for a limit of its own.
const minShare = 0.05

func recommend(r *Report, a *agg) {
	if a.records == 0 {
		return
	}
	opts := r.Options
	scope, refused := scopeOf(opts)
	if refused != "" {
		r.Warnings = append(r.Warnings, refused)
		return
	}
	winSec := r.WindowSeconds
	span := fmt.Sprintf("one %s window", windowName(opts.Window))
	counted := "Counted per client IP"
	if scope != nil {
		counted = "Counted per client IP over the requests analysed (" + scope.String() + "; the rule is scoped down to them)"
	}
	// Blanket: the busiest (client, window) pair.
	var peak uint32
	var peakKey uint64
	peakIP := map[uint32]uint64{} // each client's busiest pair
	for k, n := range a.ipWin {
		if n > peak || n == peak && lessPair(a, k, peakKey) {
			peak, peakKey = n, k
		}
		_, ip := unpair(k)
		if old, ok := peakIP[ip]; !ok || n > a.ipWin[old] || n == a.ipWin[old] && k < old {
			peakIP[ip] = k
		}
	}
	if peak == 0 {
		return
	}
	blanketName := "BlanketRule"
	if scope != nil {
		blanketName = ruleName("ScopedRule", scope.nameSuffix())
	}
	blanket := newRecommendation(blanketName, nil, int64(peak), opts.Buffer, winSec)
	blanket.Scope = scope
	w, ip := unpair(peakKey)
	blanket.PeakIP, blanket.PeakWindow = a.ips.strs[ip], time.UnixMilli(int64(w)*winSec*1000).UTC()
	what := "A blanket per-IP limit stops a single source flooding the site."
	if scope != nil {
		what = "A per-IP limit on these requests stops a single source flooding them; it is not a site-wide limit (analyze without filters for one)."
	}
	blanket.Rationale = fmt.Sprintf("%s, the busiest, %s, sent %d requests in %s (starting %s); %s. %s",
		counted, blanket.PeakIP, peak, span, blanket.PeakWindow.Format(time.RFC3339), limitText(blanket), what)

	// URI prefixes: the ones asked for, login-like ones, and the ones
	// with the largest share of the busiest clients' peak windows.
	var prefixes []string
	explicit := map[string]bool{}
	add := func(p string) {
		if p != "" && p != "/" && len(p) <= maxSearchString && !slices.Contains(prefixes, p) {
			prefixes = append(prefixes, p)
		}
	}
	for _, p := range opts.RuleURIs {
		explicit[p] = true
		add(p)
	}
	var logins []string
	seen := map[string]bool{} // segments by whether they are login-like
	for _, u := range a.uris.strs {
		if p := loginPrefixSeen(u, seen); p != "" && !slices.Contains(logins, p) {
			logins = append(logins, p)
		}
	}
	slices.Sort(logins)
	for _, p := range logins {
		add(p)
	}
	for _, p := range expensive(a, peakIP, opts.ExpensiveURIs) {
		add(p)
	}
	var uriRecs []Recommendation
	peaks := prefixPeaks(a, prefixes)
	for i, p := range prefixes {
		pk, pw, pip := peaks[i].n, peaks[i].w, peaks[i].ip
		if pk == 0 {
			if explicit[p] {
				r.Warnings = append(r.Warnings, fmt.Sprintf("--rule-uri %s: no request analysed went to a URI starting with it, so there is no peak to set a limit from; no rule is proposed for it", p))
			}
			continue
		}
		rec := newRecommendation(ruleName("UriBasedRule", p+" "+scope.nameSuffix()), &p, pk, opts.Buffer, winSec)
		rec.Scope = scope
		rec.PeakIP, rec.PeakWindow = a.ips.strs[pip], time.UnixMilli(int64(pw)*winSec*1000).UTC()
		if rec.Limit >= blanket.Limit && !explicit[p] {
			continue // the blanket limit already covers it
		}
		kind := "an expensive path (a large share of the busiest clients' requests)"
		if loginPrefix(p) != "" {
			kind = "a sign-in path, where many requests from one client mean credential stuffing"
		}
		if explicit[p] {
			kind = "a path named with --rule-uri"
		}
		rec.Rationale = fmt.Sprintf("%s is %s. %s, its busiest, %s, sent %d requests to URIs starting with %s in %s (starting %s); %s.",
			p, kind, counted, rec.PeakIP, pk, p, span, rec.PeakWindow.Format(time.RFC3339), limitText(rec))
		uriRecs = append(uriRecs, rec)
	}
	// The blog's order: the most specific (lowest) limits first, the
	// blanket rule last. Priority 0 stays free for an IP reputation rule.
	slices.SortStableFunc(uriRecs, func(x, y Recommendation) int { return int(x.Limit - y.Limit) })
	r.Recommendations = append(uriRecs, blanket)
	uniqueNames(r.Recommendations)
	for i, rec := range r.Recommendations {
		r.Rules = append(r.Rules, RuleJSON(rec, i+1, opts.Count))
	}
}

func newRecommendation(name string, prefix *string, peak int64, buffer float64, winSec int64) Recommendation {
	return Recommendation{Name: name, URIPrefix: prefix, Limit: Readable(float64(peak) * (1 + buffer)), WindowSeconds: winSec, ObservedPeak: peak, Buffer: buffer}
}

func limitText(rec Recommendation) string {
	exact := float64(rec.ObservedPeak) * (1 + rec.Buffer)
	s := fmt.Sprintf("the limit is that peak plus a %s buffer for growth, %s, ", percent(rec.Buffer), strconv.FormatFloat(exact, 'f', -1, 64))
	if float64(rec.Limit) < exact+1e-9 && exact >= MinLimit {
		if exact == float64(rec.Limit) {
			return strings.TrimSuffix(s, ", ")
		}
		return s + fmt.Sprintf("which is %d", rec.Limit)
	}
	if rec.Limit == MinLimit && exact < MinLimit {
		return s + fmt.Sprintf("raised to AWS's minimum of %d", MinLimit)
	}
	return s + fmt.Sprintf("rounded up to %d", rec.Limit)
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" }

func windowName(d time.Duration) string { return strconv.Itoa(int(d/time.Minute)) + "-minute" }

// lessPair orders pairs of equal count by window, then client IP.
func lessPair(a *agg, x, y uint64) bool {
	wx, ix := unpair(x)
	wy, iy := unpair(y)
	if wx != wy {
		return wx < wy
	}
	return a.ips.strs[ix] < a.ips.strs[iy]
}

// expensive ranks the URIs' first segments by their share of the busiest
// clients' peak windows and returns the first n with at least minShare,
// leaving out the root and login-like paths (proposed anyway).
func expensive(a *agg, peakIP map[uint32]uint64, n int) []string {
	if n <= 0 {
		return nil
	}
	// The counts travel with the pairs: the sort looked them up in ipWin
	// four times a comparison.
	clients := make([]counted[uint64], 0, len(peakIP))
	for _, k := range peakIP {
		clients = append(clients, counted[uint64]{k, a.ipWin[k]})
	}
	slices.SortFunc(clients, func(x, y counted[uint64]) int {
		if x.n != y.n {
			return int(y.n) - int(x.n)
		}
		if lessPair(a, x.k, y.k) {
			return -1
		}
		return 1
	})
	inPeak := map[uint64]bool{}
	ipInPeak := make([]bool, len(a.ips.strs)) // a cheaper first test than the map
	for _, x := range clients[:min(len(clients), peakShareClients)] {
		inPeak[x.k] = true
		_, ip := unpair(x.k)
		ipInPeak[ip] = true
	}
	share := map[string]int64{}
	var total int64
	for k, c := range a.ipURIWin.all() {
		if ipInPeak[k.ip] && inPeak[pair(k.w, k.ip)] {
			total += int64(c)
			if u := a.uris.strs[k.uri]; !staticFile.MatchString(u) {
				share[firstSegment(u)] += int64(c)
			}
		}
	}
	var segs []string
	for s, c := range share {
		if s != "" && loginPrefix(s) == "" && float64(c) >= minShare*float64(total) {
			segs = append(segs, s)
		}
	}
	slices.SortFunc(segs, func(x, y string) int { return cmpTally(share[x], share[y], x, y) })
	return segs[:min(len(segs), n)]
}

// peak is the busiest (client, window) pair of a prefix, and its count.
type peak struct {
	n     int64
	w, ip uint32
}

// prefixPeaks is, for each prefix, the busiest (client, window) pair
// counting only requests to URIs starting with it: one pass over the
// counts for all of them, by two goroutines, each over its own windows
// (so that a pair's requests are all summed by one of them).
func prefixPeaks(a *agg, prefixes []string) []peak {
	peaks := make([]peak, len(prefixes))
	if len(prefixes) == 0 {
		return peaks
	}
	parts := a.ipURIWin.parts(2)
	found := make([][]peak, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { found[i] = partPeaks(a, prefixes, part) })
	}
	wg.Wait()
	for _, f := range found {
		for i, p := range f {
			if p.n > peaks[i].n || p.n == peaks[i].n && lessPair(a, pair(p.w, p.ip), pair(peaks[i].w, peaks[i].ip)) {
				peaks[i] = p
			}
		}
	}
	return peaks
}

// partPeaks is prefixPeaks over some of the counts.
func partPeaks(a *agg, prefixes []string, counts iter.Seq2[triple, uint32]) []peak {
	sums := make([]map[uint64]int64, len(prefixes))
	for i := range sums {
		sums[i] = map[uint64]int64{}
	}
	// The prefixes each URI starts with, found once per URI: bit i for
	// prefix i, the top bit once known (63 prefixes a pass).
	const known = 1 << 63
	match := make([]uint64, len(a.uris.strs))
	for from := 0; from < len(prefixes); from += 63 {
		ps := prefixes[from:min(from+63, len(prefixes))]
		clear(match)
		for k, c := range counts {
			m := match[k.uri]
			if m == 0 {
				m = known
				for i, p := range ps {
					if strings.HasPrefix(a.uris.strs[k.uri], p) {
						m |= 1 << i
					}
				}
				match[k.uri] = m
			}
			for m &^= known; m != 0; m &= m - 1 {
				sums[from+bits.TrailingZeros64(m)][pair(k.w, k.ip)] += int64(c)
			}
		}
	}
	peaks := make([]peak, len(prefixes))
	for i, s := range sums {
		var best uint64
		var n int64
		for k, c := range s {
			if c > n || c == n && lessPair(a, k, best) {
				n, best = c, k
			}
		}
		w, ip := unpair(best)
		peaks[i] = peak{n, w, ip}
	}
	return peaks
}

// The rule JSON, in AWS's format as the console's JSON rule editor and
// the blog show it (SearchString as text).
type (
	ruleJSON struct {
		Name             string         `json:"Name"`
		Priority         int            `json:"Priority"`
		Action           map[string]any `json:"Action"`
		VisibilityConfig visibility     `json:"VisibilityConfig"`
		Statement        statementJSON  `json:"Statement"`
	}
	visibility struct {
		SampledRequestsEnabled   bool   `json:"SampledRequestsEnabled"`
		CloudWatchMetricsEnabled bool   `json:"CloudWatchMetricsEnabled"`
		MetricName               string `json:"MetricName"`
	}
	statementJSON struct {
		RateBasedStatement *rateJSON      `json:"RateBasedStatement,omitempty"`
		ByteMatchStatement *byteMatchJSON `json:"ByteMatchStatement,omitempty"`
		GeoMatchStatement  *geoMatchJSON  `json:"GeoMatchStatement,omitempty"`
		AndStatement       *andJSON       `json:"AndStatement,omitempty"`
	}
	geoMatchJSON struct {
		CountryCodes []string `json:"CountryCodes"`
	}
	andJSON struct {
		Statements []statementJSON `json:"Statements"`
	}
	rateJSON struct {
		Limit               int64          `json:"Limit"`
		EvaluationWindowSec int64          `json:"EvaluationWindowSec"`
		AggregateKeyType    string         `json:"AggregateKeyType"`
		ScopeDownStatement  *statementJSON `json:"ScopeDownStatement,omitempty"`
	}
	byteMatchJSON struct {
		FieldToMatch         map[string]any `json:"FieldToMatch"`
		PositionalConstraint string         `json:"PositionalConstraint"`
		SearchString         string         `json:"SearchString"`
		TextTransformations  []textTransf   `json:"TextTransformations"`
	}
	textTransf struct {
		Type     string `json:"Type"`
		Priority int    `json:"Priority"`
	}
)

// RuleJSON is a recommendation as a WAFv2 rule.
func RuleJSON(rec Recommendation, priority int, count bool) json.RawMessage {
	return ruleJSONIn(rec, priority, count, false)
}

// ruleJSONIn is RuleJSON with every SearchString in base64 when the
// document holding it has them so (get-web-acl's answer).
func ruleJSONIn(rec Recommendation, priority int, count, base64Search bool) json.RawMessage {
	action := map[string]any{"Block": struct{}{}}
	if count {
		action = map[string]any{"Count": struct{}{}}
	}
	rate := &rateJSON{Limit: rec.Limit, EvaluationWindowSec: rec.WindowSeconds, AggregateKeyType: "IP"}
	rate.ScopeDownStatement = rec.scopeDown()
	if base64Search {
		encodeSearch(rate.ScopeDownStatement)
	}
	b, err := json.Marshal(ruleJSON{Name: rec.Name, Priority: priority, Action: action,
		VisibilityConfig: visibility{true, true, rec.Name}, Statement: statementJSON{RateBasedStatement: rate}})
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return b
}

// encodeSearch puts a statement's SearchStrings in base64.
func encodeSearch(st *statementJSON) {
	switch {
	case st == nil:
	case st.ByteMatchStatement != nil:
		st.ByteMatchStatement.SearchString = base64.StdEncoding.EncodeToString([]byte(st.ByteMatchStatement.SearchString))
	case st.AndStatement != nil:
		for i := range st.AndStatement.Statements {
			encodeSearch(&st.AndStatement.Statements[i])
		}
	}
}
