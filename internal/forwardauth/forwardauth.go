// Package forwardauth serves lockgate's decisions to proxies that keep
// the traffic: nginx (auth_request), Caddy (forward_auth), Traefik
// (ForwardAuth) over HTTP, and Envoy (ext_authz) over gRPC. Each asks
// about a request it holds; the route's web ACL (and authorizer) decides
// as lockgate's gateway would, with the same AWS WAF log records and
// metrics, and the answer says allow (with the headers to insert) or
// block (with the response to send).
package forwardauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gaissmai/bart"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/gateway"
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

// The integrations, as their records' httpSourceName says.
const (
	Nginx   = "nginx"
	Caddy   = "caddy"
	Traefik = "traefik"
	Envoy   = "envoy"
)

// SourceName is the httpSourceName of an integration's log records.
func SourceName(integration string) string { return "lockgate-" + integration }

// Options are what the service needs besides its section.
type Options struct {
	// WAF is the provisioned waf section the web ACLs compile with.
	WAF *webacl.Set
	// Authorizer returns the authz section's authorizer of a name, or
	// nil (also when there is no authz section).
	Authorizer func(name string) *authz.Authorizer
	Logger     *slog.Logger
	// Redis shares rate-based counts with other lockgate processes; nil
	// counts in memory.
	Redis *redisstore.Store
	// ShutdownTimeout bounds how long Run lets requests in flight finish.
	ShutdownTimeout time.Duration
	// Load reads the configuration again for a reload (reload.go): the
	// section, the waf section its web ACLs compile with, and files to
	// watch besides the web ACLs. Nil reloads the section given to
	// Provision, its web ACL files read again.
	Load func() (Snapshot, error)
	// Files are watched besides the web ACLs and the waf section's own
	// files from the start (the configuration file); a reload watches
	// the Files of its Snapshot.
	Files []string
}

// Service decides for proxies.
type Service struct {
	cfg      Config // as provisioned: its listeners and log file are kept until a restart
	log      *slog.Logger
	opts     Options
	logw     *waflog.Writer
	metrics  *metrics
	warnings problem.List
	seq      atomic.Uint64
	idPrefix string

	mu       sync.Mutex // serialises reloads
	state    atomic.Pointer[state]
	counters map[string]ratelimit.Counter // by rule definition, kept across reloads
}

// state is what a configuration decides with; a reload swaps in a new
// one, and a decision uses the one it started with.
type state struct {
	cfg     Config
	trusted *bart.Lite
	// hops are trusted_proxies and forwarded_hops: the addresses passed
	// over in the X-Forwarded-For walk.
	hops   *bart.Lite
	routes []*route
	// answered are the headers every allow answers (canonical), empty
	// when the request got none: the section's copy_headers.
	answered []string
	// allowed is the answer to an allowed request that got no header
	// (the answered ones empty), made once: decide hands it out, read
	// only, rather than building its header for every request.
	allowed verdict
	files   gateway.Watched // watched files and their versions
	// folded is set when a route's path_case is insensitive: requests
	// are then checked against httprule.Folded.
	folded bool
	// redactPath is log.redacted_fields naming UriPath: lockgate's own
	// log lines then write the path as REDACTED too, as the records do.
	redactPath bool
}

type route struct {
	name, host, prefix string
	insensitive        bool   // path_case: insensitive
	webACL             string // its name, "" for none
	eng                *waf.Engine
	authz              *authz.Authorizer
	src                [4]*waflog.Source // by integration
	aclMetric          string
	metricNames        map[string]string
	counters           httprule.RouteCounters
}

// placeOf is where a route applies, for httprule's routing.
func placeOf(rt *route) (host, prefix string) { return rt.host, rt.prefix }

var integrations = [...]string{Nginx, Caddy, Traefik, Envoy}

func integrationIndex(name string) int {
	for i, n := range integrations {
		if n == name {
			return i
		}
	}
	return 0
}

