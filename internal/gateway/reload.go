package gateway

import (
	"context"
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
	t := time.NewTicker(interval)
	defer t.Stop()
	var w watcher
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.poll(g)
		}
	}
}

// watcher remembers the version of the files a reload refused, so that a
// broken file is refused once, not at every tick.
type watcher struct {
	refused map[string]time.Time
}

// poll is one tick of Watch: it reloads when a watched file changed since
// the running configuration was built, unless that version was refused
// already. It reports whether it tried.
func (w *watcher) poll(g *Gateway) bool {
	st := g.state.Load()
	now := map[string]time.Time{}
	changed := ""
	for f, mt := range st.files {
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
	g.log.Info("gateway: a configuration file changed", "file", changed)
	if g.Reload() != nil {
		w.refused = now
	} else {
		w.refused = nil
	}
	return true
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
