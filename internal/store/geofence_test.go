package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
)

func TestGeoFences(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.GeoFence(ctx, "person", "per_1"); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("no fence yet: %v", err)
		}
		pf := lock.GeoFence{OwnerKind: "person", OwnerID: "per_1", Countries: []string{"US", "CA"}, Regions: []string{}, UpdatedAt: t0, UpdatedBy: "owner:per_1"}
		af := lock.GeoFence{OwnerKind: "account", OwnerID: "acc_1", Countries: []string{}, Regions: []string{"GB-SCT"}, Message: "Scotland only", UpdatedAt: t0, UpdatedBy: "admin"}
		for _, f := range []lock.GeoFence{pf, af} {
			if err := s.PutGeoFence(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		fs, err := s.GeoFences(ctx, "acc_1", "per_1")
		if err != nil || len(fs) != 2 || fs[0].OwnerKind != "account" || !slices.Equal(fs[0].Regions, []string{"GB-SCT"}) || fs[0].Message != "Scotland only" ||
			!slices.Equal(fs[1].Countries, []string{"US", "CA"}) || !fs[1].UpdatedAt.Equal(t0) {
			t.Fatalf("%+v %v", fs, err)
		}
		if fs, _ := s.GeoFences(ctx, "acc_2", ""); len(fs) != 0 {
			t.Errorf("another account's fences: %+v", fs)
		}
		pf.Countries = []string{"FR"}
		if err := s.PutGeoFence(ctx, pf); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GeoFence(ctx, "person", "per_1"); err != nil || !slices.Equal(got.Countries, []string{"FR"}) {
			t.Errorf("replaced: %+v %v", got, err)
		}
		if err := s.DeleteGeoFence(ctx, "person", "per_1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGeoFence(ctx, "person", "per_1"); !errors.Is(err, lock.ErrNotFound) {
			t.Errorf("deleted twice: %v", err)
		}
	})
}

// Of concurrent checks from a person's new country exactly one is told
// it is new; the first country ever is new but had no others.
func TestNoteCountry(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		isNew, others, err := s.NoteCountry(ctx, "per_1", "US", t0)
		if err != nil || !isNew || others {
			t.Fatalf("first: %v %v %v", isNew, others, err)
		}
		if isNew, _, _ := s.NoteCountry(ctx, "per_1", "US", t0); isNew {
			t.Error("US is new twice")
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		news := 0
		for range 8 {
			wg.Go(func() {
				isNew, others, err := s.NoteCountry(ctx, "per_1", "FR", t0)
				if err != nil {
					t.Error(err)
				}
				if isNew {
					mu.Lock()
					news++
					mu.Unlock()
					if !others {
						t.Error("FR came after US")
					}
				}
			})
		}
		wg.Wait()
		if news != 1 {
			t.Errorf("%d checks were told FR is new", news)
		}
	})
}
