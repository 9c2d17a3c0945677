// Package gateway is lockgate's WAF-protected reverse proxy: routes by
// host and path prefix to upstreams, each route through a web ACL, with
// the real client address taken from trusted proxies, AWS WAF log
// records, Prometheus metrics and reloads that keep rate-based counters.
package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gaissmai/bart"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/httprule"
	"github.com/lockgate/lockgate/internal/waflog"
	"github.com/lockgate/lockgate/internal/webacl"
	"github.com/lockgate/lockgate/problem"
	"github.com/lockgate/lockgate/waf"
	"github.com/lockgate/lockgate/waf/ratelimit"
	"github.com/lockgate/lockgate/waf/ratelimit/redisstore"
)

// Gateway serves the routes of the current configuration. Reload swaps
// in a new one atomically; requests in flight finish on the old.
type Gateway struct {
	log      *slog.Logger
	load     func() (Snapshot, error)
	metrics  *metrics
	redis    *redisstore.Store // nil: counts in memory
	logw     *waflog.Writer
	tls      *tls.Config
	shutdown time.Duration
	order    *waf.HeaderOrder // the listener Run serves, following header order

	mu       sync.Mutex // serialises reloads
	state    atomic.Pointer[state]
	counters map[string]ratelimit.Counter // by rule definition, kept across reloads
	seq      atomic.Uint64
	idPrefix string

	// inspected, when set (tests), sees each request the web ACL
	// evaluated, before the request is forwarded.
	inspected func(*waf.Request)
}

// Snapshot is what one load of the configuration gives the gateway: its
// section, the provisioned waf section its web ACLs compile with, and the
// configuration files to watch for changes.
type Snapshot struct {
	Config Config
	WAF    *webacl.Set
	Files  []string
	// Authorizer returns the authz section's authorizer of a name, or
	// nil; nil when there is no authz section.
	Authorizer func(name string) Authorizer
}

// Authorizer decides a request after the web ACL allowed it: false means
// it answered the client (401, 403, 500) and the request goes no further.
// On true it may have set headers for the upstream.
type Authorizer interface {
	Authorize(w http.ResponseWriter, r *http.Request, client netip.Addr) bool
}

type state struct {
	cfg     Config
	routes  []*route
	trusted *bart.Lite
	header  string // the client_ip_header, canonical
	only    string
	redact  []waf.FieldToMatch // RedactedFields
	files   Watched            // watched files and their versions
	loaded  time.Time
	// folded is set when a route's path_case is insensitive: requests
	// are then checked against httprule.Folded.
	folded bool
}

// Options configure a Gateway.
type Options struct {
	// Load reads the configuration (the file named at start); Reload calls
	// it again.
	Load     func() (Snapshot, error)
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Redis shares rate-based counts with other gateways; nil keeps them
	// in memory.
	Redis *redisstore.Store
	// ShutdownTimeout bounds how long Run lets requests in flight finish.
	ShutdownTimeout time.Duration
}

// New loads the configuration and builds the routes; any bad file is an
// error here.
func New(opts Options) (*Gateway, error) {
	g := &Gateway{log: opts.Logger, load: opts.Load, redis: opts.Redis, counters: map[string]ratelimit.Counter{}, shutdown: opts.ShutdownTimeout}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if g.shutdown <= 0 {
		g.shutdown = 30 * time.Second
	}
	var b [6]byte
	rand.Read(b[:])
	g.idPrefix = hex.EncodeToString(b[:]) + "-"
	g.metrics = newMetrics(opts.Registry, g)
	snap, err := g.load()
	if err != nil {
		return nil, err
	}
	st, err := g.build(snap)
	if err != nil {
		return nil, err
	}
	lc := snap.Config.Log
	var probs problem.List
	if g.tls, probs = snap.Config.TLS.Load(); len(probs) > 0 {
		return nil, prefixed("tls", probs)
	}
	if lc.File != "" {
		if g.logw, err = waflog.Open(string(lc.File), waflog.Options{MaxSize: int64(lc.MaxSizeMB) << 20, MaxAge: lc.MaxAge.Std(), Keep: lc.Keep}); err != nil {
			return nil, problem.Problem{Path: "log.file", Msg: err.Error()}
		}
	}
	g.state.Store(st)
	return g, nil
}

