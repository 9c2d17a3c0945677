package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
)

// The portal's storage: what must hold once under concurrency (a
// ceremony, an enrolment link, a TOTP step, a decision) holds once, on
// both databases.
func TestPortalStore(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, id := range []string{"per_a", "per_b"} {
			if err := s.CreatePerson(ctx, lock.Person{ID: id, Name: id, CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		// Logins: one name, one person.
		if err := s.PutLogin(ctx, lock.Login{PersonID: "per_a", Name: "alice", PasswordHash: "h", TOTPSealed: "s", UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutLogin(ctx, lock.Login{PersonID: "per_b", Name: "alice", PasswordHash: "h", TOTPSealed: "s", UpdatedAt: t0}); !errors.Is(err, lock.ErrConflict) {
			t.Fatalf("a second person with the name: %v", err)
		}
		if l, err := s.LoginByName(ctx, "alice"); err != nil || l.PersonID != "per_a" {
			t.Fatalf("%+v %v", l, err)
		}
		// A TOTP step is accepted once, and only forwards.
		var wg sync.WaitGroup
		var accepted sync.Map
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.AcceptTOTPStep(ctx, "per_a", 100)
				if err != nil {
					t.Error(err)
				}
				accepted.Store(i, ok)
			}()
		}
		wg.Wait()
		n := 0
		accepted.Range(func(_, v any) bool {
			if v.(bool) {
				n++
			}
			return true
		})
		if n != 1 {
			t.Fatalf("step 100 accepted %d times", n)
		}
		if ok, _ := s.AcceptTOTPStep(ctx, "per_a", 99); ok {
			t.Fatal("an earlier step was accepted")
		}
		// Ceremonies: taken once, not after they expire.
		if err := s.PutChallenge(ctx, "c1", "data", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if d, err := s.TakeChallenge(ctx, "c1", t0); err != nil || d != "data" {
			t.Fatalf("%q %v", d, err)
		}
		if _, err := s.TakeChallenge(ctx, "c1", t0); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("taken twice: %v", err)
		}
		s.PutChallenge(ctx, "c2", "data", t0.Add(time.Minute))
		if _, err := s.TakeChallenge(ctx, "c2", t0.Add(time.Minute)); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("taken after it expired: %v", err)
		}
		// Enrolment links: used once, not after they expire.
		s.CreateEnrolLink(ctx, lock.EnrolLink{ID: "enr_1", Hash: "h1", PersonID: "per_a", CreatedBy: "t", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		s.CreateEnrolLink(ctx, lock.EnrolLink{ID: "enr_2", Hash: "h2", PersonID: "per_a", CreatedBy: "t", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		var uses sync.Map
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UseEnrolLink(ctx, "h1", t0)
				uses.Store(i, err == nil)
			}()
		}
		wg.Wait()
		n = 0
		uses.Range(func(_, v any) bool {
			if v.(bool) {
				n++
			}
			return true
		})
		if n != 1 {
			t.Fatalf("link used %d times", n)
		}
		if _, err := s.UseEnrolLink(ctx, "h2", t0.Add(time.Hour)); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("expired link used: %v", err)
		}
		// Sessions: found by hash, revoked for a person but one.
		for _, id := range []string{"ses_1", "ses_2"} {
			if err := s.CreateWebSession(ctx, lock.WebSession{ID: id, Hash: "hash-" + id, Kind: lock.SessionOwner, PersonID: "per_a", CSRF: "c", Method: "m", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateWebSession(ctx, lock.WebSession{ID: "ses_adm", Hash: "hash-adm", Kind: lock.SessionAdmin, TokenID: "tok_1", CSRF: "c", Method: "m", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		s.RevokeWebSessionsOf(ctx, "per_a", "ses_2", t0)
		if ws, _ := s.WebSessions(ctx, lock.SessionOwner, "per_a", t0); len(ws) != 1 || ws[0].ID != "ses_2" {
			t.Fatalf("sessions left: %+v", ws)
		}
		if w, err := s.WebSessionByHash(ctx, "hash-ses_1"); err != nil || w.RevokedAt.IsZero() {
			t.Fatalf("%+v %v", w, err)
		}
		if err := s.Expire(ctx, t0.Add(48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WebSessionByHash(ctx, "hash-ses_2"); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("an ended session was kept: %v", err)
		}
		// Alert cursors only move forward.
		s.PutAlertEmail(ctx, lock.AlertEmail{PersonID: "per_a", Address: "a@example.com", Enabled: true, Cursor: "att_5", UpdatedAt: t0})
		s.SetAlertCursor(ctx, "per_a", "att_3")
		if a, _ := s.AlertEmail(ctx, "per_a"); a.Cursor != "att_5" || !a.Enabled {
			t.Fatalf("%+v", a)
		}
		if as, _ := s.EnabledAlertEmails(ctx); len(as) != 1 {
			t.Fatalf("%+v", as)
		}
		// The console's webhooks with their deliveries.
		s.CreateWebhook(ctx, lock.Webhook{ID: "whk_1", OwnerKind: "person", OwnerID: "per_a", URL: "https://h.example/?k=secret", Sealed: "x", CreatedAt: t0})
		s.QueueEvents(ctx, []lock.Event{{ID: "out_1", WebhookID: "whk_1", Type: "t", Body: []byte("{}"), CreatedAt: t0}, {ID: "out_2", WebhookID: "whk_1", Type: "t", Body: []byte("{}"), CreatedAt: t0}})
		s.EventDelivered(ctx, "out_1", t0.Add(time.Second))
		s.EventFailed(ctx, "out_2", t0, "connection refused", true)
		ws, err := s.AllWebhooks(ctx)
		if err != nil || len(ws) != 1 || ws[0].Delivered != 1 || ws[0].Dead != 1 || ws[0].Pending != 0 || ws[0].LastError != "connection refused" || !ws[0].LastSuccess.Equal(t0.Add(time.Second)) {
			t.Fatalf("%+v %v", ws, err)
		}
	})
}
