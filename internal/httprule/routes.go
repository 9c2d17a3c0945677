package httprule

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/problem"
	"github.com/lockgate/lockgate/waf"
)

// The gateway and forward auth have the same log and routes keys, read
// the same way: a route is named in logs and metrics, and chosen by host
// and path prefix.

// ValidateLog checks a log section's only, max_size_mb and keep, at
// paths log.*.
func ValidateLog(only string, maxSizeMB, keep int) problem.List {
	var probs problem.List
	switch only {
	case "all", "blocked_and_counted":
	default:
		probs.Addf("log.only", "%q is not all or blocked_and_counted", only)
	}
	if maxSizeMB < 1 {
		probs.Add("log.max_size_mb", "must be at least 1")
	}
	if keep < 1 {
		probs.Add("log.keep", "must be at least 1")
	}
	return probs
}

// ValidateRoutes checks n routes, route(i) giving the name, host and
// path_prefix of the i-th: at least one, each named once, each prefix
// starting with /, and no two for the same place. Two routes with the
// same host (compared as requests are routed: without case, port and
// trailing dot) and the same prefix ("" is "/") can never both decide:
// the first in the file takes every request, so a leftover or merged
// duplicate without a web ACL would silently disable the other's
// (atk20f F9). Both are named, each at its own path, so that each
// problem carries its line. Problems are at paths routes[i].*.
func ValidateRoutes(n int, route func(i int) (name, host, pathPrefix string)) problem.List {
	var probs problem.List
	if n == 0 {
		probs.Add("routes", "at least one route is required")
	}
	names := map[string]bool{}
	places := map[string]int{} // place → the first route there
	for i := range n {
		name, host, prefix := route(i)
		p := fmt.Sprintf("routes[%d]", i)
		if name == "" {
			probs.Add(p+".name", "required (it names the route in logs and metrics)")
		} else if names[name] {
			probs.Addf(p+".name", "%q names two routes", name)
		}
		names[name] = true
		if prefix != "" && !strings.HasPrefix(prefix, "/") {
			probs.Addf(p+".path_prefix", "%q does not start with /", prefix)
		}
		if prefix == "" {
			prefix = "/"
		}
		h, _ := Host(host)
		place := strings.ToLower(h) + " " + prefix
		first, dup := places[place]
		if !dup {
			places[place] = i
			continue
		}
		fname, _, _ := route(first)
		where := "any host"
		if h != "" {
			where = "host " + strconv.Quote(host)
		}
		probs.Addf(p, "route %q has the same %s and path_prefix %q as routes[%d] (%q): only the first listed would ever decide; remove one or merge them", name, where, prefix, first, fname)
		probs.Addf(fmt.Sprintf("routes[%d]", first), "route %q has the same %s and path_prefix %q as routes[%d] (%q): only this one, listed first, would ever decide; remove one or merge them", fname, where, prefix, i, name)
	}
	return probs
}

// SortRoutes puts routes in the order they are tried, place(r) giving a
// route's host ("" for any) and path prefix: routes naming a host before
// those for any, then the longest prefix first (the most specific route
// decides). Routes alike keep their order in the file.
func SortRoutes[R any](routes []R, place func(R) (host, prefix string)) {
	sort.SliceStable(routes, func(i, j int) bool {
		ah, ap := place(routes[i])
		bh, bp := place(routes[j])
		if (ah != "") != (bh != "") {
			return ah != ""
		}
		return len(ap) > len(bp)
	})
}

// Choose is the first of routes (in SortRoutes order) that serves host
// (compared without case; a route for any host serves all) and path
// (which starts with the route's prefix), or the zero R.
func Choose[R any](routes []R, place func(R) (host, prefix string), host, path string) R {
	for _, r := range routes {
		h, prefix := place(r)
		if (h == "" || strings.EqualFold(h, host)) && strings.HasPrefix(path, prefix) {
			return r
		}
	}
	var none R
	return none
}

// NewWAFCounters are lockgate_waf_requests_total and
// lockgate_waf_rule_matches_total, the counters every decision counts
// in, whichever way its request came (gateway or forward auth).
func NewWAFCounters() (requests, rules *prometheus.CounterVec) {
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lockgate_waf_requests_total",
		Help: "Requests through the gateway by web ACL (VisibilityConfig MetricName) and final action."}, []string{"web_acl", "action"})
	rules = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lockgate_waf_rule_matches_total",
		Help: "Rule matches by web ACL, rule (VisibilityConfig MetricName) and action (ALLOW, BLOCK, COUNT)."}, []string{"web_acl", "rule", "action"})
	return requests, rules
}

// RouteCounters are one route's children of the WAF counters, resolved
// once when the route is built rather than at each decision.
type RouteCounters struct {
	requests map[string]prometheus.Counter            // by action
	rules    map[string]map[string]prometheus.Counter // by rule, then action
}

// BindCounters resolves the children for a route whose web ACL has the
// metric name aclMetric ("none" without one) and whose rules have the
// metric names metricNames (rule name → VisibilityConfig.MetricName,
// Default_Action included; empty without a web ACL).
func BindCounters(requests, rules *prometheus.CounterVec, aclMetric string, metricNames map[string]string) RouteCounters {
	c := RouteCounters{requests: map[string]prometheus.Counter{}, rules: map[string]map[string]prometheus.Counter{}}
	for _, a := range []string{"ALLOW", "BLOCK"} {
		c.requests[a] = requests.WithLabelValues(aclMetric, a)
	}
	for rule, metric := range metricNames {
		c.rules[rule] = map[string]prometheus.Counter{}
		for _, a := range []string{"ALLOW", "BLOCK", "COUNT"} {
			c.rules[rule][a] = rules.WithLabelValues(aclMetric, metric, a)
		}
	}
	return c
}

// Observe counts a decision: its action, its terminating rule and the
// rules that counted it. A route without a web ACL counts only the
// action (it has no rules).
func (c *RouteCounters) Observe(d *waf.Decision) {
	if n, ok := c.requests[d.Action]; ok {
		n.Inc()
	}
	c.match(d.TerminatingRuleID, d.Action)
	for _, n := range d.NonTerminating {
		c.match(n.RuleID, "COUNT")
	}
}

func (c *RouteCounters) match(rule, action string) {
	if n, ok := c.rules[rule][action]; ok {
		n.Inc()
	}
}
