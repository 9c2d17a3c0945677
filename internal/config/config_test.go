package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/problem"
)

// A schema shaped like lockgate's: top-level keys owned by an inlined
// section, nested sections, lists of structs, maps, paths and durations.
type testStore struct {
	DataDir     Path   `yaml:"data_dir" env:"T_DATA_DIR"`
	DatabaseURL string `yaml:"database_url" env:"T_DATABASE_URL"`
}

type testRoute struct {
	Name   string `yaml:"name"`
	WebACL Path   `yaml:"web_acl"`
}

type testConfig struct {
	Listen     string    `yaml:"listen" env:"T_LISTEN"`
	PublicURLs []string  `yaml:"public_urls" env:"T_PUBLIC_URL"`
	Store      testStore `yaml:",inline"`
	Timeout    Duration  `yaml:"shutdown_timeout" env:"T_TIMEOUT"`
	Debug      bool      `yaml:"debug" env:"T_DEBUG"`
	Workers    int       `yaml:"workers" env:"T_WORKERS"`
	Gateway    struct {
		Listen string      `yaml:"listen" env:"T_GATEWAY_LISTEN"`
		Routes []testRoute `yaml:"routes"`
		Labels map[string]string
	} `yaml:"gateway"`
	Secret string `yaml:"-" env:"T_SECRET"`
}

