// Package server assembles a running lockgate from its configuration:
// storage, the master key, the lock service, its HTTP API, the webhook
// dispatcher and the timed-relock loop, with graceful shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/lockgate/lockgate/internal/awsiam"
	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/httpapi"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/webhook"
	"github.com/lockgate/lockgate/waf/ratelimit"
)

// Server is a configured lockgate, ready to serve.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	store   *store.Store
	box     *secretbox.Box
	svc     *lock.Service
	handler http.Handler
	gateway *gateway.Gateway
	redis   *ratelimit.RedisStore
	// AdminToken is set when this start created the first admin token;
	// the caller shows it once.
	AdminToken string
}

// Options change how Open builds the server, for tests.
type Options struct {
	Now func() time.Time
	// LoadConfig reads the configuration again, for gateway reloads; the
	// configuration given to Open is reused when nil.
	LoadConfig func() (config.Config, error)
}

// Open prepares a server: storage migrated, master key checked, first
// admin token ensured.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*Server, error) {
	dsn := cfg.DatabaseURL
	if dsn == "" {
		dsn = cfg.SQLitePath()
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: st}
	if err := s.openBox(ctx); err != nil {
		st.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.svc = lock.New(lock.Options{
		Store:              st,
		Box:                s.box,
		Audiences:          cfg.PublicURLs,
		Leeway:             cfg.LockCheck.Leeway.Std(),
		MaxTokenLifetime:   cfg.LockCheck.MaxTokenLifetime.Std(),
		KeyCacheTTL:        cfg.LockCheck.KeyCacheTTL.Std(),
		MaxIntegrationData: cfg.LockCheck.MaxIntegrationKiB << 10,
		Country:            geo.Country,
		Now:                opts.Now,
		Logger:             log,
	})
	if s.AdminToken, err = s.svc.EnsureAdminToken(ctx, cfg.AdminToken); err != nil {
		st.Close()
		return nil, fmt.Errorf("admin token: %w", err)
	}
	api := httpapi.New(httpapi.Options{Service: s.svc, Logger: log, Registry: reg})
	s.handler = api
	if cfg.Gateway.Listen != "" {
		if err := s.openGateway(ctx, cfg, reg, opts); err != nil {
			st.Close()
			return nil, err
		}
		mux := http.NewServeMux()
		mux.Handle("/", api)
		mux.Handle("/api/v1/admin/gateway/", s.adminOnly(s.gateway.AdminHandler("/api/v1/admin/gateway")))
		s.handler = mux
	}
	if rc := cfg.IAMResponder; rc.Enabled {
		awsCfg, err := awsiam.AWSConfig(ctx)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("iam_responder: AWS configuration: %w", err)
		}
		resp, err := awsiam.New(ctx, rc, awsCfg, log)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("iam_responder: %w", err)
		}
		mux, ok := s.handler.(*http.ServeMux)
		if !ok {
			mux = http.NewServeMux()
			mux.Handle("/", api)
		}
		(&awsiam.Handler{R: resp, EventsSecret: rc.EventsSecret, EventsHeader: rc.EventsSecretHeader, WebhookSecret: rc.WebhookSecret, Sessions: &awsiam.Sessions{}}).Register(mux)
		s.handler = mux
		log.Info("AWS IAM lockout responder enabled", "events", "/events/aws-signin", "pushes", "/events/lock-changed")
	}
	return s, nil
}

// openGateway builds the WAF gateway (and its Redis counter store when
// configured).
func (s *Server) openGateway(ctx context.Context, cfg config.Config, reg *prometheus.Registry, opts Options) error {
	if u := cfg.WAF.RedisURL; u != "" {
		ro, err := redis.ParseURL(u)
		if err != nil {
			return fmt.Errorf("waf.redis_url: %w", err)
		}
		s.redis = ratelimit.NewRedisStore(redis.NewClient(ro), ratelimit.RedisOptions{
			Prefix: cfg.WAF.RedisPrefix, MaxKeys: cfg.WAF.MaxKeysPerRule,
			OnHealth: func(err error) {
				if err != nil {
					s.log.Error("Redis is not answering: each gateway now enforces rate limits on its own traffic only", "error", err)
				} else {
					s.log.Info("Redis answers again: rate-based counts are shared")
				}
			},
		})
	}
	load := opts.LoadConfig
	if load == nil {
		load = func() (config.Config, error) { return cfg, nil }
	}
	g, err := gateway.New(gateway.Options{Load: load, Logger: s.log, Registry: reg, Redis: s.redis})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	s.gateway = g
	return nil
}

// Gateway is the WAF gateway, or nil when none is configured.
func (s *Server) Gateway() *gateway.Gateway { return s.gateway }

