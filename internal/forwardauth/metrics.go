package forwardauth

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/httprule"
)

// metrics are the gateway's WAF counters (same names and labels: a web
// ACL counts its requests whichever way they come), the decisions'
// latency by integration and the reloads, as the gateway's.
type metrics struct {
	requests   *prometheus.CounterVec // web_acl, action
	rules      *prometheus.CounterVec // web_acl, rule (MetricName), action
	latencyVec *prometheus.HistogramVec
	latency    [len(integrations)]prometheus.Observer
	reloads    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		latencyVec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lockgate_forward_auth_decision_duration_seconds",
			Help:    "Time to decide a proxy's request, by integration (nginx, caddy, traefik, envoy).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"integration"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lockgate_forward_auth_reloads_total",
			Help: "Forward auth configuration reloads by result (ok, error)."}, []string{"result"}),
	}
	m.requests, m.rules = httprule.NewWAFCounters()
	m.bindLatency()
	return m
}

func (m *metrics) bindLatency() {
	for i, in := range integrations {
		m.latency[i] = m.latencyVec.WithLabelValues(in)
	}
}

// register adds the metrics to reg, sharing the WAF counters when the
// gateway registered them first. Routes are bound again to the
// collectors that count.
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []**prometheus.CounterVec{&m.requests, &m.rules} {
		if err := reg.Register(*c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return err
			}
			*c = existing
		}
	}
	for _, c := range []prometheus.Collector{m.latencyVec, m.reloads} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	m.bindLatency()
	return nil
}

// bind resolves a route's metric children once.
func (m *metrics) bind(rt *route) {
	rt.counters = httprule.BindCounters(m.requests, m.rules, rt.aclMetric, rt.metricNames)
}
