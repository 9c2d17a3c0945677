package lock

import (
	"context"
	"sync"
	"time"
)

// throttle bounds the attempt.locked events one account causes: every
// check of a locked account would otherwise queue one per webhook, and
// end users choose how often they try. The first attempt of an interval
// is sent at once; later ones are counted and sent as one
// attempt.locked.summary when the interval ends. The counts live in this
// replica's memory: each replica throttles its own checks, and a crash
// loses at most one interval's summary (the attempts themselves are
// recorded durably either way).
type throttle struct {
	every time.Duration
	mu    sync.Mutex
	m     map[throttleKey]*burst
}

type throttleKey struct{ app, key string }

type burst struct {
	since       time.Time // when the last event (single or summary) was queued
	count       int       // attempts not sent since
	first, last time.Time
	appName     string
	personID    string
}

// maxBursts bounds the memory of the throttle; past it, attempts of new
// accounts are sent unthrottled rather than forgotten.
const maxBursts = 100_000

func newThrottle(every time.Duration) *throttle {
	return &throttle{every: every, m: map[throttleKey]*burst{}}
}

// admit reports whether an attempt.locked for the account is sent now; when
// not, it is counted for the summary.
func (t *throttle) admit(app, appName, key, personID string, now time.Time) bool {
	if t.every <= 0 {
		return true
	}
	k := throttleKey{app, key}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.m[k]
	if b == nil {
		if len(t.m) < maxBursts {
			t.m[k] = &burst{since: now, appName: appName, personID: personID}
		}
		return true
	}
	if b.count == 0 && now.Sub(b.since) >= t.every {
		b.since = now
		return true
	}
	if b.count == 0 {
		b.first = now
	}
	b.count++
	b.last = now
	b.personID = personID
	return false
}

type summary struct {
	app, appName, key, personID string
	count                       int
	first, last                 time.Time
}

// due takes the summaries whose interval has ended, and forgets accounts
// that were quiet for a whole interval.
func (t *throttle) due(now time.Time) []summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []summary
	for k, b := range t.m {
		if now.Sub(b.since) < t.every {
			continue
		}
		if b.count == 0 {
			delete(t.m, k)
			continue
		}
		out = append(out, summary{app: k.app, appName: b.appName, key: k.key, personID: b.personID, count: b.count, first: b.first, last: b.last})
		b.count, b.since = 0, now
	}
	return out
}

// FlushSummaries queues the attempt.locked.summary events that are due.
func (s *Service) FlushSummaries(ctx context.Context) error {
	now := s.now()
	var events []Event
	for _, sm := range s.throttle.due(now) {
		ev, err := s.events(ctx, "attempt.locked.summary", now, map[string]any{
			"application": map[string]string{"id": sm.app, "name": sm.appName},
			"person_id":   sm.personID,
			"username":    sm.key,
			"count":       sm.count,
			"first_at":    sm.first,
			"last_at":     sm.last,
			"interval":    s.throttle.every.String(),
		}, sm.app, sm.personID)
		if err != nil {
			return err
		}
		events = append(events, ev...)
	}
	if len(events) == 0 {
		return nil
	}
	if err := s.store.QueueEvents(ctx, events); err != nil {
		return err
	}
	s.wake()
	return nil
}
