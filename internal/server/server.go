// Package server runs lockgate: it provisions every component from the
// configuration (checking every section and reading every file it names,
// without side effects), then binds the listeners, opens storage and runs
// the components under one owner, so that any component that fails stops
// the process and every goroutine is waited for on shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/lockgate/lockgate/internal/appkey"
	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/awsiam"
	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/forwardauth"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/httpapi"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/portal"
	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/vpn"
	"github.com/lockgate/lockgate/internal/webacl"
	"github.com/lockgate/lockgate/internal/webhook"
	"github.com/lockgate/lockgate/problem"
	"github.com/lockgate/lockgate/waf"
	"github.com/lockgate/lockgate/waf/ratelimit/redisstore"
)

// Server is a provisioned lockgate. Provision checks; Open acquires
// storage and builds the handlers; Run (or Serve) serves.
type Server struct {
	cfg   Config
	src   *config.Source
	log   *slog.Logger
	opts  Options
	tls   *tls.Config
	waf   *webacl.Set
	authz *authz.Service // nil without an authz section
	geo   *geo.DB
	vpn   *vpn.Handler
	fwd   *forwardauth.Service // nil without a forward_auth listener
	// warnings are what provisioning accepted but a reader should know.
	warnings problem.List

	// Set by Open.
	store   *store.Store
	box     *secretbox.Box
	svc     *lock.Service
	api     *httpapi.Handler
	gateway *gateway.Gateway
	redis   *redisstore.Store
	// redisDown holds why Redis does not answer ("" when it does).
	redisDown atomic.Value
	hooks     *webhook.Policy
	portal    *portal.Portal // nil when disabled
	// AdminToken is set when this start created the first admin token;
	// the caller shows it once.
	AdminToken string
}

// Options change how the server is built.
type Options struct {
	Now func() time.Time
	// LoadConfig reads the configuration again, for gateway reloads; the
	// configuration given to Provision is reused when nil.
	LoadConfig func() (Config, *config.Source, error)
}

