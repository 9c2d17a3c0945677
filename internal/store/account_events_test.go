package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
)

func TestAccountEventsBySource(t *testing.T) {
	forEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 6 {
			src := "aws-iam-responder"
			if i%2 == 0 {
				src = "aws-iam-role-session"
			}
			e := lock.AccountEvent{ID: fmt.Sprintf("aev_%d", i), At: t0.Add(time.Duration(i) * time.Second), AppID: "app_1", Username: "ann", Source: src, Detail: []byte(`{"i":` + fmt.Sprint(i) + `}`)}
			if err := s.AddAccountEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		s.AddAccountEvent(ctx, lock.AccountEvent{ID: "aev_x", At: t0, AppID: "app_1", Username: "bob", Source: "aws-iam-role-session", Detail: []byte(`null`)})
		s.AddAccountEvent(ctx, lock.AccountEvent{ID: "aev_y", At: t0, AppID: "app_2", Username: "ann", Source: "aws-iam-role-session", Detail: []byte(`null`)})
		evs, err := s.AccountEventsBySource(ctx, "app_1", "ann", "aws-iam-role-session", 2)
		if err != nil || len(evs) != 2 || evs[0].ID != "aev_4" || evs[1].ID != "aev_2" || string(evs[0].Detail) != `{"i":4}` || evs[0].Source != "aws-iam-role-session" {
			t.Fatalf("%+v %v", evs, err)
		}
		evs, err = s.AccountEventsBySource(ctx, "app_1", "ann", "none", 10)
		if err != nil || len(evs) != 0 {
			t.Fatalf("%+v %v", evs, err)
		}
	})
}