// prefixed puts a section's path in front of its problems' paths.
func prefixed(prefix string, l problem.List) problem.List {
	for i := range l {
		l[i].Path = prefix + "." + l[i].Path
	}
	return l
}

// Listener wraps a listener so that the gateway's WAF and its log records
// see each HTTP/1.x request's headers in the order and case the client
// sent them (waf.HeaderOrder). Run uses it; a caller serving the gateway
// itself can too.
func (g *Gateway) Listener(l net.Listener) net.Listener {
	g.order = waf.NewHeaderOrder(l)
	return g.order
}

// Run serves the gateway on ln and reloads it when a file it was built
// from changes, until ctx ends; then it lets requests in flight finish (up
// to the shutdown timeout) and closes its log. An error serving ends it.
func (g *Gateway) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       g.state.Load().cfg.ReadTimeout.Std(),
		IdleTimeout:       g.state.Load().cfg.IdleTimeout.Std(),
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		TLSConfig:         g.tls,
	}
	// Below TLS, HeaderOrder sees only ciphertext and leaves the headers
	// sorted; on plain HTTP/1.x it keeps the order and case received.
	ln = g.Listener(limitListener(ln, g.state.Load().cfg.MaxConnections))
	if g.tls != nil {
		srv.TLSConfig.NextProtos = []string{"h2", "http/1.1"} // HTTP/2 by ALPN
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); g.Watch(watchCtx, 2*time.Second) }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	g.log.Info("gateway serving", "addr", ln.Addr().String(), "routes", len(g.state.Load().routes), "tls", g.tls != nil)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), g.shutdown)
		err = srv.Shutdown(sctx)
		cancel()
		<-errc
	}
	stopWatch()
	<-watched
	if cerr := g.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close flushes the log.
func (g *Gateway) Close() error {
	if g.logw != nil {
		return g.logw.Close()
	}
	return nil
}

// build compiles a configuration: every route's web ACL, with counters
// kept for rules whose definition is unchanged.
func (g *Gateway) build(snap Snapshot) (*state, error) {
	gc := snap.Config
	st := &state{cfg: gc, trusted: &bart.Lite{}, header: canonicalHeader(gc.ClientIPHeader), only: gc.Log.Only, files: Watched{}, loaded: time.Now()}
	for _, p := range gc.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("gateway.trusted_proxies: %q: %v", p, err)
			}
			pfx = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		st.trusted.Insert(pfx.Masked())
	}
	st.redact = gc.Log.redactedFields()
	watch := st.files.Add
	for _, f := range snap.Files {
		watch(f)
	}
	for _, f := range snap.WAF.Files {
		watch(f)
	}
	var probs problem.List
	used := map[string]ratelimit.Counter{}
	for i, rc := range gc.Routes {
		var az Authorizer
		if rc.Authorizer != "" {
			if snap.Authorizer != nil {
				az = snap.Authorizer(rc.Authorizer)
			}
			if az == nil {
				probs.Addf(fmt.Sprintf("routes[%d].authorizer", i), "%q is not an authorizer of the authz section", rc.Authorizer)
				continue
			}
		}
		rt, err := g.newRoute(gc, rc, snap.WAF, used, st.trusted)
		if err != nil {
			probs = append(probs, problem.Within(fmt.Sprintf("routes[%d].web_acl", i), err)...)
			continue
		}
		rt.authz = az
		st.folded = st.folded || rt.insensitive
		if rc.WebACL != "" {
			watch(string(rc.WebACL))
		}
		st.routes = append(st.routes, rt)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	httprule.SortRoutes(st.routes, placeOf)
	g.counters = used
	return st, nil
}

// counterFor keeps a rate-based rule's counter across reloads when its
// definition (statement, window, limit) did not change.
func (g *Gateway) counterFor(acl string, used map[string]ratelimit.Counter, maxKeys int) func(waf.RateRule) ratelimit.Counter {
	return func(r waf.RateRule) ratelimit.Counter {
		window, limit := r.Window, r.Limit
		sum := sha256.Sum256(r.Definition)
		key := acl + "/" + r.Name + "/" + hex.EncodeToString(sum[:8])
		if c, ok := used[key]; ok {
			return c
		}
		c, ok := g.counters[key]
		if !ok {
			if g.redis != nil {
				c = g.redis.Counter(key, window, limit)
			} else {
				c = ratelimit.NewMemory(window, limit, maxKeys)
			}
		}
		used[key] = c
		return c
	}
}

