// Package lock is the account-protection domain: applications and their
// signing keys, persons and their accounts, lock states with their history,
// attempts, and the events those produce. It knows nothing of HTTP or SQL.
package lock

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// State is an account's stored lock state.
type State string

// The lock states. A timed unlock is StateUnlocked with UnlockUntil set: the
// account relocks by itself when that time comes.
const (
	StateLocked   State = "locked"
	StateUnlocked State = "unlocked"
)

// UnknownAccountPolicy says how a check for an account lockgate does not
// know is answered.
type UnknownAccountPolicy string

// The unknown-account policies.
const (
	UnknownUnlocked UnknownAccountPolicy = "unlocked"   // answer unlocked, enrol nothing
	UnknownLocked   UnknownAccountPolicy = "locked"     // answer locked, enrol nothing
	UnknownEnrol    UnknownAccountPolicy = "auto-enrol" // create the account in the default state
)

// Settings are an application's behaviour.
type Settings struct {
	UnknownAccount UnknownAccountPolicy `json:"unknown_account"`
	DefaultState   State                `json:"default_state"`
	LockedMessage  string               `json:"locked_message"`
	// UsernameMatch says which usernames name the same account.
	UsernameMatch UsernameMatch `json:"username_match"`
}

// Application is an integrated application that asks lock checks.
type Application struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Issuers   []string  `json:"issuers"`
	Settings  Settings  `json:"settings"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SigningKey is an application's HS256 key as stored: the secret sealed.
type SigningKey struct {
	ID        string
	AppID     string
	Sealed    string
	CreatedAt time.Time
	RevokedAt time.Time // zero while usable
}

// KeyInfo describes a signing key without its secret.
type KeyInfo struct {
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// NewKey is a signing key as returned once, at creation or rotation.
type NewKey struct {
	ID     string `json:"id"`
	Secret string `json:"secret"` // base64 of the 256-bit key
}

// Person owns accounts at applications.
type Person struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// Account is a username at an application, optionally owned by a person.
// Username is the name as first seen; Key is its canonical form under the
// application's UsernameMatch, by which the account is found.
type Account struct {
	ID          string    `json:"id"`
	AppID       string    `json:"app_id"`
	Username    string    `json:"username"`
	Key         string    `json:"-"`
	PersonID    string    `json:"person_id,omitempty"`
	State       State     `json:"state"`
	UnlockUntil time.Time `json:"-"`
	Version     int64     `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// LockedAt reports whether the account is locked at now: locked, or
// unlocked for a time that has passed.
func (a Account) LockedAt(now time.Time) bool {
	return a.State == StateLocked || (!a.UnlockUntil.IsZero() && !now.Before(a.UnlockUntil))
}

// LockChange is one entry of an account's lock history.
type LockChange struct {
	ID          string     `json:"id"`
	AccountID   string     `json:"account_id"`
	AppID       string     `json:"app_id"`
	Username    string     `json:"username"`
	From        State      `json:"from"`
	To          State      `json:"to"`
	UnlockUntil *time.Time `json:"unlock_until,omitempty"`
	Actor       string     `json:"actor"`
	ActorIP     string     `json:"actor_ip,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	At          time.Time  `json:"at"`
}

// Attempt is one recorded lock check.
type Attempt struct {
	ID              string          `json:"id"`
	At              time.Time       `json:"at"`
	AppID           string          `json:"app_id"`
	AccountID       string          `json:"account_id,omitempty"`
	Username        string          `json:"username"`
	UserIP          string          `json:"user_ip,omitempty"`
	UserDevice      string          `json:"user_device,omitempty"`
	UserLocation    string          `json:"user_location,omitempty"`
	IntegrationType string          `json:"integration_type,omitempty"`
	IntegrationData json.RawMessage `json:"integration_data,omitempty"`
	Locked          bool            `json:"locked"`
	// Unalerted marks a locked attempt whose attempt.locked the
	// per-account throttle held back: the store keeps it, with the
	// attempt, until a summary counts it.
	Unalerted bool `json:"-"`
}

// Unalerted is what an account's held-back attempts add up to.
type Unalerted struct {
	AppID, Username string
	AccountID       string // the account's ID ("" for an unknown account)
	Count           int
	First, Last     time.Time
}

// AttemptFilter selects attempts; zero fields match everything. Results
// come newest first; Before is the ID to continue after.
type AttemptFilter struct {
	AppID    string
	Username string
	// Usernames, when set, match any of these (Service.Attempts fills it).
	Usernames []string
	PersonID  string
	Since     time.Time
	Until     time.Time
	Before    string
	Limit     int
}

// AccountEvent is something an integration did about an account, as it
// reported it (the AWS IAM responder's lock or restore).
type AccountEvent struct {
	ID       string          `json:"id"`
	At       time.Time       `json:"at"`
	AppID    string          `json:"app_id"`
	Username string          `json:"username"`
	Source   string          `json:"source"`
	Detail   json.RawMessage `json:"detail"`
}

// Webhook is a URL events are posted to, owned by an application or person.
// Its JSON form shows the URL with credentials redacted: a listing never
// repeats a password or a token given in the URL.
type Webhook struct {
	ID        string    `json:"id"`
	OwnerKind string    `json:"owner_kind"` // "application" or "person"
	OwnerID   string    `json:"owner_id"`
	URL       string    `json:"-"`
	Sealed    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// MarshalJSON writes the webhook with its URL redacted.
func (w Webhook) MarshalJSON() ([]byte, error) {
	type plain Webhook
	return json.Marshal(struct {
		plain
		URL string `json:"url"`
	}{plain(w), RedactURL(w.URL)})
}

// UnmarshalJSON reads what MarshalJSON writes (clients list webhooks).
func (w *Webhook) UnmarshalJSON(b []byte) error {
	type plain Webhook
	var v struct {
		plain
		URL string `json:"url"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*w = Webhook(v.plain)
	w.URL = v.URL
	return nil
}

// Event is an outbox row: one event body for one webhook.
type Event struct {
	ID        string
	WebhookID string
	Type      string
	Body      []byte
	CreatedAt time.Time
	Attempts  int
}

// Errors the HTTP layer maps to statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid")
	// ErrMatchChanged is a write of an account whose key was computed
	// under a username_match the application no longer has: the key must
	// be computed again.
	ErrMatchChanged = fmt.Errorf("%w: the application's username matching changed meanwhile", ErrConflict)
)