func defaults() testConfig {
	return testConfig{Listen: "127.0.0.1:8080", Timeout: Duration(30 * time.Second), Workers: 4}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func write(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNoFileKeepsDefaults(t *testing.T) {
	cfg := defaults()
	if _, err := Load("", env(nil), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.Workers != 4 || cfg.Timeout.Std() != 30*time.Second {
		t.Fatalf("%+v", cfg)
	}
}

func TestFileThenEnvironment(t *testing.T) {
	path := write(t, "listen: 127.0.0.1:7000\ndata_dir: data\nshutdown_timeout: 2d\npublic_urls: [https://a.example]\ngateway:\n  routes:\n    - name: shop\n      web_acl: acls/shop.json\n    - name: abs\n      web_acl: /etc/acl.json\n")
	cfg := defaults()
	_, err := Load(path, env(map[string]string{"T_LISTEN": "127.0.0.1:7001", "T_PUBLIC_URL": "https://c.example, https://d.example", "T_DEBUG": "true", "T_SECRET": "s3"}), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	for _, c := range []struct{ got, want any }{
		{cfg.Listen, "127.0.0.1:7001"},
		{strings.Join(cfg.PublicURLs, " "), "https://c.example https://d.example"},
		{cfg.Store.DataDir, Path(filepath.Join(dir, "data"))},
		{cfg.Timeout.Std(), 48 * time.Hour},
		{cfg.Debug, true},
		{cfg.Secret, "s3"},
		{cfg.Gateway.Routes[0].WebACL, Path(filepath.Join(dir, "acls/shop.json"))},
		{cfg.Gateway.Routes[1].WebACL, Path("/etc/acl.json")},
		{cfg.Workers, 4},
	} {
		if c.got != c.want {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
}

// Every problem in one run, each with line:column, key path, what was
// expected, and a suggestion for a misspelt key.
func TestEveryProblemAtOnce(t *testing.T) {
	path := write(t, strings.Join([]string{
		"lissten: 127.0.0.1:1",           // 1
		"workers: twenty",                // 2
		"shutdown_timeout: forever",      // 3
		"debug: maybe",                   // 4
		"public_urls: https://a.example", // 5
		"gateway:",                       // 6
		"  routes:",                      // 7
		"    - name: [a, b]",             // 8
		"      web_alc: x.json",          // 9
		"  zzzzzzzz: 1",                  // 10
		"listen: a",                      // 11
		"listen: b",                      // 12
	}, "\n")+"\n")
	cfg := defaults()
	_, err := Load(path, env(map[string]string{"T_WORKERS": "many"}), &cfg)
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{
		path + `:1:1: lissten: unknown key "lissten" here; did you mean "listen"?`,
		path + `:2:10: workers: expected a whole number, got "twenty"`,
		path + `:3:19: shutdown_timeout: "forever" is not a duration (use e.g. 30s, 15m, 2h, 7d)`,
		path + `:4:8: debug: expected true or false, got "maybe"`,
		path + `:5:14: public_urls: expected a list, got "https://a.example"`,
		path + `:8:13: gateway.routes[0].name: expected a string, got a list`,
		path + `:9:7: gateway.routes[0].web_alc: unknown key "web_alc" in gateway.routes[0]; did you mean "web_acl"?`,
		path + `:10:3: gateway.zzzzzzzz: unknown key "zzzzzzzz" in gateway (known: labels, listen, routes)`,
		path + `:12:1: listen: "listen" is given twice`,
		`workers: environment variable T_WORKERS: expected a whole number, got "many"`,
	}
	got := strings.Split(err.Error(), "\n")
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.HasSuffix(g, w) || g == w {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), err)
	}
}

func TestSyntaxErrorHasLine(t *testing.T) {
	path := write(t, "listen: a\n  bad: [\n")
	cfg := defaults()
	_, err := Load(path, env(nil), &cfg)
	if err == nil || !strings.Contains(err.Error(), path+":") || !strings.Contains(err.Error(), "not valid YAML") {
		t.Fatalf("got %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	cfg := defaults()
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"), env(nil), &cfg)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("got %v", err)
	}
}

func TestLocateLaterProblems(t *testing.T) {
	path := write(t, "gateway:\n  routes:\n    - name: a\n      web_acl: missing.json\n")
	cfg := defaults()
	src, err := Load(path, env(nil), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	probs := src.Locate(problem.List{{Path: "gateway.routes[0].web_acl", Msg: "no such file"}, {Path: "gateway.tls.cert_file", Msg: "absent key: its section"}})
	if got := probs[0].Error(); got != path+":2:3: gateway.tls.cert_file: absent key: its section" {
		t.Errorf("got %q", got)
	}
	if got := probs[1].Error(); got != path+":4:16: gateway.routes[0].web_acl: no such file" {
		t.Errorf("got %q", got)
	}
}

func TestVars(t *testing.T) {
	var cfg testConfig
	var names []string
	for _, v := range Vars(&cfg) {
		names = append(names, v.Name+"="+v.Path)
	}
	want := "T_LISTEN=listen T_PUBLIC_URL=public_urls T_DATA_DIR=data_dir T_DATABASE_URL=database_url T_TIMEOUT=shutdown_timeout T_DEBUG=debug T_WORKERS=workers T_GATEWAY_LISTEN=gateway.listen T_SECRET=secret"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "15m": 15 * time.Minute, "8d": 8 * 24 * time.Hour, "1.5d": 36 * time.Hour, "1d12h": 36 * time.Hour, "2d30m": 48*time.Hour + 30*time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "d", "-1d", "x", "1w", "1d-2h", "1dx", "d12h"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"listen", "listen", 0}, {"lissten", "listen", 1}, {"shutdown_timout", "shutdown_timeout", 1}, {"web_alc", "web_acl", 1}, {"abc", "xyz", 3}} {
		if got := distance(c.a, c.b); got != c.d {
			t.Errorf("distance(%q,%q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

// A problem found after loading in a value the environment set names the
// variable, not the line of the file whose value it replaced
// (LOCKGATE_LISTEN=garbage was reported at the file's listen line).
func TestLocateNamesTheEnvironmentVariable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("listen: 127.0.0.1:9000\npublic_urls: [http://a.example]\nworkers: 3\n"), 0o600)
	env := map[string]string{"T_LISTEN": "garbage", "T_PUBLIC_URL": "notaurl"}
	cfg := defaults()
	src, err := Load(path, func(k string) string { return env[k] }, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := src.Locate(problem.List{
		{Path: "listen", Msg: `"garbage" is not host:port`},
		{Path: "public_urls[0]", Msg: `"notaurl" is not an http(s) URL`},
		{Path: "workers", Msg: "too many"},
	}).Err().Error()
	for _, want := range []string{
		`listen: "garbage" is not host:port (set by the environment variable T_LISTEN)`,
		`public_urls[0]: "notaurl" is not an http(s) URL (set by the environment variable T_PUBLIC_URL)`,
		path + ":3:10: workers: too many",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, path+":1:") || strings.Contains(got, path+":2:") {
		t.Errorf("the file is blamed for the environment's values:\n%s", got)
	}
}

// A section the environment turned on has no line in the file: its
// problems name the variable instead of the file's first line, which is
// about something else (atk9f F5: "c.yaml:1:1: forward_auth.trusted_proxies").
func TestLocateSectionSetByTheEnvironment(t *testing.T) {
	path := write(t, "listen: 127.0.0.1:9000\ndata_dir: d\n")
	cfg := defaults()
	src, err := Load(path, env(map[string]string{"T_GATEWAY_LISTEN": "127.0.0.1:9001"}), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := src.Locate(problem.List{
		{Path: "gateway.routes", Msg: "at least one route is required"},
		{Path: "data_dir", Msg: "not writable"},
		{Path: "debug", Msg: "a default the file does not hold"},
	})
	want := []string{
		"gateway.routes: at least one route is required (gateway is set by the environment variable T_GATEWAY_LISTEN)",
		path + ": debug: a default the file does not hold",
		path + ":2:11: data_dir: not writable",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, w := range want {
		if g := got[i].Error(); g != w {
			t.Errorf("got  %s\nwant %s", g, w)
		}
	}
}
