package lock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unicode/utf8"
)

// CheckInput is the lock-check body.
type CheckInput struct {
	UserIP          string          `json:"userIP"`
	UserDevice      string          `json:"userDevice"`
	UserLocation    string          `json:"userLocation"`
	IntegrationType string          `json:"integrationType"`
	IntegrationData json.RawMessage `json:"integrationData"`
}

// CheckResult is the lock-check answer.
type CheckResult struct {
	Locked    bool
	Message   string
	AttemptID string
}

// Check verifies token, decides whether its account is locked now, and
// records the attempt; it returns only after the attempt is committed.
func (s *Service) Check(ctx context.Context, token string, in CheckInput) (CheckResult, error) {
	if s.checkTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.checkTimeout)
		defer cancel()
	}
	app, sub, fresh, err := s.verifyCurrent(ctx, token)
	if err != nil {
		return CheckResult{}, err
	}
	key := CanonicalUsername(app.Settings.UsernameMatch, sub)
	if key == "" {
		return CheckResult{}, unauthorized("sub %q has no visible characters", sub)
	}
	now := s.now()
	acc, err := s.accounts.account(ctx, s.store, app.ID, key, fresh)
	var locked bool
	switch {
	case err == nil:
		locked = acc.LockedAt(now)
	case errors.Is(err, ErrNotFound):
		switch app.Settings.UnknownAccount {
		case UnknownLocked:
			locked = true
		case UnknownEnrol:
			acc, err = s.enrol(ctx, app, sub, key, now)
			if err != nil {
				return CheckResult{}, err
			}
			key = acc.Key
			locked = acc.LockedAt(now)
		}
	default:
		return CheckResult{}, err
	}
	at := Attempt{
		ID:              newID("att", now),
		At:              now,
		AppID:           app.ID,
		AccountID:       acc.ID,
		Username:        key,
		UserIP:          cleanText(in.UserIP),
		UserDevice:      cleanText(in.UserDevice),
		UserLocation:    cleanText(in.UserLocation),
		IntegrationType: cleanText(in.IntegrationType),
		IntegrationData: s.boundData(in.IntegrationData),
		Locked:          locked,
	}
	if at.UserLocation == "" && at.UserIP != "" {
		if ip, err := netip.ParseAddr(at.UserIP); err == nil {
			at.UserLocation = s.country(ip.Unmap())
		}
	}
	fc, err := s.checkGeo(ctx, app, acc, &at, now)
	if err != nil {
		return CheckResult{}, err
	}
	if fc.fence != nil {
		locked, at.Locked = true, true
	}
	var events []Event
	at.Unalerted = locked && !s.throttle.admit(app.ID, key, acc.PersonID != "", now)
	if locked && !at.Unalerted {
		events, err = s.events(ctx, "attempt.locked", now, fc.lockedData(map[string]any{
			"application": map[string]string{"id": app.ID, "name": app.Name},
			"person_id":   acc.PersonID,
			"attempt":     at,
		}), app.ID, acc.PersonID)
		if err != nil {
			return CheckResult{}, err
		}
	}
	events = append(events, fc.events...)
	if err := s.store.RecordAttempt(ctx, at, events); err != nil {
		return CheckResult{}, err
	}
	if len(events) > 0 {
		s.wake()
	}
	res := CheckResult{Locked: locked, AttemptID: at.ID}
	if locked {
		res.Message = app.Settings.LockedMessage
	}
	if fc.fence != nil {
		res.Message = s.recordFenced(ctx, app, at, fc, res.Message)
	}
	return res, nil
}

// verifyCurrent verifies token and gives its application the settings
// stored now, as the account cache knows them (fresh is whether that
// cache may answer). The verified copy is as old as the key cache: a
// username_match or unknown_account changed on another replica would
// decide checks seconds late, where a lock is seen at once.
func (s *Service) verifyCurrent(ctx context.Context, token string) (app Application, sub string, fresh bool, err error) {
	if app, sub, err = s.verifier.verify(ctx, token); err != nil {
		return Application{}, "", false, err
	}
	if fresh, err = s.accounts.synced(ctx); err != nil {
		return Application{}, "", false, err
	}
	if app.Settings, err = s.accounts.settings(ctx, s.store, app, fresh); err != nil {
		return Application{}, "", false, err
	}
	return app, sub, fresh, nil
}

