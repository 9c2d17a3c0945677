package server

import (
	"errors"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/forwardauth"
	"github.com/lockgate/lockgate/problem"
)

// forwardAuthorizer resolves a forward_auth route's authorizer name.
func (s *Server) forwardAuthorizer(name string) *authz.Authorizer {
	if s.authz == nil {
		return nil
	}
	return s.authz.Authorizer(name)
}

// provisionForwardAuth builds forward auth for cfg, counting in Redis
// once the server has connected it.
func provisionForwardAuth(s *Server, cfg Config) (*forwardauth.Service, problem.List) {
	var files []string // watched from the start, not only after a first reload
	if s.src != nil && s.src.File != "" {
		files = []string{s.src.File}
	}
	return forwardauth.Provision(cfg.ForwardAuth, forwardauth.Options{WAF: s.waf, Authorizer: s.forwardAuthorizer,
		Logger: s.log, Redis: s.redis, ShutdownTimeout: cfg.ShutdownTimeout.Std(), Load: s.reloadForwardAuth, Files: files})
}

// reloadForwardAuth reads the configuration again for forward auth: its
// section and the waf section, checked as at start.
func (s *Server) reloadForwardAuth() (forwardauth.Snapshot, error) {
	cfg, set, files, err := s.reload("forward_auth", func(c Config) problem.List { return c.ForwardAuth.Validate() })
	if err != nil {
		return forwardauth.Snapshot{}, err
	}
	return forwardauth.Snapshot{Config: cfg.ForwardAuth, WAF: set, Files: files}, nil
}

// openForwardAuth opens forward auth's log and metrics (and the Redis
// counter store its web ACLs count in when the waf section names one).
func (s *Server) openForwardAuth(reg *prometheus.Registry) error {
	if err := s.openRedis(); err != nil {
		return err
	}
	if s.redis != nil { // rebuilt with the shared counters
		fwd, probs := provisionForwardAuth(s, s.cfg)
		if len(probs) > 0 {
			return fmt.Errorf("forward_auth: %w", probs)
		}
		s.fwd = fwd
	}
	return s.fwd.Open(reg)
}

// listenForwardAuth binds forward auth's addresses.
func (s *Server) listenForwardAuth(l *Listeners) error {
	fc := s.cfg.ForwardAuth
	if s.fwd == nil {
		return nil
	}
	var err error
	if fc.Listen != "" {
		if l.ForwardAuth, err = net.Listen("tcp", fc.Listen); err != nil {
			return fmt.Errorf("forward_auth.listen %s: %w", fc.Listen, errors.Unwrap(err))
		}
	}
	if fc.GRPCListen != "" {
		if l.ForwardAuthGRPC, err = net.Listen("tcp", fc.GRPCListen); err != nil {
			return fmt.Errorf("forward_auth.grpc_listen %s: %w", fc.GRPCListen, errors.Unwrap(err))
		}
	}
	return nil
}

// ForwardAuth is forward auth, or nil when it is not configured.
func (s *Server) ForwardAuth() *forwardauth.Service { return s.fwd }

// Warnings are what provisioning accepted that a reader of the
// configuration should know (rules a forward-auth proxy cannot feed),
// located in the file when there is one.
func (s *Server) Warnings() problem.List { return s.warnings }
