package httpapi

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	checks   *prometheus.CounterVec
	inFlight prometheus.Gauge

	// The lock check's results, one series each.
	locked, unlocked, unauthorized, badRequest, checkError series
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockgate_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lockgate_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockgate_lock_checks_total", Help: "Lock checks by result: locked, unlocked, unauthorized, bad_request, error.",
		}, []string{"result"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lockgate_http_requests_in_flight", Help: "API requests being handled now (what a graceful shutdown waits for).",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.checks, m.inFlight)
	for s, result := range map[*series]string{
		&m.locked: "locked", &m.unlocked: "unlocked", &m.unauthorized: "unauthorized",
		&m.badRequest: "bad_request", &m.checkError: "error",
	} {
		s.vec, s.labels = m.checks, []string{result}
	}
	return m
}

// series is one labelled series of a CounterVec, looked up on its first
// count and kept: every later count skips the label hashing and the map
// lookup, and a series still shows in /metrics only once it has counted.
type series struct {
	vec    *prometheus.CounterVec
	labels []string
	c      atomic.Pointer[prometheus.Counter]
}

func (s *series) Inc() {
	c := s.c.Load()
	if c == nil {
		// Racing first counts find the same counter in the vector.
		v := s.vec.WithLabelValues(s.labels...)
		c = &v
		s.c.Store(c)
	}
	(*c).Inc()
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times requests of one route. Label values are
// bound once here so the request path does no label lookup for latency,
// nor for the count of the usual answer, 200.
func (m *metrics) instrument(route string, next http.Handler) http.Handler {
	lat := m.latency.WithLabelValues(route)
	ok := &series{vec: m.requests, labels: []string{route, "200"}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		lat.Observe(time.Since(start).Seconds())
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		if sw.code == http.StatusOK {
			ok.Inc()
			return
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}
