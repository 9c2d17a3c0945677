package forwardauth

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/waf"
)

// metrics are the gateway's WAF counters (same names and labels: a web
// ACL counts its requests whichever way they come) and the decisions'
// latency by integration.
type metrics struct {
	requests   *prometheus.CounterVec // web_acl, action
	rules      *prometheus.CounterVec // web_acl, rule (MetricName), action
	latencyVec *prometheus.HistogramVec
	latency    [len(integrations)]prometheus.Observer
}

func newMetrics() *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lockgate_waf_requests_total",
			Help: "Requests through the gateway by web ACL (VisibilityConfig MetricName) and final action."}, []string{"web_acl", "action"}),
		rules: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lockgate_waf_rule_matches_total",
			Help: "Rule matches by web ACL, rule (VisibilityConfig MetricName) and action (ALLOW, BLOCK, COUNT)."}, []string{"web_acl", "rule", "action"}),
		latencyVec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lockgate_forward_auth_decision_duration_seconds",
			Help:    "Time to decide a proxy's request, by integration (nginx, caddy, traefik, envoy).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"integration"}),
	}
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
	if err := reg.Register(m.latencyVec); err != nil {
		return err
	}
	m.bindLatency()
	return nil
}

// bind resolves a route's metric children once.
func (m *metrics) bind(rt *route) {
	rt.requests = map[string]prometheus.Counter{}
	for _, a := range []string{"ALLOW", "BLOCK"} {
		rt.requests[a] = m.requests.WithLabelValues(rt.aclMetric, a)
	}
	rt.ruleMatches = map[string]map[string]prometheus.Counter{}
	for rule, metric := range rt.metricNames {
		rt.ruleMatches[rule] = map[string]prometheus.Counter{}
		for _, a := range []string{"ALLOW", "BLOCK", "COUNT"} {
			rt.ruleMatches[rule][a] = m.rules.WithLabelValues(rt.aclMetric, metric, a)
		}
	}
}

func (rt *route) observe(d *waf.Decision) {
	if c, ok := rt.requests[d.Action]; ok {
		c.Inc()
	}
	if rt.eng == nil {
		return
	}
	rt.ruleMatch(d.TerminatingRuleID, d.Action)
	for _, n := range d.NonTerminating {
		rt.ruleMatch(n.RuleID, "COUNT")
	}
}

func (rt *route) ruleMatch(rule, action string) {
	if c, ok := rt.ruleMatches[rule][action]; ok {
		c.Inc()
	}
}
