package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"
)

// Reload reads the configuration again. A bad file leaves the running
// configuration serving and is returned (and logged).
func (g *Gateway) Reload() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	snap, err := g.load()
	if err == nil {
		var st *state
		if st, err = g.build(snap); err == nil {
			prev := g.state.Swap(st)
			g.metrics.reloads.WithLabelValues("ok").Inc()
			g.log.Info("gateway configuration reloaded", "routes", len(st.routes))
			for _, w := range Unprotected(webACLs(prev), webACLs(st)) {
				g.log.Warn("gateway reload weakens protection: " + w)
			}
			return nil
		}
	}
	g.metrics.reloads.WithLabelValues("error").Inc()
	g.log.Error("gateway reload refused: the running configuration keeps serving", "error", err)
	return err
}

// Watch reloads when the configuration or a file it names changes,
// checking every interval, until ctx ends.
func (g *Gateway) Watch(ctx context.Context, interval time.Duration) {
	var w Watcher
	w.Run(ctx, interval, g.log, "gateway", func() Watched { return g.state.Load().files }, g.Reload)
}

// watcher is the gateway's Watcher.
type watcher struct{ Watcher }

// poll is one tick of Watch (tests drive it).
func (w *watcher) poll(g *Gateway) bool {
	return w.Poll(g.log, "gateway", g.state.Load().files, g.Reload)
}

// Watcher reloads a configuration when a file it was built from changes.
// A change is applied once it has held still for one tick — two
// consecutive observations of every file agree — so that a file being
// written in place is not loaded half-written (a prefix of an IP set, or
// of lockgate.yaml cut before a route's web_acl, is valid and weaker);
// writers should still replace files atomically (write, then rename),
// since a writer pausing longer than a tick is seen as done. The version
// a reload refused is remembered, so a broken file is refused once, not
// at every tick. Forward auth reloads with it too.
type Watcher struct {
	// loaded are the versions the last reload it made observed before
	// reading the files, its baseline for them instead of the versions
	// the build recorded after reading: a file written during the reload
	// differs from them, and is read again once it holds still. (After a
	// reload by SIGHUP, a file changed since costs one more reload.)
	loaded  Watched
	pending Watched // the last observation that differed, waiting to hold still
	refused Watched
}

// Poll is one tick: it calls reload when a file of files (the watched
// files and their versions when the running configuration was built)
// changed and has not changed since the previous tick, unless that
// version was refused already. It reports whether it tried. what names
// the component in the log.
func (w *Watcher) Poll(log *slog.Logger, what string, files Watched, reload func() error) bool {
	now := make(Watched, len(files))
	changed := ""
	for _, f := range slices.Sorted(maps.Keys(files)) {
		v := ReadVersion(f)
		now[f] = v
		was, ok := w.loaded[f]
		if !ok {
			was = files[f]
		}
		if !v.same(was) && changed == "" {
			changed = f
		}
	}
	if changed == "" {
		w.pending = nil
		return false
	}
	if !sameVersions(now, w.pending) {
		if w.pending == nil {
			log.Info(what+": a configuration file changed; reloading once it holds still for one check", "file", changed)
		}
		w.pending = now // still being written, or first seen: wait a tick
		return false
	}
	if sameVersions(now, w.refused) {
		return false // the version a reload already refused
	}
	log.Info(what+": a configuration file changed", "file", changed)
	w.pending = nil
	if reload() != nil {
		w.refused = now
		return true
	}
	w.refused, w.loaded = nil, now
	return true
}

// Run calls Poll every interval, with the files of the running
// configuration, until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration, log *slog.Logger, what string, files func() Watched, reload func() error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Poll(log, what, files(), reload)
		}
	}
}

// Unprotected names the routes a new configuration leaves without the
// web ACL they had (routes maps a route's name to its web ACL's, "" for
// none): the reload weakens protection, and the log says so loudly.
func Unprotected(before, after map[string]string) []string {
	var out []string
	for name, acl := range before {
		if acl == "" {
			continue
		}
		if now, ok := after[name]; !ok {
			out = append(out, fmt.Sprintf("route %q (web ACL %s) is gone: its requests go to another route, if one covers them", name, acl))
		} else if now == "" {
			out = append(out, fmt.Sprintf("route %q no longer has a web ACL (it had %s): its requests are not inspected", name, acl))
		}
	}
	slices.Sort(out)
	return out
}

// webACLs maps st's routes to their web ACLs' names ("" for none).
func webACLs(st *state) map[string]string {
	m := map[string]string{}
	if st == nil {
		return m
	}
	for _, rt := range st.routes {
		m[rt.name] = ""
		if rt.acl != nil {
			m[rt.name] = rt.acl.Name
		}
	}
	return m
}
