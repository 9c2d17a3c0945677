package lock

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ApplicationInput creates or updates an application. Nil fields are left
// as they are on update and defaulted on create.
type ApplicationInput struct {
	Name           *string               `json:"name"`
	Issuers        []string              `json:"issuers"`
	UnknownAccount *UnknownAccountPolicy `json:"unknown_account"`
	DefaultState   *State                `json:"default_state"`
	LockedMessage  *string               `json:"locked_message"`
	UsernameMatch  *UsernameMatch        `json:"username_match"`
}

func (in ApplicationInput) apply(app *Application) error {
	if in.Name != nil {
		app.Name = strings.TrimSpace(*in.Name)
	}
	if in.Issuers != nil {
		app.Issuers = nil
		seen := map[string]bool{}
		for i, iss := range in.Issuers {
			u, err := url.Parse(iss)
			if iss == "" || err != nil || u.Scheme == "" || !validText(iss, 1000) {
				return invalid("issuers[%d]: %q is not a URI", i, iss)
			}
			if !seen[iss] {
				seen[iss] = true
				app.Issuers = append(app.Issuers, iss)
			}
		}
	}
	if in.UnknownAccount != nil {
		app.Settings.UnknownAccount = *in.UnknownAccount
	}
	if in.DefaultState != nil {
		app.Settings.DefaultState = *in.DefaultState
	}
	if in.LockedMessage != nil {
		app.Settings.LockedMessage = *in.LockedMessage
	}
	if in.UsernameMatch != nil {
		app.Settings.UsernameMatch = *in.UsernameMatch
	}
	switch {
	case app.Name == "" || utf8.RuneCountInString(app.Name) > 200 || !validText(app.Name, 1000):
		return invalid("name: required, at most 200 characters")
	case len(app.Issuers) == 0:
		return invalid("issuers: at least one issuer URI is required (the iss its tokens carry)")
	case len(app.Issuers) > 20:
		return invalid("issuers: at most 20")
	}
	switch app.Settings.UnknownAccount {
	case UnknownUnlocked, UnknownLocked, UnknownEnrol:
	default:
		return invalid("unknown_account: %q is not unlocked, locked or auto-enrol", app.Settings.UnknownAccount)
	}
	switch app.Settings.DefaultState {
	case StateLocked, StateUnlocked:
	default:
		return invalid("default_state: %q is not locked or unlocked", app.Settings.DefaultState)
	}
	if !app.Settings.UsernameMatch.Valid() {
		return invalid("username_match: %q is not exact or caseless", app.Settings.UsernameMatch)
	}
	if !validText(app.Settings.LockedMessage, 1000) {
		return invalid("locked_message: at most 1000 bytes of UTF-8")
	}
	return nil
}

// CreateApplication creates an application with its first signing key,
// whose secret is returned here and never again.
func (s *Service) CreateApplication(ctx context.Context, in ApplicationInput) (Application, NewKey, error) {
	now := s.now()
	app := Application{
		ID: newID("app", now),
		Settings: Settings{UnknownAccount: UnknownUnlocked, DefaultState: StateUnlocked,
			LockedMessage: "This account is locked.", UsernameMatch: MatchCaseless},
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := in.apply(&app); err != nil {
		return Application{}, NewKey{}, err
	}
	key, nk := s.newKey(app.ID, now)
	if err := s.store.CreateApplication(ctx, app, key); err != nil {
		return Application{}, NewKey{}, err
	}
	s.verifier.invalidate(app.Issuers...)
	return app, nk, nil
}

func (s *Service) newKey(appID string, now time.Time) (SigningKey, NewKey) {
	secret := newSecret(32)
	id := newID("key", now)
	return SigningKey{ID: id, AppID: appID, Sealed: s.box.Seal(secret, id), CreatedAt: now},
		NewKey{ID: id, Secret: base64.StdEncoding.EncodeToString(secret)}
}

// UpdateApplication changes an application's name, issuers or settings.
// A change of username match re-keys the accounts in the same
// transaction, and is refused while two accounts would become one.
func (s *Service) UpdateApplication(ctx context.Context, id string, in ApplicationInput) (Application, error) {
	app, err := s.store.Application(ctx, id)
	if err != nil {
		return Application{}, err
	}
	old := app
	if err := in.apply(&app); err != nil {
		return Application{}, err
	}
	app.UpdatedAt = s.now()
	var rekeyed []Account
	if app.Settings.UsernameMatch != old.Settings.UsernameMatch {
		accs, err := s.store.Accounts(ctx, app.ID, "")
		if err != nil {
			return Application{}, err
		}
		if cs := Collisions(app.Settings.UsernameMatch, accs); len(cs) > 0 {
			return Application{}, fmt.Errorf("%w: username_match %s would make %s; delete or rename one of each first (lockgate account delete APP USER, lockgate account rename APP USER NEW)",
				ErrConflict, app.Settings.UsernameMatch, describeCollisions(cs))
		}
		for _, a := range accs {
			if k := CanonicalUsername(app.Settings.UsernameMatch, a.Username); k != a.Key {
				a.Key = k
				rekeyed = append(rekeyed, a)
			}
		}
	}
	if err := s.store.UpdateApplication(ctx, app, rekeyed); err != nil {
		return Application{}, err
	}
	s.verifier.invalidate(old.Issuers...)
	s.verifier.invalidate(app.Issuers...)
	return app, nil
}

// Collision is a set of accounts whose usernames a match makes one.
type Collision struct {
	Key      string   `json:"key"`
	Accounts []string `json:"accounts"`  // account IDs
	Names    []string `json:"usernames"` // as stored
}

// Collisions reports the accounts m would merge. None are ever merged:
// an application whose accounts collide keeps its match until an admin
// resolves them.
func Collisions(m UsernameMatch, accs []Account) []Collision {
	byKey := map[string][]Account{}
	var keys []string
	for _, a := range accs {
		k := CanonicalUsername(m, a.Username)
		if len(byKey[k]) == 0 {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], a)
	}
	var out []Collision
	slices.Sort(keys)
	for _, k := range keys {
		if as := byKey[k]; len(as) > 1 {
			c := Collision{Key: k}
			for _, a := range as {
				c.Accounts = append(c.Accounts, a.ID)
				c.Names = append(c.Names, a.Username)
			}
			out = append(out, c)
		}
	}
	return out
}