// Provision checks the whole configuration as serving it would: every
// section's values, and every file it names (TLS certificates and keys,
// web ACLs, IP and regex sets, rule groups, the master and signing key
// files). It has no side effects: nothing is created, nothing listens.
// Every problem is returned at once, located in the file when there is
// one (src may be nil).
func Provision(cfg Config, src *config.Source, log *slog.Logger, opts Options) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, src: src, log: log, opts: opts}
	var probs problem.List
	section := func(prefix string, l problem.List) {
		for _, p := range l {
			if p.Path == "" {
				p.Path = prefix
			} else if prefix != "" {
				p.Path = prefix + "." + p.Path
			}
			probs = append(probs, p)
		}
	}
	section("", cfg.validate())
	var tp problem.List
	s.tls, tp = cfg.TLS.Load()
	section("tls", tp)
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	warn := func(prefix string, l problem.List) {
		for _, w := range l {
			w.Path = prefix + "." + w.Path
			s.warnings = append(s.warnings, w)
		}
	}
	warn("tls", config.CertWarnings(s.tls, now()))
	if cfg.Gateway.Enabled() && cfg.Gateway.TLS.Enabled() {
		if gtls, gp := cfg.Gateway.TLS.Load(); len(gp) == 0 { // its problems are the gateway's
			warn("gateway.tls", config.CertWarnings(gtls, now()))
		}
	}
	section("lock_check", cfg.LockCheck.Validate())
	section("auth", cfg.Auth.Validate())
	section("webhooks", cfg.Webhooks.Validate())
	pp := cfg.Portal.Validate()
	section("portal", pp)
	if cfg.Portal.Enabled && len(pp) == 0 {
		// The passkey configuration serve builds (WebAuthn refuses a host
		// that is not a domain name, such as -bad-.example.com).
		if origin, key := cfg.portalOrigin(); key != "listen" {
			if err := portal.CheckOrigin(origin); err != nil {
				msg := err.Error()
				if key != "portal.origin" {
					msg = "the portal's origin (portal.origin unset: the first public URL): " + msg
				}
				section(key, problem.List{{Msg: msg}})
			}
		}
	}
	var geop, wp problem.List
	s.geo, geop = geo.Provision(cfg.Geo, log)
	section("geo", geop)
	s.waf, wp = webacl.Provision(cfg.WAF, s.geo)
	if u := cfg.WAF.RedisURL; u != "" && len(wp) == 0 {
		// Options go-redis refuses (a database that is not a number, a
		// bad dial_timeout, an unknown option) stopped serve only.
		if _, err := redisOptions(u); err != nil {
			wp.Add("redis_url", err.Error())
		}
	}
	section("waf", wp)
	var ap problem.List
	s.authz, ap = provisionAuthz(cfg.Authz, s.geo.Country, log, opts)
	section("authz", ap)
	if cfg.Gateway.Enabled() || len(cfg.Gateway.Routes) > 0 {
		gp := cfg.Gateway.Validate()
		if len(gp) == 0 && len(wp) == 0 && len(ap) == 0 {
			gp = gateway.Check(s.snapshot(cfg, s.waf))
		} else {
			gp = append(gp, readACLs(len(cfg.Gateway.Routes), func(i int) config.Path { return cfg.Gateway.Routes[i].WebACL })...)
		}
		section("gateway", gp)
	}
	if cfg.ForwardAuth.Enabled() || len(cfg.ForwardAuth.Routes) > 0 {
		var fp problem.List
		if len(wp) == 0 && len(ap) == 0 {
			s.fwd, fp = provisionForwardAuth(s, cfg)
		} else {
			fp = readACLs(len(cfg.ForwardAuth.Routes), func(i int) config.Path { return cfg.ForwardAuth.Routes[i].WebACL })
		}
		section("forward_auth", fp)
		if s.fwd != nil {
			warn("forward_auth", s.fwd.Warnings())
		}
	}
	if cfg.VPN.Enabled {
		var vp problem.List
		s.vpn, vp = vpn.Provision(cfg.VPN, vpn.Options{Geo: s.geo, WAF: s.waf, Logger: log, Serve: true})
		section("vpn", vp)
	}
	if r := cfg.IAMResponder; r.Enabled {
		if err := r.Validate(); err != nil {
			var l problem.List
			l.Append("", err)
			section("iam_responder", l)
		}
		// Checked at provisioning (needing only the file): Open used to
		// refuse it after the data directory had been created.
		if err := awsiam.CheckAPIURI(r.APIURI, cfg.PublicURLs); err != nil {
			section("iam_responder.api_uri", problem.List{{Msg: err.Error()}})
		}
		if r.EventsSecret == "" {
			section("iam_responder.events_secret", problem.List{{Msg: "required, at least 20 characters (LOCKGATE_EVENTS_SECRET): it authenticates EventBridge's calls"}})
		} else if err := config.CheckSecret(r.EventsSecret, 20, "set LOCKGATE_EVENTS_SECRET to a random value, e.g. openssl rand -hex 32"); err != nil {
			section("iam_responder.events_secret", problem.List{{Msg: err.Error()}})
		}
		// The lock.changed pushes it verifies move IAM users between
		// locked and unlocked: a guessable key lets anyone do that.
		// lockgate's own webhook secrets are 43 characters (32 random
		// bytes, base64url), so 32 bytes refuses nothing it issued.
		if r.WebhookSecret != "" {
			if err := config.CheckSecret(r.WebhookSecret, minWebhookSecret, "set LOCKGATE_WEBHOOK_SECRET to the secret lockgate showed when you added the webhook (lockgate webhook add)"); err != nil {
				section("iam_responder.webhook_secret", problem.List{{Msg: err.Error()}})
			}
		}
		if err := appkey.Check(r.KeySource()); err != nil {
			key := "iam_responder.signing_key_file"
			if r.SigningKeyFile == "" {
				key = "iam_responder"
			}
			section(key, problem.List{{Msg: err.Error()}})
		}
	}
	if len(probs) > 0 {
		return nil, src.Locate(probs)
	}
	s.warnings = src.Locate(s.warnings)
	return s, nil
}

// minWebhookSecret is the shortest iam_responder.webhook_secret accepted:
// 256 bits when each byte carries one, as the admin token's minimum.
const minWebhookSecret = 32

// readACLs reads and parses the web ACL files of n routes (file(i) is
// the i-th's) when they cannot be compiled, because the waf or authz
// section they are compiled against, or their own section, has problems:
// a missing or malformed file is then reported with the rest, not after
// those are fixed. Problems are at routes[i].web_acl, as compiling
// reports them.
func readACLs(n int, file func(i int) config.Path) problem.List {
	var probs problem.List
	for i := range n {
		if f := string(file(i)); f != "" {
			if _, err := webacl.LoadFile(f, waf.LoadOptions{}); err != nil {
				probs = append(probs, problem.Within(fmt.Sprintf("routes[%d].web_acl", i), err)...)
			}
		}
	}
	return probs
}

