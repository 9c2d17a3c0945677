package lock

import (
	"context"
	"errors"
	"sync"
	"time"
)

// throttle bounds the attempt.locked events one account causes: every
// check of a locked account would otherwise queue one per webhook, and
// end users choose how often they try. The first attempt of an interval
// is sent at once; later ones are recorded Unalerted with the attempt
// itself, in the store, and counted by one attempt.locked.summary when
// the interval ends. The store, not this replica's memory, holds what is
// still to be summarised: a restart or a crash loses none of it, and the
// summaries of attempts recorded before it are sent after it. Memory
// holds only when each account's last event was sent, so that this
// replica's checks are throttled.
//
// Checks of accounts without an owner (unknown names an application
// answers locked, accounts enrolled without a person) are also capped per
// application: an end user typing new names would otherwise cause one
// event per name, each a first. At most perApp of their events (singles
// and per-account summaries) are sent per interval and application; the
// rest are held back too and counted by one summary of the application's
// (username ""). Owned accounts are left to the per-account throttle:
// their owners are alerted, and only admins make more of them.
type throttle struct {
	every  time.Duration
	perApp int // 0: no per-application cap
	mu     sync.Mutex
	m      map[throttleKey]*burst
	apps   map[string]*window
}

// window counts the events for unowned accounts of one application in the
// interval that started at start.
type window struct {
	start time.Time
	n     int
}

type throttleKey struct{ app, key string }

type burst struct {
	since   time.Time // when the last event (single or summary) was queued
	pending bool      // attempts were held back since
}

// maxBursts bounds the memory of the throttle; past it, attempts of new
// accounts are sent unthrottled rather than forgotten.
const maxBursts = 100_000

func newThrottle(every time.Duration, perApp int) *throttle {
	return &throttle{every: every, perApp: perApp, m: map[throttleKey]*burst{}, apps: map[string]*window{}}
}

// admit reports whether an attempt.locked for the account is sent now;
// when not, the attempt is to be recorded Unalerted. owned says whether
// the account has an owner (see throttle).
func (t *throttle) admit(app, key string, owned bool, now time.Time) bool {
	if t.every <= 0 {
		return true
	}
	k := throttleKey{app, key}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.m[k]
	if b != nil && (b.pending || now.Sub(b.since) < t.every) {
		b.pending = true
		return false
	}
	// A name held back by the application's cap is not marked as sent:
	// its next check meets the cap again, not its own interval.
	if !owned && !t.spendLocked(app, now) {
		return false
	}
	if b != nil {
		b.since = now
	} else if len(t.m) < maxBursts {
		t.m[k] = &burst{since: now}
	}
	return true
}

// spendOn is spend for the summary of an unowned account's held-back
// attempts: only an account this replica sent an event for in its last
// interval gets one of its own; the attempts of others were held back by
// the cap (or before a restart) and go to the application's summary.
func (t *throttle) spendOn(app, key string, now time.Time) bool {
	if t.perApp <= 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[throttleKey{app, key}] == nil {
		return false
	}
	return t.spendLocked(app, now)
}

// spendLocked takes one event for an unowned account of app from the
// application's cap, reporting whether there was one left; t.mu is held.
func (t *throttle) spendLocked(app string, now time.Time) bool {
	if t.perApp <= 0 {
		return true
	}
	w := t.apps[app]
	if w == nil || now.Sub(w.start) >= t.every {
		w = &window{start: now}
		t.apps[app] = w
	}
	if w.n >= t.perApp {
		return false
	}
	w.n++
	return true
}

// due reports whether the summary of an account's held-back attempts,
// the first at first, may be sent at now: an interval after this
// replica's last event for it, or, for an account this replica has sent
// nothing for (attempts recorded before a restart, or by another
// replica), an interval after the first of them. Either way no two
// events of the account are closer than the interval.
func (t *throttle) due(app, key string, first, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.m[throttleKey{app, key}]; b != nil {
		return now.Sub(b.since) >= t.every
	}
	return now.Sub(first) >= t.every
}

// sent notes a summary queued at now.
func (t *throttle) sent(app, key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := throttleKey{app, key}
	if b := t.m[k]; b != nil {
		b.since, b.pending = now, false
	} else if len(t.m) < maxBursts {
		t.m[k] = &burst{since: now}
	}
}

// forget drops the accounts whose interval has ended with nothing left to
// summarise (held back names those that still have some in the store).
func (t *throttle) forget(held map[throttleKey]bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, b := range t.m {
		if now.Sub(b.since) >= t.every && !held[k] {
			delete(t.m, k)
		}
	}
	for app, w := range t.apps {
		if now.Sub(w.start) >= t.every {
			delete(t.apps, app)
		}
	}
}

// FlushSummaries queues the attempt.locked.summary events that are due,
// for the attempts the store holds Unalerted: this replica's, those of
// other replicas, and those recorded before a restart.
func (s *Service) FlushSummaries(ctx context.Context) error {
	now := s.now()
	pending, err := s.store.UnalertedAccounts(ctx)
	if err != nil {
		return err
	}
	held := map[throttleKey]bool{}
	apps := map[string]Application{}
	queued := false
	for _, u := range pending {
		if !s.throttle.due(u.AppID, u.Username, u.First, now) {
			held[throttleKey{u.AppID, u.Username}] = true
			continue
		}
		app, ok := apps[u.AppID]
		if !ok {
			if app, err = s.store.Application(ctx, u.AppID); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			apps[u.AppID] = app
		}
		var personID string
		if u.AccountID != "" && u.Username != "" {
			if acc, err := s.store.AccountByID(ctx, u.AccountID); err == nil {
				personID = acc.PersonID
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if personID == "" && u.Username != "" && !s.throttle.spendOn(u.AppID, u.Username, now) {
			// Held back by the application's cap, or the cap is spent:
			// the account's attempts join the application's summary
			// (due by its own interval).
			if err := s.store.FoldUnalerted(ctx, u.AppID, u.Username); err != nil {
				return err
			}
			held[throttleKey{u.AppID, ""}] = true
			continue
		}
		hooks, err := listHooks(ctx, s.store, u.AppID, personID)
		if err != nil {
			return err
		}
		scope := "account"
		if u.Username == "" {
			scope = "application"
		}
		err = s.store.SummariseUnalerted(ctx, u.AppID, u.Username, func(u Unalerted) ([]Event, error) {
			return makeEvents(hooks, "attempt.locked.summary", now, map[string]any{
				"application": map[string]string{"id": u.AppID, "name": app.Name},
				"person_id":   personID,
				"username":    u.Username,
				"count":       u.Count,
				"first_at":    u.First,
				"last_at":     u.Last,
				"interval":    s.throttle.every.String(),
				"scope":       scope,
			})
		})
		if err != nil {
			return err
		}
		s.throttle.sent(u.AppID, u.Username, now)
		queued = queued || len(hooks) > 0
	}
	s.throttle.forget(held, now)
	if queued {
		s.wake()
	}
	return nil
}
