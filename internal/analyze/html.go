package analyze

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained page: inline styles
// and SVG charts, no script, no font and nothing fetched (its content
// security policy forbids it).
func (r *Report) WriteHTML(w io.Writer) error {
	return page.Execute(w, r.view())
}

var palette = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd"}

type htmlView struct {
	R        *Report
	Window   string
	Lines    lineChart
	URIBars  barChart
	HdrBars  barChart
	Hist     barChart
	Rules    string
	Replay   *ReplayReport
	RepBars  barChart
	Warnings []string
}

type lineChart struct {
	W, H     int
	Series   []svgSeries
	Limit    *svgLine
	XTicks   []svgTick
	YTicks   []svgTick
	Empty    bool
	MaxValue int64
}

type svgSeries struct {
	Label, Color, Points string
	Peak                 int64
	// Dot marks the only point of a series over one window, which a
	// polyline of one point does not draw.
	Dot *svgPoint
}

type svgPoint struct{ X, Y float64 }

type svgLine struct {
	Y     float64
	Label string
}

type svgTick struct {
	Pos   float64
	Label string
}

type barChart struct {
	W, H int
	Bars []svgBar
}

type svgBar struct {
	Y, Width   float64
	Label, Val string
	Color      string
}

const (
	chartW, chartH = 900, 320
	padL, padR     = 60, 20
	padT, padB     = 20, 40
)

func (r *Report) view() htmlView {
	v := htmlView{R: r, Window: windowName(time.Duration(r.WindowSeconds) * time.Second), Replay: r.Replay, Warnings: r.Warnings}
	rules, _ := json.MarshalIndent(r.Rules, "", "  ")
	v.Rules = string(rules)
	v.Lines = r.lineChart()
	for _, t := range r.TopIPURIs {
		v.URIBars.Bars = append(v.URIBars.Bars, svgBar{Label: fmt.Sprintf("%s %s (%s)", t.ClientIP, t.URI, t.WindowStart.UTC().Format("15:04")), Val: num(t.Requests), Width: float64(t.Requests)})
	}
	v.URIBars = scaleBars(v.URIBars, "#1f77b4")
	for _, t := range r.TopHeaderValues {
		v.HdrBars.Bars = append(v.HdrBars.Bars, svgBar{Label: fmt.Sprintf("%s (%s)", t.Value, t.WindowStart.UTC().Format("15:04")), Val: num(t.Requests), Width: float64(t.Requests)})
	}
	v.HdrBars = scaleBars(v.HdrBars, "#2ca02c")
	for _, b := range r.Histogram {
		label := fmt.Sprintf("%s–%s", num(b.Lo), num(b.Hi))
		if b.Lo == b.Hi {
			label = num(b.Lo)
		}
		// Pair counts span orders of magnitude: the bars are on a log
		// scale, their labels exact.
		v.Hist.Bars = append(v.Hist.Bars, svgBar{Label: label + " requests", Val: num(b.Pairs) + " pairs", Width: math.Log10(1 + float64(b.Pairs))})
	}
	v.Hist = scaleBars(v.Hist, "#9467bd")
	if r.Replay != nil {
		for _, x := range r.Replay.Rules {
			v.RepBars.Bars = append(v.RepBars.Bars, svgBar{Label: x.Rule, Val: num(x.Requests), Width: float64(x.Requests)})
		}
		v.RepBars = scaleBars(v.RepBars, "#d62728")
	}
	return v
}

func scaleBars(c barChart, color string) barChart {
	const labelW, rowH = 330, 22
	c.W, c.H = chartW, len(c.Bars)*rowH+10
	maxW := 0.0
	for _, b := range c.Bars {
		maxW = max(maxW, b.Width)
	}
	for i := range c.Bars {
		b := &c.Bars[i]
		b.Y = float64(i*rowH + 5)
		if maxW > 0 {
			b.Width = math.Max(b.Width/maxW*float64(chartW-labelW-90), 1)
		}
		b.Color = color
	}
	return c
}