// snapshot is what the gateway runs for a configuration.
func (s *Server) snapshot(cfg Config, set *webacl.Set) gateway.Snapshot {
	snap := gateway.Snapshot{Config: cfg.Gateway, WAF: set, Authorizer: s.authorizer}
	if s.src != nil && s.src.File != "" {
		snap.Files = []string{s.src.File}
	}
	return snap
}

// reloadGateway reads the configuration again for the gateway: its
// section and the waf section, checked as at start.
func (s *Server) reloadGateway() (gateway.Snapshot, error) {
	cfg, set, files, err := s.reload("gateway", func(c Config) problem.List { return c.Gateway.Validate() })
	if err != nil {
		return gateway.Snapshot{}, err
	}
	return gateway.Snapshot{Config: cfg.Gateway, WAF: set, Authorizer: s.authorizer, Files: files}, nil
}

// reload reads the configuration again for a component that reloads
// (the gateway, forward auth): the waf section provisioned anew and the
// component's section checked by validate, problems located in the file;
// files is the configuration file to watch. Without a way to read it
// again (Options.LoadConfig unset) it is the configuration of the start.
func (s *Server) reload(section string, validate func(Config) problem.List) (Config, *webacl.Set, []string, error) {
	if s.opts.LoadConfig == nil {
		var files []string
		if s.src != nil && s.src.File != "" {
			files = []string{s.src.File}
		}
		return s.cfg, s.waf, files, nil
	}
	cfg, src, err := s.opts.LoadConfig()
	if err != nil {
		return Config{}, nil, nil, err
	}
	set, wp := webacl.Provision(cfg.WAF, s.geo)
	var probs problem.List
	for _, p := range wp {
		p.Path = "waf." + p.Path
		probs = append(probs, p)
	}
	for _, p := range validate(cfg) {
		p.Path = section + "." + p.Path
		probs = append(probs, p)
	}
	if len(probs) > 0 {
		return Config{}, nil, nil, src.Locate(probs)
	}
	var files []string
	if src != nil && src.File != "" {
		files = []string{src.File}
	}
	return cfg, set, files, nil
}

