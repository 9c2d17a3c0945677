package lock

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// WebhookURLs vets a webhook's URL at registration (the delivery
	// checks again at dial time); nil accepts any http(s) URL.
	WebhookURLs URLChecker
	// LockedEventInterval throttles attempt.locked per account: the first
	// is sent at once, the rest of the interval's are summed up in one
	// attempt.locked.summary. 0 sends every one.
	LockedEventInterval time.Duration
	// LockedEventsPerApp caps, per application and interval, the
	// attempt.locked events and summaries of accounts without an owner
	// (unknown names answered locked, too): the rest are counted by one
	// summary of the application's. 0: no cap.
	LockedEventsPerApp int
	// ConflictRetries bounds the tries of a lock change that meets a
	// concurrent one before it answers ErrConflict; 8 when 0.
	ConflictRetries int
	// Sleep waits d or until ctx ends (between conflict retries); a
	// timer when nil. Tests inject their own.
	Sleep func(ctx context.Context, d time.Duration) error
	// Geo places attempts for geo-fences and new-country events (the
	// store keeps fences when it implements GeoFenceStore).
	Geo geo.Locator
	// CheckTimeout bounds a lock check's reads (the issuer's keys, the
	// account, the sync with other replicas); DefaultCheckTimeout when 0,
	// none when negative (a store whose reads cannot stall: SQLite's are
	// local and its lock waits end at its busy_timeout, so the 600 bytes
	// and the timer a bound costs each check buy nothing there). The
	// attempt's write has its own bound, the store's.
	CheckTimeout time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// Sealer seals and opens secrets at rest.
type Sealer interface {
	Seal(plaintext []byte, context string) string
	Open(sealed, context string) ([]byte, error)
}

// URLChecker refuses URLs a server must not call.
type URLChecker interface {
	CheckURL(ctx context.Context, u *url.URL) error
}

// Service is the account-protection domain.
type Service struct {
	store    Store
	box      Sealer
	verifier *verifier
	country  func(netip.Addr) string
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	log      *slog.Logger
	maxData  int
	retries  int
	urls     URLChecker
	throttle *throttle
	tokens   *tokenAuth
	accounts *accountCache // nil when the store cannot say when accounts change
	geo      *geoState
	// queued wakes the webhook dispatcher when an event is committed.
	queued       chan struct{}
	checkTimeout time.Duration
}

// DefaultCheckTimeout bounds a lock check's reads: a database that stops
// answering fails the check (500, which integrations treat as locked)
// well before a sign-in's client gives up, instead of holding it for as
// long as the client waits. Healthy reads take milliseconds.
const DefaultCheckTimeout = 10 * time.Second

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
	if o.ConflictRetries == 0 {
		o.ConflictRetries = 8
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.CheckTimeout == 0 {
		o.CheckTimeout = DefaultCheckTimeout
	}
	// Times are stored with microsecond precision; keep them so in memory
	// too, so what is returned equals what is read back.
	now := func() time.Time { return o.Now().UTC().Truncate(time.Microsecond) }
	var accounts *accountCache
	if w, ok := o.Store.(AccountWatcher); ok {
		accounts = newAccountCache(w)
	}
	g := &geoState{db: o.Geo, seen: map[[2]string]struct{}{}}
	g.fences, _ = o.Store.(GeoFenceStore)
	return &Service{
		geo:      g,
		accounts: accounts,
		store:    o.Store,
		box:      o.Box,
		verifier: newVerifier(o.Store, o.Box, o.Audiences, o.Leeway, o.MaxTokenLifetime, o.KeyCacheTTL, now),
		country:  o.Country,
		now:      now,
		sleep:    o.Sleep,
		log:      o.Logger,
		maxData:  o.MaxIntegrationData,
		retries:  o.ConflictRetries,
		urls:     o.WebhookURLs,
		throttle: newThrottle(o.LockedEventInterval, o.LockedEventsPerApp),
		tokens:   &tokenAuth{store: o.Store, now: now},
		queued:   make(chan struct{}, 1),

		checkTimeout: o.CheckTimeout,
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

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// conflictBackoff is the wait before retry n (0-based) of a change that met
// a concurrent one: full jitter over 2ms·2^n, capped at 100ms, so
// contending writers spread out instead of colliding again in step.
func conflictBackoff(n int) time.Duration {
	ceil := min(2*time.Millisecond<<min(n, 10), 100*time.Millisecond)
	return time.Duration(rand.Int64N(int64(ceil))) + time.Millisecond
}

// validText reports whether s is UTF-8 of at most max bytes without NUL,
// which both databases can store.
func validText(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// cleanText makes s storable: valid UTF-8, no NUL.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
