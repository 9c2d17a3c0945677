package lock

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// UnlockRequest is what a person who forgot to unlock first asks from the
// sign-in page of an application: the integration, having been answered
// locked, sends the attempt's ID back; the account's owner approves it
// (unlocking for a short time) or rejects it from the portal before it
// expires.
type UnlockRequest struct {
	ID           string    `json:"id"`
	AccountID    string    `json:"account_id"`
	PersonID     string    `json:"-"`
	AppID        string    `json:"app_id"`
	Username     string    `json:"username"`
	AttemptID    string    `json:"attempt_id"`
	UserIP       string    `json:"user_ip,omitempty"`
	UserDevice   string    `json:"user_device,omitempty"`
	UserLocation string    `json:"user_location,omitempty"`
	State        string    `json:"state"` // pending, approved, rejected, expired
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	DecidedAt    time.Time `json:"decided_at,omitzero"`
	DecidedBy    string    `json:"decided_by,omitempty"`
	NotifiedAt   time.Time `json:"-"`
}

// The states of an unlock request. Expired is never stored: a pending
// request past its time reads as expired.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestRejected = "rejected"
	RequestExpired  = "expired"
)

// UnlockRequestStore keeps unlock requests; the store implements it beside
// Store.
type UnlockRequestStore interface {
	Attempt(ctx context.Context, id string) (Attempt, error)
	// CreateUnlockRequest inserts r; ErrConflict when its attempt
	// already has one.
	CreateUnlockRequest(ctx context.Context, r UnlockRequest) error
	UnlockRequest(ctx context.Context, id string) (UnlockRequest, error)
	// PendingUnlockRequest is the account's request pending at now.
	PendingUnlockRequest(ctx context.Context, accountID string, now time.Time) (UnlockRequest, error)
	UnlockRequests(ctx context.Context, personID string, limit int) ([]UnlockRequest, error)
	// DecideUnlockRequest moves a request pending at now to state; ErrConflict
	// when it is no longer pending (decided, or expired).
	DecideUnlockRequest(ctx context.Context, id, state, by string, now time.Time) error
	// UnnotifiedUnlockRequests lists pending requests no mail was sent for.
	UnnotifiedUnlockRequests(ctx context.Context, now time.Time, limit int) ([]UnlockRequest, error)
	MarkUnlockRequestNotified(ctx context.Context, id string, at time.Time) error
}

// UnlockRequestPolicy bounds unlock requests.
type UnlockRequestPolicy struct {
	// Timeout is how long a request waits for the owner, and how old
	// the attempt it is made for may be.
	Timeout time.Duration
	// UnlockFor is how long an approved request unlocks the account.
	UnlockFor time.Duration
}

func (s *Service) requestStore() (UnlockRequestStore, error) {
	rs, ok := s.store.(UnlockRequestStore)
	if !ok {
		return nil, errors.New("lock: this store keeps no unlock requests")
	}
	return rs, nil
}

// RequestUnlock creates a pending request for the locked attempt
// attemptID, made with token (verified as for a lock check: the request
// comes from the same integration, for the same account). An account has
// at most one pending request: asking again returns it.
func (s *Service) RequestUnlock(ctx context.Context, token, attemptID string, p UnlockRequestPolicy) (UnlockRequest, error) {
	app, sub, _, err := s.verifyCurrent(ctx, token)
	if err != nil {
		return UnlockRequest{}, err
	}
	rs, err := s.requestStore()
	if err != nil {
		return UnlockRequest{}, err
	}
	if attemptID == "" || !validText(attemptID, 100) {
		return UnlockRequest{}, invalid("attempt_id: required (the sessionID a lock check answered)")
	}
	key := CanonicalUsername(app.Settings.UsernameMatch, sub)
	at, err := rs.Attempt(ctx, attemptID)
	if errors.Is(err, ErrNotFound) || err == nil && (at.AppID != app.ID || at.Username != key) {
		// Another application's or account's attempt reads as unknown.
		return UnlockRequest{}, fmt.Errorf("%w: attempt %s of this account", ErrNotFound, attemptID)
	}
	if err != nil {
		return UnlockRequest{}, err
	}
	now := s.now()
	switch {
	case !at.Locked:
		return UnlockRequest{}, invalid("attempt_id: the attempt was answered unlocked: there is nothing to request")
	case now.Sub(at.At) > p.Timeout:
		return UnlockRequest{}, invalid("attempt_id: the attempt is older than %s: sign in again first", p.Timeout)
	case at.AccountID == "":
		return UnlockRequest{}, invalid("attempt_id: the account is not enrolled, so no one can approve")
	}
	acc, err := s.store.AccountByID(ctx, at.AccountID)
	if err != nil {
		return UnlockRequest{}, err
	}
	if acc.PersonID == "" {
		return UnlockRequest{}, invalid("the account has no owner to approve the request")
	}
	if r, err := rs.PendingUnlockRequest(ctx, acc.ID, now); err == nil {
		return r, nil
	} else if !errors.Is(err, ErrNotFound) {
		return UnlockRequest{}, err
	}
	r := UnlockRequest{
		ID: newID("ulr", now), AccountID: acc.ID, PersonID: acc.PersonID, AppID: app.ID, Username: acc.Username,
		AttemptID: at.ID, UserIP: at.UserIP, UserDevice: at.UserDevice, UserLocation: at.UserLocation,
		State: RequestPending, CreatedAt: now, ExpiresAt: now.Add(p.Timeout),
	}
	if err := rs.CreateUnlockRequest(ctx, r); errors.Is(err, ErrConflict) {
		return rs.PendingUnlockRequest(ctx, acc.ID, now)
	} else if err != nil {
		return UnlockRequest{}, err
	}
	events, err := s.events(ctx, "unlock_request.created", now, map[string]any{
		"application": map[string]string{"id": app.ID, "name": app.Name}, "person_id": acc.PersonID, "request": r,
	}, app.ID, acc.PersonID)
	if err == nil && len(events) > 0 {
		if err = s.store.QueueEvents(ctx, events); err == nil {
			s.wake()
		}
	}
	if err != nil {
		// The request stands; only its webhook event is lost.
		s.log.Error("lock: queueing unlock_request.created", "request", r.ID, "error", err)
	}
	return r, nil
}

