package lock

import (
	"context"
	"time"
)

// Store is the persistence the service needs. Every write returns only
// after it is committed: an acknowledged change survives a crash.
type Store interface {
	CreateApplication(ctx context.Context, app Application, key SigningKey) error
	UpdateApplication(ctx context.Context, app Application) error
	Application(ctx context.Context, id string) (Application, error)
	ApplicationByIssuer(ctx context.Context, issuer string) (Application, error)
	Applications(ctx context.Context) ([]Application, error)
	DeleteApplication(ctx context.Context, id string) error

	AddSigningKey(ctx context.Context, key SigningKey) error
	RevokeSigningKey(ctx context.Context, appID, keyID string, at time.Time) error
	SigningKeys(ctx context.Context, appID string) ([]SigningKey, error)

	CreatePerson(ctx context.Context, p Person) error
	Person(ctx context.Context, id string) (Person, error)
	Persons(ctx context.Context) ([]Person, error)
	DeletePerson(ctx context.Context, id string) error

	// CreateAccount inserts a; ErrConflict when (app, username) exists.
	CreateAccount(ctx context.Context, a Account) error
	Account(ctx context.Context, appID, username string) (Account, error)
	AccountByID(ctx context.Context, id string) (Account, error)
	Accounts(ctx context.Context, appID, personID string) ([]Account, error)
	SetAccountOwner(ctx context.Context, accountID, personID string) error
	// DueRelocks lists accounts whose timed unlock ended at or before now.
	DueRelocks(ctx context.Context, now time.Time, limit int) ([]Account, error)

	// ApplyLockChanges sets each account to its change's state, appends the
	// changes to history and queues the events, all in one transaction. A
	// change whose account version moved since it was read fails the whole
	// call with ErrConflict.
	ApplyLockChanges(ctx context.Context, changes []AccountChange, events []Event) error
	LockHistory(ctx context.Context, accountID string, limit int) ([]LockChange, error)

	// RecordAttempt commits the attempt and its events; concurrent calls
	// are committed together (group commit).
	RecordAttempt(ctx context.Context, a Attempt, events []Event) error
	Attempts(ctx context.Context, f AttemptFilter) ([]Attempt, error)

	AddAccountEvent(ctx context.Context, e AccountEvent) error
	AccountEvents(ctx context.Context, appID, username string, limit int) ([]AccountEvent, error)
	AccountEventsBySource(ctx context.Context, appID, username, source string, limit int) ([]AccountEvent, error)

	CreateWebhook(ctx context.Context, w Webhook) error
	Webhooks(ctx context.Context, ownerKind, ownerID string) ([]Webhook, error)
	Webhook(ctx context.Context, id string) (Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error

	// ClaimEvents leases up to limit undelivered events due at now, so
	// that one replica delivers each.
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Event, error)
	EventDelivered(ctx context.Context, id string, at time.Time) error
	EventFailed(ctx context.Context, id string, next time.Time, lastErr string, dead bool) error

	// Tokens are stored as SHA-256 hashes.
	AddAdminToken(ctx context.Context, hash, name string, at time.Time) error
	AdminTokenExists(ctx context.Context, hash string) (bool, error)
	AdminTokenCount(ctx context.Context) (int, error)
	AddPersonToken(ctx context.Context, hash, personID string, at time.Time) error
	PersonByToken(ctx context.Context, hash string) (Person, error)

	Ping(ctx context.Context) error
}

// AccountChange is the new state of one account with the history entry
// that explains it.
type AccountChange struct {
	Account Account // with the new State/UnlockUntil and the Version read
	Change  LockChange
}
