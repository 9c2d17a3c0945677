package lock_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

// switchStore is a store with hooks: inSwitch runs inside
// UpdateApplication's transaction, before the service decides the
// switch; beforeWrite before an account is created or renamed.
type switchStore struct {
	*store.Store
	mu          sync.Mutex
	inSwitch    func()
	beforeWrite func()
}

func (s *switchStore) hook(f *func()) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := *f
	*f = nil // once
	return h
}

func (s *switchStore) UpdateApplication(ctx context.Context, id string, change func(lock.Application, func() ([]lock.Account, error)) (lock.Application, []lock.Account, error)) (lock.Application, error) {
	return s.Store.UpdateApplication(ctx, id, func(app lock.Application, accounts func() ([]lock.Account, error)) (lock.Application, []lock.Account, error) {
		if h := s.hook(&s.inSwitch); h != nil {
			h()
		}
		return change(app, accounts)
	})
}

func (s *switchStore) CreateAccount(ctx context.Context, a lock.Account) error {
	if h := s.hook(&s.beforeWrite); h != nil {
		h()
	}
	return s.Store.CreateAccount(ctx, a)
}

func (s *switchStore) RenameAccount(ctx context.Context, a, renamed lock.Account) error {
	if h := s.hook(&s.beforeWrite); h != nil {
		h()
	}
	return s.Store.RenameAccount(ctx, a, renamed)
}

// TestSwitchToCaselessSerialisesWithAccountWrites (atk14 F9): a lock that
// enrols "BOB", or a rename to "BOB", computed its key under exact
// matching while the application switched to caseless. Both were
// acknowledged; the application ended caseless holding "BOB" and "bob",
// and the check of BOB found the unlocked bob. The hooks place the
// account write exactly there: its key computed under exact, its
// transaction started while the switch's is open.
func TestSwitchToCaselessSerialisesWithAccountWrites(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			ss := &switchStore{Store: storetest.Open(t, b)}
			c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
			e := newEnvWithStore(t, ss.Store, c, func(o *lock.Options) { o.Store = ss })
			exact, caseless := lock.MatchExact, lock.MatchCaseless
			who := lock.Actor{Name: "t"}
			check := func(key []byte, iss, user string) bool {
				t.Helper()
				res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims(iss, user)), lock.CheckInput{})
				if err != nil {
					t.Fatal(err)
				}
				return res.Locked
			}
			// concurrently runs write in the switch's transaction and
			// lets the switch go on once write has reached the store.
			concurrently := func(write func() error) chan error {
				done := make(chan error, 1)
				entered := make(chan struct{})
				ss.mu.Lock()
				ss.beforeWrite = func() { close(entered) }
				ss.inSwitch = func() {
					go func() { done <- write() }()
					select {
					case <-entered:
					case err := <-done: // refused before reaching the store
						done <- err
					}
				}
				ss.mu.Unlock()
				return done
			}

			// A lock enrolling BOB.
			app, key, _ := e.app(t, "L", "https://l.example", func(in *lock.ApplicationInput) { in.UsernameMatch = &exact })
			e.svc.SetLock(ctx, app.ID, "bob", lock.Target{Lock: true}, who)
			e.svc.SetLock(ctx, app.ID, "bob", lock.Target{}, who)
			done := concurrently(func() error {
				_, err := e.svc.SetLock(ctx, app.ID, "BOB", lock.Target{Lock: true}, who)
				return err
			})
			if _, err := e.svc.UpdateApplication(ctx, app.ID, lock.ApplicationInput{UsernameMatch: &caseless}); err != nil {
				t.Fatalf("switch: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("lock of BOB: %v", err)
			}
			if cs, _ := e.svc.UsernameCollisions(ctx, app.ID); len(cs) != 0 {
				t.Fatalf("caseless application holds a collision: %+v", cs)
			}
			for _, u := range []string{"BOB", "bob", "Bob"} {
				if !check(key, "https://l.example", u) {
					t.Fatalf("%s answered unlocked after the lock of BOB was acknowledged", u)
				}
			}

			// A rename onto BOB.
			app, key, _ = e.app(t, "R", "https://r.example", func(in *lock.ApplicationInput) { in.UsernameMatch = &exact })
			e.svc.SetLock(ctx, app.ID, "bob", lock.Target{Lock: true}, who)
			e.svc.SetLock(ctx, app.ID, "other", lock.Target{}, who)
			done = concurrently(func() error {
				_, _, err := e.svc.RenameAccount(ctx, app.ID, "other", "BOB", false)
				return err
			})
			if _, err := e.svc.UpdateApplication(ctx, app.ID, lock.ApplicationInput{UsernameMatch: &caseless}); err != nil {
				t.Fatalf("switch: %v", err)
			}
			if err := <-done; !errors.Is(err, lock.ErrConflict) {
				t.Fatalf("rename onto BOB during the switch: %v, want a conflict", err)
			}
			if cs, _ := e.svc.UsernameCollisions(ctx, app.ID); len(cs) != 0 {
				t.Fatalf("caseless application holds a collision: %+v", cs)
			}
			if !check(key, "https://r.example", "BOB") {
				t.Fatal("BOB (bob, locked) answered unlocked")
			}
		})
	}
}

