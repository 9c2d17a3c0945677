package forwardauth

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/webacl"
)

// Forward auth reloads as the gateway does: a changed web ACL file
// decides the next request; a broken one is refused once (logged and
// counted in lockgate_forward_auth_reloads_total) while the running web
// ACL keeps deciding; its fix is picked up; rate-based counts survive
// reloads that keep the rule. The test drives each tick of the watcher
// and sets the files' modification times, so nothing waits on the clock.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	aclPath := filepath.Join(dir, "acl.json")
	good, err := os.ReadFile("testdata/proxied-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	// The same web ACL with its header rule on X-Attack-2 instead.
	changed := bytes.Replace(good, []byte(`"x-attack"`), []byte(`"x-attack-2"`), 1)
	version := time.Now()
	write := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(aclPath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		version = version.Add(time.Minute) // a new modification time whatever the file system's granularity
		if err := os.Chtimes(aclPath, version, version); err != nil {
			t.Fatal(err)
		}
	}
	write(good)
	set, probs := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSetARN, Addresses: []string{"203.0.113.0/24"}}}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TrustedProxies = []string{"127.0.0.1"}
	cfg.Routes = []Route{{Name: "shop", WebACL: config.Path(aclPath)}}
	cfg.CopyHeaders = []string{"X-Amzn-Waf-Api"}

	var logs bytes.Buffer
	s, probs := Provision(cfg, Options{WAF: set, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if err := s.Open(prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h := s.Handler()
	var w gateway.Watcher
	poll := func() bool { return w.Poll(s.log, "forward auth", s.watched(), s.Reload) }
	// settled is the tick after the one that first saw a change: the
	// watcher applies a change once it held still for a tick.
	settled := func() bool {
		t.Helper()
		if poll() {
			t.Fatal("reloaded at the first sight of a change")
		}
		return poll()
	}
	reloads := func(result string) float64 { return testutil.ToFloat64(s.metrics.reloads.WithLabelValues(result)) }
	// Blocked by the header rule on X-Attack (first) or X-Attack-2 (changed).
	blocked := func(header string) bool {
		t.Helper()
		switch code := nginxAsk("/", "192.0.2.1", header, "1").do(t, h).StatusCode; code {
		case http.StatusOK:
			return false
		case http.StatusForbidden:
			return true
		default:
			t.Fatalf("%s: status %d", header, code)
		}
		return false
	}
	login := func(n int) (allowed int) {
		for range n {
			if nginxAsk("/login", "192.0.2.2").do(t, h).StatusCode == http.StatusOK {
				allowed++
			}
		}
		return allowed
	}

	if poll() {
		t.Fatal("reloaded with nothing changed")
	}
	if !blocked("X-Attack") || blocked("X-Attack-2") {
		t.Fatal("the first web ACL does not decide")
	}
	if n := login(100); n != 100 {
		t.Fatalf("%d of the first 100 /login allowed", n)
	}

	write(changed)
	if !settled() || blocked("X-Attack") || !blocked("X-Attack-2") || reloads("ok") != 1 {
		t.Fatalf("the changed web ACL does not decide the next request (reloads ok %v)", reloads("ok"))
	}

	write([]byte(`{"Name":`))
	if poll() {
		t.Fatal("reloaded at the first sight of a change")
	}
	for i := range 3 {
		if tried := poll(); tried != (i == 0) {
			t.Fatalf("tick %d: tried %v; a broken version is tried once", i, tried)
		}
	}
	if reloads("error") != 1 || !strings.Contains(logs.String(), "forward auth reload refused: the running configuration keeps deciding") || !strings.Contains(logs.String(), aclPath) {
		t.Fatalf("the refused reload: %v counted, log:\n%s", reloads("error"), logs.String())
	}
	if blocked("X-Attack") || !blocked("X-Attack-2") {
		t.Fatal("a broken file replaced the running web ACL")
	}

	write(good)
	if !settled() || !blocked("X-Attack") || blocked("X-Attack-2") || reloads("ok") != 2 {
		t.Fatal("the fixed file was not picked up")
	}
	// The /login rule was the same in every version: its count went on.
	if n := login(100); n != 50 {
		t.Fatalf("%d of the next 100 /login allowed, want 50 (limit 150 across reloads)", n)
	}
}

// The headers every allow answers are forward_auth.copy_headers, not the
// running web ACLs' names: a reload that removes the last rule inserting
// x-amzn-waf-api keeps answering it, empty (a proxy configured to copy it
// would otherwise pass its placeholder text, atk20 F5); a web ACL or an
// authorizer setting a header the list lacks is refused, at start and on
// reload, with the running configuration deciding on.
func TestCopyHeaders(t *testing.T) {
	dir := t.TempDir()
	aclPath := filepath.Join(dir, "acl.json")
	good, err := os.ReadFile("testdata/proxied-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	tagAPI := []byte(`"Name": "api",`) // the TagAPI rule's inserted header
	if bytes.Count(good, tagAPI) != 1 {
		t.Fatal("testdata/proxied-acl.json: the TagAPI rule changed")
	}
	as, _ := petstoreAuthz(t)
	set, _ := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSetARN, Addresses: []string{"203.0.113.0/24"}}}}, nil)
	config := func(copied ...string) Config {
		cfg := DefaultConfig()
		cfg.Listen, cfg.TrustedProxies, cfg.CopyHeaders = "127.0.0.1:0", []string{"127.0.0.1"}, copied
		cfg.Routes = []Route{{Name: "shop", WebACL: config.Path(aclPath)}, {Name: "pets", PathPrefix: "/petstore/", Authorizer: "petstore"}}
		return cfg
	}
	all := append([]string{"x-amzn-waf-api"}, identityHeaders...) // any case
	os.WriteFile(aclPath, good, 0o600)
	refusals := []struct {
		name   string
		copied []string
		path   string
		says   string
	}{
		{"an inserted header not listed", identityHeaders, "routes[0].web_acl", "the web ACL inserts X-Amzn-Waf-Api, which forward_auth.copy_headers does not list"},
		{"an identity header not listed", []string{"X-Amzn-Waf-Api", "X-Lockgate-Principal"}, "routes[1].authorizer", "the authorizer sets X-Lockgate-Username"},
		{"not a header name", append([]string{"X Amzn"}, all...), "copy_headers[0]", `"X Amzn" is not a header name`},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := Provision(config(tc.copied...), Options{WAF: set, Authorizer: as.Authorizer})
			if len(probs) == 0 || probs[0].Path != tc.path || !strings.Contains(probs[0].Msg, tc.says) {
				t.Fatalf("problems %v, want %s: %s", probs, tc.path, tc.says)
			}
		})
	}

	s, probs := Provision(config(append(all, "X-Unused")...), Options{WAF: set, Authorizer: as.Authorizer})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	h := s.Handler()
	answer := func(t *testing.T) http.Header {
		t.Helper()
		resp := nginxAsk("/api/pets", "192.0.2.1").do(t, h)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header
	}
	want := func(t *testing.T, api string) {
		t.Helper()
		got := answer(t)
		for _, n := range []string{"X-Amzn-Waf-Api", "X-Lockgate-Principal", "X-Lockgate-Username", "X-Lockgate-Groups", "X-Unused"} {
			if vs, ok := got[n]; !ok || len(vs) != 1 {
				t.Errorf("%s: %q, want one value", n, vs)
			}
		}
		if got.Get("X-Amzn-Waf-Api") != api {
			t.Errorf("X-Amzn-Waf-Api %q, want %q", got.Get("X-Amzn-Waf-Api"), api)
		}
	}
	want(t, "yes")
	t.Run("a reload removes the rule: answered, empty", func(t *testing.T) {
		os.WriteFile(aclPath, withoutRule(t, good, "TagAPI"), 0o600)
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
		want(t, "")
	})
	t.Run("a reload inserting a header not listed is refused", func(t *testing.T) {
		os.WriteFile(aclPath, bytes.Replace(good, tagAPI, []byte(`"Name": "other",`), 1), 0o600)
		if err := s.Reload(); err == nil || !strings.Contains(err.Error(), "X-Amzn-Waf-Other") {
			t.Fatalf("reload: %v", err)
		}
		if _, ok := answer(t)["X-Amzn-Waf-Other"]; ok {
			t.Fatal("the refused web ACL decides")
		}
		want(t, "")
	})
}

