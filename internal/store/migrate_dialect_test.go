package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

// TestMigrationsByDialect: a file named for a dialect runs on that
// database only, and the other records its version with nothing to run.
func TestMigrationsByDialect(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("SELECT 1;")}
	tests := []struct {
		name    string
		files   []string
		dialect string
		want    []string // the file run at each version, "" for none
		wantErr string
	}{
		{
			name:    "postgres",
			files:   []string{"0001_a.sql", "0002_b.postgres.sql", "0003_c.sqlite.sql", "0003_c.postgres.sql"},
			dialect: "postgres",
			want:    []string{"0001_a.sql", "0002_b.postgres.sql", "0003_c.postgres.sql"},
		},
		{
			name:    "sqlite",
			files:   []string{"0001_a.sql", "0002_b.postgres.sql", "0003_c.sqlite.sql", "0003_c.postgres.sql"},
			dialect: "sqlite",
			want:    []string{"0001_a.sql", "", "0003_c.sqlite.sql"},
		},
		{
			name:    "both and one dialect",
			files:   []string{"0001_a.sql", "0001_a.postgres.sql"},
			dialect: "sqlite",
			wantErr: "same version",
		},
		{
			name:    "one dialect twice",
			files:   []string{"0001_a.postgres.sql", "0001_b.postgres.sql"},
			dialect: "sqlite", // found whichever database runs
			wantErr: "same version",
		},
		{
			name:    "unknown dialect",
			files:   []string{"0001_a.mysql.sql"},
			dialect: "sqlite",
			wantErr: "not a dialect",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys["migrations/"+f] = file
			}
			ms, err := migrationsIn(fsys, tt.dialect)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, m := range ms {
				if m.version != i+1 {
					t.Errorf("migration %d has version %d", i, m.version)
				}
				if (m.name == "") != (m.sql == "") {
					t.Errorf("version %d: file %q with SQL %q", m.version, m.name, m.sql)
				}
				got = append(got, m.name)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("runs %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPostgresAttemptsCompareBytes: on PostgreSQL the attempts' indexed
// text columns compare bytes (COLLATE "C", migration 11), and the
// listings, paging and lookups still read their indexes in order, with no
// sort; on SQLite migration 11 is recorded and changes nothing.
func TestPostgresAttemptsCompareBytes(t *testing.T) {
	s, admin, name := openPostgres(t)
	ctx := context.Background()
	rows, err := admin.QueryContext(ctx, `SELECT i.indexrelid::regclass::text, a.attname, COALESCE(c.collname, '')
		FROM pg_index i
		JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indcollation::oid[]) AS k(attnum, coll)
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
		LEFT JOIN pg_collation c ON c.oid = k.coll
		WHERE n.nspname = $1 AND t.relname IN ('attempts', 'unalerted_attempts') AND a.atttypid = 'text'::regtype`, name)
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for rows.Next() {
		var index, column, coll string
		if err := rows.Scan(&index, &column, &coll); err != nil {
			t.Fatal(err)
		}
		keys++
		if coll != "C" {
			t.Errorf("index %s compares %s with collation %q, want \"C\"", index, column, coll)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if keys != 9 { // attempts: id; app_id, id; app_id, username, id. unalerted_attempts: attempt_id; app_id, username
		t.Errorf("%d text index keys, want 9", keys)
	}

	// Attempts across applications and usernames: application i%50,
	// user (i/50)%20.
	var batch []*pending
	for i := range 3000 {
		batch = append(batch, &pending{a: lock.Attempt{ID: fmt.Sprintf("att_%032x", i), At: time.Now(),
			AppID: fmt.Sprintf("app_%d", i%50), AccountID: "acc_1", Username: fmt.Sprintf("user%d", i/50%20)}})
	}
	w := &writer{s: s, b: s.batch}
	for len(batch) > 0 {
		n := min(len(batch), maxBatch)
		if err := w.commit(batch[:n]); err != nil {
			t.Fatal(err)
		}
		batch = batch[n:]
	}
	if _, err := admin.ExecContext(ctx, "ANALYZE "+name+".attempts"); err != nil {
		t.Fatal(err)
	}
	const cols = `SELECT id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, integration_data, locked FROM attempts`
	plans := []struct {
		query string // as Attempts and Attempt build it
		args  []any
		index string
		sort  bool // the order needs a sort: the rows come from several index ranges
	}{
		{cols + ` WHERE app_id = $1 ORDER BY id DESC LIMIT $2`, []any{"app_1", 50}, "attempts_app", false},
		{cols + ` WHERE app_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, []any{"app_1", "att_00000000000000000000000000000800", 5}, "attempts_app", false},
		{cols + ` WHERE app_id = $1 AND username = $2 ORDER BY id DESC LIMIT $3`, []any{"app_1", "user1", 50}, "attempts_app_user", false},
		{cols + ` WHERE app_id = $1 AND username = $2 AND id < $3 ORDER BY id DESC LIMIT $4`, []any{"app_1", "user1", "att_00000000000000000000000000000800", 50}, "attempts_app_user", false},
		{cols + ` ORDER BY id DESC LIMIT $1`, []any{10}, "attempts_pkey", false},
		{cols + ` WHERE (app_id, username) IN (SELECT app_id, username_key FROM accounts WHERE person_id = $1 UNION SELECT app_id, username FROM accounts WHERE person_id = $1) ORDER BY id DESC LIMIT $2`,
			[]any{"per_1", 50}, "attempts_app_user", true},
		{`SELECT id, at, app_id, account_id, username, user_ip, user_device, user_location, integration_type, locked FROM attempts WHERE id = $1`, []any{"att_00000000000000000000000000000007"}, "attempts_pkey", false},
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Whether an index serves a query, not whether the planner prefers it
	// on a small table: an index whose collation is not the query's
	// cannot match its conditions nor give its order, and the plan keeps
	// a scan of another index, or a sort, however costly (enable_sort is
	// off where the index must give the order).
	if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off; SET enable_bitmapscan = off"); err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET enable_sort = %v", p.sort)); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.QueryContext(ctx, "EXPLAIN "+p.query, p.args...)
		if err != nil {
			t.Fatalf("%s: %v", p.query, err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			rows.Scan(&line)
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), "Index Scan Backward using "+p.index+" ") && !strings.Contains(plan.String(), "Index Scan using "+p.index+" ") ||
			strings.Contains(plan.String(), "Sort") != p.sort {
			t.Errorf("%s: plan\n%swant an index scan of %s, a sort %v", p.query, plan.String(), p.index, p.sort)
		}
	}

	// Pages come newest first in byte order, as Go compares the IDs.
	got, err := s.Attempts(ctx, lock.AttemptFilter{AppID: "app_1", Username: "user1", Before: "att_000000000000000000000000000007c7", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	// user1 of app_1 is i = 51, 1051 (0x41b) and 2051; below 1991 (0x7c7)
	// are 1051 and 51.
	want := []string{"att_0000000000000000000000000000041b", "att_00000000000000000000000000000033"}
	if !slices.Equal(ids, want) {
		t.Errorf("page = %q, want %q", ids, want)
	}
}

// TestSQLiteRecordsPostgresOnlyMigrations: a migration for PostgreSQL
// only is recorded on SQLite, so both number their schemas alike.
func TestSQLiteRecordsPostgresOnlyMigrations(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "lockgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var recorded, top int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = 11`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&top); err != nil {
		t.Fatal(err)
	}
	if recorded != 1 || top != SchemaVersion() {
		t.Fatalf("SQLite recorded migration 11 %d times, up to %d; want once, up to %d", recorded, top, SchemaVersion())
	}
}
