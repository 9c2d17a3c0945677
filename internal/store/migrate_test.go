package store_test

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

// oldDatabase makes a database as lockgate had it before tokens and
// username keys (schema version 2), with data in it.
func oldDatabase(t *testing.T, backend string) string {
	t.Helper()
	dsn := storetest.DSN(t, backend)
	driver, src := "sqlite", "file:"+dsn
	if backend == "postgres" {
		driver, src = "pgx", dsn
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`)
	for v, f := range []string{"0001_init.sql", "0002_account_events.sql"} {
		data, err := os.ReadFile(filepath.Join("migrations", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range strings.Split(string(data), ";\n") {
			if strings.TrimSpace(stripComments(stmt)) != "" {
				exec(stmt)
			}
		}
		exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, v+1)
	}
	for _, app := range []string{"app_clean", "app_dup"} {
		exec(`INSERT INTO applications (id, name, unknown_account, default_state, locked_message, created_at, updated_at) VALUES ($1, $1, 'unlocked', 'unlocked', 'x', 0, 0)`, app)
	}
	for _, a := range []struct{ id, app, name, state string }{
		{"acc_1", "app_clean", "Alice", "locked"}, {"acc_2", "app_clean", "bob", "unlocked"},
		{"acc_3", "app_dup", "alice", "locked"}, {"acc_4", "app_dup", "Alice", "unlocked"}, {"acc_5", "app_dup", "carol", "locked"},
	} {
		exec(`INSERT INTO accounts (id, app_id, username, state, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, 0, 0)`, a.id, a.app, a.name, a.state)
	}
	exec(`INSERT INTO account_events (id, at, app_id, username, source, detail) VALUES ('aev_1', 0, 'app_clean', 'ALICE', 'aws', '{}')`)
	exec(`INSERT INTO persons (id, name, email, created_at) VALUES ('per_1', 'Ann', '', 0)`)
	exec(`INSERT INTO admin_tokens (hash, name, created_at) VALUES ($1, 'generated', 0), ($2, 'configured', 0)`, lock.HashOf("lg_generated"), lock.HashOf("the-old-configured-token"))
	exec(`INSERT INTO person_tokens (hash, person_id, created_at) VALUES ($1, 'per_1', 0)`, lock.HashOf("lg_person"))
	return dsn
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestUsernameMigration: accounts get caseless keys, except in an
// application where two would become one: it keeps exact matching and the
// report names both accounts. Nothing is merged.
func TestUsernameMigration(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			dsn := oldDatabase(t, b)
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			clean, _ := s.Application(ctx, "app_clean")
			dup, _ := s.Application(ctx, "app_dup")
			if clean.Settings.UsernameMatch != lock.MatchCaseless || dup.Settings.UsernameMatch != lock.MatchExact {
				t.Fatalf("matches: clean %q, dup %q", clean.Settings.UsernameMatch, dup.Settings.UsernameMatch)
			}
			if a, err := s.Account(ctx, "app_clean", "alice"); err != nil || a.ID != "acc_1" || a.Username != "Alice" {
				t.Fatalf("clean alice: %+v %v", a, err)
			}
			for key, id := range map[string]string{"alice": "acc_3", "Alice": "acc_4", "carol": "acc_5"} {
				if a, err := s.Account(ctx, "app_dup", key); err != nil || a.ID != id {
					t.Fatalf("dup %q: %+v %v", key, a, err)
				}
			}
			rep := s.MigrationCollisions()
			if len(rep) != 1 || rep[0].AppID != "app_dup" || len(rep[0].Collisions) != 1 || strings.Join(rep[0].Collisions[0].Accounts, ",") != "acc_3,acc_4" {
				t.Fatalf("report: %+v", rep)
			}
			if v, err := s.Meta(ctx, "username_collisions"); err != nil || !strings.Contains(v, "acc_4") {
				t.Fatalf("stored report: %q %v", v, err)
			}
			if evs, _ := s.AccountEvents(ctx, "app_clean", "alice", 10); len(evs) != 1 {
				t.Fatalf("account events re-keyed: %+v", evs)
			}
			// Tokens: issued ones carried over by their hash; the configured
			// one is not (the next start registers the configured value).
			if tk, err := s.TokenByLegacyHash(ctx, lock.HashOf("lg_generated")); err != nil || tk.Scope != lock.ScopeAdmin || tk.Source != lock.SourceMigrated {
				t.Fatalf("generated admin token: %+v %v", tk, err)
			}
			if tk, err := s.TokenByLegacyHash(ctx, lock.HashOf("lg_person")); err != nil || tk.PersonID != "per_1" || tk.Scope != lock.ScopePerson {
				t.Fatalf("person token: %+v %v", tk, err)
			}
			if _, err := s.TokenByLegacyHash(ctx, lock.HashOf("the-old-configured-token")); err == nil {
				t.Fatal("the old configured token was carried over")
			}
		})
	}
}

// TestFileModes: the database and its files are private whatever they
// were before; a directory store.Open creates is 0700, and one that
// existed keeps its mode (atk9f F22: a database_url relative to the
// working directory re-moded "/" to 0700). The data directory, which is
// lockgate's own, is made private by the server (SecureDir).
func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lockgate.db")
	// The database and its lock file (atk14 F12) left 0644 before.
	for _, p := range []string{path, path + ".lock"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	// Write something so the WAL exists.
	if err := s.CreatePerson(context.Background(), lock.Person{ID: "per_1", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(p string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&(fs.ModePerm|fs.ModeSticky) != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), fi.Mode()&(fs.ModePerm|fs.ModeSticky), want)
		}
	}
	check(dir, 0o755)
	for _, f := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		check(f, 0o600)
	}
	// A directory store.Open creates is made 0700.
	fresh := filepath.Join(t.TempDir(), "new", "lockgate.db")
	s2, err := store.Open(context.Background(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	check(filepath.Dir(fresh), 0o700)
	check(fresh, 0o600)

	// A shared sticky directory (/tmp) is used as it is: others cannot
	// remove lockgate's 0600 files from it.
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	s3, err := store.Open(context.Background(), "sqlite:"+filepath.Join(shared, "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	s3.Close()
	check(shared, 0o777|fs.ModeSticky)
	check(filepath.Join(shared, "x.db"), 0o600)

	// A directory others may write into without the sticky bit is
	// refused, and left as it was.
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if s4, err := store.Open(context.Background(), filepath.Join(open, "x.db")); err == nil {
		s4.Close()
		t.Error("a database in a world-writable directory was opened")
	} else if !strings.Contains(err.Error(), "writable by other users") {
		t.Errorf("error %q does not say why", err)
	}
	check(open, 0o777)
	if _, err := os.Stat(filepath.Join(open, "x.db")); err == nil {
		t.Error("the refused database file was created")
	}
}

// TestSecureDir: the data directory is made 0700 whatever it was, but a
// shared sticky directory (data_dir: /tmp) is refused, not re-moded.
func TestSecureDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    fs.FileMode
		want    fs.FileMode
		refused bool
	}{
		{"private", 0o700, 0o700, false},
		{"readable by others", 0o755, 0o700, false},
		{"writable by others", 0o777, 0o700, false},
		{"shared sticky", 0o777 | fs.ModeSticky, 0o777 | fs.ModeSticky, true},
		{"group sticky", 0o770 | fs.ModeSticky, 0o770 | fs.ModeSticky, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			err := store.SecureDir(dir)
			if (err != nil) != tc.refused {
				t.Fatalf("SecureDir: %v, refused %v", err, tc.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "shared directory") {
				t.Errorf("error %q does not say why", err)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() & (fs.ModePerm | fs.ModeSticky); got != tc.want {
				t.Errorf("mode %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMigrationScrubsDroppedTokenHashes: migration 4 drops the configured
// admin token's unsalted SHA-256; on SQLite the dropped rows stayed in
// free pages, so a copy of the upgraded file still let that (still valid,
// chosen) token be brute-forced at SHA-256 speed (atk14f F12). The file
// and its log must not hold it after the migration.
func TestMigrationScrubsDroppedTokenHashes(t *testing.T) {
	dsn := oldDatabase(t, "sqlite")
	hash := lock.HashOf("the-old-configured-token")
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Read while the store is open (its log not yet folded in at close),
	// and again after.
	check := func(when string) {
		t.Helper()
		for _, f := range []string{dsn, dsn + "-wal"} {
			data, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if n := strings.Count(string(data), hash); n > 0 {
				t.Errorf("%s: %s holds the dropped token hash %d times", when, filepath.Base(f), n)
			}
		}
	}
	check("open")
	s.Close()
	check("closed")
}
