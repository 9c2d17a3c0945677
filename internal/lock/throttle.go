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
type throttle struct {
	every time.Duration
	mu    sync.Mutex
	m     map[throttleKey]*burst
}

type throttleKey struct{ app, key string }

type burst struct {
	since   time.Time // when the last event (single or summary) was queued
	pending bool      // attempts were held back since
}

// maxBursts bounds the memory of the throttle; past it, attempts of new
// accounts are sent unthrottled rather than forgotten.
const maxBursts = 100_000

func newThrottle(every time.Duration) *throttle {
	return &throttle{every: every, m: map[throttleKey]*burst{}}
}

// admit reports whether an attempt.locked for the account is sent now;
// when not, the attempt is to be recorded Unalerted.
func (t *throttle) admit(app, key string, now time.Time) bool {
	if t.every <= 0 {
		return true
	}
	k := throttleKey{app, key}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.m[k]
	if b == nil {
		if len(t.m) < maxBursts {
			t.m[k] = &burst{since: now}
		}
		return true
	}
	if !b.pending && now.Sub(b.since) >= t.every {
		b.since = now
		return true
	}
	b.pending = true
	return false
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
		if u.AccountID != "" {
			if acc, err := s.store.AccountByID(ctx, u.AccountID); err == nil {
				personID = acc.PersonID
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		hooks, err := listHooks(ctx, s.store, u.AppID, personID)
		if err != nil {
			return err
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