// placeOf is where a route applies, for httprule's routing.
func placeOf(rt *route) (host, prefix string) { return rt.host, rt.prefix }

// route is one compiled route.
type route struct {
	name, host, prefix string
	insensitive        bool // path_case: insensitive
	eng                *waf.Engine
	acl                *waf.WebACL
	authz              Authorizer // nil: no token needed
	src                *waflog.Source
	metricNames        map[string]string // rule name → VisibilityConfig.MetricName
	aclMetric          string
	rateRules          []string
	upstreams          []*upstream
	next               atomic.Uint32
	maxFails           int32
	unhealthy          time.Duration
	// Metric children, resolved once per route rather than per request.
	counters       httprule.RouteCounters
	latency        prometheus.Observer
	upstreamErrors prometheus.Counter
}

func (g *Gateway) newRoute(gc Config, rc RouteConfig, set *webacl.Set, used map[string]ratelimit.Counter, trusted *bart.Lite) (*route, error) {
	rt := &route{name: rc.Name, host: strings.ToLower(routeHost(rc.Host)), prefix: rc.PathPrefix, metricNames: map[string]string{},
		maxFails: int32(gc.MaxFails), unhealthy: gc.Unhealthy.Std()}
	if rt.prefix == "" {
		rt.prefix = "/"
	}
	rt.insensitive = rc.PathCase == httprule.PathCaseInsensitive
	for _, u := range rc.Upstreams {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		rt.upstreams = append(rt.upstreams, &upstream{url: pu})
	}
	rt.aclMetric = "none"
	rt.src = &waflog.Source{Name: "lockgate", ID: rc.Name}
	if rc.WebACL != "" {
		acl, eng, err := set.Compile(string(rc.WebACL), func(acl *waf.WebACL) webacl.CounterFunc {
			return g.counterFor(acl.Name, used, set.Options.MaxKeys)
		})
		if err != nil {
			return nil, err
		}
		rt.eng, rt.acl, rt.aclMetric = eng, acl, acl.VisibilityConfig.MetricName
		rt.src.WebACLID = waflog.WebACLID(acl)
		for _, r := range acl.Rules {
			rt.metricNames[r.Name] = r.VisibilityConfig.MetricName
			if r.Statement.RateBasedStatement != nil {
				rt.rateRules = append(rt.rateRules, r.Name)
			}
		}
		rt.metricNames["Default_Action"] = "Default_Action"
	}
	transport := newTransport(gc, rc)
	for _, up := range rt.upstreams {
		up.proxy = g.newProxy(rt, up, transport, trusted)
		up.limit(gc, rc)
	}
	g.metrics.bind(rt)
	return rt, nil
}

// newProxy is the reverse proxy to one upstream; rewrite (forward.go)
// builds what the upstream receives.
func (g *Gateway) newProxy(rt *route, up *upstream, transport http.RoundTripper, trusted *bart.Lite) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rewrite(pr, up, trusted)
		},
		Transport:      transport,
		FlushInterval:  -1, // stream (server-sent events, long polls)
		ModifyResponse: up.answered,
		ErrorHandler:   g.proxyError(rt, up),
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
}

// pick chooses the next healthy upstream, round robin; when all are
// marked down, the one down longest is tried anyway.
func (rt *route) pick() *upstream {
	now := time.Now().UnixNano()
	n := len(rt.upstreams)
	start := int(rt.next.Add(1))
	var best *upstream
	for i := range n {
		u := rt.upstreams[(start+i)%n]
		if u.downUntil.Load() <= now {
			return u
		}
		if best == nil || u.downUntil.Load() < best.downUntil.Load() {
			best = u
		}
	}
	return best
}

