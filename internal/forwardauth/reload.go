package forwardauth

import (
	"context"
	"errors"
	"time"

	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/webacl"
)

// Snapshot is what one load of the configuration gives forward auth: its
// section, the provisioned waf section its web ACLs compile with, and
// files to watch besides the web ACLs and the waf section's own (the
// configuration file).
type Snapshot struct {
	Config Config
	WAF    *webacl.Set
	Files  []string
}

// Reload reads the configuration again (Options.Load) and builds it, as
// the gateway's Reload: the next decision uses the new one, while
// decisions in flight finish on the old. A bad file leaves the running
// configuration deciding and is returned (and logged, and counted in
// lockgate_forward_auth_reloads_total{result="error"}). Listeners and the
// log file are those of the start: a change to them waits for a restart.
func (s *Service) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{Config: s.state.Load().cfg, WAF: s.opts.WAF, Files: s.opts.Files}
	var err error
	if s.opts.Load != nil {
		snap, err = s.opts.Load()
	}
	if err == nil && !snap.Config.Enabled() {
		err = errors.New("forward_auth has no listen or grpc_listen any more: a reload cannot stop it (restart lockgate)")
	}
	if err == nil {
		st, warnings, probs := s.build(snap)
		if err = probs.Err(); err == nil {
			prev := s.state.Swap(st)
			s.metrics.reloads.WithLabelValues("ok").Inc()
			s.log.Info("forward auth configuration reloaded", "routes", len(st.routes))
			for _, w := range warnings {
				s.log.Warn("forward auth: "+w.Msg, "path", "forward_auth."+w.Path)
			}
			for _, w := range gateway.Unprotected(prev.webACLs(), st.webACLs()) {
				s.log.Warn("forward auth reload weakens protection: " + w)
			}
			c := snap.Config
			if c.Listen != s.cfg.Listen || c.GRPCListen != s.cfg.GRPCListen || c.Log.File != s.cfg.Log.File {
				s.log.Warn("forward auth: listen, grpc_listen and log.file keep their values until lockgate restarts")
			}
			return nil
		}
	}
	s.metrics.reloads.WithLabelValues("error").Inc()
	s.log.Error("forward auth reload refused: the running configuration keeps deciding", "error", err)
	return err
}

// Watch reloads when a web ACL file, a file of the waf section or the
// configuration changes, checking every interval, until ctx ends.
func (s *Service) Watch(ctx context.Context, interval time.Duration) {
	var w gateway.Watcher
	w.Run(ctx, interval, s.log, "forward auth", s.watched, s.Reload)
}

// watched are the files of the running configuration and their
// versions when it was built.
func (s *Service) watched() gateway.Watched { return s.state.Load().files }

// webACLs maps st's routes to their web ACLs' names ("" for none).
func (st *state) webACLs() map[string]string {
	m := make(map[string]string, len(st.routes))
	for _, rt := range st.routes {
		m[rt.name] = rt.webACL
	}
	return m
}
