package lock

import (
	"context"
	"errors"
	"time"
)

// MaxUnlockFor bounds a timed unlock.
const MaxUnlockFor = 7 * 24 * time.Hour

// Actor says who asks for a change and from where, for the history.
type Actor struct {
	Name string
	IP   string
}

// Target is a lock state to set: locked, unlocked, or unlocked for a while.
type Target struct {
	Lock   bool
	For    time.Duration // with Lock false: 0 unlocks until locked again
	Reason string
}

func (t Target) validate() error {
	if t.For < 0 || t.For > MaxUnlockFor {
		return invalid("for: %s is outside 0..%s", t.For, MaxUnlockFor)
	}
	if t.Lock && t.For != 0 {
		return invalid("for: applies to unlock only")
	}
	if !validText(t.Reason, 500) {
		return invalid("reason: at most 500 bytes of UTF-8, no NUL")
	}
	return nil
}

// retry runs f until it does not meet a concurrent change, waiting a
// jittered, growing time between tries; after the last try the conflict
// is returned (HTTP 409: the client may send the same request again).
func (s *Service) retry(ctx context.Context, f func() error) error {
	for try := 0; ; try++ {
		err := f()
		if !errors.Is(err, ErrConflict) || try+1 >= s.retries {
			return err
		}
		if err := s.sleep(ctx, conflictBackoff(try)); err != nil {
			return err
		}
	}
}

// SetLock sets an account's lock state, enrolling the account when the
// application does not know it yet. username is matched as the
// application matches names.
func (s *Service) SetLock(ctx context.Context, appID, username string, t Target, who Actor) (Account, error) {
	if err := t.validate(); err != nil {
		return Account{}, err
	}
	var out Account
	err := s.retry(ctx, func() error {
		// Read again on every try: a username_match switch meanwhile
		// (ErrMatchChanged) gives the name another key.
		app, err := s.store.Application(ctx, appID)
		if err != nil {
			return err
		}
		key, err := app.canonical(username)
		if err != nil {
			return err
		}
		now := s.now()
		acc, err := s.store.Account(ctx, appID, key)
		if errors.Is(err, ErrNotFound) {
			acc, err = s.enrol(ctx, app, username, key, now)
		}
		if err != nil {
			return err
		}
		accs, err := s.apply(ctx, []Account{acc}, t, who, now)
		if err != nil {
			return err
		}
		out = accs[0]
		return nil
	})
	return out, err
}

// SetLockByID is SetLock for an account known by its ID.
func (s *Service) SetLockByID(ctx context.Context, accountID string, t Target, who Actor) (Account, error) {
	acc, err := s.store.AccountByID(ctx, accountID)
	if err != nil {
		return Account{}, err
	}
	return s.SetLock(ctx, acc.AppID, acc.Username, t, who)
}

// SetLockAll sets every account of a person at once, in one transaction.
func (s *Service) SetLockAll(ctx context.Context, personID string, t Target, who Actor) ([]Account, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	if _, err := s.store.Person(ctx, personID); err != nil {
		return nil, err
	}
	var out []Account
	err := s.retry(ctx, func() error {
		accs, err := s.store.Accounts(ctx, "", personID)
		if err != nil {
			return err
		}
		out, err = s.apply(ctx, accs, t, who, s.now())
		return err
	})
	return out, err
}

// apply moves accounts to the target, skipping those already there, and
// queues a lock.changed event for each change.
func (s *Service) apply(ctx context.Context, accs []Account, t Target, who Actor, now time.Time) ([]Account, error) {
	return applyChanges(ctx, s.store, s.store, accs, t, who, now, s.wake, nil)
}