// match is the route of r, chosen by httprule.Host and the decoded path.
// refusal is set when r cannot be routed faithfully: a host that is not
// host[:port] (httprule.Host), or a path whose raw, decoded or cleaned spellings
// (httprule.Ambiguous) would choose different routes.
func (st *state) match(r *http.Request) (*route, refusal) {
	host, ok := httprule.Host(r.Host)
	if !ok {
		return nil, "the host " + refusal(strconv.Quote(r.Host)) + " is not a valid host[:port]"
	}
	byPath := func(path string) *route { return httprule.Choose(st.routes, placeOf, host, path) }
	rt := byPath(r.URL.Path)
	if httprule.Ambiguous(waf.TargetPath(r), byPath) {
		return nil, "the path is routed differently once decoded or cleaned of //, /./ or /../"
	}
	if st.folded && httprule.Folded(st.routes, placeOf, isInsensitive, host, httprule.CleanPath(waf.TargetPath(r)), rt) {
		return nil, "the path names another route to a case-insensitive server (path_case: insensitive)"
	}
	return rt, ""
}

func isInsensitive(rt *route) bool { return rt.insensitive }

// Decisions and inspected requests are reused: an allowed request costs
// the engine no allocation.
var (
	decisions = sync.Pool{New: func() any { return new(waf.Decision) }}
	requests  = sync.Pool{New: func() any { return new(waf.Request) }}
)

// ServeHTTP routes, evaluates, logs and proxies one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := g.state.Load()
	rt, refused := st.match(r)
	if refused != "" {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", string(refused))
		return
	}
	if rt == nil {
		httpjson.Error(w, http.StatusNotFound, "no_route", "no route for this host and path")
		return
	}
	refused, strip := st.screen(r)
	if refused != "" {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", string(refused))
		return
	}
	defer func() { rt.latency.Observe(time.Since(start).Seconds()) }()
	ip := st.clientIP(r)
	d := decisions.Get().(*waf.Decision)
	defer decisions.Put(d)
	req := requests.Get().(*waf.Request)
	defer requests.Put(req)
	if rt.eng != nil {
		if err := rt.eng.FillRequest(req, r, ip); err != nil {
			httpjson.Error(w, http.StatusBadRequest, "bad_request", "cannot read the request body")
			return
		}
		if g.order != nil {
			g.order.Apply(req, r)
		}
		req.ClientIPFallback = st.cfg.ClientIPFallback
		rt.eng.EvaluateInto(r.Context(), req, d)
		if g.inspected != nil {
			g.inspected(req)
		}
	} else {
		*req = waf.Request{ClientIP: ip, Method: r.Method, URI: waf.TargetPath(r), Query: r.URL.RawQuery, BodySize: max(r.ContentLength, 0)}
		*d = waf.Decision{Action: "ALLOW", TerminatingRuleID: "Default_Action", TerminatingRuleType: "REGULAR"}
	}
	rt.counters.Observe(d)
	if g.logw != nil && (st.only == "all" || d.Action == "BLOCK" || len(d.NonTerminating) > 0) {
		if rt.eng == nil {
			for name, vs := range r.Header {
				for _, v := range vs {
					req.Headers = append(req.Headers, waf.Header{Name: name, Value: v})
				}
			}
		}
		src := *rt.src
		src.RedactedFields = st.redact
		country := geo.Country(ip)
		if rt.eng != nil {
			country = rt.eng.Country(ip)
		}
		rec := waflog.New(&src, start, r, req, d, country, g.idPrefix+strconv.FormatUint(g.seq.Add(1), 36))
		if err := g.logw.Write(rec); err != nil {
			g.log.Error("writing the WAF log", "error", err)
		}
	}
	if d.Action == "BLOCK" {
		waf.WriteBlock(w, d)
		return
	}
	// prepare comes before the authorizer: it removes the client's
	// hop-by-hop headers, so that a Connection header cannot name away
	// the identity headers the authorizer writes.
	st.prepare(r, ip, strip)
	if rt.authz != nil && !rt.authz.Authorize(w, r, ip) {
		return
	}
	for _, h := range d.InsertHeaders {
		r.Header.Set("x-amzn-waf-"+h.Name, h.Value)
	}
	g.forward(w, r, rt, rt.pick())
}