// boundData keeps integrationData when it is at most the bound; a larger
// one is replaced by a note of its size, so the check itself never fails
// on metadata.
func (s *Service) boundData(d json.RawMessage) json.RawMessage {
	if len(d) == 0 || string(d) == "null" {
		return nil
	}
	if len(d) <= s.maxData {
		if utf8.Valid(d) && bytes.IndexByte(d, 0) < 0 {
			return d // the common case, without copying
		}
		// Invalid UTF-8 inside JSON strings would be refused by
		// PostgreSQL; replacing it keeps the JSON valid.
		return json.RawMessage(cleanText(string(d)))
	}
	return json.RawMessage(fmt.Sprintf(`{"lockgate_truncated":true,"size":%d}`, len(d)))
}

// enrol creates the account name (key) at app in its default state. When
// the application switched its username matching since app was read, the
// name's key is computed again under the new matching, which may find the
// account enrolled already: the returned account's Key is the one stored.
func (s *Service) enrol(ctx context.Context, app Application, name, key string, now time.Time) (Account, error) {
	for range 3 {
		acc := Account{ID: newID("acc", now), AppID: app.ID, Username: name, Key: key, State: app.Settings.DefaultState, Version: 1, CreatedAt: now, UpdatedAt: now}
		err := s.store.CreateAccount(ctx, acc)
		switch {
		case errors.Is(err, ErrMatchChanged):
			if app, err = s.store.Application(ctx, app.ID); err != nil {
				return Account{}, err
			}
			if key, err = app.canonical(name); err != nil {
				return Account{}, err
			}
			if acc, err := s.store.Account(ctx, app.ID, key); !errors.Is(err, ErrNotFound) {
				return acc, err
			}
		case errors.Is(err, ErrConflict): // enrolled by a concurrent check
			return s.store.Account(ctx, app.ID, key)
		default:
			return acc, err
		}
	}
	return Account{}, ErrMatchChanged
}

// ReportEvent records what an integration did about the token's account.
// The token is verified as for a lock check, and its sub names the
// account as a check's does.
func (s *Service) ReportEvent(ctx context.Context, token, source string, detail json.RawMessage) (AccountEvent, error) {
	app, sub, _, err := s.verifyCurrent(ctx, token)
	if err != nil {
		return AccountEvent{}, err
	}
	key := CanonicalUsername(app.Settings.UsernameMatch, sub)
	if key == "" {
		return AccountEvent{}, unauthorized("sub %q has no visible characters", sub)
	}
	if source == "" || !validText(source, 100) {
		return AccountEvent{}, invalid("source: required, at most 100 bytes")
	}
	if len(detail) == 0 {
		detail = json.RawMessage("null")
	}
	now := s.now()
	// boundData drops a null detail; stored empty, it made every later
	// read of the account's events fail to encode.
	d := s.boundData(detail)
	if d == nil {
		d = json.RawMessage("null")
	}
	e := AccountEvent{ID: newID("aev", now), At: now, AppID: app.ID, Username: key, Source: source, Detail: d}
	return e, s.store.AddAccountEvent(ctx, e)
}

// AccountEvents lists what integrations reported about an account, newest
// first; username is canonicalised as the application matches names.
func (s *Service) AccountEvents(ctx context.Context, appID, username string, limit int) ([]AccountEvent, error) {
	app, err := s.store.Application(ctx, appID)
	if err != nil {
		return nil, err
	}
	key, err := app.canonical(username)
	if err != nil {
		return nil, err
	}
	return s.store.AccountEvents(ctx, appID, key, clampLimit(limit))
}

// Attempts lists attempts, newest first. A username is canonicalised as
// the application (when the filter names one) matches names; without one,
// both the name as given and its caseless form match.
func (s *Service) Attempts(ctx context.Context, f AttemptFilter) ([]Attempt, error) {
	f.Limit = clampLimit(f.Limit)
	for _, v := range []string{f.AppID, f.Username, f.PersonID, f.Before} {
		if !validText(v, 1000) {
			return nil, invalid("filter: values must be UTF-8 without NUL")
		}
	}
	if f.Username != "" {
		if f.AppID != "" {
			app, err := s.store.Application(ctx, f.AppID)
			if errors.Is(err, ErrNotFound) {
				return []Attempt{}, nil
			} else if err != nil {
				return nil, err
			}
			f.Username = CanonicalUsername(app.Settings.UsernameMatch, f.Username)
		} else if k := CanonicalUsername(MatchCaseless, f.Username); k != f.Username {
			f.Usernames = []string{f.Username, k}
			f.Username = ""
		}
	}
	return s.store.Attempts(ctx, f)
}
