package gateway

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/httprule"
)

type metrics struct {
	requests       *prometheus.CounterVec // web_acl, action
	rules          *prometheus.CounterVec // web_acl, rule (MetricName), action
	latency        *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	reloads        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, g *Gateway) *metrics {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lockgate_gateway_request_duration_seconds",
			Help: "Time from request to response by route, upstream included.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lockgate_gateway_upstream_errors_total",
			Help: "Requests the upstream failed (502) or did not answer in time (504), by route."}, []string{"route"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lockgate_gateway_reloads_total",
			Help: "Configuration reloads by result (ok, error)."}, []string{"result"}),
	}
	m.requests, m.rules = httprule.NewWAFCounters()
	if reg != nil {
		reg.MustRegister(m.requests, m.rules, m.latency, m.upstreamErrors, m.reloads, limitedCollector{g})
	}
	return m
}

// bind resolves a route's metric children once.
func (m *metrics) bind(rt *route) {
	rt.counters = httprule.BindCounters(m.requests, m.rules, rt.aclMetric, rt.metricNames)
	rt.latency = m.latency.WithLabelValues(rt.name)
	rt.upstreamErrors = m.upstreamErrors.WithLabelValues(rt.name)
}

func (rt *route) metricName(rule string) string {
	if n, ok := rt.metricNames[rule]; ok {
		return n
	}
	return rule
}

// limitedCollector reports, at scrape time, how many keys each
// rate-based rule is limiting.
type limitedCollector struct{ g *Gateway }

var limitedDesc = prometheus.NewDesc("lockgate_waf_rate_limited_keys", "Keys a rate-based rule is limiting now.", []string{"web_acl", "rule"}, nil)

func (c limitedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- limitedDesc }

func (c limitedCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.g.state.Load()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for _, rt := range st.routes {
		for _, rule := range rt.rateRules {
			key := rt.aclMetric + "\x00" + rule
			if seen[key] {
				continue
			}
			seen[key] = true
			keys, err := rt.eng.Limited(ctx, rule)
			if err != nil {
				continue
			}
			ch <- prometheus.MustNewConstMetric(limitedDesc, prometheus.GaugeValue, float64(len(keys)), rt.aclMetric, rt.metricName(rule))
		}
	}
}
