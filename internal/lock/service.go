package lock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lockgate/lockgate/internal/geo"
)

// Options configure a Service.
type Options struct {
	Store Store
	Box   Sealer
	// Audiences are the public URLs tokens must name in aud.
	Audiences        []string
	Leeway           time.Duration
	MaxTokenLifetime time.Duration
	KeyCacheTTL      time.Duration
	// MaxIntegrationData bounds the integrationData kept with an attempt.
	MaxIntegrationData int
	// Country maps an IP to an ISO country code ("" when unknown).
	Country func(netip.Addr) string
	// Geo places attempts for geo-fences and new-country events (the
	// store keeps fences when it implements GeoFenceStore).
	Geo    geo.Locator
	Now    func() time.Time
	Logger *slog.Logger
}

// Sealer seals and opens secrets at rest.
type Sealer interface {
	Seal(plaintext []byte, context string) string
	Open(sealed, context string) ([]byte, error)
}

// Service is the account-protection domain.
type Service struct {
	store    Store
	box      Sealer
	verifier *verifier
	country  func(netip.Addr) string
	now      func() time.Time
	log      *slog.Logger
	maxData  int
	geo      *geoState
	// queued wakes the webhook dispatcher when an event is committed.
	queued chan struct{}
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Country == nil {
		o.Country = func(netip.Addr) string { return "" }
	}
	if o.MaxIntegrationData == 0 {
		o.MaxIntegrationData = 16 << 10
	}
	// Times are stored with microsecond precision; keep them so in memory
	// too, so what is returned equals what is read back.
	now := func() time.Time { return o.Now().UTC().Truncate(time.Microsecond) }
	g := &geoState{db: o.Geo, seen: map[[2]string]struct{}{}}
	g.fences, _ = o.Store.(GeoFenceStore)
	return &Service{
		geo:      g,
		store:    o.Store,
		box:      o.Box,
		verifier: newVerifier(o.Store, o.Box, o.Audiences, o.Leeway, o.MaxTokenLifetime, o.KeyCacheTTL, now),
		country:  o.Country,
		now:      now,
		log:      o.Logger,
		maxData:  o.MaxIntegrationData,
		queued:   make(chan struct{}, 1),
	}
}

// Queued is signalled after events are committed.
func (s *Service) Queued() <-chan struct{} { return s.queued }

func (s *Service) wake() {
	select {
	case s.queued <- struct{}{}:
	default:
	}
}

// Ping checks that storage answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// --- applications and keys ---