// Provision checks the section and builds its routes — every web ACL
// read and compiled against the waf section, every authorizer resolved —
// without opening anything. Problems are at paths relative to the
// section. Rules that inspect the body on a route are Warnings: nginx,
// Caddy and Traefik send no body, so those rules see an empty one.
func Provision(cfg Config, opts Options) (*Service, problem.List) {
	if probs := cfg.Validate(); len(probs) > 0 || !cfg.Enabled() {
		return nil, probs
	}
	s := &Service{cfg: cfg, log: opts.Logger, opts: opts, metrics: newMetrics(), counters: map[string]ratelimit.Counter{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	st, warnings, probs := s.build(Snapshot{Config: cfg, WAF: opts.WAF, Files: opts.Files})
	if len(probs) > 0 {
		return nil, probs
	}
	s.state.Store(st)
	s.warnings = warnings
	var b [6]byte
	rand.Read(b[:])
	s.idPrefix = hex.EncodeToString(b[:]) + "-"
	return s, nil
}

// build compiles a configuration: every route's web ACL, with rate-based
// counters kept for rules whose definition is unchanged.
func (s *Service) build(snap Snapshot) (*state, problem.List, problem.List) {
	cfg := snap.Config
	if probs := cfg.Validate(); len(probs) > 0 {
		return nil, nil, probs
	}
	st := &state{cfg: cfg, trusted: newTrusted(cfg.TrustedProxies...), hops: newTrusted(append(slices.Clip(cfg.TrustedProxies), cfg.ForwardedHops...)...), files: gateway.Watched{}}
	var probs, warnings problem.List
	for _, n := range cfg.CopyHeaders {
		st.answered = append(st.answered, http.CanonicalHeaderKey(n))
	}
	slices.Sort(st.answered)
	st.answered = slices.Compact(st.answered)
	st.allowed = verdict{allow: true, status: http.StatusOK}
	if len(st.answered) > 0 {
		st.allowed.header = make(http.Header, len(st.answered))
		for _, n := range st.answered {
			st.allowed.header[n] = []string{""}
		}
		st.allowed.lines = appendHeaderLines(nil, st.allowed.header, "")
	}
	// unlisted adds a problem at path for each name a route may set that
	// copy_headers does not list: no proxy would pass it on.
	unlisted := func(path, what string, names []string) {
		for _, n := range names {
			if _, ok := slices.BinarySearch(st.answered, http.CanonicalHeaderKey(n)); !ok {
				probs.Addf(path, "%s %s, which forward_auth.copy_headers does not list: add it there and to the proxy's configuration (docs/integrations.md), or the proxy does not pass it on", what, http.CanonicalHeaderKey(n))
			}
		}
	}
	watch := st.files.Add
	for _, f := range snap.Files {
		watch(f)
	}
	if snap.WAF != nil {
		for _, f := range snap.WAF.Files {
			watch(f)
		}
	}
	redact := gateway.RedactedFieldsOf(cfg.Log.Redact, cfg.Log.RedactedFields) // as the gateway's records
	for _, f := range redact {
		st.redactPath = st.redactPath || f.UriPath != nil
	}
	used := map[string]ratelimit.Counter{}
	for i, rc := range cfg.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		h, _ := httprule.Host(rc.Host)
		rt := &route{name: rc.Name, host: strings.ToLower(h), prefix: rc.PathPrefix, aclMetric: "none", metricNames: map[string]string{}}
		if rt.prefix == "" {
			rt.prefix = "/"
		}
		rt.insensitive = rc.PathCase == httprule.PathCaseInsensitive
		st.folded = st.folded || rt.insensitive
		if rc.Authorizer != "" {
			if s.opts.Authorizer != nil {
				rt.authz = s.opts.Authorizer(rc.Authorizer)
			}
			if rt.authz == nil {
				probs.Addf(p+".authorizer", "%q is not an authorizer of the authz section", rc.Authorizer)
			} else {
				unlisted(p+".authorizer", "the authorizer sets", rt.authz.IdentityHeaders())
			}
		}
		webaclID := ""
		if rc.WebACL != "" {
			if snap.WAF == nil {
				probs.Add(p+".web_acl", "no waf section was provisioned")
				continue
			}
			watch(string(rc.WebACL))
			acl, eng, err := snap.WAF.Compile(string(rc.WebACL), func(acl *waf.WebACL) webacl.CounterFunc {
				return s.counterFor(acl.Name, used, snap.WAF.Options.MaxKeys)
			})
			if err != nil {
				probs = append(probs, problem.Within(p+".web_acl", err)...)
				continue
			}
			rt.eng, rt.webACL, rt.aclMetric, webaclID = eng, acl.Name, acl.VisibilityConfig.MetricName, waflog.WebACLID(acl)
			unlisted(p+".web_acl", "the web ACL inserts", insertNames(acl, snap.WAF.Options.RuleGroups))
			for _, r := range acl.Rules {
				rt.metricNames[r.Name] = r.VisibilityConfig.MetricName
			}
			rt.metricNames["Default_Action"] = "Default_Action"
			for _, name := range bodyRules(acl, snap.WAF.Options) {
				warnings.Addf(p+".web_acl", "rule %q inspects the body: nginx, Caddy and Traefik send no body, so it sees an empty one (Envoy sends it with with_request_body)", name)
			}
			order, framing := unseenRules(acl, snap.WAF.Options.RuleGroups)
			for _, name := range order {
				warnings.Addf(p+".web_acl", "rule %q inspects HeaderOrder: no proxy tells lockgate the client's header order, so the rule blocks every request that reaches it, whatever its action (docs/waf.md: HeaderOrder fails closed)", name)
			}
			for _, name := range framing {
				warnings.Addf(p+".web_acl", "rule %q names Content-Length or Transfer-Encoding: the proxies' subrequests carry their own framing, not the client's, so it never sees the client's values", name)
			}
		}
		for j, in := range integrations {
			rt.src[j] = &waflog.Source{Name: SourceName(in), ID: rc.Name, WebACLID: webaclID, RedactedFields: redact}
		}
		s.metrics.bind(rt)
		st.routes = append(st.routes, rt)
	}
	if len(probs) > 0 {
		return nil, nil, probs
	}
	httprule.SortRoutes(st.routes, placeOf)
	s.counters = used
	return st, warnings, nil
}

// Warnings are what Provision found that works but not as a reader of
// the web ACL may expect (rules inspecting a body the proxies do not
// send), at paths relative to the section.
func (s *Service) Warnings() problem.List { return s.warnings }

// bodyRules names the rules of acl that inspect the body, by compiling
// each alone (a rule group inspects the body when one of its rules does).
func bodyRules(acl *waf.WebACL, o waf.Options) []string {
	var out []string
	o.Counter = func(waf.RateRule) ratelimit.Counter { return ratelimit.NewMemory(time.Minute, 1, 1) }
	for _, r := range acl.Rules {
		one := *acl
		one.Rules = []waf.Rule{r}
		if e, err := waf.New(&one, o); err == nil && e.InspectsBody() {
			out = append(out, r.Name)
		}
	}
	return out
}

// unseenRules names the rules of acl (with the rule groups they
// reference) that forward auth cannot judge as the gateway would: those
// inspecting the header order, and those naming the framing headers,
// which a proxy's subrequest replaces with its own. The statements are
// read as JSON, so a rule is named whatever statement nests the field.
func unseenRules(acl *waf.WebACL, groups map[string]*waf.RuleGroup) (order, framing []string) {
	for _, r := range acl.Rules {
		text, _ := json.Marshal(r.Statement)
		if ref := r.Statement.RuleGroupReferenceStatement; ref != nil && groups[ref.ARN] != nil {
			g, _ := json.Marshal(groups[ref.ARN].Rules)
			text = append(text, g...)
		}
		lower := bytes.ToLower(text)
		if bytes.Contains(lower, []byte(`"headerorder"`)) {
			order = append(order, r.Name)
		}
		if bytes.Contains(lower, []byte(`"content-length"`)) || bytes.Contains(lower, []byte(`"transfer-encoding"`)) {
			framing = append(framing, r.Name)
		}
	}
	return order, framing
}

// counterFor makes a rate-based rule's counter: in Redis when the waf
// section shares counts (keyed as the gateway keys them, so that one web
// ACL counts a client once whichever way its requests come), in memory
// otherwise; kept across reloads while the rule's definition (statement,
// window, limit) is unchanged.
func (s *Service) counterFor(acl string, used map[string]ratelimit.Counter, maxKeys int) func(waf.RateRule) ratelimit.Counter {
	return func(r waf.RateRule) ratelimit.Counter {
		sum := sha256.Sum256(r.Definition)
		key := acl + "/" + r.Name + "/" + hex.EncodeToString(sum[:8])
		if c, ok := used[key]; ok {
			return c
		}
		c, ok := s.counters[key]
		if !ok {
			if s.opts.Redis != nil {
				c = s.opts.Redis.Counter(key, r.Window, r.Limit)
			} else {
				c = ratelimit.NewMemory(r.Window, r.Limit, maxKeys)
			}
		}
		used[key] = c
		return c
	}
}

// Open registers the metrics and opens the log. Metrics the gateway
// registered already (lockgate_waf_requests_total and
// lockgate_waf_rule_matches_total) are shared: a web ACL's counts are
// the same whichever way its requests come.
func (s *Service) Open(reg prometheus.Registerer) error {
	if reg != nil {
		if err := s.metrics.register(reg); err != nil {
			return err
		}
		for _, rt := range s.state.Load().routes {
			s.metrics.bind(rt)
		}
	}
	lc := s.cfg.Log
	if lc.File != "" {
		w, err := waflog.Open(string(lc.File), waflog.Options{MaxSize: int64(lc.MaxSizeMB) << 20, MaxAge: lc.MaxAge.Std(), Keep: lc.Keep})
		if err != nil {
			return fmt.Errorf("forward_auth.log.file: %w", err)
		}
		s.logw = w
	}
	return nil
}

// Close flushes the log.
func (s *Service) Close() error {
	if s.logw != nil {
		return s.logw.Close()
	}
	return nil
}

// trustedPeer reports whether a request's peer may ask.
func (st *state) trustedPeer(a netip.Addr) bool { return a.IsValid() && st.trusted.Lookup(a.Unmap()) }

// clientFrom is the client address a trusted proxy names in header
// values, read as the gateway reads it (httprule.Client: ip:port and
// [v6]:port hops included), passing over the proxies and the
// forwarded_hops in front of them. ok is false when there is none to
// read.
func (st *state) clientFrom(values []string) (netip.Addr, bool) {
	if len(values) == 0 {
		return netip.Addr{}, false
	}
	a := httprule.Client(st.cfg.ClientIPHeader, values, func(a netip.Addr) bool { return st.hops.Lookup(a) })
	return a, a.IsValid()
}

// original is the request a proxy asks about.
type original struct {
	integration string
	method      string
	uri         string // path as received, not decoded
	query       string
	host        string
	tls         bool
	proto       string
	headers     []waf.Header // as the engine inspects them
	header      http.Header  // for the authorizer
	body        []byte
	bodySize    int64
	client      netip.Addr
}

// verdict is the answer: allow, with header for the upstream, or the
// response the client gets. A refusal may have any status — a web ACL's
// custom response may be 200 — so allow, not the status, says which:
// each integration then answers a refusal with a status its proxy
// takes for a denial (writeVerdict, denied). A verdict's header and body
// may be shared with other answers: they are read, never changed.
type verdict struct {
	allow  bool
	status int
	header http.Header
	body   []byte
	// lines, when not nil, are header's lines as writeResponse writes
	// them, made ahead.
	lines []byte
}

// match is the route of a request for host and path (not decoded),
// chosen as the gateway chooses (internal/httprule): the host without
// port, trailing dot and case, the path decoded. refusal says why a
// request cannot be routed faithfully: a host that is not host[:port], or a
// path whose raw, decoded or cleaned spellings choose different routes.
func (st *state) match(host, path string) (*route, string) {
	h, ok := httprule.Host(host)
	if !ok {
		return nil, "the host " + strconv.Quote(host) + " is not a valid host[:port]"
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	byPath := func(path string) *route { return httprule.Choose(st.routes, placeOf, h, path) }
	if httprule.Ambiguous(path, byPath) {
		return nil, "the path is routed differently once decoded or cleaned of //, /./ or /../"
	}
	clean := httprule.CleanPath(path)
	rt := byPath(clean)
	if st.folded && httprule.Folded(st.routes, placeOf, isInsensitive, h, clean, rt) {
		return nil, "the path names another route to a case-insensitive server (path_case: insensitive): in another case, with trailing dots, a stream name or an 8.3 short name"
	}
	return rt, ""
}

func isInsensitive(rt *route) bool { return rt.insensitive }

// logPath is the path of o for lockgate's log lines: REDACTED when the
// records redact it (a path may hold a token: /reset/<token>).
func (st *state) logPath(o *original) string {
	if st.redactPath {
		return "REDACTED"
	}
	return o.uri
}

// screen refuses what the gateway refuses before inspection
// (internal/httprule): a header field sent more than once (the web ACL
// would inspect one value, the application may read another) and, unless
// underscore_headers is allow, a name holding '_' (which forward auth
// cannot drop from the request the proxy sends on), and an upgrade to
// another protocol than WebSocket, or HTTP2-Settings (the gateway removes
// them; forward auth cannot). X-Forwarded-For is no exception (atk20i
// F1): the gateway may take a proxy's several lines as one chain because
// it rewrites the header the application gets; forward auth cannot, and
// a SingleHeader rule would see one line while the application reads
// another. The documented proxies send one line (nginx and Caddy replace
// a client's).
func (st *state) screen(o *original) string {
	repeated, underscore := httprule.Screen(o.header, nil)
	if repeated != "" {
		return "the header " + repeated + " is sent more than once"
	}
	if underscore != "" && st.cfg.UnderscoreHeaders != UnderscoreAllow {
		return "the header name " + underscore + " holds '_'"
	}
	// RFC 9112 section 3.2: a request-target is a path and a query, with
	// no fragment. Cutting at a raw '#' (as URL parsers do) would decide
	// on less than the proxy passes on: nginx and Caddy send the bytes
	// after it to the application, and Go's server keeps them in the
	// path or query (atk20f F1: "/open/x#/../../priv/secret.txt" was
	// routed as /open/x and served /priv/secret.txt).
	if strings.IndexByte(o.uri, '#') >= 0 || strings.IndexByte(o.query, '#') >= 0 {
		return "the request target holds a raw '#' (a fragment is never sent to a server)"
	}
	if up, ok := o.header["Upgrade"]; ok && !httprule.WebSocketOnly(up) {
		return "the request asks to upgrade to another protocol than WebSocket (after an h2c upgrade the proxy would pass requests lockgate never sees)"
	}
	if _, ok := o.header["Http2-Settings"]; ok {
		return "the request carries HTTP2-Settings (an h2c upgrade: the proxy would pass requests lockgate never sees)"
	}
	return ""
}

var (
	decisions = sync.Pool{New: func() any { return new(waf.Decision) }}
	requests  = sync.Pool{New: func() any { return new(waf.Request) }}
)

// errNoRoute answers requests no route covers: nothing decides them, so
// they are refused.
var errNoRoute = errors.New("no forward_auth route for this host and path")

// decide evaluates o as the gateway would, with the configuration st:
// the web ACL, its log record and metrics, then the authorizer.
func (s *Service) decide(ctx context.Context, st *state, o *original) verdict {
	start := time.Now()
	defer func() { s.metrics.latency[integrationIndex(o.integration)].Observe(time.Since(start).Seconds()) }()
	if why := st.screen(o); why != "" {
		s.log.Warn("forward auth: refused", "integration", o.integration, "host", o.host, "path", st.logPath(o), "reason", why)
		return plain(http.StatusBadRequest)
	}
	rt, why := st.match(o.host, o.uri)
	if why != "" {
		s.log.Warn("forward auth: refused", "integration", o.integration, "host", o.host, "path", st.logPath(o), "reason", why)
		return plain(http.StatusBadRequest)
	}
	if rt == nil {
		s.log.Warn("forward auth: refused", "integration", o.integration, "host", o.host, "path", st.logPath(o), "reason", errNoRoute)
		return plain(http.StatusForbidden)
	}
	d := decisions.Get().(*waf.Decision)
	defer decisions.Put(d)
	req := requests.Get().(*waf.Request)
	defer requests.Put(req)
	// The headers are sorted by name (a proxy's subrequest, or Envoy's
	// map, does not keep the client's order): HeaderOrder fails closed,
	// as waf.Request.OrderUnknown says, rather than judging that
	// synthetic order (atk20f F7).
	*req = waf.Request{ClientIP: o.client, Method: o.method, URI: o.uri, Query: o.query, Headers: o.headers, OrderUnknown: true, Body: o.body, BodySize: o.bodySize}
	if rt.eng != nil {
		if lim := rt.eng.BodyLimit(); len(req.Body) > lim {
			req.Body = req.Body[:lim]
		}
		rt.eng.EvaluateInto(ctx, req, d)
	} else {
		*d = waf.Decision{Action: "ALLOW", TerminatingRuleID: "Default_Action", TerminatingRuleType: "REGULAR"}
	}
	rt.counters.Observe(d)
	if s.logw != nil && (st.cfg.Log.Only == "all" || d.Action == "BLOCK" || len(d.NonTerminating) > 0) {
		country := geo.Country(o.client)
		if rt.eng != nil {
			country = rt.eng.Country(o.client)
		}
		rec := waflog.New(rt.src[integrationIndex(o.integration)], start, o.logRequest(), req, d, country, s.idPrefix+strconv.FormatUint(s.seq.Add(1), 36))
		if err := s.logw.Write(rec); err != nil {
			s.log.Error("writing the WAF log", "error", err)
		}
	}
	if d.Action == "BLOCK" {
		var w buffer
		waf.WriteBlock(&w, d)
		return w.verdict()
	}
	if len(d.InsertHeaders) == 0 && rt.authz == nil {
		return st.allowed // the common answer, made once
	}
	v := verdict{allow: true, status: http.StatusOK}
	if len(st.answered) > 0 || len(d.InsertHeaders) > 0 {
		v.header = make(http.Header, len(st.answered))
		for _, n := range st.answered {
			v.header[n] = []string{""}
		}
		for _, h := range d.InsertHeaders {
			v.header.Set("x-amzn-waf-"+h.Name, h.Value)
		}
	}
	if rt.authz != nil {
		hr := o.httpRequest(ctx)
		hr.Header = hr.Header.Clone() // the proxy's request is not changed
		rt.authz.StripIdentity(hr.Header)
		az := rt.authz.Decide(hr, o.client)
		if !az.Allowed() {
			resource := az.Resource // an execute-api ARN: it ends with the path
			if st.redactPath {
				resource = "REDACTED"
			}
			s.log.Debug("forward auth: authorizer refused", "outcome", az.Outcome.String(), "resource", resource, "reason", az.Err)
			var w buffer
			az.Write(&w)
			return w.verdict()
		}
		if v.header == nil {
			v.header = http.Header{}
		}
		az.SetIdentity(v.header)
	}
	return v
}

// httpRequest is o as an HTTP request, for the authorizer (method, path,
// Authorization, TLS).
func (o *original) httpRequest(ctx context.Context) *http.Request {
	target := o.uri
	if o.query != "" {
		target += "?" + o.query
	}
	r, err := http.NewRequestWithContext(ctx, o.method, "http://lockgate"+target, nil)
	if err != nil { // a method or path http.NewRequest refuses: keep a request the authorizer refuses
		r, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://lockgate/", nil)
		r.Method = o.method
		r.URL.Path, r.URL.RawPath = "", ""
	}
	r.Host, r.Header, r.Proto = o.host, o.header, o.proto
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if o.tls {
		r.TLS = &tls.ConnectionState{}
	}
	return r
}

// logRequest is what a log record reads of o as an HTTP request
// (waflog.New: host, protocol, scheme); the rest of the record is the
// inspected request. It parses nothing: a record costs no URL.
func (o *original) logRequest() *http.Request {
	r := &http.Request{Method: o.method, Host: o.host, Proto: o.proto, Header: o.header}
	if o.tls {
		r.TLS = &tls.ConnectionState{}
	}
	return r
}

// plain is a refusal that is not the web ACL's: lockgate's JSON error
// body, as on every other listener (a web ACL's block keeps AWS's
// answer). The reason is logged, not told: it is about the proxy's
// request or configuration.
func plain(status int) verdict {
	return verdict{status: status, header: http.Header{"Content-Type": {"application/json"}, "X-Content-Type-Options": {"nosniff"}}, body: plainBodies[status]}
}

// plainBodies are plain's answers, made once.
var plainBodies = map[int][]byte{
	http.StatusBadRequest:          errorBody("bad_request", "the original request is refused before the web ACL: the reason is in lockgate's log"),
	http.StatusForbidden:           errorBody("forbidden", "refused: the reason is in lockgate's log"),
	http.StatusNotFound:            errorBody("not_found", "no such endpoint: /nginx, /caddy and /traefik are"),
	http.StatusInternalServerError: errorBody("internal", "the proxy did not say what the original request is: the error is in lockgate's log"),
}

// errorBody is {"error": code, "message": msg} (httpjson.ErrorBody).
func errorBody(code, msg string) []byte {
	b, _ := json.Marshal(httpjson.ErrorBody{Error: code, Message: msg})
	return append(b, '\n')
}

// buffer is a ResponseWriter that keeps the response, for answers the
// proxy sends on.
type buffer struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (b *buffer) Header() http.Header {
	if b.h == nil {
		b.h = http.Header{}
	}
	return b.h
}
func (b *buffer) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
func (b *buffer) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}
func (b *buffer) verdict() verdict {
	b.Header().Del("Content-Length")
	return verdict{status: b.code, header: b.Header(), body: b.body.Bytes()}
}
