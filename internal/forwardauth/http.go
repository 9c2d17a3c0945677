package forwardauth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/lockgate/lockgate/waf"
)

// headerSet names the headers through which an integration describes the
// original request. Only these are read, and they are left out of what
// the web ACL inspects: they are the proxy's, not the client's.
type headerSet struct {
	method, uri, host, proto string
	// version says the client's HTTP version ("" when the proxy cannot
	// say it): for the records' httpVersion.
	version string
}

var (
	// nginx's auth_request sends the original headers to a subrequest of
	// its own; lockgate's nginx configuration adds these
	// (docs/integrations.md).
	nginxHeaders = headerSet{"X-Original-Method", "X-Original-Uri", "X-Original-Host", "X-Original-Proto", "X-Original-Protocol"}
	// Caddy's forward_auth and Traefik's ForwardAuth send these; the
	// version only Caddy, set by lockgate's configuration ({http.request.proto}).
	caddyHeaders   = headerSet{"X-Forwarded-Method", "X-Forwarded-Uri", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Protocol"}
	traefikHeaders = headerSet{"X-Forwarded-Method", "X-Forwarded-Uri", "X-Forwarded-Host", "X-Forwarded-Proto", ""}
)

// Handler serves the HTTP endpoints: /nginx, /caddy and /traefik, one a
// proxy, since each says the original request in its own headers (a
// header another proxy uses is, to it, just a client's header).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/nginx", s.endpoint(Nginx, nginxHeaders))
	mux.Handle("/caddy", s.endpoint(Caddy, caddyHeaders))
	mux.Handle("/traefik", s.endpoint(Traefik, traefikHeaders))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeVerdict(w, "", notFound) }))
	return mux
}

func (s *Service) endpoint(integration string, hs headerSet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, answerAs := s.answer(r.Context(), waf.RemoteIP(r), integration, hs, r)
		writeVerdict(w, answerAs, forProxy(answerAs, v))
	})
}

// endpointOf is the integration whose endpoint path is, for the
// listener's own connection loop (server.go), which routes as Handler's
// mux does for these three paths.
func endpointOf(path string) (string, headerSet, bool) {
	switch path {
	case "/nginx":
		return Nginx, nginxHeaders, true
	case "/caddy":
		return Caddy, caddyHeaders, true
	case "/traefik":
		return Traefik, traefikHeaders, true
	}
	return "", headerSet{}, false
}

// answer decides r, a proxy's question from peer to the endpoint of
// integration: the verdict, and the integration to answer it as ("" for
// an error, which nginx must not take for a refusal).
func (s *Service) answer(ctx context.Context, peer netip.Addr, integration string, hs headerSet, r *http.Request) (verdict, string) {
	st := s.state.Load()
	if !st.trustedPeer(peer) {
		s.log.Warn("forward auth: refused a peer that is not a trusted proxy", "integration", integration, "peer", peer.String())
		return plain(http.StatusForbidden), integration
	}
	o := originals.Get().(*original)
	defer o.release()
	if err := st.fromHTTP(o, integration, hs, r); err != nil {
		// A proxy that does not say what it asks about is
		// misconfigured: it gets an error, never an allow.
		s.log.Error("forward auth: cannot read the original request", "integration", integration, "peer", peer.String(), "error", err)
		return plain(http.StatusInternalServerError), "" // nginx too: an error, not a refusal
	}
	return s.decide(ctx, st, o), integration
}

// originals are reused: a decision behind nginx, Caddy or Traefik
// allocates no request of its own.
var originals = sync.Pool{New: func() any { return new(original) }}

// release returns o to originals, keeping its headers' array unless a
// request with very many headers grew it.
func (o *original) release() {
	h := o.headers
	clear(h) // keep no request's values alive
	if cap(h) > 128 {
		h = nil
	}
	*o = original{headers: h[:0]}
	originals.Put(o)
}

