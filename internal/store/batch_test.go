package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

// recordTogether records the attempts concurrently, released at once so
// that the group commit writes them in as few batches as it can, and
// returns each one's error.
func recordTogether(s *store.Store, as []lock.Attempt) []error {
	errs := make([]error, len(as))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range as {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.RecordAttempt(context.Background(), a, nil)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// TestAttemptColumnsRoundTrip reads back every column of attempts written
// in one batch: PostgreSQL receives a batch as hand-encoded arrays, so
// lengths, multi-byte text, empty values and negative times must survive.
func TestAttemptColumnsRoundTrip(t *testing.T) {
	tests := []lock.Attempt{
		{ID: "att_full", At: t0, AppID: "app_1", AccountID: "acc_1", Username: "alice", UserIP: "203.0.113.7",
			UserDevice: "Mozilla/5.0 (X11; Linux x86_64)", UserLocation: "Zürich, CH", IntegrationType: "awsiamuser",
			IntegrationData: []byte(`{"arn":"arn:aws:iam::123456789012:user/alice"}`), Locked: true},
		{ID: "att_empty", At: t0.Add(time.Microsecond), AppID: "app_1", Username: "bob"},
		{ID: "att_zero_time", AppID: "app_1", Username: "carol"},
		{ID: "att_before_1970", At: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC), AppID: "app_1", Username: "dave"},
		{ID: "att_far_future", At: time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), AppID: "app_1", Username: "erin"},
		{ID: "att_multibyte", At: t0.Add(time.Second), AppID: "app_1", Username: "名前", UserDevice: "😀 device",
			UserLocation: "Ελλάδα", IntegrationType: "generic", IntegrationData: []byte(`{"note":"ünïcödé"}`)},
		{ID: "att_large", At: t0.Add(2 * time.Second), AppID: "app_2", Username: "frank", IntegrationType: "generic",
			IntegrationData: []byte(`{"blob":"` + strings.Repeat("x", 100_000) + `"}`), Locked: true},
	}
	forEach(t, func(t *testing.T, s *store.Store) {
		for i, err := range recordTogether(s, tests) {
			if err != nil {
				t.Fatalf("record %s: %v", tests[i].ID, err)
			}
		}
		got, err := s.Attempts(context.Background(), lock.AttemptFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]lock.Attempt{}
		for _, a := range got {
			byID[a.ID] = a
		}
		if len(byID) != len(tests) {
			t.Fatalf("read %d attempts back, want %d: %v", len(byID), len(tests), ids(got))
		}
		for _, want := range tests {
			if len(want.IntegrationData) == 0 {
				want.IntegrationData = nil // read back as no data
			}
			if got := byID[want.ID]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\n got %+v\nwant %+v", want.ID, got, want)
			}
		}
	})
}