func describeCollisions(cs []Collision) string {
	var parts []string
	for _, c := range cs {
		q := make([]string, len(c.Names))
		for i, n := range c.Names {
			q[i] = fmt.Sprintf("%q (%s)", n, c.Accounts[i])
		}
		parts = append(parts, strings.Join(q, " and ")+" one account")
	}
	return strings.Join(parts, "; ")
}

// UsernameCollisions reports, for an application, which of its accounts
// the caseless match would merge: what stands between it and caseless.
func (s *Service) UsernameCollisions(ctx context.Context, appID string) ([]Collision, error) {
	if _, err := s.store.Application(ctx, appID); err != nil {
		return nil, err
	}
	accs, err := s.store.Accounts(ctx, appID, "")
	if err != nil {
		return nil, err
	}
	return Collisions(MatchCaseless, accs), nil
}

// Application returns one application.
func (s *Service) Application(ctx context.Context, id string) (Application, error) {
	return s.store.Application(ctx, id)
}

// Applications lists every application.
func (s *Service) Applications(ctx context.Context) ([]Application, error) {
	return s.store.Applications(ctx)
}

// DeleteApplication deletes an application with its keys and accounts.
func (s *Service) DeleteApplication(ctx context.Context, id string) error {
	app, err := s.store.Application(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteApplication(ctx, id); err != nil {
		return err
	}
	s.verifier.invalidate(app.Issuers...)
	return nil
}

// Keys lists an application's keys without secrets.
func (s *Service) Keys(ctx context.Context, appID string) ([]KeyInfo, error) {
	if _, err := s.store.Application(ctx, appID); err != nil {
		return nil, err
	}
	keys, err := s.store.SigningKeys(ctx, appID)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		ki := KeyInfo{ID: k.ID, CreatedAt: k.CreatedAt}
		if !k.RevokedAt.IsZero() {
			t := k.RevokedAt
			ki.RevokedAt = &t
		}
		out = append(out, ki)
	}
	return out, nil
}

// RotateKey adds a signing key; the old ones stay valid until revoked, so
// integrations can move to the new one without a window of failures.
func (s *Service) RotateKey(ctx context.Context, appID string) (NewKey, error) {
	app, err := s.store.Application(ctx, appID)
	if err != nil {
		return NewKey{}, err
	}
	key, nk := s.newKey(appID, s.now())
	if err := s.store.AddSigningKey(ctx, key); err != nil {
		return NewKey{}, err
	}
	s.verifier.invalidate(app.Issuers...)
	return nk, nil
}

// RevokeKey makes a key unusable at once on this replica and within the
// key cache TTL on others.
func (s *Service) RevokeKey(ctx context.Context, appID, keyID string) error {
	app, err := s.store.Application(ctx, appID)
	if err != nil {
		return err
	}
	if err := s.store.RevokeSigningKey(ctx, appID, keyID, s.now()); err != nil {
		return err
	}
	s.verifier.invalidate(app.Issuers...)
	return nil
}