// adminOnly lets through requests bearing an admin token.
func (s *Server) adminOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok {
			if admin, err := s.svc.IsAdmin(r.Context(), tok); err == nil && admin {
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"an admin token is required"}`+"\n")
	})
}

// keyCheck is sealed under the master key when a database is first used;
// a later start with another key cannot open it and refuses to run rather
// than answer every check with 401.
const keyCheck = "master_key_check"

func (s *Server) openBox(ctx context.Context) error {
	var key []byte
	var err error
	switch {
	case s.cfg.MasterKey != "":
		key, err = secretbox.ParseKey(s.cfg.MasterKey)
	default:
		path := s.cfg.MasterKeyFile
		if path == "" {
			path = filepath.Join(s.cfg.DataDir, "master.key")
		}
		var created bool
		key, created, err = secretbox.LoadOrCreateKeyFile(path)
		if created {
			s.log.Info("created a master key file; back it up: without it signing keys cannot be read", "path", path)
			if s.store.Dialect() == "postgres" {
				s.log.Warn("a master key file was generated for a shared PostgreSQL database: every replica needs the same key (set LOCKGATE_MASTER_KEY)")
			}
		}
	}
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if s.box, err = secretbox.New(key); err != nil {
		return err
	}
	stored, err := s.store.InitMeta(ctx, keyCheck, s.box.Seal([]byte("lockgate"), keyCheck))
	if err != nil {
		return err
	}
	if _, err := s.box.Open(stored, keyCheck); err != nil {
		return errors.New("master key: this is not the key the database was created with (check LOCKGATE_MASTER_KEY or the key file)")
	}
	return nil
}

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler { return s.handler }

// Service returns the lock service.
func (s *Server) Service() *lock.Service { return s.svc }

// Close closes storage after queued writes finish.
func (s *Server) Close() error { return s.store.Close() }

// Background runs the webhook dispatcher and the timed-relock loop until
// ctx ends; the returned function waits for them to stop.
func (s *Server) Background(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	d := &webhook.Dispatcher{
		Store:       s.store,
		Secrets:     s.box,
		MaxAttempts: s.cfg.Webhooks.MaxAttempts,
		MaxBackoff:  s.cfg.Webhooks.MaxBackoff.Std(),
		Timeout:     s.cfg.Webhooks.Timeout.Std(),
		Logger:      s.log,
		Wake:        s.svc.Queued(),
	}
	wg.Add(2)
	go func() { defer wg.Done(); d.Run(ctx) }()
	go func() { defer wg.Done(); s.svc.RunRelocker(ctx, time.Second) }()
	return wg.Wait
}

// Serve listens on ln until ctx ends, then stops accepting, lets in-flight
// requests finish (up to the shutdown timeout), stops background work and
// closes storage.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	tlsOn := s.cfg.TLS.CertFile != ""
	if tlsOn {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	bgCtx, stopBg := context.WithCancel(context.Background())
	waitBg := s.Background(bgCtx)
	var gw *http.Server
	if s.gateway != nil {
		gcfg := s.cfg.Gateway
		gln, err := net.Listen("tcp", gcfg.Listen)
		if err != nil {
			stopBg()
			waitBg()
			return fmt.Errorf("gateway.listen: %w", err)
		}
		gw = &http.Server{
			Handler:           s.gateway,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       gcfg.ReadTimeout.Std(),
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
		go s.gateway.Watch(bgCtx, 2*time.Second)
		go func() {
			var err error
			if gcfg.TLS.CertFile != "" {
				err = gw.ServeTLS(gln, gcfg.TLS.CertFile, gcfg.TLS.KeyFile) // HTTP/2 negotiated by ALPN
			} else {
				err = gw.Serve(gln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("gateway stopped", "error", err)
			}
		}()
		s.log.Info("gateway serving", "addr", gln.Addr().String(), "routes", len(gcfg.Routes))
	}
	errc := make(chan error, 1)
	go func() {
		if tlsOn {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.log.Info("lockgate serving", "addr", ln.Addr().String(), "tls", tlsOn, "storage", s.store.Dialect(), "public_urls", s.cfg.PublicURLs)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down: finishing in-flight requests")
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout.Std())
		err = srv.Shutdown(sctx)
		if gw != nil {
			if gerr := gw.Shutdown(sctx); err == nil {
				err = gerr
			}
		}
		cancel()
	}
	stopBg()
	waitBg()
	if s.gateway != nil {
		if gerr := s.gateway.Close(); err == nil {
			err = gerr
		}
	}
	if s.redis != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.redis.Close(cctx) // sends the counts still held
		cancel()
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
