package gateway

import (
	"context"
	"log/slog"
	"os"
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
			g.state.Store(st)
			g.metrics.reloads.WithLabelValues("ok").Inc()
			g.log.Info("gateway configuration reloaded", "routes", len(st.routes))
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
	w.Run(ctx, interval, g.log, "gateway", func() map[string]time.Time { return g.state.Load().files }, g.Reload)
}

// watcher is the gateway's Watcher.
type watcher struct{ Watcher }

// poll is one tick of Watch (tests drive it).
func (w *watcher) poll(g *Gateway) bool {
	return w.Poll(g.log, "gateway", g.state.Load().files, g.Reload)
}

// Watcher reloads a configuration when a file it was built from changes,
// remembering the version of the files a reload refused, so that a
// broken file is refused once, not at every tick. Forward auth reloads
// with it too.
type Watcher struct {
	refused map[string]time.Time
}

// Poll is one tick: it calls reload when a file of files (the watched
// files and their modification times when the running configuration was
// built) changed, unless that version was refused already. It reports
// whether it tried. what names the component in the log.
func (w *Watcher) Poll(log *slog.Logger, what string, files map[string]time.Time, reload func() error) bool {
	now := map[string]time.Time{}
	changed := ""
	for f, mt := range files {
		fi, err := os.Stat(f)
		if err == nil {
			now[f] = fi.ModTime()
		}
		if (err != nil || !fi.ModTime().Equal(mt)) && changed == "" {
			changed = f
		}
	}
	if changed == "" || sameTimes(now, w.refused) {
		return false // unchanged, or the version a reload already refused
	}
	log.Info(what+": a configuration file changed", "file", changed)
	if reload() != nil {
		w.refused = now
	} else {
		w.refused = nil
	}
	return true
}

// Run calls Poll every interval, with the files of the running
// configuration, until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration, log *slog.Logger, what string, files func() map[string]time.Time, reload func() error) {
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

func sameTimes(a, b map[string]time.Time) bool {
	if b == nil || len(a) != len(b) {
		return false
	}
	for f, t := range a {
		if !b[f].Equal(t) {
			return false
		}
	}
	return true
}