// TestUnalertedRowsShareTheAttemptsTransaction checks that the throttled
// attempts' unalerted rows are written with their batch, and that when one
// of them cannot be written its attempt is not recorded either while its
// neighbours are.
func TestUnalertedRowsShareTheAttemptsTransaction(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, raw := openWithRaw(t, backend)
			// A row only a broken store would have left: the attempt that
			// collides with it must fail as a whole.
			if _, err := raw.ExecContext(ctx, `INSERT INTO unalerted_attempts (attempt_id, app_id, username, account_id, at) VALUES ('att_clash', 'app_1', 'alice', 'acc_1', 1)`); err != nil {
				t.Fatal(err)
			}

			var as []lock.Attempt
			for i := range 40 {
				as = append(as, lock.Attempt{ID: fmt.Sprintf("att_%02d", i), At: t0.Add(time.Duration(i) * time.Minute),
					AppID: "app_1", AccountID: "acc_1", Username: []string{"alice", "bob"}[i%2], Locked: true, Unalerted: i%4 < 2})
			}
			as = append(as, lock.Attempt{ID: "att_clash", At: t0, AppID: "app_1", AccountID: "acc_1", Username: "alice", Locked: true, Unalerted: true})
			for i, err := range recordTogether(s, as) {
				if (err != nil) != (as[i].ID == "att_clash") {
					t.Errorf("record %s: err = %v", as[i].ID, err)
				}
			}
			if got, err := s.Attempts(ctx, lock.AttemptFilter{Limit: 100}); err != nil || len(got) != 40 {
				t.Fatalf("recorded %d attempts (want the 40 without att_clash), %v: %v", len(got), err, ids(got))
			}

			if _, err := raw.ExecContext(ctx, `DELETE FROM unalerted_attempts WHERE attempt_id = 'att_clash'`); err != nil {
				t.Fatal(err)
			}
			got, err := s.UnalertedAccounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Attempts 0, 1, 4, 5, … 36, 37 are unalerted: alice has the
			// even ones (0, 4, … 36), bob the odd ones (1, 5, … 37).
			want := []lock.Unalerted{
				{AppID: "app_1", Username: "alice", AccountID: "acc_1", Count: 10, First: t0, Last: t0.Add(36 * time.Minute)},
				{AppID: "app_1", Username: "bob", AccountID: "acc_1", Count: 10, First: t0.Add(time.Minute), Last: t0.Add(37 * time.Minute)},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("unalerted:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestEventsShareTheAttemptsTransaction checks that a batch's outbox
// events are committed with its attempts (on PostgreSQL the batch is one
// implicit transaction, its statements sent together): an attempt whose
// event cannot be written is not recorded, its neighbours and their
// events are, and every event reads back as it was given.
func TestEventsShareTheAttemptsTransaction(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, raw := openWithRaw(t, backend)
			// Rows only a broken store would have left: the attempt whose
			// event collides with one, and the attempt that collides with
			// the other, must each fail as a whole.
			if _, err := raw.ExecContext(ctx, `INSERT INTO outbox (id, webhook_id, event_type, body, created_at, next_attempt_at) VALUES ('out_clash', 'whk_other', 't', '{}', 1, 1)`); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordAttempt(ctx, lock.Attempt{ID: "att_dup", At: t0, AppID: "app_0", Username: "zed"}, nil); err != nil {
				t.Fatal(err)
			}

			var as []lock.Attempt
			var evs [][]lock.Event
			for i := range 40 {
				as = append(as, lock.Attempt{ID: fmt.Sprintf("att_%02d", i), At: t0, AppID: "app_1", Username: "alice", Locked: true})
				var ev []lock.Event
				for j := range i % 3 { // none, one or two events
					ev = append(ev, lock.Event{ID: fmt.Sprintf("out_%02d_%d", i, j), WebhookID: "whk_1", Type: "attempt.locked",
						Body: []byte(fmt.Sprintf(`{"i":%d,"note":"ünïcödé"}`, i)), CreatedAt: t0.Add(time.Duration(i) * time.Second)})
				}
				evs = append(evs, ev)
			}
			as = append(as, lock.Attempt{ID: "att_clash", At: t0, AppID: "app_1", Username: "alice", Locked: true})
			evs = append(evs, []lock.Event{{ID: "out_ok_too", WebhookID: "whk_1", Type: "t", Body: []byte(`{}`), CreatedAt: t0},
				{ID: "out_clash", WebhookID: "whk_1", Type: "t", Body: []byte(`{}`), CreatedAt: t0}})
			as = append(as, lock.Attempt{ID: "att_dup", At: t0, AppID: "app_1", Username: "alice", Locked: true})
			evs = append(evs, []lock.Event{{ID: "out_orphan", WebhookID: "whk_1", Type: "t", Body: []byte(`{}`), CreatedAt: t0}})

			errs := make([]error, len(as))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range as {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = s.RecordAttempt(ctx, as[i], evs[i])
				}()
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if (err != nil) != (as[i].ID == "att_clash" || as[i].ID == "att_dup") {
					t.Errorf("record %s: err = %v", as[i].ID, err)
				}
			}
			if got, err := s.Attempts(ctx, lock.AttemptFilter{AppID: "app_1", Limit: 100}); err != nil || len(got) != 40 {
				t.Fatalf("recorded %d attempts (want the 40 without att_clash and att_dup), %v: %v", len(got), err, ids(got))
			}
			claimed, err := s.ClaimEvents(ctx, "whk_1", t0.Add(time.Hour), time.Minute, 1000)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]lock.Event{}
			for _, ev := range evs[:40] {
				for _, e := range ev {
					want[e.ID] = e
				}
			}
			if len(claimed) != len(want) {
				t.Errorf("claimed %d events, want %d (out_ok_too must roll back with att_clash, out_orphan with att_dup)", len(claimed), len(want))
			}
			for _, got := range claimed {
				w, ok := want[got.ID]
				if !ok || got.WebhookID != w.WebhookID || got.Type != w.Type || string(got.Body) != string(w.Body) || !got.CreatedAt.Equal(w.CreatedAt) {
					t.Errorf("event %s: got %+v, want %+v", got.ID, got, w)
				}
			}
		})
	}
}

// TestWriterReplacesAConnectionTheServerEnded: when the server ends the
// group committers' connections, each fails the one batch that finds out
// and takes a new connection for the next (the server's FATAL arrives as
// a *pgconn.PgError, which must not be taken for a failed statement on a
// sound connection).
func TestWriterReplacesAConnectionTheServerEnded(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("lgtest_writer_%d", time.Now().UnixNano())
	s, err := store.Open(ctx, storetest.DSN(t, "postgres")+"&application_name="+name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RecordAttempt(ctx, lock.Attempt{ID: "att_first", At: t0, AppID: "app_1", Username: "alice"}, nil); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", storetest.PostgresBase())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// In the select list, not the WHERE clause: there the server may call
	// pg_terminate_backend before it filters, on every connection.
	rows, err := admin.QueryContext(ctx, `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	ended := 0
	for rows.Next() {
		ended++
	}
	rows.Close()
	if ended == 0 {
		t.Fatal("no connection of the store's to end")
	}
	var failed int
	var recorded []string
	for i := range 10 {
		id := fmt.Sprintf("att_%02d", i)
		if err := s.RecordAttempt(ctx, lock.Attempt{ID: id, At: t0, AppID: "app_1", Username: "alice"}, nil); err != nil {
			failed++
			if i >= 2 {
				t.Errorf("attempt %d failed after %d had (one per committer connection at most): %v", i, failed-1, err)
			}
			continue
		}
		recorded = append(recorded, id)
	}
	got, err := s.Attempts(ctx, lock.AttemptFilter{AppID: "app_1", Limit: 100})
	if err != nil || len(got) != len(recorded)+1 {
		t.Fatalf("stored %v (%v), want att_first and %v", ids(got), err, recorded)
	}
}

// openWithRaw opens a fresh store of backend and a plain connection to
// the same database, for a test to write what only a broken store would
// have left; both are closed at the end of the test.
func openWithRaw(t *testing.T, backend string) (*store.Store, *sql.DB) {
	t.Helper()
	dsn := storetest.DSN(t, backend)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	driver := "sqlite"
	if backend == "postgres" {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return s, raw
}
