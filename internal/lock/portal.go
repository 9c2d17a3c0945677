package lock

import (
	"context"
	"time"
)

// The owner portal's data: how persons sign in (a password with a TOTP
// second factor, passkeys), the one-time links that enrol them, the
// server-side sessions of the portal and the admin console, the
// single-use state of WebAuthn ceremonies, and e-mail alerts. The portal
// (internal/portal) holds the logic; the store keeps these.

// Login is a person's password sign-in: a caseless name, an argon2id
// hash of the password, and the TOTP secret sealed under the master key.
type Login struct {
	PersonID     string
	Name         string
	PasswordHash string
	TOTPSealed   string
	// TOTPStep is the last time step a code was accepted for: a code is
	// good once.
	TOTPStep  int64
	UpdatedAt time.Time
}

// Passkey is a WebAuthn credential of a person. Credential is the
// library's JSON of it (public key, sign count, flags).
type Passkey struct {
	ID         string // the credential ID, base64url
	PersonID   string
	Name       string
	Credential string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// EnrolLink is a one-time link that lets a person set up how they sign
// in. Only a hash of its secret is kept.
type EnrolLink struct {
	ID        string
	Hash      string
	PersonID  string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// The kinds of web sessions.
const (
	SessionOwner = "owner" // a person signed in to the portal
	SessionAdmin = "admin" // an admin token exchanged for the console
	SessionEnrol = "enrol" // a person setting up sign-in through a link
)

// WebSession is a portal or console session as kept server-side. The
// browser holds only its secret; Hash is the secret's SHA-256.
type WebSession struct {
	ID         string `json:"id"`
	Hash       string `json:"-"`
	Kind       string `json:"kind"`
	PersonID   string `json:"person_id,omitempty"`
	TokenID    string `json:"token_id,omitempty"`
	CSRF       string `json:"-"`
	Method     string `json:"method"`
	Data       string `json:"-"` // sealed: an enrolment's TOTP secret in waiting
	IP         string `json:"ip"`
	UserAgent  string `json:"user_agent"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time
}

// ActiveAt reports whether the session is usable at now.
func (s WebSession) ActiveAt(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// AlertEmail is where a person's alerts are mailed. Cursor is the last
// attempt made while locked that was mailed about.
type AlertEmail struct {
	PersonID  string
	Address   string
	Enabled   bool
	Cursor    string
	UpdatedAt time.Time
}

// DeliveryState sums up a webhook's outbox.
type DeliveryState struct {
	Pending     int
	Delivered   int
	Dead        int
	LastError   string
	LastSuccess time.Time
}

// WebhookStatus is a webhook with its delivery state, for the console.
type WebhookStatus struct {
	Webhook
	DeliveryState
}

// PortalStore keeps what the portal persists.
type PortalStore interface {
	PutLogin(ctx context.Context, l Login) error
	LoginByName(ctx context.Context, name string) (Login, error)
	LoginOf(ctx context.Context, personID string) (Login, error)
	// AcceptTOTPStep records step as used when it is later than the last
	// one accepted; false when it is not (a replayed code).
	AcceptTOTPStep(ctx context.Context, personID string, step int64) (bool, error)

	AddPasskey(ctx context.Context, p Passkey) error
	Passkey(ctx context.Context, id string) (Passkey, error)
	Passkeys(ctx context.Context, personID string) ([]Passkey, error)
	UpdatePasskey(ctx context.Context, id, credential string, at time.Time) error
	DeletePasskey(ctx context.Context, personID, id string) error

	CreateEnrolLink(ctx context.Context, l EnrolLink) error
	EnrolLinkByHash(ctx context.Context, hash string) (EnrolLink, error)
	// UseEnrolLink marks the link used if it is neither used nor expired
	// at now, in one statement; ErrNotFound otherwise.
	UseEnrolLink(ctx context.Context, hash string, now time.Time) (EnrolLink, error)

	CreateWebSession(ctx context.Context, s WebSession) error
	WebSessionByHash(ctx context.Context, hash string) (WebSession, error)
	WebSessions(ctx context.Context, kind, personID string, now time.Time) ([]WebSession, error)
	TouchWebSession(ctx context.Context, id string, at time.Time) error
	SetWebSessionData(ctx context.Context, id, data string) error
	RevokeWebSession(ctx context.Context, id string, at time.Time) error
	// RevokeWebSessionsOf revokes a person's sessions but except.
	RevokeWebSessionsOf(ctx context.Context, personID, except string, at time.Time) error

	PutChallenge(ctx context.Context, id, data string, expires time.Time) error
	// TakeChallenge returns and deletes a ceremony's state: it is good
	// once, and only before it expires.
	TakeChallenge(ctx context.Context, id string, now time.Time) (string, error)
	// Expire deletes challenges and sessions that ended before now.
	Expire(ctx context.Context, now time.Time) error

	PutAlertEmail(ctx context.Context, a AlertEmail) error
	AlertEmail(ctx context.Context, personID string) (AlertEmail, error)
	EnabledAlertEmails(ctx context.Context) ([]AlertEmail, error)
	SetAlertCursor(ctx context.Context, personID, cursor string) error

	AllWebhooks(ctx context.Context) ([]WebhookStatus, error)
}