// applyChanges is apply for any store that lists webhooks and writes lock
// changes (the service's, the relocker's). The webhooks are looked up
// first; the change is then planned on the accounts as the store's
// transaction reads them, so two writers never decide on a stale state.
// still, when not nil, says whether an account (as read then) still
// wants the change. The accounts come back in the order given.
func applyChanges(ctx context.Context, hooks hookLister, w lockWriter, accs []Account, t Target, who Actor, now time.Time, wake func(), still func(Account) bool) ([]Account, error) {
	type owner struct{ app, person string }
	hooksOf := map[owner][]Webhook{}
	ids := make([]string, len(accs))
	order := make(map[string]int, len(accs))
	for i, a := range accs {
		ids[i], order[a.ID] = a.ID, i
		o := owner{a.AppID, a.PersonID}
		if _, ok := hooksOf[o]; !ok {
			hs, err := listHooks(ctx, hooks, a.AppID, a.PersonID)
			if err != nil {
				return nil, err
			}
			hooksOf[o] = hs
		}
	}
	out := make([]Account, len(accs))
	copy(out, accs)
	var queued int
	err := w.ChangeLocks(ctx, ids, func(current []Account) ([]AccountChange, []Event, error) {
		var changes []AccountChange
		var events []Event
		for _, acc := range current {
			i, ok := order[acc.ID]
			if !ok {
				continue
			}
			out[i] = acc
			if still != nil && !still(acc) {
				continue
			}
			at := changeTime(now, acc)
			next := acc
			next.UpdatedAt = at
			next.UnlockUntil = time.Time{}
			next.State = StateUnlocked
			if t.Lock {
				next.State = StateLocked
			} else if t.For > 0 {
				// From this replica's clock, not at: a change recorded
				// after another replica's clock must not unlock for longer.
				next.UnlockUntil = now.Add(t.For).Truncate(time.Microsecond)
			}
			// from is the state as recorded, so each entry starts where the
			// previous one ended: a timed unlock that has run out is still
			// recorded "unlocked", and its relock reads unlocked → locked
			// (receivers act on a transition, not a no-op).
			from := acc.State
			if acc.State == next.State && acc.UnlockUntil.Equal(next.UnlockUntil) {
				continue // already there: no history, no event
			}
			ch := LockChange{
				ID: newID("chg", at), AccountID: acc.ID, AppID: acc.AppID, Username: acc.Username,
				From: from, To: next.State, Actor: who.Name, ActorIP: who.IP, Reason: t.Reason, At: at,
			}
			if !next.UnlockUntil.IsZero() {
				u := next.UnlockUntil
				ch.UnlockUntil = &u
			}
			hs, ok := hooksOf[owner{acc.AppID, acc.PersonID}]
			if !ok { // the owner changed since the lookup: the application's at least
				hs = hooksOf[owner{acc.AppID, ""}]
			}
			// The event is queued by this replica's clock: at may be ahead
			// of it, and an event is not sent before it is created.
			ev, err := makeEvents(hs, "lock.changed", now, map[string]any{"change": ch, "person_id": acc.PersonID})
			if err != nil {
				return nil, nil, err
			}
			events = append(events, ev...)
			changes = append(changes, AccountChange{Account: next, Change: ch})
			next.Version = acc.Version + 1
			out[i] = next
		}
		queued = len(events)
		return changes, events, nil
	})
	if err != nil {
		return nil, err
	}
	if queued > 0 && wake != nil {
		wake()
	}
	return out, nil
}

// changeTime is the time a change of acc planned at now is recorded at.
// now was read before the store's transaction waited for the account, and
// may come from another replica's clock than the change before, so it can
// be earlier than that change: the history lists changes in the order they
// committed (the account's version), and its times must not go back. So a
// change is recorded at least a microsecond (the stored precision) after
// the account was last updated, which every change and rename of it sets.
func changeTime(now time.Time, acc Account) time.Time {
	if floor := acc.UpdatedAt.Add(time.Microsecond); now.Before(floor) {
		return floor
	}
	return now
}

// Account returns one account of an application, the username matched as
// the application matches names.
func (s *Service) Account(ctx context.Context, appID, username string) (Account, error) {
	app, err := s.store.Application(ctx, appID)
	if err != nil {
		return Account{}, err
	}
	key, err := app.canonical(username)
	if err != nil {
		return Account{}, err
	}
	return s.store.Account(ctx, appID, key)
}

// AccountByID returns one account.
func (s *Service) AccountByID(ctx context.Context, id string) (Account, error) {
	return s.store.AccountByID(ctx, id)
}

// Accounts lists accounts of an application and/or a person.
func (s *Service) Accounts(ctx context.Context, appID, personID string) ([]Account, error) {
	return s.store.Accounts(ctx, appID, personID)
}

// AccountStatus is an account with its effective state now.
type AccountStatus struct {
	Account
	Locked      bool       `json:"locked"`
	UnlockUntil *time.Time `json:"unlock_until,omitempty"`
}

// Status reports an account's effective state at now.
func (s *Service) Status(a Account) AccountStatus {
	st := AccountStatus{Account: a, Locked: a.LockedAt(s.now())}
	if !a.UnlockUntil.IsZero() && !st.Locked {
		u := a.UnlockUntil
		st.UnlockUntil = &u
	}
	if st.Locked {
		st.State = StateLocked
	}
	return st
}

// AssignAccount makes a person the owner of an account, enrolling it.
func (s *Service) AssignAccount(ctx context.Context, appID, username, personID string) (Account, error) {
	if _, err := s.store.Person(ctx, personID); err != nil {
		return Account{}, err
	}
	app, err := s.store.Application(ctx, appID)
	if err != nil {
		return Account{}, err
	}
	key, err := app.canonical(username)
	if err != nil {
		return Account{}, err
	}
	acc, err := s.store.Account(ctx, appID, key)
	if errors.Is(err, ErrNotFound) {
		acc, err = s.enrol(ctx, app, username, key, s.now())
	}
	if err != nil {
		return Account{}, err
	}
	if err := s.store.SetAccountOwner(ctx, acc.ID, personID); err != nil {
		return Account{}, err
	}
	acc.PersonID = personID
	return acc, nil
}

// History returns an account's lock changes, newest first.
func (s *Service) History(ctx context.Context, accountID string, limit int) ([]LockChange, error) {
	return s.store.LockHistory(ctx, accountID, clampLimit(limit))
}