// Open provisions cfg and opens it (no source file: problems carry key
// paths only). For tests and embedders that serve on listeners of their
// own.
func Open(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (*Server, error) {
	s, err := Provision(cfg, nil, log, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Open(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Open acquires what serving needs: storage migrated, master key checked,
// first admin token ensured, the lock service, the handlers of every
// component and the gateway (its log opened). On error everything it
// acquired is released.
func (s *Server) Open(ctx context.Context) (err error) {
	cfg := s.cfg
	dsn := cfg.DatabaseURL
	if dsn == "" {
		dsn = cfg.SQLitePath()
	}
	if cfg.databaseInDataDir() {
		// The data directory is lockgate's own: private whatever it was
		// before. Any other directory a database_url names keeps its
		// mode (store.Open).
		if err := store.SecureDir(string(cfg.DataDir)); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
	}
	if s.store, err = store.Open(ctx, dsn); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	if err := s.openBox(ctx); err != nil {
		return err
	}
	for _, c := range s.store.MigrationCollisions() {
		s.log.Warn("username migration: this application keeps exact username matching because some of its accounts would become one; rename or delete one of each (lockgate account rename APP USER NEW, lockgate account delete APP USER), then set username_match to caseless",
			"app", c.AppID, "collisions", c.Collisions)
	}
	if s.hooks, err = cfg.Webhooks.Policy(); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.svc = lock.New(lock.Options{
		WebhookURLs:         s.hooks,
		LockedEventInterval: cfg.Webhooks.LockedEventInterval.Std(),
		LockedEventsPerApp:  cfg.Webhooks.LockedEventsPerApp,
		Store:               s.store,
		CheckTimeout:        checkTimeout(s.store.Dialect()),
		Box:                 s.box,
		Audiences:           cfg.PublicURLs,
		Leeway:              cfg.LockCheck.Leeway.Std(),
		MaxTokenLifetime:    cfg.LockCheck.MaxTokenLifetime.Std(),
		KeyCacheTTL:         cfg.LockCheck.KeyCacheTTL.Std(),
		MaxIntegrationData:  cfg.LockCheck.MaxIntegrationKiB << 10,
		Geo:                 s.geo,
		Country:             s.geo.Country,
		Now:                 s.opts.Now,
		Logger:              s.log,
	})
	if s.AdminToken, err = s.svc.EnsureAdminToken(ctx, cfg.AdminToken); err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	s.api = httpapi.New(httpapi.Options{Service: s.svc, Logger: s.log, Registry: reg, Auth: cfg.Auth, Now: s.opts.Now, Degraded: s.degraded})
	if err := s.openAuthz(ctx); err != nil {
		return err
	}
	if cfg.Gateway.Enabled() {
		if err := s.openGateway(reg); err != nil {
			return err
		}
		s.api.Mount(s.gateway.Endpoints()...)
	}
	if s.fwd != nil { // after the gateway: it shares the gateway's WAF metrics
		if err := s.openForwardAuth(reg); err != nil {
			return err
		}
	}
	if s.vpn != nil {
		if err := s.vpn.Open(ctx); err != nil {
			return err
		}
		s.api.Mount(s.vpn.Endpoints()...)
	}
	if rc := cfg.IAMResponder; rc.Enabled {
		if err := s.openResponder(ctx, rc); err != nil {
			return err
		}
	}
	if cfg.Portal.Enabled {
		if err := s.openPortal(); err != nil {
			return err
		}
	}
	return nil
}

// openPortal builds the owner portal and the admin console, at the
// configured origin or the first public URL.
func (s *Server) openPortal() error {
	pc := s.cfg.Portal
	pc.Origin, _ = s.cfg.portalOrigin()
	o := portal.Options{Config: pc, Service: s.svc, Store: s.store, Box: s.box, Logger: s.log, Now: s.opts.Now}
	if s.gateway != nil {
		o.Gateway = s.gateway
	}
	p, err := portal.New(o)
	if err != nil {
		return err
	}
	s.portal = p
	s.api.Mount(p.Endpoints()...)
	return nil
}

// portalOrigin is the origin the portal serves at: portal.origin, or
// else the first public URL; key is the setting that gave it.
func (c *Config) portalOrigin() (origin, key string) {
	switch {
	case c.Portal.Origin != "":
		return c.Portal.Origin, "portal.origin"
	case len(c.PublicURLs) > 0:
		return c.PublicURLs[0], "public_urls[0]"
	}
	// A Config not made by Load: follow the listen address.
	return publicURLFor(c.Listen, c.TLS.Enabled()), "listen"
}

// Portal is the owner portal and admin console, or nil when disabled.
func (s *Server) Portal() *portal.Portal { return s.portal }

// openGateway builds the WAF gateway (and its Redis counter store when
// configured).
func (s *Server) openGateway(reg *prometheus.Registry) error {
	if err := s.openRedis(); err != nil {
		return err
	}
	g, err := gateway.New(gateway.Options{Load: s.reloadGateway, Logger: s.log, Registry: reg, Redis: s.redis, ShutdownTimeout: s.cfg.ShutdownTimeout.Std()})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	s.gateway = g
	return nil
}

// openRedis connects the rate-based counters' Redis store when the waf
// section names one (once: the gateway and forward auth share it).
func (s *Server) openRedis() error {
	if u := s.cfg.WAF.RedisURL; u != "" && s.redis == nil {
		ro, err := redisOptions(u)
		if err != nil {
			return fmt.Errorf("waf.redis_url: %w", err)
		}
		// go-redis's own lines (a failed dial, several a second while
		// Redis is down) go through the log, in its format, at debug:
		// the change of health is logged once above.
		redis.SetLogger(redisLog{s.log})
		budget := s.cfg.WAF.RedisTimeout.Std()
		redisstore.Bound(ro, budget) // a hung Redis costs a request this much, once
		s.redis = redisstore.New(redis.NewClient(ro), redisstore.Options{
			Prefix: s.cfg.WAF.RedisPrefix, MaxKeys: s.cfg.WAF.MaxKeysPerRule, Timeout: budget,
			OnHealth: func(err error) {
				if err != nil {
					s.redisDown.Store(err.Error())
					s.log.Error("Redis is not answering: each gateway now enforces rate limits on its own traffic only", "error", err)
				} else {
					s.redisDown.Store("")
					s.log.Info("Redis answers again: rate-based counts are shared")
				}
			},
		})
	}
	return nil
}

// degraded names the optional components that do not work now, for
// /readyz: Redis not answering (rate limits then count per process).
func (s *Server) degraded() map[string]string {
	if why, _ := s.redisDown.Load().(string); why != "" {
		return map[string]string{"redis": "not answering (" + why + "): each process enforces rate-based rules on its own traffic only"}
	}
	return nil
}

// redisLog writes go-redis's log lines to slog.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...)) // its lines start "redis: "
}

// redisOptions reads waf.redis_url as go-redis does: Provision checks
// with it what openRedis then connects with. go-redis's parser takes
// negative sizes that its client then panics on (rechk9:
// pool_size=-1 passed validate and serve died with "makechan: size out
// of range"), so those are refused here.
func redisOptions(u string) (*redis.Options, error) {
	o, err := redis.ParseURL(u)
	if err != nil {
		return nil, err
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"pool_size", o.PoolSize}, {"min_idle_conns", o.MinIdleConns}, {"max_idle_conns", o.MaxIdleConns},
		{"max_active_conns", o.MaxActiveConns}, {"max_retries", o.MaxRetries + 1}, // -1 means none
	} {
		if n.v < 0 {
			return nil, fmt.Errorf("redis: %s must not be negative", n.name)
		}
	}
	return o, nil
}

// openResponder builds the IAM lockout responder's HTTP endpoints.
func (s *Server) openResponder(ctx context.Context, rc awsiam.Settings) error {
	awsCfg, err := awsiam.AWSConfig(ctx)
	if err != nil {
		return fmt.Errorf("iam_responder: AWS configuration: %w", err)
	}
	// The API does not serve yet: the responder's start probe asks it in
	// this process when api_uri names this lockgate.
	var opts awsiam.Options
	if slices.Contains(s.cfg.PublicURLs, rc.APIURI) {
		opts.Local = s.api
	}
	resp, err := awsiam.New(ctx, rc, awsCfg, s.log, opts)
	if err != nil {
		return fmt.Errorf("iam_responder: %w", err)
	}
	h := &awsiam.Handler{R: resp, EventsSecret: rc.EventsSecret, EventsHeader: rc.EventsSecretHeader, WebhookSecret: rc.WebhookSecret}
	s.api.Mount(h.Endpoints()...)
	s.log.Info("AWS IAM lockout responder enabled", "events", "/events/aws-signin", "pushes", "/events/lock-changed")
	return nil
}

// Gateway is the WAF gateway, or nil when none is configured.
func (s *Server) Gateway() *gateway.Gateway { return s.gateway }

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler { return s.api }

// Service returns the lock service.
func (s *Server) Service() *lock.Service { return s.svc }

// Close releases what Open acquired, for callers that did not Serve.
func (s *Server) Close() error { return s.release() }

// release closes the gateway's log, the Redis store (sending the counts
// it still holds) and storage (after queued writes finish).
func (s *Server) release() error {
	var errs []error
	if s.gateway != nil {
		errs = append(errs, s.gateway.Close())
		s.gateway = nil
	}
	if s.fwd != nil {
		errs = append(errs, s.fwd.Close())
	}
	if s.redis != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.redis.Close(cctx)
		cancel()
		s.redis = nil
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
		s.store = nil
	}
	return errors.Join(errs...)
}

// Listeners are the sockets lockgate serves on.
type Listeners struct {
	Main    net.Listener
	Gateway net.Listener // nil without a gateway
	// ForwardAuth and ForwardAuthGRPC are forward_auth's listeners.
	ForwardAuth, ForwardAuthGRPC net.Listener
}

// Close closes every listener.
func (l Listeners) Close() {
	for _, ln := range []net.Listener{l.Main, l.Gateway, l.ForwardAuth, l.ForwardAuthGRPC} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Listen binds every address the configuration names, before anything
// else is created: a busy port is reported before a data directory or an
// admin token exists.
func (s *Server) Listen() (Listeners, error) {
	var l Listeners
	var err error
	if l.Main, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		return l, fmt.Errorf("listen %s: %w", s.cfg.Listen, errors.Unwrap(err))
	}
	if s.cfg.Gateway.Enabled() {
		if l.Gateway, err = net.Listen("tcp", s.cfg.Gateway.Listen); err != nil {
			l.Main.Close()
			return l, fmt.Errorf("gateway.listen %s: %w", s.cfg.Gateway.Listen, errors.Unwrap(err))
		}
	}
	if err := s.listenForwardAuth(&l); err != nil {
		l.Close()
		return Listeners{}, err
	}
	return l, nil
}

// Run listens, opens and serves until ctx ends or a component fails.
// shown, when not nil, receives the first admin token once it exists.
func (s *Server) Run(ctx context.Context, shown func(adminToken string)) error {
	// What config validate warns about, in the log of the start too.
	for _, w := range s.warnings {
		s.log.Warn("configuration: " + w.Error())
	}
	lns, err := s.Listen()
	if err != nil {
		return err
	}
	if err := s.Open(ctx); err != nil {
		lns.Close()
		return err
	}
	if s.AdminToken != "" && shown != nil {
		shown(s.AdminToken)
	}
	return s.ServeListeners(ctx, lns)
}

// Serve serves the API on ln (and the gateway on its configured address)
// after Open.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	lns := Listeners{Main: ln}
	if s.gateway != nil {
		var err error
		if lns.Gateway, err = net.Listen("tcp", s.cfg.Gateway.Listen); err != nil {
			ln.Close()
			s.release()
			return fmt.Errorf("gateway.listen %s: %w", s.cfg.Gateway.Listen, errors.Unwrap(err))
		}
	}
	if err := s.listenForwardAuth(&lns); err != nil {
		lns.Close()
		s.release()
		return err
	}
	return s.ServeListeners(ctx, lns)
}

