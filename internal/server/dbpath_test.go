package server

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A SQLite database_url in the file is a path like every other: relative
// to the file's directory (atk9f F22). One from the environment is
// relative to the working directory, as every environment path.
func TestDatabaseURLRelativeToTheFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lockgate.yaml")
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		name, url, env, want string
	}{
		{"sqlite:", "sqlite:rel.db", "", "sqlite:" + filepath.Join(dir, "rel.db")},
		{"file:", "file:sub/rel.db", "", "file:" + filepath.Join(dir, "sub/rel.db")},
		{"bare path", "rel.db", "", filepath.Join(dir, "rel.db")},
		{"absolute", "sqlite:/var/lib/x.db", "", "sqlite:/var/lib/x.db"},
		{"postgres", "postgres://u@h/db", "", "postgres://u@h/db"},
		{"environment", "sqlite:rel.db", "sqlite:env.db", "sqlite:env.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(file, []byte("database_url: "+tc.url+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			getenv := noEnv
			if tc.env != "" {
				getenv = func(k string) string {
					if k == "LOCKGATE_DATABASE_URL" {
						return tc.env
					}
					return ""
				}
			}
			cfg, _, err := Load(file, getenv)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DatabaseURL != tc.want {
				t.Errorf("database_url %q, want %q", cfg.DatabaseURL, tc.want)
			}
		})
	}
}

// Serving a configuration whose database is not in the data directory
// creates it beside the file, not in the working directory, and changes
// the mode of neither (atk9f F22: serve re-moded the working directory,
// "/" on the reviewer's machine, to 0700). The data directory, lockgate's
// own, is still made private.
func TestOpenLeavesOtherDirectoriesAlone(t *testing.T) {
	cwd := filepath.Join(t.TempDir(), "cwd")
	cfgDir := filepath.Join(t.TempDir(), "cfg")
	for _, d := range []string{cwd, cfgDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	t.Chdir(cwd)
	file := filepath.Join(cfgDir, "lockgate.yaml")
	yaml := "listen: 127.0.0.1:0\ndatabase_url: sqlite:rel.db\ndata_dir: ./data\nadmin_token: server-admin-token-kn5SbJwTdiXw6tLEUu\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, src, err := Load(file, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, err := Provision(cfg, src, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(cfgDir, "rel.db")); err != nil {
		t.Errorf("the database is not beside the file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cwd, "rel.db")); err == nil {
		t.Error("the database was created in the working directory")
	}
	for d, want := range map[string]fs.FileMode{cwd: 0o755, cfgDir: 0o755, filepath.Join(cfgDir, "data"): 0o700, filepath.Join(cfgDir, "rel.db"): 0o600} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", d, got, want)
		}
	}
}

// config validate refuses, with the functions serve uses, a data
// directory that is shared (data_dir: /tmp would be made 0700) and a
// database directory others may write into; serve refuses both without
// changing their mode.
func TestValidateRefusesSharedDirectories(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		mode       fs.FileMode
		want       string
	}{
		{"shared data_dir", "data_dir: ./d\n", 0o777 | fs.ModeSticky, ":1:11: data_dir: data directory"},
		{"world-writable database directory", "data_dir: ./data\ndatabase_url: sqlite:d/x.db\n", 0o777, ":2:15: database_url: the database's directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			shared := filepath.Join(dir, "d")
			if err := os.Mkdir(shared, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(shared, tc.mode); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "lockgate.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml+"listen: 127.0.0.1:0\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			noEnv := func(string) string { return "" }
			_, err := Validate(file, noEnv)
			if err == nil || !strings.Contains(err.Error(), file+tc.want) {
				t.Errorf("validate: %v, want %q", err, tc.want)
			}
			cfg, _, err := Load(file, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			s := &Server{cfg: cfg, log: quiet}
			if err := s.Open(context.Background()); err == nil {
				s.Close()
				t.Error("serve opened storage")
			}
			fi, err := os.Stat(shared)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() & (fs.ModePerm | fs.ModeSticky); got != tc.mode {
				t.Errorf("mode %v, want %v (left alone)", got, tc.mode)
			}
		})
	}
}
