package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

// forEach runs a contract test against every backend.
func forEach(t *testing.T, f func(t *testing.T, s *store.Store)) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, storetest.Open(t, b))
		})
	}
}

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func mkApp(t *testing.T, s *store.Store, id string, issuers ...string) lock.Application {
	t.Helper()
	app := lock.Application{ID: id, Name: "app " + id, Issuers: issuers,
		Settings:  lock.Settings{UnknownAccount: lock.UnknownUnlocked, DefaultState: lock.StateUnlocked, LockedMessage: "locked"},
		CreatedAt: t0, UpdatedAt: t0}
	key := lock.SigningKey{ID: "key_" + id, AppID: id, Sealed: "v1:sealed", CreatedAt: t0}
	if err := s.CreateApplication(context.Background(), app, key); err != nil {
		t.Fatal(err)
	}
	return app
}

func TestApplications(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		app := mkApp(t, s, "app_1", "https://a.example", "https://a2.example")
		got, err := s.ApplicationByIssuer(ctx, "https://a2.example")
		if err != nil || got.ID != app.ID || len(got.Issuers) != 2 || !got.CreatedAt.Equal(t0) {
			t.Fatalf("by issuer: %+v %v", got, err)
		}
		// An issuer selects the key, so it belongs to one application.
		err = s.CreateApplication(ctx, lock.Application{ID: "app_2", Name: "x", Issuers: []string{"https://a.example"}, CreatedAt: t0, UpdatedAt: t0},
			lock.SigningKey{ID: "key_2", AppID: "app_2", Sealed: "s", CreatedAt: t0})
		if !errors.Is(err, lock.ErrConflict) {
			t.Fatalf("duplicate issuer: err = %v, want ErrConflict", err)
		}
		if _, err := s.Application(ctx, "app_2"); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("failed create left a row: %v", err)
		}
		if _, err := s.UpdateApplication(ctx, app.ID, func(cur lock.Application, _ func() ([]lock.Account, error)) (lock.Application, []lock.Account, error) {
			cur.Name, cur.Issuers = "renamed", []string{"https://b.example"}
			return cur, nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplicationByIssuer(ctx, "https://a.example"); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("old issuer still resolves: %v", err)
		}
		apps, err := s.Applications(ctx)
		if err != nil || len(apps) != 1 || apps[0].Name != "renamed" || apps[0].Issuers[0] != "https://b.example" {
			t.Fatalf("list: %+v %v", apps, err)
		}
		if err := s.AddSigningKey(ctx, lock.SigningKey{ID: "key_b", AppID: app.ID, Sealed: "s2", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeSigningKey(ctx, app.ID, "key_app_1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeSigningKey(ctx, app.ID, "key_app_1", t0.Add(time.Hour)); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
		keys, _ := s.SigningKeys(ctx, app.ID)
		if len(keys) != 2 || keys[0].RevokedAt.IsZero() == keys[1].RevokedAt.IsZero() {
			t.Fatalf("keys: %+v", keys)
		}
		acc := lock.Account{ID: "acc_1", AppID: app.ID, Username: "u", State: lock.StateLocked, Version: 1, CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteApplication(ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AccountByID(ctx, "acc_1"); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("account survived its application: %v", err)
		}
		if err := s.DeleteApplication(ctx, app.ID); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

func TestAccountsAndLockChanges(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mkApp(t, s, "app_1", "https://a.example")
		p := lock.Person{ID: "per_1", Name: "Ann", Email: "ann@example.com", CreatedAt: t0}
		if err := s.CreatePerson(ctx, p); err != nil {
			t.Fatal(err)
		}
		acc := lock.Account{ID: "acc_1", AppID: "app_1", Username: "ann", State: lock.StateUnlocked, Version: 1, CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		dup := acc
		dup.ID = "acc_2"
		if err := s.CreateAccount(ctx, dup); !errors.Is(err, lock.ErrConflict) {
			t.Fatalf("duplicate username: %v", err)
		}
		if err := s.SetAccountOwner(ctx, acc.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		mine, _ := s.Accounts(ctx, "", p.ID)
		if len(mine) != 1 || mine[0].PersonID != p.ID {
			t.Fatalf("person's accounts: %+v", mine)
		}
		until := t0.Add(15 * time.Minute)
		next := acc
		next.UnlockUntil, next.UpdatedAt = until, t0
		ch := lock.LockChange{ID: "chg_1", AccountID: acc.ID, AppID: "app_1", Username: "ann", From: lock.StateLocked, To: lock.StateUnlocked, UnlockUntil: &until, Actor: "admin", At: t0}
		if err := s.ApplyLockChanges(ctx, []lock.AccountChange{{Account: next, Change: ch}}, nil); err != nil {
			t.Fatal(err)
		}
		// The same change again carries a stale version.
		ch.ID = "chg_2"
		if err := s.ApplyLockChanges(ctx, []lock.AccountChange{{Account: next, Change: ch}}, nil); !errors.Is(err, lock.ErrConflict) {
			t.Fatalf("stale version: %v", err)
		}
		got, _ := s.Account(ctx, "app_1", "ann")
		if got.Version != 2 || !got.UnlockUntil.Equal(until) {
			t.Fatalf("after change: %+v", got)
		}
		hist, _ := s.LockHistory(ctx, acc.ID, 10)
		if len(hist) != 1 || hist[0].UnlockUntil == nil || !hist[0].UnlockUntil.Equal(until) || hist[0].Actor != "admin" {
			t.Fatalf("history: %+v", hist)
		}
		if due, _ := s.DueRelocks(ctx, until.Add(-time.Second), 10); len(due) != 0 {
			t.Fatalf("due too early: %+v", due)
		}
		if due, _ := s.DueRelocks(ctx, until, 10); len(due) != 1 {
			t.Fatalf("not due on time: %+v", due)
		}
		if err := s.DeletePerson(ctx, p.ID, t0); err != nil {
			t.Fatal(err)
		}
		got, err := s.AccountByID(ctx, acc.ID)
		if err != nil || got.PersonID != "" {
			t.Fatalf("account after owner deleted: %+v %v", got, err)
		}
	})
}

func TestAttemptsGroupCommit(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const n = 500
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := lock.Attempt{ID: fmt.Sprintf("att_%04d", i), At: t0.Add(time.Duration(i) * time.Second), AppID: "app_1", Username: fmt.Sprintf("u%d", i%5),
					UserIP: "203.0.113.7", IntegrationType: "awsiamuser", IntegrationData: []byte(`{"k":1}`), Locked: i%2 == 0}
				var ev []lock.Event
				if a.Locked {
					ev = []lock.Event{{ID: "out_" + a.ID, WebhookID: "whk_1", Type: "attempt.locked", Body: []byte(`{}`), CreatedAt: t0}}
				}
				errs <- s.RecordAttempt(ctx, a, ev)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.Attempts(ctx, lock.AttemptFilter{Limit: 1000})
		if err != nil || len(all) != n {
			t.Fatalf("got %d attempts, %v", len(all), err)
		}
		if all[0].ID != "att_0499" || string(all[0].IntegrationData) != `{"k":1}` || all[0].Locked {
			t.Fatalf("newest: %+v", all[0])
		}
		page, _ := s.Attempts(ctx, lock.AttemptFilter{Username: "u1", Before: "att_0100", Limit: 3})
		if len(page) != 3 || page[0].ID != "att_0096" || page[2].ID != "att_0086" {
			t.Fatalf("page: %v", ids(page))
		}
		since, _ := s.Attempts(ctx, lock.AttemptFilter{Since: t0.Add(490 * time.Second), Until: t0.Add(495 * time.Second), Limit: 100})
		if len(since) != 5 {
			t.Fatalf("time window: %v", ids(since))
		}
		evs, err := s.ClaimEvents(ctx, "whk_1", t0, time.Minute, 1000)
		if err != nil || len(evs) != n/2 {
			t.Fatalf("claimed %d events, %v", len(evs), err)
		}
	})
}

func TestPoisonAttemptDoesNotFailBatch(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.RecordAttempt(ctx, lock.Attempt{ID: "att_dup", At: t0}, nil); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		results := make([]error, 50)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("att_%02d", i)
				if i == 25 {
					id = "att_dup" // violates the primary key
				}
				results[i] = s.RecordAttempt(ctx, lock.Attempt{ID: id, At: t0}, nil)
			}()
		}
		wg.Wait()
		for i, err := range results {
			if (err != nil) != (i == 25) {
				t.Errorf("attempt %d: err = %v", i, err)
			}
		}
	})
}