// ServeListeners runs every component under one group until ctx ends or
// one of them fails: the API server, the gateway (with its file watcher),
// the webhook dispatcher and the timed-relock loop. On the way out the
// servers finish requests in flight (up to the shutdown timeout), the
// background work stops, and storage closes last.
func (s *Server) ServeListeners(ctx context.Context, lns Listeners) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.stopped("api", s.serveAPI(gctx, lns.Main)) })
	if s.gateway != nil && lns.Gateway != nil {
		g.Go(func() error { return s.stopped("gateway", s.gateway.Run(gctx, lns.Gateway)) })
	}
	if s.fwd != nil && (lns.ForwardAuth != nil || lns.ForwardAuthGRPC != nil) {
		g.Go(func() error { return s.stopped("forward_auth", s.fwd.Run(gctx, lns.ForwardAuth, lns.ForwardAuthGRPC)) })
	}
	d := &webhook.Dispatcher{
		Store:       s.store,
		Secrets:     s.box,
		MaxAttempts: s.cfg.Webhooks.MaxAttempts,
		MaxBackoff:  s.cfg.Webhooks.MaxBackoff.Std(),
		Timeout:     s.cfg.Webhooks.Timeout.Std(),
		Concurrency: s.cfg.Webhooks.Concurrency,
		Policy:      s.hooks,
		Logger:      s.log,
		Wake:        s.svc.Queued(),
	}
	g.Go(func() error { return s.geo.Run(gctx) })
	g.Go(func() error { d.Run(gctx); return nil })
	g.Go(func() error { s.svc.RunRelocker(gctx, time.Second); return nil })
	if s.portal != nil {
		g.Go(func() error { return s.portal.Run(gctx) })
	}
	err := g.Wait()
	s.gateway = nil // closed by its Run
	if cerr := s.release(); err == nil {
		err = cerr
	}
	return err
}

// stopped names the component a server's error comes from. A shutdown
// that outlasted shutdown_timeout (requests still in flight, cut off)
// says so: serve then exits 1, since those requests did not finish.
func (s *Server) stopped(component string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: shutdown_timeout %s passed with requests still in flight: they were cut off", component, s.cfg.ShutdownTimeout.Std())
	}
	return fmt.Errorf("%s: %w", component, err)
}

// serveAPI serves the API on ln until ctx ends, then shuts down
// gracefully.
func (s *Server) serveAPI(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		TLSConfig:         s.tls,
	}
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("lockgate serving", "addr", ln.Addr().String(), "tls", s.tls != nil, "storage", s.store.Dialect(), "public_urls", s.cfg.PublicURLs)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout.Std())
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}

// checkTimeout is the bound on a lock check's reads: PostgreSQL's go over
// a network that can fall silent; SQLite's are local and end at its
// busy_timeout (lock.Options.CheckTimeout).
func checkTimeout(dialect string) time.Duration {
	if dialect == "postgres" {
		return lock.DefaultCheckTimeout
	}
	return -1
}
