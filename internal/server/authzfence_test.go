package server

import (
	"context"
	"net/netip"
	"testing"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo/geotest"
	"github.com/lockgate/lockgate/internal/lock"
)

// Issue 17: "a lock check whose userIP resolves outside them answers
// locked: true". The gateway authorizer's lock check is a lock check of
// the request's client address: a fenced account is refused through the
// gateway as the lock-check API refuses it, with the fence's message.
func TestAuthorizerLockCheckHonoursGeoFences(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.Geo.DatabaseFile = config.Path(geotest.Write(t, geotest.City, geotest.Records))
	s, err := Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := s.Service()
	name, msg := "Shop", "This account is locked."
	app, _, err := svc.CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://shop.example"}, LockedMessage: &msg})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreatePerson(ctx, "Alice", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := svc.AssignAccount(ctx, app.ID, "alice", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := svc.CreatePerson(ctx, "Bob", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := svc.AssignAccount(ctx, app.ID, "bob", pb.ID)
	if err != nil {
		t.Fatal(err)
	}
	admin := lock.Actor{Name: "test"}
	if _, err := svc.SetGeoFence(ctx, lock.FenceOwnerAccount, acc.ID, lock.GeoFenceInput{Countries: []string{"US"}, Message: "Sign in from home."}, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetGeoFence(ctx, lock.FenceOwnerAccount, bob.ID, lock.GeoFenceInput{Countries: []string{"GB"}}, admin); err != nil {
		t.Fatal(err)
	}
	l := locks{svc}
	for _, tt := range []struct {
		user, ip string
		locked   bool
		message  string
	}{
		{"alice", "8.8.8.8", false, ""},                            // US: inside
		{"alice", "81.2.69.142", true, "Sign in from home."},       // GB: outside, the fence's message
		{"alice", "10.0.0.1", true, "Sign in from home."},          // no country: a fence fails closed
		{"bob", "81.2.69.142", false, ""},                          // GB: inside bob's fence
		{"bob", "8.8.8.8", true, "This account is locked."},        // no fence message: the application's
		{"carol", "81.2.69.142", false, "This account is locked."}, // unknown account, no fence: the application's rule
	} {
		locked, got, err := l.Locked(ctx, app.ID, tt.user, netip.MustParseAddr(tt.ip))
		if err != nil {
			t.Fatal(err)
		}
		if locked != tt.locked || locked && got != tt.message {
			t.Errorf("%s from %s: locked %v %q, want %v %q", tt.user, tt.ip, locked, got, tt.locked, tt.message)
		}
	}
}
