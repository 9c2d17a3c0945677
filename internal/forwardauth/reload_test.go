package forwardauth

import (
	"bytes"
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
	if !poll() || blocked("X-Attack") || !blocked("X-Attack-2") || reloads("ok") != 1 {
		t.Fatalf("the changed web ACL does not decide the next request (reloads ok %v)", reloads("ok"))
	}

	write([]byte(`{"Name":`))
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
	if !poll() || !blocked("X-Attack") || blocked("X-Attack-2") || reloads("ok") != 2 {
		t.Fatal("the fixed file was not picked up")
	}
	// The /login rule was the same in every version: its count went on.
	if n := login(100); n != 50 {
		t.Fatalf("%d of the next 100 /login allowed, want 50 (limit 150 across reloads)", n)
	}
}
