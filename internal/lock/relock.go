package lock

import (
	"context"
	"errors"
	"time"
)

// relockStore is what the timed relock needs: the accounts whose unlock
// ended, the webhooks their events go to, and the change itself.
type relockStore interface {
	// DueRelocks lists accounts whose timed unlock ended at or before now.
	DueRelocks(ctx context.Context, now time.Time, limit int) ([]Account, error)
	hookLister
	lockWriter
}

// Relock locks every account whose timed unlock has ended, recording the
// change and sending its event. Checks already treat such accounts as
// locked; this makes the state, history and integrations agree.
func (s *Service) Relock(ctx context.Context) (int, error) {
	return relock(ctx, s.store, s.now, s.wake)
}

func relock(ctx context.Context, st relockStore, now func() time.Time, wake func()) (int, error) {
	n := 0
	for {
		due, err := st.DueRelocks(ctx, now(), 100)
		if err != nil || len(due) == 0 {
			return n, err
		}
		at := now()
		// An account changed since it was listed (locked, or unlocked
		// again) is left as it now is.
		stillDue := func(a Account) bool { return !a.UnlockUntil.IsZero() && !at.Before(a.UnlockUntil) }
		_, err = applyChanges(ctx, st, st, due, Target{Lock: true, Reason: "timed unlock ended"}, Actor{Name: "lockgate:timed-relock"}, at, wake, stillDue)
		if err != nil && !errors.Is(err, ErrConflict) {
			return n, err
		}
		if err == nil {
			n += len(due)
		}
		if len(due) < 100 {
			return n, nil
		}
	}
}

// RunRelocker calls Relock every interval, and sends the summaries of
// throttled attempt.locked events that are due, until ctx ends.
func (s *Service) RunRelocker(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Relock(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("timed relock failed", "err", err)
		} else if n > 0 {
			s.log.Info("timed unlocks ended", "relocked", n)
		}
		if err := s.FlushSummaries(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("attempt.locked summaries failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