func ids(as []lock.Attempt) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestOutbox(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 3 {
			if err := s.RecordAttempt(ctx, lock.Attempt{ID: fmt.Sprintf("att_%d", i), At: t0}, []lock.Event{{ID: fmt.Sprintf("out_%d", i), WebhookID: "whk_1", Type: "t", Body: []byte(`{"i":1}`), CreatedAt: t0}}); err != nil {
				t.Fatal(err)
			}
		}
		if ids, err := s.DueDestinations(ctx, t0, 10); err != nil || len(ids) != 1 || ids[0] != "whk_1" {
			t.Fatalf("due destinations: %v %v", ids, err)
		}
		if other, _ := s.ClaimEvents(ctx, "whk_2", t0, time.Minute, 10); len(other) != 0 {
			t.Fatalf("claimed another destination's events: %d", len(other))
		}
		first, _ := s.ClaimEvents(ctx, "whk_1", t0, time.Minute, 2)
		second, _ := s.ClaimEvents(ctx, "whk_1", t0, time.Minute, 10)
		if len(first) != 2 || len(second) != 1 {
			t.Fatalf("leases overlap: %d then %d", len(first), len(second))
		}
		if string(first[0].Body) != `{"i":1}` {
			t.Fatalf("body %q", first[0].Body)
		}
		if again, _ := s.ClaimEvents(ctx, "whk_1", t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
			t.Fatalf("claimed while leased: %d", len(again))
		}
		s.EventDelivered(ctx, first[0].ID, t0)
		s.EventFailed(ctx, first[1].ID, t0.Add(10*time.Second), "503", false)
		s.EventFailed(ctx, second[0].ID, t0, "gone", true)
		if got, _ := s.ClaimEvents(ctx, "whk_1", t0.Add(5*time.Second), time.Minute, 10); len(got) != 0 {
			t.Fatalf("retry came early: %d", len(got))
		}
		got, _ := s.ClaimEvents(ctx, "whk_1", t0.Add(2*time.Minute), time.Minute, 10)
		if len(got) != 1 || got[0].ID != first[1].ID || got[0].Attempts != 1 {
			t.Fatalf("retry: %+v", got)
		}
	})
}