// withoutRule is the web ACL acl without its rule of a name.
func withoutRule(t *testing.T, acl []byte, name string) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(acl, &v); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, r := range v["Rules"].([]any) {
		if r.(map[string]any)["Name"] != name {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(v["Rules"].([]any)) {
		t.Fatalf("no rule %s", name)
	}
	v["Rules"] = kept
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lockgate.yaml written in place and caught before a route's web_acl
// line is a valid configuration whose route lets everything through
// (atk20 F8): the watcher waits until the file holds still for a tick,
// so the prefix is never applied. A complete configuration that drops
// the web ACL is applied, with a warning that protection is weaker.
func TestReloadHalfWrittenConfig(t *testing.T) {
	dir := t.TempDir()
	aclPath, cfgPath := filepath.Join(dir, "acl.json"), filepath.Join(dir, "lockgate.yaml")
	acl, err := os.ReadFile("testdata/proxied-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(aclPath, acl, 0o600)
	whole := []byte(`forward_auth:
  listen: 127.0.0.1:0
  trusted_proxies: [127.0.0.1]
  copy_headers: [X-Amzn-Waf-Api]
  routes:
    - name: shop
      web_acl: ` + aclPath + "\n")
	cut := bytes.Index(whole, []byte("      web_acl:"))
	os.WriteFile(cfgPath, whole, 0o600)
	set, probs := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSetARN, Addresses: []string{"203.0.113.0/24"}}}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	load := func() (Snapshot, error) {
		var c struct {
			ForwardAuth Config `yaml:"forward_auth"`
		}
		c.ForwardAuth = DefaultConfig()
		if _, err := config.Load(cfgPath, func(string) string { return "" }, &c); err != nil {
			return Snapshot{}, err
		}
		return Snapshot{Config: c.ForwardAuth, WAF: set, Files: []string{cfgPath}}, nil
	}
	snap, err := load()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, probs := Provision(snap.Config, Options{WAF: set, Load: load, Files: snap.Files, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if err := s.Open(prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h := s.Handler()
	blocked := func() bool {
		t.Helper()
		return nginxAsk("/", "192.0.2.1", "X-Attack", "1").do(t, h).StatusCode == http.StatusForbidden
	}
	var w gateway.Watcher
	poll := func() bool { return w.Poll(s.log, "forward auth", s.watched(), s.Reload) }
	if !blocked() {
		t.Fatal("the header rule does not decide")
	}

	// The writer truncates and writes up to the cut; it pauses for a
	// tick, then finishes.
	f, err := os.OpenFile(cfgPath, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(whole[:cut])
	if poll() || !blocked() {
		t.Fatal("the configuration cut before web_acl was applied")
	}
	f.Write(whole[cut:])
	if poll() || !blocked() {
		t.Fatal("applied before the file held still")
	}
	if !poll() || !blocked() || testutil.ToFloat64(s.metrics.reloads.WithLabelValues("ok")) != 1 {
		t.Fatal("the whole file was not applied once it held still")
	}
	if strings.Contains(logs.String(), "weakens") {
		t.Fatalf("a reload keeping the web ACL warned:\n%s", logs.String())
	}

	// The web ACL removed on purpose: applied, and said loudly.
	os.WriteFile(cfgPath, whole[:cut], 0o600)
	if poll() || !poll() || blocked() {
		t.Fatal("the configuration without a web ACL was not applied")
	}
	if want := `level=WARN msg="forward auth reload weakens protection: route \"shop\" no longer has a web ACL`; !strings.Contains(logs.String(), want) {
		t.Fatalf("log lacks %s:\n%s", want, logs.String())
	}
}
