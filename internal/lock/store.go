package lock

import (
	"context"
	"time"
)

// The persistence of the lock domain, cut along what each part of the
// service needs. Each part holds only its own interface, so a test fakes
// a handful of methods, not the whole store; internal/store implements
// them all. Every write returns only after it is committed: an
// acknowledged change survives a crash.

// ApplicationStore keeps applications and their signing keys.
type ApplicationStore interface {
	keySource
	CreateApplication(ctx context.Context, app Application, key SigningKey) error
	// UpdateApplication reads application id as stored, lets change
	// decide what it becomes and which accounts get another key (reading
	// the accounts with accounts), and stores both: all in one
	// transaction that no account creation or rename of the application
	// overlaps, so a username_match switch cannot miss an account
	// written meanwhile. It returns the application stored.
	UpdateApplication(ctx context.Context, id string, change func(app Application, accounts func() ([]Account, error)) (Application, []Account, error)) (Application, error)
	Application(ctx context.Context, id string) (Application, error)
	Applications(ctx context.Context) ([]Application, error)
	DeleteApplication(ctx context.Context, id string) error
	AddSigningKey(ctx context.Context, key SigningKey) error
	RevokeSigningKey(ctx context.Context, appID, keyID string, at time.Time) error
}

// PersonStore keeps the owners of accounts.
type PersonStore interface {
	CreatePerson(ctx context.Context, p Person) error
	Person(ctx context.Context, id string) (Person, error)
	Persons(ctx context.Context) ([]Person, error)
	DeletePerson(ctx context.Context, id string, at time.Time) error
}

// AccountStore keeps accounts and their lock history.
type AccountStore interface {
	accountReader
	// CreateAccount inserts a; ErrConflict when (app, key) exists,
	// ErrMatchChanged when a.Key is not a.Username's key under the
	// application's username_match as committed.
	CreateAccount(ctx context.Context, a Account) error
	AccountByID(ctx context.Context, id string) (Account, error)
	Accounts(ctx context.Context, appID, personID string) ([]Account, error)
	SetAccountOwner(ctx context.Context, accountID, personID string) error
	// DeleteAccount deletes a; ErrConflict when it changed since it was
	// read (its Version), ErrNotFound when it is gone.
	DeleteAccount(ctx context.Context, a Account) error
	// RenameAccount stores renamed's Username and Key for the account a,
	// as read: ErrConflict when it changed since or the key is taken,
	// ErrMatchChanged as for CreateAccount.
	RenameAccount(ctx context.Context, a, renamed Account) error
	lockWriter
	LockHistory(ctx context.Context, accountID string, limit int) ([]LockChange, error)
}

// accountReader is what the lock check reads: the account, and the
// application's settings when its cache may be stale.
type accountReader interface {
	// Account finds an account by its application and canonical key.
	Account(ctx context.Context, appID, key string) (Account, error)
	Application(ctx context.Context, id string) (Application, error)
}

// lockWriter applies lock changes.
type lockWriter interface {
	// ChangeLocks reads the accounts with the IDs given inside one
	// transaction that keeps them from changing until it ends, calls plan
	// with them as they are, and commits the changes and events plan
	// returns: state, history and outbox together. plan does no I/O.
	// Concurrent changes of the same accounts wait for each other instead
	// of failing; ErrConflict remains possible (a serialisation failure)
	// and is retried by the caller.
	ChangeLocks(ctx context.Context, accountIDs []string, plan func(current []Account) ([]AccountChange, []Event, error)) error
}

// AttemptStore keeps what was asked: lock checks and integrations'
// reports.
type AttemptStore interface {
	// RecordAttempt commits the attempt and its events; concurrent calls
	// are committed together (group commit).
	RecordAttempt(ctx context.Context, a Attempt, events []Event) error
	Attempts(ctx context.Context, f AttemptFilter) ([]Attempt, error)
	AddAccountEvent(ctx context.Context, e AccountEvent) error
	AccountEvents(ctx context.Context, appID, key string, limit int) ([]AccountEvent, error)
	AccountEventsBySource(ctx context.Context, appID, key, source string, limit int) ([]AccountEvent, error)
	// UnalertedAccounts adds up, per account, the attempts recorded
	// Unalerted and not yet summarised, oldest first.
	UnalertedAccounts(ctx context.Context) ([]Unalerted, error)
	// SummariseUnalerted takes an account's unalerted attempts and queues
	// the events build returns for them, in one transaction; build is
	// not called when there are none.
	SummariseUnalerted(ctx context.Context, appID, username string, build func(Unalerted) ([]Event, error)) error
	// FoldUnalerted moves an account's unalerted attempts into its
	// application's group (username ""), summarised as one.
	FoldUnalerted(ctx context.Context, appID, username string) error
}

// WebhookStore keeps webhooks; events for them are queued with the change
// that causes them, or alone (summaries).
type WebhookStore interface {
	hookLister
	CreateWebhook(ctx context.Context, w Webhook) error
	Webhook(ctx context.Context, id string) (Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	QueueEvents(ctx context.Context, events []Event) error
}

// hookLister finds the webhooks an event goes to.
type hookLister interface {
	Webhooks(ctx context.Context, ownerKind, ownerID string) ([]Webhook, error)
}

// TokenStore keeps admin and person tokens (as salted hashes).
type TokenStore interface {
	CreateToken(ctx context.Context, t Token) error
	Token(ctx context.Context, id string) (Token, error)
	// TokenByLegacyHash finds a token issued before tokens had IDs, by
	// the SHA-256 of the whole token.
	TokenByLegacyHash(ctx context.Context, hash string) (Token, error)
	Tokens(ctx context.Context, f TokenFilter) ([]Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// RevokeAdminToken revokes an admin token unless it is the last
	// usable one (ErrConflict), deciding and revoking atomically.
	RevokeAdminToken(ctx context.Context, id string, at time.Time) error
	TouchToken(ctx context.Context, id string, at time.Time) error
	// SetTokenSource records where a token comes from: an issued token
	// configured as the admin token becomes the bootstrap token.
	SetTokenSource(ctx context.Context, id, source string) error
	// Exclusive runs f while no other replica runs an Exclusive section
	// of the same name: replicas started together with a new configured
	// admin token must not each revoke what the other registers.
	Exclusive(ctx context.Context, name string, f func(context.Context) error) error
}

// Store is everything the Service persists.
type Store interface {
	ApplicationStore
	PersonStore
	AccountStore
	relockStore
	AttemptStore
	WebhookStore
	TokenStore
	Ping(ctx context.Context) error
}

// AccountChange is the new state of one account with the history entry
// that explains it.
type AccountChange struct {
	Account Account // with the new State/UnlockUntil and the Version read
	Change  LockChange
}