// fromHTTP reads into o the original request from a proxy's headers.
func (st *state) fromHTTP(o *original, integration string, hs headerSet, r *http.Request) error {
	// The names are canonical already: the map is read directly, without
	// Header.Get's canonicalisation.
	get := func(name string) string {
		if vs := r.Header[name]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	o.integration, o.method, o.proto = integration, get(hs.method), httpVersion(get(hs.version))
	uri := get(hs.uri)
	if o.method == "" || uri == "" {
		return errors.New("the request has no " + hs.method + " or " + hs.uri + " header")
	}
	if !strings.HasPrefix(uri, "/") {
		return errors.New(hs.uri + " is not an origin-form URI (it must start with /)")
	}
	// A raw '#' stays where it is: screen refuses it (a request target
	// carries no fragment, and what follows it reaches the application).
	o.uri, o.query, _ = strings.Cut(uri, "?")
	// Without the original host (an HTTP/1.0 request without Host: nginx
	// sends no X-Original-Host, Caddy an empty X-Forwarded-Host) the
	// request is host-less, as the gateway routes it: routes for any host
	// decide, and Host rules see none. The subrequest's own Host names
	// lockgate, not anything the client asked for.
	o.host = get(hs.host)
	o.tls = strings.EqualFold(get(hs.proto), "https")
	var ok bool
	if o.client, ok = st.clientFrom(r.Header.Values(st.cfg.ClientIPHeader)); !ok {
		return errors.New("the request has no client address in " + st.cfg.ClientIPHeader)
	}
	// The authorizer reads the original headers (a copy: it strips the
	// identity headers); the engine inspects them without the proxy's
	// own, sorted by name (a name's values keep their order: the map
	// holds them together and the sort is stable).
	o.header = r.Header
	o.headers = o.headers[:0]
	if o.host != "" {
		o.headers = append(o.headers, waf.Header{Name: "Host", Value: o.host})
	}
	first := len(o.headers)
	for name, vs := range r.Header {
		switch name {
		case hs.method, hs.uri, hs.host, hs.proto, hs.version, "Content-Length":
			continue
		}
		for _, v := range vs {
			o.headers = append(o.headers, waf.Header{Name: name, Value: v})
		}
	}
	slices.SortStableFunc(o.headers[first:], func(a, b waf.Header) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// httpVersion is the client's HTTP version as a proxy says it (nginx's
// $server_protocol, Caddy's {http.request.proto}), or HTTP/1.1 when it
// says none or something else.
func httpVersion(v string) string {
	switch v {
	case "HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/3.0":
		return v
	case "HTTP/2":
		return "HTTP/2.0"
	case "HTTP/3":
		return "HTTP/3.0"
	}
	return "HTTP/1.1"
}

// writeVerdict answers the proxy. A refusal is never answered 2xx:
// nginx's auth_request allows on 2xx, Caddy's forward_auth and Traefik's
// ForwardAuth on any 2xx, so a block whose custom response is 200, 201
// or 204 (AWS allows 200–599) would let the request through. Such a
// refusal is answered 403 with its status in X-Lockgate-Status, its
// headers and body. nginx passes on only 401 and 403 (any other status
// is an error to it), so there every other status is carried the same
// way, for the configuration to map (docs/integrations.md); Caddy and
// Traefik send the response to the client as it is.
func writeVerdict(w http.ResponseWriter, integration string, v verdict) {
	h := w.Header()
	for name, vs := range v.header {
		h[name] = vs
	}
	status, carried := answerStatus(integration, v)
	if v.allow {
		w.WriteHeader(status)
		return
	}
	if carried != "" {
		h.Set("X-Lockgate-Status", carried)
	}
	h.Set("Content-Length", strconv.Itoa(len(v.body)))
	w.WriteHeader(status)
	w.Write(v.body)
}

// forProxy is v as answered to integration's proxy: to nginx without its
// body. nginx's auth_request never sends the subrequest's body on (the
// configuration's error_page answers the client), and it closes an
// upstream connection whose answer has a body it does not read: under a
// flood of blocked requests, each would cost a new connection to
// lockgate (measured: 7,035 refusals, 7,178 connections). The headers,
// X-Lockgate-Status and Retry-After among them, are kept.
func forProxy(integration string, v verdict) verdict {
	if integration == Nginx {
		v.body = nil
	}
	return v
}

// answerStatus is the status v is answered with to integration's proxy,
// and the status X-Lockgate-Status carries ("" when none): writeVerdict's
// rule, shared with the listener's own writer.
func answerStatus(integration string, v verdict) (int, string) {
	if v.allow {
		return http.StatusOK, ""
	}
	if v.status < 300 || integration == Nginx && v.status != http.StatusUnauthorized && v.status != http.StatusForbidden {
		return http.StatusForbidden, strconv.Itoa(v.status)
	}
	return v.status, ""
}

// Run serves the HTTP endpoints on ln (when not nil) and Envoy's
// ext_authz on grpcLn (when not nil) until ctx ends; then lets requests
// in flight finish and closes the log.
func (s *Service) Run(ctx context.Context, ln, grpcLn net.Listener) error {
	errc := make(chan error, 2)
	n := 0
	var srv *httpServer
	if ln != nil {
		srv = newHTTPServer(s)
		n++
		go func() { errc <- srv.serve(ln) }()
		s.log.Info("forward auth serving", "addr", ln.Addr().String(), "routes", len(s.state.Load().routes))
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); s.Watch(watchCtx, 2*time.Second) }()
	var gs *grpc.Server
	if grpcLn != nil {
		g := s.GRPCServer()
		gs = g
		n++
		go func() { errc <- g.Serve(grpcLn) }()
		s.log.Info("ext_authz serving", "addr", grpcLn.Addr().String(), "routes", len(s.state.Load().routes))
	}
	var err error
	select {
	case err = <-errc:
		n--
	case <-ctx.Done():
	}
	timeout := s.opts.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if srv != nil {
		srv.closing.Store(true)
		ln.Close()
		// Requests cut off at shutdown_timeout make serve exit 1 saying
		// so (context.DeadlineExceeded), as the gateway's and the API's.
		if serr := srv.shutdown(sctx); err == nil {
			err = serr
		}
	}
	if gs != nil {
		done := make(chan struct{})
		go func() { gs.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-sctx.Done():
			gs.Stop()
			if err == nil {
				err = sctx.Err()
			}
		}
	}
	for ; n > 0; n-- {
		<-errc
	}
	stopWatch()
	<-watched
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