// UnlockRequestStatus returns a request to the integration that made it
// (the token must speak for the same account).
func (s *Service) UnlockRequestStatus(ctx context.Context, token, id string) (UnlockRequest, error) {
	app, sub, _, err := s.verifyCurrent(ctx, token)
	if err != nil {
		return UnlockRequest{}, err
	}
	rs, err := s.requestStore()
	if err != nil {
		return UnlockRequest{}, err
	}
	r, err := rs.UnlockRequest(ctx, id)
	if err != nil {
		return UnlockRequest{}, err
	}
	acc, err := s.store.AccountByID(ctx, r.AccountID)
	if err != nil || r.AppID != app.ID || acc.Key != CanonicalUsername(app.Settings.UsernameMatch, sub) {
		return UnlockRequest{}, fmt.Errorf("%w: unlock request %s of this account", ErrNotFound, id)
	}
	return r.as(s.now()), nil
}

// as is r as it reads at now: pending past its time is expired.
func (r UnlockRequest) as(now time.Time) UnlockRequest {
	if r.State == RequestPending && !now.Before(r.ExpiresAt) {
		r.State = RequestExpired
	}
	return r
}

// UnlockRequests lists a person's requests, newest first.
func (s *Service) UnlockRequests(ctx context.Context, personID string, limit int) ([]UnlockRequest, error) {
	rs, err := s.requestStore()
	if err != nil {
		return nil, err
	}
	list, err := rs.UnlockRequests(ctx, personID, clampLimit(limit))
	now := s.now()
	for i := range list {
		list[i] = list[i].as(now)
	}
	return list, err
}

// DecideUnlockRequest approves or rejects a pending request of personID's;
// approving unlocks the account for the policy's time. A request of
// another person reads as not found.
func (s *Service) DecideUnlockRequest(ctx context.Context, personID, id string, approve bool, p UnlockRequestPolicy, who Actor) (UnlockRequest, error) {
	rs, err := s.requestStore()
	if err != nil {
		return UnlockRequest{}, err
	}
	r, err := rs.UnlockRequest(ctx, id)
	if err != nil {
		return UnlockRequest{}, err
	}
	if r.PersonID != personID {
		return UnlockRequest{}, fmt.Errorf("%w: unlock request %s", ErrNotFound, id)
	}
	now := s.now()
	state := RequestRejected
	if approve {
		state = RequestApproved
	}
	if err := rs.DecideUnlockRequest(ctx, id, state, who.Name, now); err != nil {
		if errors.Is(err, ErrConflict) {
			return UnlockRequest{}, fmt.Errorf("%w: unlock request %s is %s", ErrConflict, id, r.as(now).State)
		}
		return UnlockRequest{}, err
	}
	r.State, r.DecidedAt, r.DecidedBy = state, now, who.Name
	if approve {
		if _, err := s.SetLockByID(ctx, r.AccountID, Target{For: p.UnlockFor, Reason: "unlock request " + r.ID + " approved"}, who); err != nil {
			return r, err
		}
	}
	return r, nil
}