// TestSwitchToCaselessRaces runs the switch and a lock enrolling a
// colliding name at the same time, many rounds: whichever wins, the
// acknowledged lock is answered and a caseless application never holds
// two accounts of one name.
func TestSwitchToCaselessRaces(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			e := newEnvWithStore(t, storetest.Open(t, b), &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)})
			exact, caseless := lock.MatchExact, lock.MatchCaseless
			who := lock.Actor{Name: "t"}
			for round := range 10 {
				iss := fmt.Sprintf("https://%d.example", round)
				app, key, _ := e.app(t, "A", iss, func(in *lock.ApplicationInput) { in.UsernameMatch = &exact })
				e.svc.SetLock(ctx, app.ID, "bob", lock.Target{Lock: true}, who)
				e.svc.SetLock(ctx, app.ID, "bob", lock.Target{}, who)
				e.svc.SetLock(ctx, app.ID, "carol", lock.Target{}, who)
				var wg sync.WaitGroup
				var switchErr, lockErr, renameErr error
				start := make(chan struct{})
				wg.Add(3)
				go func() {
					defer wg.Done()
					<-start
					_, switchErr = e.svc.UpdateApplication(ctx, app.ID, lock.ApplicationInput{UsernameMatch: &caseless})
				}()
				go func() {
					defer wg.Done()
					<-start
					_, lockErr = e.svc.SetLock(ctx, app.ID, "BOB", lock.Target{Lock: true}, who)
				}()
				go func() {
					defer wg.Done()
					<-start
					_, _, renameErr = e.svc.RenameAccount(ctx, app.ID, "carol", "Bob", false)
				}()
				close(start)
				wg.Wait()
				if lockErr != nil {
					t.Fatalf("round %d: lock of BOB: %v", round, lockErr)
				}
				if renameErr != nil && !errors.Is(renameErr, lock.ErrConflict) {
					t.Fatalf("round %d: rename: %v", round, renameErr)
				}
				if switchErr != nil && !errors.Is(switchErr, lock.ErrConflict) {
					t.Fatalf("round %d: switch: %v", round, switchErr)
				}
				got, err := e.svc.Application(ctx, app.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Settings.UsernameMatch == lock.MatchCaseless {
					if cs, _ := e.svc.UsernameCollisions(ctx, app.ID); len(cs) != 0 {
						t.Fatalf("round %d: caseless with a collision: %+v (switch %v, rename %v)", round, cs, switchErr, renameErr)
					}
				}
				res, err := e.svc.Check(ctx, sign(key, map[string]any{"alg": "HS256"}, e.claims(iss, "BOB")), lock.CheckInput{})
				if err != nil || !res.Locked {
					t.Fatalf("round %d: BOB answered %+v, %v after its lock was acknowledged (switch %v)", round, res, err, switchErr)
				}
			}
		})
	}
}
