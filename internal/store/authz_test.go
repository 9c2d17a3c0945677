package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/store"
)

// Group policies round-trip byte for byte (the document the admin set is
// the one the Lambda authorizer returns), upsert, list in name order and
// delete, on SQLite and PostgreSQL.
func TestAuthzGroupPolicies(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g := s.GroupPolicies()
		if _, err := g.GroupPolicy(ctx, "pet-veterinarian"); !errors.Is(err, authz.ErrGroupNotFound) {
			t.Fatalf("missing group: %v", err)
		}
		doc := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/ü"}]}`)
		for _, p := range []authz.GroupPolicy{{Group: "pet-veterinarian", Policy: doc, UpdatedAt: t0}, {Group: "admins", Policy: json.RawMessage(`{}`), UpdatedAt: t0}} {
			if err := g.PutGroupPolicy(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		got, err := g.GroupPolicy(ctx, "pet-veterinarian")
		if err != nil || string(got.Policy) != string(doc) || !got.UpdatedAt.Equal(t0) {
			t.Fatalf("%+v %v", got, err)
		}
		later := t0.Add(time.Hour)
		if err := g.PutGroupPolicy(ctx, authz.GroupPolicy{Group: "admins", Policy: doc, UpdatedAt: later}); err != nil {
			t.Fatal(err)
		}
		list, err := g.GroupPolicies(ctx)
		if err != nil || len(list) != 2 || list[0].Group != "admins" || string(list[0].Policy) != string(doc) || !list[0].UpdatedAt.Equal(later) {
			t.Fatalf("%+v %v", list, err)
		}
		if err := g.DeleteGroupPolicy(ctx, "admins"); err != nil {
			t.Fatal(err)
		}
		if err := g.DeleteGroupPolicy(ctx, "admins"); !errors.Is(err, authz.ErrGroupNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}
