package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/authz/dynamo"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/problem"
)

// provisionAuthz checks the authz section (its files read, nothing
// fetched); nil without issuers or authorizers.
func provisionAuthz(c authz.Config, country func(netip.Addr) string, log *slog.Logger, opts Options) (*authz.Service, problem.List) {
	if len(c.Issuers) == 0 && len(c.Authorizers) == 0 && c.Groups.Source != "file" && c.Groups.Source != "dynamodb" {
		return nil, nil
	}
	return authz.Provision(c, authz.Options{Logger: log, Now: opts.Now, Country: country})
}

// authorizer resolves a gateway route's authorizer name.
func (s *Server) authorizer(name string) gateway.Authorizer {
	if s.authz == nil {
		return nil
	}
	if a := s.authz.Authorizer(name); a != nil {
		return a
	}
	return nil
}

// openAuthz gives the authorizers their group policy store and the lock
// service, and mounts the group policy admin endpoints.
func (s *Server) openAuthz(ctx context.Context) error {
	if s.authz == nil {
		return nil
	}
	switch s.authz.Source() {
	case "store":
		s.authz.SetStore(s.store.GroupPolicies())
	case "dynamodb":
		d, err := dynamo.Open(ctx, s.cfg.Authz.Groups.DynamoDB)
		if err != nil {
			return fmt.Errorf("authz.groups.dynamodb: %w", err)
		}
		s.authz.SetStore(d)
	}
	s.authz.SetLocks(locks{s.svc})
	s.api.Mount(s.authz.Endpoints()...)
	s.log.Info("authz enabled", "authorizers", s.authz.Names(), "groups", s.authz.Source())
	return nil
}

// locks answers the authorizers' lock checks from the lock service: the
// account's state now, or the application's rule for accounts it does
// not know, then the geo-fences of the account and its person for the
// client's address — a fenced account is refused through the gateway as
// the lock-check API refuses it. Nothing is recorded: this is an
// authorization, not a sign-in.
type locks struct{ svc *lock.Service }

func (l locks) Locked(ctx context.Context, app, username string, client netip.Addr) (bool, string, error) {
	a, err := l.svc.Application(ctx, app)
	if err != nil {
		return false, "", fmt.Errorf("application %s: %w", app, err)
	}
	acc, err := l.svc.Account(ctx, app, username)
	switch {
	case errors.Is(err, lock.ErrNotFound):
		locked := a.Settings.UnknownAccount == lock.UnknownLocked ||
			a.Settings.UnknownAccount == lock.UnknownEnrol && a.Settings.DefaultState == lock.StateLocked
		return locked, a.Settings.LockedMessage, nil
	case err != nil:
		return false, "", err
	}
	if l.svc.Status(acc).Locked {
		return true, a.Settings.LockedMessage, nil
	}
	fenced, msg, _, err := l.svc.Fenced(ctx, acc, client)
	switch {
	case err != nil:
		return false, "", fmt.Errorf("geo-fences: %w", err)
	case !fenced:
		return false, "", nil
	case msg == "":
		msg = a.Settings.LockedMessage
	}
	return true, msg, nil
}