func TestTokens(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.CreatePerson(ctx, lock.Person{ID: "per_1", Name: "A", CreatedAt: t0})
		toks := []lock.Token{
			{ID: "tok_a", Name: "ci", Scope: lock.ScopeAdmin, Source: lock.SourceAPI, Hash: "s256$x$y", CreatedAt: t0},
			{ID: "tok_r", Name: "dash", Scope: lock.ScopeAdminRead, Source: lock.SourceAPI, Hash: "s256$x$y", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			{ID: "tok_p", Name: "ann", Scope: lock.ScopePerson, PersonID: "per_1", Source: lock.SourceMigrated, Hash: "sha256$h", LegacyHash: "h", CreatedAt: t0},
		}
		for _, tk := range toks {
			if err := s.CreateToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateToken(ctx, toks[0]); !errors.Is(err, lock.ErrConflict) {
			t.Fatalf("duplicate id: %v", err)
		}
		got, err := s.Token(ctx, "tok_r")
		if err != nil || got.Name != "dash" || !got.ExpiresAt.Equal(t0.Add(time.Hour)) || !got.LastUsedAt.IsZero() {
			t.Fatalf("token: %+v %v", got, err)
		}
		if p, err := s.TokenByLegacyHash(ctx, "h"); err != nil || p.ID != "tok_p" || p.PersonID != "per_1" {
			t.Fatalf("legacy: %+v %v", p, err)
		}
		if _, err := s.TokenByLegacyHash(ctx, "nope"); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("unknown legacy hash: %v", err)
		}
		if err := s.TouchToken(ctx, "tok_a", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		s.TouchToken(ctx, "tok_a", t0) // older: ignored
		if a, _ := s.Token(ctx, "tok_a"); !a.LastUsedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("last use %v", a.LastUsedAt)
		}
		if err := s.RevokeToken(ctx, "tok_a", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, "tok_a", t0.Add(2*time.Hour)); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
		active, _ := s.Tokens(ctx, lock.TokenFilter{})
		all, _ := s.Tokens(ctx, lock.TokenFilter{IncludeRevoked: true})
		admins, _ := s.Tokens(ctx, lock.TokenFilter{Scope: lock.ScopeAdmin, IncludeRevoked: true})
		persons, _ := s.Tokens(ctx, lock.TokenFilter{PersonID: "per_1"})
		if len(active) != 2 || len(all) != 3 || len(admins) != 1 || len(persons) != 1 {
			t.Fatalf("filters: %d active, %d all, %d admin, %d person", len(active), len(all), len(admins), len(persons))
		}
		// A person's tokens are revoked with the person and kept: lockgate
		// still knows their values (atk14f F1).
		if err := s.DeletePerson(ctx, "per_1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if tk, err := s.Token(ctx, "tok_p"); err != nil || tk.RevokedAt.IsZero() || tk.PersonID != "" {
			t.Fatalf("person token after the person's deletion: %+v %v", tk, err)
		}
	})
}

func TestMigrationsRefuseNewerSchema(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			dsn := storetest.DSN(t, b)
			s, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			driver, src := "sqlite", "file:"+dsn
			if b == "postgres" {
				driver, src = "pgx", dsn
			}
			db, err := sql.Open(driver, src)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, store.SchemaVersion()+1); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if _, err := store.Open(context.Background(), dsn); !errors.Is(err, store.ErrSchemaTooNew) {
				t.Fatalf("open newer schema: err = %v, want ErrSchemaTooNew", err)
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			dsn := storetest.DSN(t, b)
			s, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			mkApp(t, s, "app_1", "https://a.example")
			s.Close()
			s, err = store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Application(context.Background(), "app_1"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAccountEvents(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 3 {
			e := lock.AccountEvent{ID: fmt.Sprintf("aev_%d", i), At: t0.Add(time.Duration(i) * time.Second), AppID: "app_1", Username: "ann", Source: "aws", Detail: []byte(`{"i":` + fmt.Sprint(i) + `}`)}
			if err := s.AddAccountEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		s.AddAccountEvent(ctx, lock.AccountEvent{ID: "aev_x", At: t0, AppID: "app_1", Username: "bob", Source: "aws", Detail: []byte(`null`)})
		evs, err := s.AccountEvents(ctx, "app_1", "ann", 2)
		if err != nil || len(evs) != 2 || evs[0].ID != "aev_2" || string(evs[0].Detail) != `{"i":2}` || !evs[0].At.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("%+v %v", evs, err)
		}
	})
}
