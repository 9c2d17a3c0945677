package lock

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Deleting and renaming accounts is how an admin resolves the collisions
// the username migration reports (two accounts one name under caseless
// matching). Both free the account's name: the next check of that name
// answers as for an unknown account (the application's unknown_account),
// so for a locked account they are refused unless forced: a lock must
// not be lifted as a side effect.

// DeleteAccount removes the account username names at appID and returns
// it as it was. Its history, attempts and integration events stay (as
// for a deleted application); its pending unlock requests go with it.
func (s *Service) DeleteAccount(ctx context.Context, appID, username string, force bool) (Account, error) {
	app, acc, err := s.adminAccount(ctx, appID, username)
	if err != nil {
		return Account{}, err
	}
	if err := s.refuseLocked(app, acc, force, "deleting"); err != nil {
		return Account{}, err
	}
	return acc, s.store.DeleteAccount(ctx, acc)
}

// RenameAccount gives the account username names at appID the name to,
// refusing a name whose canonical form (under the application's
// matching) is another account's. The account keeps its ID, state, owner
// and history; attempts and integration events already recorded stay
// under the old name. It returns the account as it was and as it is.
func (s *Service) RenameAccount(ctx context.Context, appID, username, to string, force bool) (before, after Account, err error) {
	app, acc, err := s.adminAccount(ctx, appID, username)
	if err != nil {
		return Account{}, Account{}, err
	}
	if to == "" || !validText(to, 512) {
		return Account{}, Account{}, invalid("username: the new name is required, UTF-8, at most 512 bytes, no NUL")
	}
	// A name chosen now must be visible under either matching, so that
	// switching the application to caseless cannot leave it nameless.
	key := CanonicalUsername(app.Settings.UsernameMatch, to)
	if key == "" || CanonicalUsername(MatchCaseless, to) == "" {
		return Account{}, Account{}, invalid("username: the new name %q has no visible characters", to)
	}
	if key != acc.Key {
		if err := s.refuseLocked(app, acc, force, "renaming"); err != nil {
			return Account{}, Account{}, err
		}
		other, err := s.store.Account(ctx, appID, key)
		switch {
		case err == nil:
			return Account{}, Account{}, fmt.Errorf("%w: %q is the name of account %s (%q) at this application (matching %s): delete or rename that one first",
				ErrConflict, to, other.ID, other.Username, app.Settings.UsernameMatch)
		case !errors.Is(err, ErrNotFound):
			return Account{}, Account{}, err
		}
	}
	renamed := acc
	renamed.Username, renamed.Key, renamed.UpdatedAt = to, key, s.now()
	if err := s.store.RenameAccount(ctx, acc, renamed); errors.Is(err, ErrMatchChanged) {
		return Account{}, Account{}, fmt.Errorf("%w: the application's username matching changed while renaming; try again", ErrConflict)
	} else if err != nil {
		return Account{}, Account{}, err
	}
	renamed.Version++
	return acc, renamed, nil
}

func (s *Service) adminAccount(ctx context.Context, appID, username string) (Application, Account, error) {
	app, err := s.store.Application(ctx, appID)
	if err != nil {
		return Application{}, Account{}, err
	}
	key, err := app.canonical(username)
	if err != nil {
		return Application{}, Account{}, err
	}
	acc, err := s.store.Account(ctx, appID, key)
	return app, acc, err
}

// refuseLocked refuses, unless forced, to free the name of a locked
// account — or of one in a timed unlock, which relocks by itself: its
// owner unlocked it for a while, not for good, and the relock would come
// under the new name (or not at all) while the old one answers unknown.
func (s *Service) refuseLocked(app Application, acc Account, force bool, doing string) error {
	if force {
		return nil
	}
	if !acc.LockedAt(s.now()) {
		if acc.UnlockUntil.IsZero() {
			return nil
		}
		return fmt.Errorf("%w: account %q is unlocked until %s and then relocks by itself, and %s it frees its name: the next check of %q answers as for an unknown account (unknown_account: %s). Lock or unlock it for good first, or force",
			ErrConflict, acc.Username, acc.UnlockUntil.UTC().Format(time.RFC3339), doing, acc.Username, app.Settings.UnknownAccount)
	}
	return fmt.Errorf("%w: account %q is locked, and %s it frees its name: the next check of %q answers as for an unknown account (unknown_account: %s). Unlock it first, or force",
		ErrConflict, acc.Username, doing, acc.Username, app.Settings.UnknownAccount)
}
