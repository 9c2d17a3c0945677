package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validKey is base64 of 32 bytes.
const validKey = "v4cFSHrpnn+ip9ZRHnZYglUy7sBJ8rk63iqpnU/2hyk=\n" // openssl rand -base64 32: the weak-key check refuses 0123…ef twice

// file is a file a validate case puts beside its configuration.
type file struct {
	data string // a directory when it ends in "/"
	mode os.FileMode
}

// validateIn writes the configuration (DIR in it stands for the new
// directory) and the files into a new directory, and returns what config
// validate says ("" and true for ok), the directory's path cut to "DIR".
func validateIn(t *testing.T, yaml string, files map[string]file, env map[string]string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f.data, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if f.mode != 0 {
				if err := os.Chmod(p, f.mode); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Chmod(p, 0o755) }) // for TempDir's removal
			}
			continue
		}
		mode := f.mode
		if mode == 0 {
			mode = 0o600
		}
		if err := os.WriteFile(p, []byte(f.data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "lockgate.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(yaml, "DIR", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Validate(path, func(k string) string { return env[k] })
	if err == nil {
		return "", true
	}
	return strings.ReplaceAll(err.Error(), dir, "DIR"), false
}

// validate's "ok" means serve starts: the files serve reads or creates
// are checked as serve uses them, each problem at the key that names
// the file (atk9f F1: a malformed or world-readable master key passed;
// F2: a data directory that cannot be created passed).
func TestValidateChecksStorageFiles(t *testing.T) {
	const base = "listen: 127.0.0.1:24090\n"
	tests := []struct {
		name  string
		yaml  string
		files map[string]file
		want  string // "" for ok
	}{
		{"key file not base64", base + "data_dir: d\nmaster_key_file: k/bad.key\n",
			map[string]file{"k/bad.key": {data: "short\n"}},
			"DIR/lockgate.yaml:3:18: master_key_file: master key: DIR/k/bad.key: master key is not base64"},
		{"key file of the wrong length", base + "data_dir: d\nmaster_key_file: k/short.key\n",
			map[string]file{"k/short.key": {data: "c2hvcnQ=\n"}},
			"DIR/lockgate.yaml:3:18: master_key_file: master key: DIR/k/short.key: master key decodes to 5 bytes, want 32"},
		{"key file others can read", base + "data_dir: d\nmaster_key_file: k/open.key\n",
			map[string]file{"k/open.key": {data: validKey, mode: 0o644}},
			"DIR/lockgate.yaml:3:18: master_key_file: master key: DIR/k/open.key: mode -rw-r--r-- lets others read the master key; chmod 600 it"},
		{"good key file", base + "data_dir: d\nmaster_key_file: k/good.key\n",
			map[string]file{"k/good.key": {data: validKey}}, ""},
		{"key file created on first start", base + "data_dir: d\nmaster_key_file: k/new.key\n",
			map[string]file{"k/": {data: "/"}}, ""},
		{"key file in a directory that cannot be made", base + "data_dir: d\nmaster_key_file: f/k/new.key\n",
			map[string]file{"f": {data: "x"}},
			"DIR/lockgate.yaml:3:18: master_key_file: master key: DIR/f/k/new.key does not exist and cannot be created: DIR/f is not a directory"},
		{"generated key in the data directory, malformed", base + "data_dir: d\n",
			map[string]file{"d/master.key": {data: "short\n"}},
			"DIR/lockgate.yaml:2:11: data_dir: master key: DIR/d/master.key: master key is not base64"},
		{"data directory under a file", base + "data_dir: f/data\n",
			map[string]file{"f": {data: "x"}},
			"DIR/lockgate.yaml:2:11: data_dir: DIR/f is not a directory"},
		{"data directory that is a file", base + "data_dir: f\n",
			map[string]file{"f": {data: "x"}},
			"DIR/lockgate.yaml:2:11: data_dir: DIR/f is not a directory"},
		{"data directory created on first start", base + "data_dir: a/b/c\n", nil, ""},
		{"sqlite database_url under a file", base + "database_url: sqlite:DIR/f/db/lockgate.db\nmaster_key: " + strings.TrimSpace(validKey) + "\n",
			map[string]file{"f": {data: "x"}},
			"DIR/lockgate.yaml:2:15: database_url: DIR/f is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := validateIn(t, tt.yaml, tt.files, nil)
			if tt.want == "" {
				if !ok {
					t.Fatalf("validate refused a configuration serve starts with:\n%s", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("validate said\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// A data directory whose nearest existing parent this process cannot
// write is refused (as serve's mkdir would be). Root writes anywhere but
// a read-only mount, so this runs as another user only.
func TestValidateDataDirNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write any directory: run as another user (TestValidateChecksStorageFiles covers a parent that is a file)")
	}
	got, ok := validateIn(t, "data_dir: ro/data\n", map[string]file{"ro/": {data: "/", mode: 0o555}}, nil)
	want := "DIR/lockgate.yaml:1:11: data_dir: DIR/ro/data cannot be created: DIR/ro is not writable: permission denied"
	if ok || !strings.HasPrefix(got, want) {
		t.Errorf("validate said %q, want %q", got, want)
	}
}

// The WAF log files are opened only when serving starts; validate checks
// that they will open (atk9f F3: a log.file in a missing directory, or
// naming a directory, passed validate and stopped serve).
func TestValidateChecksLogFiles(t *testing.T) {
	const gw = "data_dir: d\ngateway:\n  listen: 127.0.0.1:24091\n  routes: [{name: shop, upstreams: [\"http://127.0.0.1:24092\"]}]\n  log:\n    file: %s\n"
	const fa = "data_dir: d\nforward_auth:\n  listen: 127.0.0.1:24093\n  trusted_proxies: [127.0.0.1]\n  log:\n    file: %s\n  routes: [{name: shop}]\n"
	tests := []struct {
		name, yaml, log string
		files           map[string]file
		want            string
	}{
		{"gateway log in a missing directory", gw, "nologs/waf.log", nil,
			"DIR/lockgate.yaml:6:11: gateway.log.file: DIR/nologs/waf.log cannot be created: directory DIR/nologs: no such file or directory"},
		{"gateway log naming a directory", gw, "logs/isdir", map[string]file{"logs/isdir/": {data: "/"}},
			"DIR/lockgate.yaml:6:11: gateway.log.file: DIR/logs/isdir is not a regular file"},
		{"gateway log created on start", gw, "logs/waf.log", map[string]file{"logs/": {data: "/"}}, ""},
		{"gateway log appended to", gw, "logs/waf.log", map[string]file{"logs/waf.log": {data: "{}\n"}}, ""},
		{"gateway log to standard output", gw, "\"-\"", nil, ""},
		{"forward-auth log in a missing directory", fa, "nologs/fa.log", nil,
			"DIR/lockgate.yaml:6:11: forward_auth.log.file: DIR/nologs/fa.log cannot be created: directory DIR/nologs: no such file or directory"},
		{"forward-auth log created on start", fa, "fa.log", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := validateIn(t, fmt.Sprintf(tt.yaml, tt.log), tt.files, nil)
			if tt.want == "" {
				if !ok {
					t.Fatalf("validate refused a configuration serve starts with:\n%s", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("validate said\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// A master key that does not open the existing database is refused by
// validate with serve's own error, the database read without a write
// (atk9f F6: validate said ok, serve then refused to start).
func TestValidateChecksKeyAgainstDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lockgate.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:24090\ndata_dir: d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	// Before the first start there is nothing to compare with.
	if _, err := Validate(path, noEnv); err != nil {
		t.Fatalf("before the first start: %v", err)
	}
	cfg, _, err := Load(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	other := make([]byte, 32)
	rand.Read(other)
	otherKey := base64.StdEncoding.EncodeToString(other)
	data := filepath.Join(dir, "d")
	before := listDir(t, data)
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"the generated key file", nil, ""},
		{"another key", map[string]string{"LOCKGATE_MASTER_KEY": otherKey},
			"master_key: " + errWrongKey.Error()},
	} {
		_, err := Validate(path, func(k string) string { return tt.env[k] })
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("%s: validate said\n%v\nwant\n%s", tt.name, err, tt.want)
		}
	}
	if after := listDir(t, data); after != before {
		t.Errorf("validate changed the data directory:\nbefore %s\nafter  %s", before, after)
	}
	// serve's answer is the same.
	cfg.MasterKey = otherKey
	if _, err := Open(context.Background(), cfg, quiet, Options{}); !errors.Is(err, errWrongKey) {
		t.Errorf("serve: %v", err)
	}
}

// listDir names the files in dir with their sizes and times.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%d:%d ", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}
