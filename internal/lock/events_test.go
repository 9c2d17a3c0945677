package lock_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/storetest"
)

// TestEventWithoutDetailKeepsListReadable: an integration event reported
// with no detail, or detail null, is listed with "detail": null beside the
// others — and a row stored empty by an older build reads the same. It
// made every read of the account's events answer an empty body (F6).
func TestEventWithoutDetailKeepsListReadable(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			st := storetest.Open(t, b)
			c := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
			e := newEnvWithStore(t, st, c)
			ctx := context.Background()
			app, key, _ := e.app(t, "A", "https://a.example")
			tok := sign(key, map[string]any{"alg": "HS256"}, e.claims("https://a.example", "alice"))
			for _, d := range []json.RawMessage{json.RawMessage(`{"role":"r"}`), nil, json.RawMessage("null")} {
				if _, err := e.svc.ReportEvent(ctx, tok, "t", d); err != nil {
					t.Fatal(err)
				}
				c.Advance(time.Millisecond)
			}
			// What an older build stored for a missing detail.
			if err := st.AddAccountEvent(ctx, lock.AccountEvent{ID: "aev_legacy", At: c.Now(), AppID: app.ID, Username: "alice", Source: "t"}); err != nil {
				t.Fatal(err)
			}
			evs, err := e.svc.AccountEvents(ctx, app.ID, "alice", 10)
			if err != nil || len(evs) != 4 {
				t.Fatalf("events: %d %v", len(evs), err)
			}
			body, err := json.Marshal(map[string]any{"events": evs})
			if err != nil {
				t.Fatalf("listing does not encode: %v", err)
			}
			var got struct{ Events []map[string]any }
			if err := json.Unmarshal(body, &got); err != nil || len(got.Events) != 4 {
				t.Fatalf("decoded %s: %v", body, err)
			}
			nulls := 0
			for _, ev := range got.Events {
				if d, ok := ev["detail"]; ok && d == nil {
					nulls++
				}
			}
			if nulls != 3 {
				t.Fatalf("%d events with detail null, want 3: %s", nulls, body)
			}
		})
	}
}