// ApplicationInput creates or updates an application. Nil fields are left
// as they are on update and defaulted on create.
type ApplicationInput struct {
	Name           *string               `json:"name"`
	Issuers        []string              `json:"issuers"`
	UnknownAccount *UnknownAccountPolicy `json:"unknown_account"`
	DefaultState   *State                `json:"default_state"`
	LockedMessage  *string               `json:"locked_message"`
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
			if iss == "" || err != nil || u.Scheme == "" {
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
	switch {
	case app.Name == "" || utf8.RuneCountInString(app.Name) > 200:
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
	if len(app.Settings.LockedMessage) > 1000 {
		return invalid("locked_message: at most 1000 bytes")
	}
	return nil
}

// CreateApplication creates an application with its first signing key,
// whose secret is returned here and never again.
func (s *Service) CreateApplication(ctx context.Context, in ApplicationInput) (Application, NewKey, error) {
	now := s.now()
	app := Application{
		ID:        newID("app", now),
		Settings:  Settings{UnknownAccount: UnknownUnlocked, DefaultState: StateUnlocked, LockedMessage: "This account is locked."},
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
func (s *Service) UpdateApplication(ctx context.Context, id string, in ApplicationInput) (Application, error) {
	app, err := s.store.Application(ctx, id)
	if err != nil {
		return Application{}, err
	}
	old := app.Issuers
	if err := in.apply(&app); err != nil {
		return Application{}, err
	}
	app.UpdatedAt = s.now()
	if err := s.store.UpdateApplication(ctx, app); err != nil {
		return Application{}, err
	}
	s.verifier.invalidate(old...)
	s.verifier.invalidate(app.Issuers...)
	return app, nil
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

// --- the lock check ---

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
	app, username, err := s.verifier.verify(ctx, token)
	if err != nil {
		return CheckResult{}, err
	}
	now := s.now()
	acc, err := s.store.Account(ctx, app.ID, username)
	var locked bool
	switch {
	case err == nil:
		locked = acc.LockedAt(now)
	case errors.Is(err, ErrNotFound):
		switch app.Settings.UnknownAccount {
		case UnknownLocked:
			locked = true
		case UnknownEnrol:
			acc, err = s.enrol(ctx, app, username, now)
			if err != nil {
				return CheckResult{}, err
			}
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
		Username:        username,
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
	if locked {
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

// boundData keeps integrationData when it is at most the bound; a larger
// one is replaced by a note of its size, so the check itself never fails
// on metadata.
func (s *Service) boundData(d json.RawMessage) json.RawMessage {
	if len(d) == 0 || string(d) == "null" {
		return nil
	}
	if len(d) <= s.maxData {
		// Invalid UTF-8 inside JSON strings would be refused by
		// PostgreSQL; replacing it keeps the JSON valid.
		return json.RawMessage(cleanText(string(d)))
	}
	return json.RawMessage(fmt.Sprintf(`{"lockgate_truncated":true,"size":%d}`, len(d)))
}

func (s *Service) enrol(ctx context.Context, app Application, username string, now time.Time) (Account, error) {
	acc := Account{ID: newID("acc", now), AppID: app.ID, Username: username, State: app.Settings.DefaultState, Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.store.CreateAccount(ctx, acc)
	if errors.Is(err, ErrConflict) { // enrolled by a concurrent check
		return s.store.Account(ctx, app.ID, username)
	}
	return acc, err
}

// events builds one outbox row per webhook of the application and the
// person (when there is one) for an event body.
func (s *Service) events(ctx context.Context, typ string, now time.Time, data any, appID, personID string) ([]Event, error) {
	hooks, err := s.store.Webhooks(ctx, "application", appID)
	if err != nil {
		return nil, err
	}
	if personID != "" {
		ph, err := s.store.Webhooks(ctx, "person", personID)
		if err != nil {
			return nil, err
		}
		hooks = append(hooks, ph...)
	}
	if len(hooks) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(map[string]any{"id": newID("evt", now), "type": typ, "created_at": now, "data": data})
	if err != nil {
		return nil, err
	}
	events := make([]Event, len(hooks))
	for i, h := range hooks {
		events[i] = Event{ID: newID("out", now), WebhookID: h.ID, Type: typ, Body: body, CreatedAt: now}
	}
	return events, nil
}

// ReportEvent records what an integration did about the token's account.
// The token is verified as for a lock check.
func (s *Service) ReportEvent(ctx context.Context, token, source string, detail json.RawMessage) (AccountEvent, error) {
	app, username, err := s.verifier.verify(ctx, token)
	if err != nil {
		return AccountEvent{}, err
	}
	if source == "" || !validText(source, 100) {
		return AccountEvent{}, invalid("source: required, at most 100 bytes")
	}
	if len(detail) == 0 {
		detail = json.RawMessage("null")
	}
	now := s.now()
	e := AccountEvent{ID: newID("aev", now), At: now, AppID: app.ID, Username: username, Source: source, Detail: s.boundData(detail)}
	return e, s.store.AddAccountEvent(ctx, e)
}

// AccountEvents lists what integrations reported about an account, newest
// first.
func (s *Service) AccountEvents(ctx context.Context, appID, username string, limit int) ([]AccountEvent, error) {
	return s.store.AccountEvents(ctx, appID, username, clampLimit(limit))
}

// --- lock state ---

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
	if len(t.Reason) > 500 {
		return invalid("reason: at most 500 bytes")
	}
	return nil
}

// SetLock sets an account's lock state, enrolling the account when the
// application does not know it yet.
func (s *Service) SetLock(ctx context.Context, appID, username string, t Target, who Actor) (Account, error) {
	if err := t.validate(); err != nil {
		return Account{}, err
	}
	if username == "" || !validText(username, 512) {
		return Account{}, invalid("username: required, UTF-8, at most 512 bytes")
	}
	app, err := s.store.Application(ctx, appID)
	if err != nil {
		return Account{}, err
	}
	for try := 0; ; try++ {
		now := s.now()
		acc, err := s.store.Account(ctx, appID, username)
		if errors.Is(err, ErrNotFound) {
			acc, err = s.enrol(ctx, app, username, now)
		}
		if err != nil {
			return Account{}, err
		}
		accs, err := s.apply(ctx, []Account{acc}, t, who, now)
		if errors.Is(err, ErrConflict) && try < 5 {
			continue
		}
		if err != nil {
			return Account{}, err
		}
		return accs[0], nil
	}
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
	for try := 0; ; try++ {
		accs, err := s.store.Accounts(ctx, "", personID)
		if err != nil {
			return nil, err
		}
		out, err := s.apply(ctx, accs, t, who, s.now())
		if errors.Is(err, ErrConflict) && try < 5 {
			continue
		}
		return out, err
	}
}

// apply moves accounts to the target, skipping those already there, and
// queues a lock.changed event for each change.
func (s *Service) apply(ctx context.Context, accs []Account, t Target, who Actor, now time.Time) ([]Account, error) {
	var changes []AccountChange
	var events []Event
	out := make([]Account, len(accs))
	for i, acc := range accs {
		next := acc
		next.UpdatedAt = now
		next.UnlockUntil = time.Time{}
		next.State = StateUnlocked
		if t.Lock {
			next.State = StateLocked
		} else if t.For > 0 {
			next.UnlockUntil = now.Add(t.For).Truncate(time.Microsecond)
		}
		from := StateUnlocked
		if acc.LockedAt(now) {
			from = StateLocked
		}
		out[i] = acc
		if from == next.State && acc.State == next.State && acc.UnlockUntil.Equal(next.UnlockUntil) {
			continue // already there: no history, no event
		}
		ch := LockChange{
			ID: newID("chg", now), AccountID: acc.ID, AppID: acc.AppID, Username: acc.Username,
			From: from, To: next.State, Actor: who.Name, ActorIP: who.IP, Reason: t.Reason, At: now,
		}
		if !next.UnlockUntil.IsZero() {
			u := next.UnlockUntil
			ch.UnlockUntil = &u
		}
		ev, err := s.events(ctx, "lock.changed", now, map[string]any{"change": ch, "person_id": acc.PersonID}, acc.AppID, acc.PersonID)
		if err != nil {
			return nil, err
		}
		events = append(events, ev...)
		changes = append(changes, AccountChange{Account: next, Change: ch})
		next.Version = acc.Version + 1
		out[i] = next
	}
	if len(changes) == 0 {
		return out, nil
	}
	if err := s.store.ApplyLockChanges(ctx, changes, events); err != nil {
		return nil, err
	}
	if len(events) > 0 {
		s.wake()
	}
	return out, nil
}

// Relock locks every account whose timed unlock has ended, recording the
// change and sending its event. Checks already treat such accounts as
// locked; this makes the state, history and integrations agree.
func (s *Service) Relock(ctx context.Context) (int, error) {
	n := 0
	for {
		due, err := s.store.DueRelocks(ctx, s.now(), 100)
		if err != nil || len(due) == 0 {
			return n, err
		}
		_, err = s.apply(ctx, due, Target{Lock: true, Reason: "timed unlock ended"}, Actor{Name: "lockgate:timed-relock"}, s.now())
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

// RunRelocker calls Relock every interval until ctx ends.
func (s *Service) RunRelocker(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Relock(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("timed relock failed", "err", err)
		} else if n > 0 {
			s.log.Info("timed unlocks ended", "relocked", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Account returns one account of an application.
func (s *Service) Account(ctx context.Context, appID, username string) (Account, error) {
	return s.store.Account(ctx, appID, username)
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
	if username == "" || !validText(username, 512) {
		return Account{}, invalid("username: required, UTF-8, at most 512 bytes")
	}
	acc, err := s.store.Account(ctx, appID, username)
	if errors.Is(err, ErrNotFound) {
		acc, err = s.enrol(ctx, app, username, s.now())
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

// Attempts lists attempts, newest first.
func (s *Service) Attempts(ctx context.Context, f AttemptFilter) ([]Attempt, error) {
	f.Limit = clampLimit(f.Limit)
	return s.store.Attempts(ctx, f)
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// --- persons ---

// CreatePerson creates an owner.
func (s *Service) CreatePerson(ctx context.Context, name, email string) (Person, error) {
	if strings.TrimSpace(name) == "" || len(name) > 200 || len(email) > 320 {
		return Person{}, invalid("name: required, at most 200 bytes; email at most 320")
	}
	p := Person{ID: newID("per", s.now()), Name: strings.TrimSpace(name), Email: email, CreatedAt: s.now()}
	return p, s.store.CreatePerson(ctx, p)
}

// Person returns one person.
func (s *Service) Person(ctx context.Context, id string) (Person, error) {
	return s.store.Person(ctx, id)
}

// Persons lists persons.
func (s *Service) Persons(ctx context.Context) ([]Person, error) { return s.store.Persons(ctx) }

// DeletePerson deletes a person; their accounts remain, without owner.
func (s *Service) DeletePerson(ctx context.Context, id string) error {
	return s.store.DeletePerson(ctx, id)
}

// IssuePersonToken returns a new bearer token for the owner API; only its
// hash is kept.
func (s *Service) IssuePersonToken(ctx context.Context, personID string) (string, error) {
	if _, err := s.store.Person(ctx, personID); err != nil {
		return "", err
	}
	tok := NewToken()
	return tok, s.store.AddPersonToken(ctx, HashToken(tok), personID, s.now())
}

// PersonByToken authenticates an owner-API token.
func (s *Service) PersonByToken(ctx context.Context, token string) (Person, error) {
	if token == "" || len(token) > 200 {
		return Person{}, ErrUnauthorized
	}
	p, err := s.store.PersonByToken(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return Person{}, ErrUnauthorized
	}
	return p, err
}

// --- admin tokens ---

// EnsureAdminToken makes configured an admin token, or, when none is
// configured and none exists, creates one and returns it to be shown once.
func (s *Service) EnsureAdminToken(ctx context.Context, configured string) (generated string, err error) {
	if configured != "" {
		ok, err := s.store.AdminTokenExists(ctx, HashToken(configured))
		if err != nil || ok {
			return "", err
		}
		return "", s.store.AddAdminToken(ctx, HashToken(configured), "configured", s.now())
	}
	n, err := s.store.AdminTokenCount(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	tok := NewToken()
	return tok, s.store.AddAdminToken(ctx, HashToken(tok), "generated", s.now())
}

// IsAdmin authenticates an admin token.
func (s *Service) IsAdmin(ctx context.Context, token string) (bool, error) {
	if token == "" || len(token) > 200 {
		return false, nil
	}
	return s.store.AdminTokenExists(ctx, HashToken(token))
}

// --- webhooks ---

// AddWebhook registers a URL for an application's or person's events and
// returns its signing secret, shown once.
func (s *Service) AddWebhook(ctx context.Context, ownerKind, ownerID, rawURL string) (Webhook, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Webhook{}, "", invalid("url: %q is not an http(s) URL", rawURL)
	}
	switch ownerKind {
	case "application":
		_, err = s.store.Application(ctx, ownerID)
	case "person":
		_, err = s.store.Person(ctx, ownerID)
	default:
		return Webhook{}, "", invalid("owner_kind: %q", ownerKind)
	}
	if err != nil {
		return Webhook{}, "", err
	}
	now := s.now()
	secret := base64.RawURLEncoding.EncodeToString(newSecret(32))
	w := Webhook{ID: newID("whk", now), OwnerKind: ownerKind, OwnerID: ownerID, URL: rawURL, CreatedAt: now}
	w.Sealed = s.box.Seal([]byte(secret), w.ID)
	return w, secret, s.store.CreateWebhook(ctx, w)
}

// Webhooks lists an owner's webhooks.
func (s *Service) Webhooks(ctx context.Context, ownerKind, ownerID string) ([]Webhook, error) {
	return s.store.Webhooks(ctx, ownerKind, ownerID)
}

// DeleteWebhook removes a webhook; its undelivered events are dropped.
func (s *Service) DeleteWebhook(ctx context.Context, id string) error {
	return s.store.DeleteWebhook(ctx, id)
}
