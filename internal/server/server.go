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
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

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
	"github.com/lockgate/lockgate/lockclient"
	"github.com/lockgate/lockgate/problem"
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
	hooks   *webhook.Policy
	portal  *portal.Portal // nil when disabled
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
	section("lock_check", cfg.LockCheck.Validate())
	section("auth", cfg.Auth.Validate())
	section("webhooks", cfg.Webhooks.Validate())
	section("portal", cfg.Portal.Validate())
	var geop, wp problem.List
	s.geo, geop = geo.Provision(cfg.Geo, log)
	section("geo", geop)
	s.waf, wp = webacl.Provision(cfg.WAF, s.geo)
	section("waf", wp)
	var ap problem.List
	s.authz, ap = provisionAuthz(cfg.Authz, s.geo.Country, log, opts)
	section("authz", ap)
	if cfg.Gateway.Enabled() || len(cfg.Gateway.Routes) > 0 {
		gp := cfg.Gateway.Validate()
		if len(gp) == 0 && len(wp) == 0 && len(ap) == 0 {
			gp = gateway.Check(s.snapshot(cfg, s.waf))
		}
		section("gateway", gp)
	}
	if cfg.ForwardAuth.Enabled() || len(cfg.ForwardAuth.Routes) > 0 {
		var fp problem.List
		if len(wp) == 0 && len(ap) == 0 {
			s.fwd, fp = provisionForwardAuth(s, cfg)
		}
		section("forward_auth", fp)
		if s.fwd != nil {
			for _, w := range s.fwd.Warnings() {
				w.Path = "forward_auth." + w.Path
				s.warnings = append(s.warnings, w)
			}
			s.warnings = src.Locate(s.warnings)
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
		if r.SigningKeyFile != "" {
			if data, err := os.ReadFile(string(r.SigningKeyFile)); err != nil {
				section("iam_responder.signing_key_file", problem.List{{Msg: err.Error()}})
			} else if msg := checkSigningKey(string(data)); msg != "" {
				section("iam_responder.signing_key_file", problem.List{{Msg: string(r.SigningKeyFile) + ": " + msg}})
			}
		} else if r.SigningKeySecretARN == "" && r.SigningKey != "" {
			if msg := checkSigningKey(r.SigningKey); msg != "" {
				section("iam_responder", problem.List{{Msg: "LOCKGATE_SIGNING_KEY: " + msg}})
			}
		}
	}
	if len(probs) > 0 {
		return nil, src.Locate(probs)
	}
	return s, nil
}

// checkSigningKey checks a signing key as the responder reads it at
// start (appkey.Load trims it, lockclient decodes the base64 and wants
// 128 bits), so that validate's "ok" means serve starts; "" when fine.
func checkSigningKey(text string) string {
	key, err := lockclient.DecodeKey(strings.TrimSpace(text))
	switch {
	case err != nil:
		return "not a base64 signing key (the secret lockgate app create or app rotate-key shows)"
	case len(key) < 16:
		return fmt.Sprintf("holds a %d-byte key: at least 16 bytes (128 bits) are required; use the application's signing key as lockgate shows it", len(key))
	}
	return ""
}

// minWebhookSecret is the shortest iam_responder.webhook_secret accepted:
// 256 bits when each byte carries one, as the admin token's minimum.
const minWebhookSecret = 32

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
	s.api = httpapi.New(httpapi.Options{Service: s.svc, Logger: s.log, Registry: reg, Auth: cfg.Auth, Now: s.opts.Now})
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
	if pc.Origin == "" && len(s.cfg.PublicURLs) > 0 {
		pc.Origin = s.cfg.PublicURLs[0]
	}
	if pc.Origin == "" { // a Config not made by Load: follow the listen address
		pc.Origin = publicURLFor(s.cfg.Listen, s.cfg.TLS.Enabled())
	}
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
		ro, err := redis.ParseURL(u)
		if err != nil {
			return fmt.Errorf("waf.redis_url: %w", err)
		}
		budget := s.cfg.WAF.RedisTimeout.Std()
		redisstore.Bound(ro, budget) // a hung Redis costs a request this much, once
		s.redis = redisstore.New(redis.NewClient(ro), redisstore.Options{
			Prefix: s.cfg.WAF.RedisPrefix, MaxKeys: s.cfg.WAF.MaxKeysPerRule, Timeout: budget,
			OnHealth: func(err error) {
				if err != nil {
					s.log.Error("Redis is not answering: each gateway now enforces rate limits on its own traffic only", "error", err)
				} else {
					s.log.Info("Redis answers again: rate-based counts are shared")
				}
			},
		})
	}
	return nil
}

// openResponder builds the IAM lockout responder's HTTP endpoints.
func (s *Server) openResponder(ctx context.Context, rc awsiam.Settings) error {
	if err := awsiam.CheckAPIURI(rc.APIURI, s.cfg.PublicURLs); err != nil {
		return err
	}
	awsCfg, err := awsiam.AWSConfig(ctx)
	if err != nil {
		return fmt.Errorf("iam_responder: AWS configuration: %w", err)
	}
	resp, err := awsiam.New(ctx, rc, awsCfg, s.log)
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
	g.Go(func() error { return s.serveAPI(gctx, lns.Main) })
	if s.gateway != nil && lns.Gateway != nil {
		g.Go(func() error {
			if err := s.gateway.Run(gctx, lns.Gateway); err != nil {
				return fmt.Errorf("gateway: %w", err)
			}
			return nil
		})
	}
	if s.fwd != nil && (lns.ForwardAuth != nil || lns.ForwardAuthGRPC != nil) {
		g.Go(func() error {
			if err := s.fwd.Run(gctx, lns.ForwardAuth, lns.ForwardAuthGRPC); err != nil {
				return fmt.Errorf("forward_auth: %w", err)
			}
			return nil
		})
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
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout.Std())
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}