// lineChart draws the top clients' requests per window over time, with
// the blanket limit.
func (r *Report) lineChart() lineChart {
	c := lineChart{W: chartW, H: chartH}
	if len(r.Series) == 0 || len(r.Series[0].Points) == 0 {
		c.Empty = true
		return c
	}
	var top int64
	for _, s := range r.Series {
		for _, p := range s.Points {
			top = max(top, p.Requests)
		}
	}
	var limit int64
	for _, rec := range r.Recommendations {
		if rec.URIPrefix == nil {
			limit = rec.Limit
		}
	}
	top = max(top, limit, 1)
	c.MaxValue = top
	n := len(r.Series[0].Points)
	x := func(i int) float64 {
		if n == 1 {
			return padL + float64(chartW-padL-padR)/2
		}
		return padL + float64(i)/float64(n-1)*float64(chartW-padL-padR)
	}
	y := func(v int64) float64 { return padT + (1-float64(v)/float64(top))*float64(chartH-padT-padB) }
	for si, s := range r.Series {
		var b strings.Builder
		var peak int64
		for i, p := range s.Points {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(i), y(p.Requests))
			peak = max(peak, p.Requests)
		}
		ss := svgSeries{Label: s.ClientIP, Color: palette[si%len(palette)], Points: strings.TrimSpace(b.String()), Peak: peak}
		if n == 1 {
			ss.Dot = &svgPoint{x(0), y(s.Points[0].Requests)}
		}
		c.Series = append(c.Series, ss)
	}
	if limit > 0 {
		c.Limit = &svgLine{Y: y(limit), Label: "blanket limit " + num(limit)}
	}
	for i := range 5 {
		v := top * int64(i) / 4
		c.YTicks = append(c.YTicks, svgTick{Pos: y(v), Label: num(v)})
	}
	pts := r.Series[0].Points
	for i, last := 0, -1; i < 6; i++ {
		if j := i * (n - 1) / 5; j != last { // fewer than six windows: a tick each
			c.XTicks = append(c.XTicks, svgTick{Pos: x(j), Label: pts[j].WindowStart.Format("01-02 15:04")})
			last = j
		}
	}
	return c
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{"num": num, "inc": func(i int) int { return i + 1 }, "dash": orDash, "would": wouldBlock, "ptrnum": ptrNum, "yesno": yesNo}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lockgate analyze: rate limits from AWS WAF logs</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 960px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: 2px 10px; text-align: left; border-bottom: 1px solid #eee; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.summary span { display: inline-block; margin-right: 1.5em; }
.warn { background: #fff4e5; border-left: 4px solid #ff9800; padding: .5em 1em; white-space: pre-wrap; }
pre { background: #f6f8fa; padding: 1em; overflow: auto; font-size: 12px; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
.legend span { margin-right: 1.2em; } .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.fp { color: #b00; font-weight: 600; }
</style>
</head>
<body>
<h1>Rate limits from AWS WAF logs</h1>
<p class="summary" id="summary"><span><b>{{num .R.Records}}</b> records</span><span><b>{{num .R.BadRecords}}</b> bad</span><span>{{.Window}} windows</span><span>{{.R.From}} – {{.R.To}}</span></p>
{{range .Warnings}}<p class="warn">{{.}}</p>{{end}}

<h2 id="over-time">Top requesters per {{.Window}} window over time</h2>
{{if .Lines.Empty}}<p>No records.</p>{{else}}
<svg id="chart-over-time" width="{{.Lines.W}}" height="{{.Lines.H}}" viewBox="0 0 {{.Lines.W}} {{.Lines.H}}" role="img" aria-label="Requests per window of the top client IPs">
<rect x="0" y="0" width="{{.Lines.W}}" height="{{.Lines.H}}" fill="#fff"/>
{{range .Lines.YTicks}}<line x1="60" x2="880" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#eee"/><text x="55" y="{{.Pos}}" text-anchor="end" dominant-baseline="middle">{{.Label}}</text>{{end}}
{{range .Lines.XTicks}}<text x="{{.Pos}}" y="300" text-anchor="middle">{{.Label}}</text>{{end}}
{{with .Lines.Limit}}<line x1="60" x2="880" y1="{{.Y}}" y2="{{.Y}}" stroke="#000" stroke-dasharray="6 4"/><text x="878" y="{{.Y}}" dy="-4" text-anchor="end">{{.Label}}</text>{{end}}
{{range .Lines.Series}}<polyline class="series" fill="none" stroke="{{.Color}}" stroke-width="1.5" points="{{.Points}}"><title>{{.Label}}</title></polyline>{{$c := .Color}}{{with .Dot}}<circle class="point" cx="{{.X}}" cy="{{.Y}}" r="5" fill="{{$c}}"/>{{end}}{{end}}
</svg>
<p class="legend">{{range .Lines.Series}}<span><i class="swatch" style="background: {{.Color}}"></i>{{.Label}} (peak {{num .Peak}})</span>{{end}}</p>
{{end}}
{{with .R.LowerBound "top_ips"}}<p class="warn">Top client IPs{{.}}</p>{{end}}
<table id="top-ips"><tr><th>Window start</th><th>Client IP</th><th class="n">Requests</th></tr>
{{range .R.TopIPs}}<tr><td>{{.WindowStart}}</td><td>{{.ClientIP}}</td><td class="n">{{num .Requests}}</td></tr>{{end}}</table>

<h2 id="per-ip-uri">Per client IP and URI{{.R.LowerBound "top_ip_uris"}}</h2>
<svg id="chart-ip-uri" width="{{.URIBars.W}}" height="{{.URIBars.H}}" role="img" aria-label="Top client IP and URI pairs">
{{range .URIBars.Bars}}<text x="325" y="{{.Y}}" dy="13" text-anchor="end">{{.Label}}</text><rect class="bar" x="330" y="{{.Y}}" width="{{.Width}}" height="16" fill="{{.Color}}"/><text x="{{.Width}}" dx="336" y="{{.Y}}" dy="13">{{.Val}}</text>
{{end}}</svg>

{{if .R.TopHeaderValues}}<h2 id="header-values">Top {{(index .R.TopHeaderValues 0).Header}} values{{.R.LowerBound "top_header_values"}}</h2>
<svg id="chart-header" width="{{.HdrBars.W}}" height="{{.HdrBars.H}}" role="img" aria-label="Top header values">
{{range .HdrBars.Bars}}<text x="325" y="{{.Y}}" dy="13" text-anchor="end">{{.Label}}</text><rect class="bar" x="330" y="{{.Y}}" width="{{.Width}}" height="16" fill="{{.Color}}"/><text x="{{.Width}}" dx="336" y="{{.Y}}" dy="13">{{.Val}}</text>
{{end}}</svg>{{end}}

<h2 id="distribution">Requests per (client IP, window){{.R.LowerBound "per_ip_window_counts"}}</h2>
{{with .R.PerIPWindowCounts}}<p id="percentiles">{{num .Keys}} pairs: p50 <b>{{num .P50}}</b>, p90 <b>{{num .P90}}</b>, p99 <b>{{num .P99}}</b>, p99.9 <b>{{num .P999}}</b>, max <b>{{num .Max}}</b></p>{{end}}
<svg id="chart-distribution" width="{{.Hist.W}}" height="{{.Hist.H}}" role="img" aria-label="Histogram of requests per client IP and window (log scale)">
{{range .Hist.Bars}}<text x="325" y="{{.Y}}" dy="13" text-anchor="end">{{.Label}}</text><rect class="bar" x="330" y="{{.Y}}" width="{{.Width}}" height="16" fill="{{.Color}}"/><text x="{{.Width}}" dx="336" y="{{.Y}}" dy="13">{{.Val}}</text>
{{end}}</svg>

<h2 id="recommendations">Recommended rate-based rules</h2>
<table id="recommendation-table"><tr><th>Priority</th><th>Name</th><th>URI prefix</th><th class="n">Limit</th><th class="n">Observed peak</th><th class="n">Would block</th></tr>
{{range $i, $r := .R.Recommendations}}<tr><td>{{inc $i}}</td><td>{{.Name}}</td><td>{{dash .URIPrefix}}</td><td class="n">{{num .Limit}}</td><td class="n">{{num .ObservedPeak}}</td><td class="n">{{would .WouldBlockRequests}}</td></tr>{{end}}</table>
{{range .R.Recommendations}}<p><b>{{.Name}}</b>: {{.Rationale}}</p>{{end}}
<details><summary>The rules as WAFv2 JSON</summary><pre id="rules-json">{{.Rules}}</pre></details>

{{with .Replay}}<h2 id="replay">Replay: what the rules would have done</h2>
<p>{{num .Records}} requests replayed in log time order, {{.From}} – {{.To}}: {{range .ByAction}}{{.Action}} {{num .Requests}}; {{end}}</p>
<svg id="chart-replay" width="{{$.RepBars.W}}" height="{{$.RepBars.H}}" role="img" aria-label="Requests acted on per rule">
{{range $.RepBars.Bars}}<text x="325" y="{{.Y}}" dy="13" text-anchor="end">{{.Label}}</text><rect class="bar" x="330" y="{{.Y}}" width="{{.Width}}" height="16" fill="{{.Color}}"/><text x="{{.Width}}" dx="336" y="{{.Y}}" dy="13">{{.Val}}</text>
{{end}}</svg>
<table id="replay-table"><tr><th>Rule</th><th>Action</th><th class="n">Limit</th><th class="n">Baseline</th><th class="n">Requests</th><th class="n">Keys</th><th class="n">Possible false positives</th></tr>
{{range .Rules}}<tr><td>{{.Rule}}</td><td>{{.Action}}</td><td class="n">{{ptrnum .Limit}}</td><td class="n">{{ptrnum .Baseline}}</td><td class="n">{{num .Requests}}</td><td class="n">{{num .Keys}}</td><td class="n">{{num .PossibleFalsePositiveKeys}} keys, {{num .PossibleFalsePositiveRequests}} requests</td></tr>{{end}}</table>
{{range .Rules}}{{if .TopKeys}}<h3>{{.Rule}}</h3>
<table><tr><th>Key</th><th class="n">Requests</th><th class="n">Max in a window</th><th>First</th><th>Last</th><th>False positive?</th></tr>
{{range .TopKeys}}<tr><td>{{.Key}}</td><td class="n">{{num .Requests}}</td><td class="n">{{ptrnum .MaxWindowRequests}}</td><td>{{.First.Time}} {{.First.Method}} {{.First.URI}}</td><td>{{.Last.Time}} {{.Last.Method}} {{.Last.URI}}</td><td{{if .PossibleFalsePositive}} class="fp"{{end}}>{{yesno .PossibleFalsePositive}}</td></tr>{{end}}</table>{{end}}{{end}}
{{range .Warnings}}<p class="warn">{{.}}</p>{{end}}
{{end}}
<p><small>lockgate analyze: counts per window as the AWS blog "The three most important AWS WAF rate-based rules" queries them; limits = peak × (1 + buffer).</small></p>
</body>
</html>
`))
