package lock

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lockgate/lockgate/internal/config"
)

// Scope is what a token may do.
type Scope string

// The scopes.
const (
	ScopeAdmin     Scope = "admin"      // the whole admin API
	ScopeAdminRead Scope = "admin:read" // the admin API's reads only
	ScopePerson    Scope = "person"     // the owner API, as one person
)

// Valid reports whether sc is a known scope.
func (sc Scope) Valid() bool { return sc == ScopeAdmin || sc == ScopeAdminRead || sc == ScopePerson }

// Where a token came from.
const (
	SourceAPI       = "api"       // created over the admin API or CLI
	SourceBootstrap = "bootstrap" // LOCKGATE_ADMIN_TOKEN / admin_token
	SourceGenerated = "generated" // the first start's admin token
	SourceMigrated  = "migrated"  // issued before tokens had names
)

// Token is an admin or person token as kept: never its secret, only a
// salted hash of it.
type Token struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Scope      Scope     `json:"scope"`
	PersonID   string    `json:"person_id,omitempty"`
	Source     string    `json:"source"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	Hash       string    `json:"-"`
	LegacyHash string    `json:"-"`
}

// ActiveAt reports whether the token is usable at now.
func (t Token) ActiveAt(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// TokenFilter selects tokens; zero fields match everything. Revoked
// tokens are left out unless asked for.
type TokenFilter struct {
	PersonID       string
	Scope          Scope
	Source         string
	IncludeRevoked bool
}

// TokenInput creates a token.
type TokenInput struct {
	Name     string
	Scope    Scope
	PersonID string
	// ExpiresAt, when not zero, ends the token.
	ExpiresAt time.Time
}

// MaxTokenInput bounds an admin or person token as presented.
const MaxTokenInput = 512

// issued tokens are "lgt_" + the hex of their ID + "_" + 256 random bits.
const (
	issuedPrefix = "lgt_"
	legacyPrefix = "lg_"
)

// CheckBootstrapToken says why a configured admin token must not be used:
// one an attacker could guess, or one that no client can present.
// Placeholders (and repeated patterns) are refused by config.Placeholder,
// the check every configured secret goes through.
func CheckBootstrapToken(s string) error {
	if reason := config.Placeholder(s); reason != "" {
		return fmt.Errorf("looks like a placeholder (it %s), and a placeholder is public: use a random value such as `openssl rand -hex 32`", reason)
	}
	switch {
	case strings.TrimSpace(s) != s:
		return errors.New("has surrounding white space (a client sends it trimmed, so it could never match)")
	case len(s) > MaxTokenInput:
		return fmt.Errorf("is %d bytes, over %d (requests carrying it would be refused)", len(s), MaxTokenInput)
	case !printableASCII(s):
		return errors.New("holds spaces, control or non-ASCII characters (use letters, digits and punctuation)")
	case utf8.RuneCountInString(s) < 32:
		return fmt.Errorf("is %d characters: use at least 32 (lockgate's own tokens carry 256 random bits)", len(s))
	case distinct(s) < 12:
		return fmt.Errorf("uses only %d different characters: use a random value such as `openssl rand -hex 32`", distinct(s))
	}
	return nil
}

// distinct counts the different bytes of s (printable ASCII).
func distinct(s string) int {
	var seen [128]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]&0x7f] {
			seen[s[i]&0x7f] = true
			n++
		}
	}
	return n
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// tokenAuth authenticates admin and person tokens.
type tokenAuth struct {
	store TokenStore
	now   func() time.Time

	mu          sync.RWMutex
	bootstrap   [32]byte // SHA-256 of the configured token
	bootstrapID string   // "" when none is configured
}

func (a *tokenAuth) setBootstrap(value, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bootstrap, a.bootstrapID = sha256.Sum256([]byte(value)), id
}

// authenticate finds the active token presented. Every failure wraps
// ErrUnauthorized with a reason for the operator's log that holds no part
// of the secret.
func (a *tokenAuth) authenticate(ctx context.Context, presented string) (Token, error) {
	if presented == "" {
		return Token{}, unauthorized("no token")
	}
	if len(presented) > MaxTokenInput || !printableASCII(presented) {
		return Token{}, unauthorized("malformed token (%d bytes)", len(presented))
	}
	a.mu.RLock()
	sum, bootID := a.bootstrap, a.bootstrapID
	a.mu.RUnlock()
	var (
		tok Token
		err error
	)
	given := sha256.Sum256([]byte(presented))
	switch {
	case bootID != "" && subtle.ConstantTimeCompare(given[:], sum[:]) == 1:
		tok, err = a.store.Token(ctx, bootID)
	case strings.HasPrefix(presented, issuedPrefix):
		id, secret, ok := parseIssued(presented)
		if !ok {
			return Token{}, unauthorized("malformed lgt_ token")
		}
		tok, err = a.store.Token(ctx, id)
		if err == nil && !verifyIssued(tok.Hash, secret) {
			return Token{}, unauthorized("wrong secret for token %s", id)
		}
	case strings.HasPrefix(presented, legacyPrefix):
		tok, err = a.store.TokenByLegacyHash(ctx, hex.EncodeToString(given[:])) // HashOf(presented)
	default:
		return Token{}, unauthorized("not a token lockgate issued")
	}
	if errors.Is(err, ErrNotFound) {
		return Token{}, unauthorized("unknown token")
	}
	if err != nil {
		return Token{}, err
	}
	now := a.now()
	if !tok.RevokedAt.IsZero() {
		return Token{}, unauthorized("token %s (%s) was revoked at %s", tok.ID, tok.Name, tok.RevokedAt.Format(time.RFC3339))
	}
	if !tok.ActiveAt(now) {
		return Token{}, unauthorized("token %s (%s) expired at %s", tok.ID, tok.Name, tok.ExpiresAt.Format(time.RFC3339))
	}
	// Last use is kept to the minute: a write per request would cost more
	// than the request.
	if now.Sub(tok.LastUsedAt) >= time.Minute {
		if err := a.store.TouchToken(ctx, tok.ID, now); err == nil {
			tok.LastUsedAt = now
		}
	}
	return tok, nil
}

func parseIssued(s string) (id, secret string, ok bool) {
	rest := s[len(issuedPrefix):]
	hexID, secret, ok := strings.Cut(rest, "_")
	if !ok || len(hexID) != 32 || len(secret) != 43 {
		return "", "", false
	}
	if _, err := hex.DecodeString(hexID); err != nil {
		return "", "", false
	}
	return "tok_" + hexID, secret, true
}

// hashIssued is how an issued token's secret is kept: salted SHA-256. The
// secret is 256 random bits, so a fast hash is enough; the salt makes
// equal secrets (there are none) and precomputed tables useless.
func hashIssued(secret string) string {
	salt := newSecret(16)
	sum := sha256.Sum256(append(salt, secret...))
	return "s256$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(sum[:])
}

func verifyIssued(stored, secret string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 3 || parts[0] != "s256" {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[1])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return false
	}
	sum := sha256.Sum256(append(salt, secret...))
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}

// bootstrapIterations is the PBKDF2 work for a configured token's stored
// hash: it is a chosen value, so a stolen database must not give it up to
// a fast search. It is computed at start only; requests compare the
// presented token with the configured one in memory.
const bootstrapIterations = 200_000

func hashBootstrap(value string) string {
	salt := newSecret(16)
	dk, err := pbkdf2.Key(sha256.New, value, salt, bootstrapIterations, 32)
	if err != nil {
		panic("lock: pbkdf2: " + err.Error())
	}
	return "pbkdf2-sha256$" + strconv.Itoa(bootstrapIterations) + "$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(dk)
}

func verifyBootstrap(stored, value string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	dk, err := pbkdf2.Key(sha256.New, value, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(dk, want) == 1
}

// EnsureAdminToken applies the configured admin token at start: it is one
// named token, kept while the configured value stays the same and revoked
// (replaced by a new one) when it changes. With none configured and no
// full admin token at all, it creates one and returns it to be shown once.
func (s *Service) EnsureAdminToken(ctx context.Context, configured string) (generated string, err error) {
	// One replica at a time (atk14f F14: two replicas started with a new
	// value each revoked the previous token, and the second failed with
	// "not found"; with none configured, each would make its own).
	err = s.store.Exclusive(ctx, "admin token", func(ctx context.Context) error {
		generated, err = s.ensureAdminToken(ctx, configured)
		return err
	})
	return generated, err
}

func (s *Service) ensureAdminToken(ctx context.Context, configured string) (generated string, err error) {
	if configured != "" {
		if err := CheckBootstrapToken(configured); err != nil {
			return "", fmt.Errorf("the configured admin token %w", err)
		}
		// The value may be a token lockgate issued (the first start's,
		// which it advises to configure, or one pasted from a listing):
		// that token becomes the configured one, so that changing the
		// value revokes it. A second record for the same secret would
		// be the one revoked, and the issued one would keep working.
		adopted, found, err := s.issuedToken(ctx, configured)
		if err != nil {
			return "", err
		}
		if found {
			switch {
			case !adopted.RevokedAt.IsZero():
				return "", fmt.Errorf("the configured admin token is token %s (%q), revoked at %s: configure a new one", adopted.ID, adopted.Name, adopted.RevokedAt.Format(time.RFC3339))
			case adopted.Scope != ScopeAdmin:
				return "", fmt.Errorf("the configured admin token is token %s (%q), of scope %s: the configured token has full admin rights, so it must be a full admin token; configure a new value (such as `openssl rand -hex 32`)", adopted.ID, adopted.Name, adopted.Scope)
			case !adopted.ActiveAt(s.now()):
				return "", fmt.Errorf("the configured admin token is token %s (%q), expired at %s: configure a new one", adopted.ID, adopted.Name, adopted.ExpiresAt.Format(time.RFC3339))
			}
		}
		boots, err := s.store.Tokens(ctx, TokenFilter{Source: SourceBootstrap, IncludeRevoked: true})
		if err != nil {
			return "", err
		}
		// A configured token that was revoked stays revoked: starting
		// again with the same value must not bring it back.
		for _, t := range boots {
			if !t.RevokedAt.IsZero() && verifyBootstrap(t.Hash, configured) {
				return "", fmt.Errorf("the configured admin token (%s) was revoked at %s: configure a new one", t.ID, t.RevokedAt.Format(time.RFC3339))
			}
		}
		keep := ""
		if found {
			keep = adopted.ID
		}
		for _, t := range boots {
			if !t.RevokedAt.IsZero() || t.ID == keep {
				continue
			}
			same := verifyBootstrap(t.Hash, configured)
			if keep == "" && same {
				keep = t.ID
				continue
			}
			if err := s.store.RevokeToken(ctx, t.ID, s.now()); err != nil {
				return "", err
			}
			if same {
				// Registered by an earlier version next to the issued
				// token it copies: one record is enough.
				s.log.Info("a second record of the configured admin token is revoked; the issued token is kept", "token", t.ID, "kept", keep)
				continue
			}
			s.log.Warn("the configured admin token changed: the previous one is revoked", "token", t.ID, "created", t.CreatedAt)
		}
		if found && adopted.Source != SourceBootstrap {
			if err := s.store.SetTokenSource(ctx, adopted.ID, SourceBootstrap); err != nil {
				return "", err
			}
			s.log.Info("the configured admin token is an issued token: it is now the configured one, revoked when the configured value changes", "token", adopted.ID, "name", adopted.Name)
		}
		if keep == "" {
			now := s.now()
			t := Token{ID: newID("tok", now), Name: "bootstrap (LOCKGATE_ADMIN_TOKEN)", Scope: ScopeAdmin, Source: SourceBootstrap, CreatedAt: now, Hash: hashBootstrap(configured)}
			if err := s.store.CreateToken(ctx, t); err != nil {
				return "", err
			}
			keep = t.ID
			s.log.Info("configured admin token registered", "token", t.ID)
		}
		s.tokens.setBootstrap(configured, keep)
		return "", nil
	}
	admins, err := s.store.Tokens(ctx, TokenFilter{Scope: ScopeAdmin})
	if err != nil {
		return "", err
	}
	now := s.now()
	for _, t := range admins {
		if t.ActiveAt(now) {
			return "", nil
		}
	}
	_, secret, err := s.createToken(ctx, TokenInput{Name: "initial admin token", Scope: ScopeAdmin}, SourceGenerated)
	return secret, err
}

// issuedToken finds the token lockgate issued whose value is value, if
// any, revoked or not.
func (s *Service) issuedToken(ctx context.Context, value string) (Token, bool, error) {
	var (
		t   Token
		err error
	)
	switch {
	case strings.HasPrefix(value, issuedPrefix):
		id, secret, ok := parseIssued(value)
		if !ok {
			return Token{}, false, nil
		}
		if t, err = s.store.Token(ctx, id); err == nil && !verifyIssued(t.Hash, secret) {
			return Token{}, false, nil
		}
	case strings.HasPrefix(value, legacyPrefix):
		t, err = s.store.TokenByLegacyHash(ctx, HashOf(value))
	default:
		return Token{}, false, nil
	}
	if errors.Is(err, ErrNotFound) {
		return Token{}, false, nil
	}
	return t, err == nil, err
}

// CreateToken issues a token; its secret is returned here and never again.
func (s *Service) CreateToken(ctx context.Context, in TokenInput) (Token, string, error) {
	return s.createToken(ctx, in, SourceAPI)
}

func (s *Service) createToken(ctx context.Context, in TokenInput, source string) (Token, string, error) {
	now := s.now()
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "" || !validText(in.Name, 200):
		return Token{}, "", invalid("name: required, at most 200 bytes of UTF-8")
	case !in.Scope.Valid():
		return Token{}, "", invalid("scope: %q is not admin, admin:read or person", in.Scope)
	case in.Scope == ScopePerson && in.PersonID == "":
		return Token{}, "", invalid("person_id: required for scope person")
	case in.Scope != ScopePerson && in.PersonID != "":
		return Token{}, "", invalid("person_id: only for scope person")
	case !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now):
		return Token{}, "", invalid("expires_at: %s is not in the future", in.ExpiresAt.Format(time.RFC3339))
	}
	if in.Scope == ScopePerson {
		if _, err := s.store.Person(ctx, in.PersonID); err != nil {
			return Token{}, "", err
		}
	}
	t := Token{ID: newID("tok", now), Name: in.Name, Scope: in.Scope, PersonID: in.PersonID, Source: source, CreatedAt: now, ExpiresAt: in.ExpiresAt.UTC().Truncate(time.Microsecond)}
	secret := base64.RawURLEncoding.EncodeToString(newSecret(32))
	t.Hash = hashIssued(secret)
	if err := s.store.CreateToken(ctx, t); err != nil {
		return Token{}, "", err
	}
	return t, issuedPrefix + strings.TrimPrefix(t.ID, "tok_") + "_" + secret, nil
}

// Tokens lists tokens without their secrets.
func (s *Service) Tokens(ctx context.Context, f TokenFilter) ([]Token, error) {
	return s.store.Tokens(ctx, f)
}

// TokenInfo returns one token without its secret.
func (s *Service) TokenInfo(ctx context.Context, id string) (Token, error) {
	return s.store.Token(ctx, id)
}

// AdminKeeperLifetime is how long a full admin token must still last to
// count as the one that keeps admins in when another is revoked.
const AdminKeeperLifetime = 24 * time.Hour

// RevokeToken makes a token unusable at once, on every replica (each
// request reads the token's row). A full admin token cannot be revoked
// unless another one without expiry, or lasting AdminKeeperLifetime more,
// remains: that would lock every admin out, at once or when it expires.
func (s *Service) RevokeToken(ctx context.Context, id string) (Token, error) {
	t, err := s.store.Token(ctx, id)
	if err != nil {
		return Token{}, err
	}
	now := s.now()
	if !t.RevokedAt.IsZero() {
		return t, nil
	}
	revoke := s.store.RevokeToken
	if t.Scope == ScopeAdmin {
		revoke = s.store.RevokeAdminToken
	}
	if err := revoke(ctx, id, now); err != nil {
		return Token{}, err
	}
	t.RevokedAt = now
	return t, nil
}

// Authenticate finds the active admin or person token presented.
func (s *Service) Authenticate(ctx context.Context, presented string) (Token, error) {
	return s.tokens.authenticate(ctx, presented)
}

// IssuePersonToken returns a new bearer token for the owner API.
func (s *Service) IssuePersonToken(ctx context.Context, personID string, in TokenInput) (Token, string, error) {
	in.Scope, in.PersonID = ScopePerson, personID
	if in.Name == "" {
		in.Name = "owner API"
	}
	if _, err := s.store.Person(ctx, personID); err != nil {
		return Token{}, "", err
	}
	return s.createToken(ctx, in, SourceAPI)
}

// PersonByToken authenticates an owner-API token.
func (s *Service) PersonByToken(ctx context.Context, presented string) (Person, Token, error) {
	t, err := s.Authenticate(ctx, presented)
	if err != nil {
		return Person{}, Token{}, err
	}
	if t.Scope != ScopePerson {
		return Person{}, Token{}, unauthorized("token %s has scope %s, not person", t.ID, t.Scope)
	}
	p, err := s.store.Person(ctx, t.PersonID)
	if errors.Is(err, ErrNotFound) {
		return Person{}, Token{}, unauthorized("token %s: its person is gone", t.ID)
	}
	return p, t, err
}

// HashOf is the hex SHA-256 of a token: how tokens issued before 0004
// were kept, and are still found.
func HashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
