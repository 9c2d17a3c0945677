package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/webacl"
)

// echoUpstream echoes what it received.
func echoUpstream(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			line, _ := rw.ReadString('\n')
			rw.WriteString("echo " + line)
			rw.Flush()
			return
		}
		if r.URL.Path == "/slow" {
			// Slower than any upstream_timeout: answer nothing until the
			// gateway gives up and drops the request (or, should it never
			// give up, a minute later, for the test to see the 200).
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Minute):
			}
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", name)
		w.Header().Set("X-Seen-Host", r.Host)
		w.Header().Set("X-Seen-XFF", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Body-Len", fmt.Sprint(len(body)))
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type fixture struct {
	gw      *Gateway
	srv     *httptest.Server
	dir     string
	cfgPath string
	reg     *prometheus.Registry
}

const blogACL = "../../waf/testdata/blog-acl.json"

func newFixture(t *testing.T, yaml string) *fixture {
	t.Helper()
	dir := t.TempDir()
	acl, _ := os.ReadFile(blogACL)
	os.WriteFile(filepath.Join(dir, "blog-acl.json"), acl, 0o600)
	os.WriteFile(filepath.Join(dir, "reputation.txt"), []byte("198.51.100.0/24\n"), 0o600)
	cfgPath := filepath.Join(dir, "lockgate.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gw, err := New(Options{Load: func() (Snapshot, error) { return loadSnapshot(cfgPath) }, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() { srv.Close(); gw.Close() })
	return &fixture{gw: gw, srv: srv, dir: dir, cfgPath: cfgPath, reg: reg}
}

// loadSnapshot reads a file with gateway and waf sections as lockgate
// serve does.
func loadSnapshot(path string) (Snapshot, error) {
	file := struct {
		Gateway Config        `yaml:"gateway"`
		WAF     webacl.Config `yaml:"waf"`
	}{Gateway: DefaultConfig()}
	src, err := config.Load(path, func(string) string { return "" }, &file)
	if err != nil {
		return Snapshot{}, err
	}
	set, probs := webacl.Provision(file.WAF, geo.Default)
	if len(probs) > 0 {
		return Snapshot{}, src.Locate(probs)
	}
	return Snapshot{Config: file.Gateway, WAF: set, Files: []string{path}}, nil
}

func (f *fixture) do(t *testing.T, method, path, host, xff string, body io.Reader) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, body)
	if host != "" {
		req.Host = host
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func gatewayYAML(up1, up2 string, extra string) string {
	return `gateway:
  listen: 127.0.0.1:0
  trusted_proxies: ["127.0.0.1/32", "10.0.0.0/8"]
  max_fails: 2
  upstream_timeout: 1s
  log:
    file: waf.log
  routes:
    - name: shop
      host: shop.example
      path_prefix: /
      upstreams: [` + up1 + `]
      web_acl: blog-acl.json
    - name: api
      path_prefix: /api/
      upstreams: [` + up2 + `]
` + extra + `waf:
  ip_reputation_file: reputation.txt
`
}

// The blog's rules in front of a real upstream: one client flooding
// /login (through the trusted CDN) is blocked after 150 while other
// clients and paths pass; every request leaves an AWS WAF log record.
func TestBlogFlood(t *testing.T) {
	shop, api := echoUpstream(t, "shop"), echoUpstream(t, "api")
	f := newFixture(t, gatewayYAML(shop.URL, api.URL, ""))
	allowed, blocked := 0, 0
	for range 200 {
		switch resp := f.do(t, "POST", "/login", "shop.example", "203.0.113.7, 10.1.2.3", nil); resp.StatusCode {
		case 200:
			allowed++
		case 403:
			blocked++
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if allowed != 150 || blocked != 50 {
		t.Fatalf("allowed %d, blocked %d; want 150 and 50", allowed, blocked)
	}
	if resp := f.do(t, "GET", "/products", "shop.example", "203.0.113.7", nil); resp.StatusCode != 200 {
		t.Fatalf("another path: %d", resp.StatusCode)
	}
	if resp := f.do(t, "POST", "/login", "shop.example", "192.0.2.55", nil); resp.StatusCode != 200 || resp.Header.Get("X-Upstream") != "shop" || resp.Header.Get("X-Seen-Host") != "shop.example" ||
		resp.Header.Get("X-Seen-XFF") != "192.0.2.55, 127.0.0.1" {
		t.Fatalf("another client: %d %v", resp.StatusCode, resp.Header)
	}
	// The IP reputation list, and the route without a web ACL.
	if resp := f.do(t, "GET", "/", "shop.example", "198.51.100.4", nil); resp.StatusCode != 403 {
		t.Fatalf("reputation: %d", resp.StatusCode)
	}
	if resp := f.do(t, "GET", "/api/x", "other.example", "198.51.100.4", nil); resp.StatusCode != 200 || resp.Header.Get("X-Upstream") != "api" {
		t.Fatalf("api route: %d", resp.StatusCode)
	}
	if resp := f.do(t, "GET", "/", "other.example", "", nil); resp.StatusCode != 404 {
		t.Fatalf("no route: %d", resp.StatusCode)
	}
	// The log: one record per request, as AWS writes them.
	f.gw.Close()
	data, err := os.ReadFile(filepath.Join(f.dir, "waf.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) != 204 {
		t.Fatalf("%d log records, want 204", len(lines))
	}
	var rec struct {
		Action            string `json:"action"`
		TerminatingRuleID string `json:"terminatingRuleId"`
		RateBased         []struct {
			LimitValue string `json:"limitValue"`
			Window     string `json:"evaluationWindowSec"`
		} `json:"rateBasedRuleList"`
		HTTPRequest struct {
			ClientIP string `json:"clientIp"`
			URI      string `json:"uri"`
		} `json:"httpRequest"`
	}
	json.Unmarshal(lines[150], &rec)
	if rec.Action != "BLOCK" || rec.TerminatingRuleID != "UriBasedRule" || rec.HTTPRequest.ClientIP != "203.0.113.7" || rec.HTTPRequest.URI != "/login" ||
		len(rec.RateBased) != 1 || rec.RateBased[0].Window != "300" {
		t.Fatalf("record 151: %s", lines[150])
	}
	// Metrics by the rules' MetricNames.
	mfs, _ := f.reg.Gather()
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	for _, want := range []string{"lockgate_waf_requests_total", "lockgate_waf_rule_matches_total", "lockgate_waf_rate_limited_keys", "lockgate_gateway_request_duration_seconds"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("no metric %s in %v", want, names)
		}
	}
}

func TestClientIP(t *testing.T) {
	shop := echoUpstream(t, "shop")
	f := newFixture(t, gatewayYAML(shop.URL, shop.URL, ""))
	st := f.gw.state.Load()
	tests := []struct {
		peer, xff, want string
	}{
		{"203.0.113.9:1000", "198.51.100.1", "203.0.113.9"}, // untrusted peer: header not believed
		{"127.0.0.1:1000", "198.51.100.1", "198.51.100.1"},
		{"127.0.0.1:1000", "1.1.1.1, 198.51.100.1, 10.0.0.5", "198.51.100.1"}, // rightmost untrusted hop
		{"127.0.0.1:1000", "", "127.0.0.1"},
		{"127.0.0.1:1000", "junk, 198.51.100.2", "198.51.100.2"},
		{"10.9.9.9:1000", "10.1.1.1, 10.2.2.2", "10.1.1.1"}, // all trusted: the leftmost
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := st.clientIP(r).String(); got != tt.want {
			t.Errorf("peer %s, XFF %q: %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}
}

func TestUpstreamFailures(t *testing.T) {
	good := echoUpstream(t, "good")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	f := newFixture(t, gatewayYAML(good.URL, deadURL+", "+good.URL, ""))
	// The dead upstream fails twice, then is skipped.
	var codes []int
	for range 10 {
		codes = append(codes, f.do(t, "GET", "/api/x", "", "", nil).StatusCode)
	}
	bad := 0
	for _, c := range codes {
		if c == 502 {
			bad++
		}
	}
	if bad != 2 || codes[len(codes)-1] != 200 {
		t.Fatalf("statuses %v: want the dead upstream tried twice, then skipped", codes)
	}
	// A slow upstream: 504 with a JSON body.
	req, _ := http.NewRequest("GET", f.srv.URL+"/slow", nil)
	req.Host = "shop.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 504 || !strings.Contains(string(body), `"error"`) || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("slow upstream: %d %s", resp.StatusCode, body)
	}
}

func TestLargeBodyAndWebSocket(t *testing.T) {
	shop := echoUpstream(t, "shop")
	f := newFixture(t, gatewayYAML(shop.URL, shop.URL, ""))
	// Make the shop ACL inspect bodies: an XSS rule.
	acl, _ := os.ReadFile(blogACL)
	var doc map[string]any
	json.Unmarshal(acl, &doc)
	doc["Rules"] = append(doc["Rules"].([]any), map[string]any{"Name": "xss", "Priority": 9, "Action": map[string]any{"Block": map[string]any{}},
		"VisibilityConfig": map[string]any{"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "xss"},
		"Statement": map[string]any{"XssMatchStatement": map[string]any{"FieldToMatch": map[string]any{"Body": map[string]any{"OversizeHandling": "CONTINUE"}},
			"TextTransformations": []any{map[string]any{"Priority": 0, "Type": "NONE"}}}}})
	out, _ := json.Marshal(doc)
	os.WriteFile(filepath.Join(f.dir, "blog-acl.json"), out, 0o600)
	if err := f.gw.Reload(); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("a"), 5<<20)
	resp := f.do(t, "POST", "/upload", "shop.example", "", bytes.NewReader(big))
	if resp.StatusCode != 200 || resp.Header.Get("X-Body-Len") != fmt.Sprint(len(big)) {
		t.Fatalf("5 MiB upload: %d, upstream saw %s bytes", resp.StatusCode, resp.Header.Get("X-Body-Len"))
	}
	if resp := f.do(t, "POST", "/c", "shop.example", "", strings.NewReader("<script>alert(1)</script>")); resp.StatusCode != 403 {
		t.Fatalf("XSS body: %d", resp.StatusCode)
	}
	// A WebSocket upgrade goes through and both ways.
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: shop.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	status, _ := br.ReadString('\n')
	if !strings.Contains(status, "101") {
		t.Fatalf("upgrade: %q", status)
	}
	for {
		l, _ := br.ReadString('\n')
		if l == "\r\n" || l == "" {
			break
		}
	}
	fmt.Fprintf(conn, "hello\n")
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if l, _ := br.ReadString('\n'); l != "echo hello\n" {
		t.Fatalf("websocket echo: %q", l)
	}
}

// A reload keeps the counters of rules whose definition did not change;
// a bad file is refused and the running configuration keeps serving.
func TestReload(t *testing.T) {
	shop := echoUpstream(t, "shop")
	f := newFixture(t, gatewayYAML(shop.URL, shop.URL, ""))
	for range 100 {
		f.do(t, "POST", "/login", "shop.example", "203.0.113.8", nil)
	}
	// Change the blanket rule only; the /login rule's counter survives.
	acl, _ := os.ReadFile(filepath.Join(f.dir, "blog-acl.json"))
	changed := bytes.Replace(acl, []byte(`"Limit": 7000`), []byte(`"Limit": 8000`), 1)
	if bytes.Equal(changed, acl) {
		t.Fatal("fixture: no blanket limit to change")
	}
	os.WriteFile(filepath.Join(f.dir, "blog-acl.json"), changed, 0o600)
	if err := f.gw.Reload(); err != nil {
		t.Fatal(err)
	}
	allowed := 0
	for range 100 {
		if f.do(t, "POST", "/login", "shop.example", "203.0.113.8", nil).StatusCode == 200 {
			allowed++
		}
	}
	if allowed != 50 {
		t.Fatalf("after the reload %d allowed, want 50 (the count kept)", allowed)
	}
	// A broken file: refused, the old rules keep working.
	os.WriteFile(filepath.Join(f.dir, "blog-acl.json"), []byte(`{"Name":`), 0o600)
	if err := f.gw.Reload(); err == nil {
		t.Fatal("a broken web ACL was accepted")
	}
	if resp := f.do(t, "POST", "/login", "shop.example", "203.0.113.8", nil); resp.StatusCode != 403 {
		t.Fatalf("after a refused reload: %d", resp.StatusCode)
	}
	// The admin view lists the limited key.
	admin := http.NewServeMux()
	for _, e := range f.gw.Endpoints() {
		admin.Handle(e.Pattern, e.Handler)
	}
	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest("GET", AdminPrefix+"/limited", nil))
	if !strings.Contains(rec.Body.String(), `"key":"203.0.113.8"`) {
		t.Fatalf("limited: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest("GET", AdminPrefix+"/config", nil))
	if !strings.Contains(rec.Body.String(), `"name":"shop"`) {
		t.Fatalf("config: %s", rec.Body)
	}
}

// Watch reloads when a file changes and has held still for one tick:
// each tick of the watcher is driven by the test, so nothing waits on
// the clock.
func TestWatch(t *testing.T) {
	shop := echoUpstream(t, "shop")
	f := newFixture(t, gatewayYAML(shop.URL, shop.URL, ""))
	before := f.gw.state.Load()
	var w watcher
	if w.poll(f.gw) {
		t.Fatal("reloaded with nothing changed")
	}
	future := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(f.dir, "reputation.txt"), future, future)
	if w.poll(f.gw) || f.gw.state.Load() != before {
		t.Fatal("reloaded at the first sight of a change, before it held still")
	}
	if !w.poll(f.gw) || f.gw.state.Load() == before {
		t.Fatal("a changed file did not reload the configuration")
	}
	if w.poll(f.gw) {
		t.Fatal("reloaded again with nothing changed since")
	}
}

// A flood from many distinct source IPs, forwarded by the trusted CDN:
// memory stays bounded by the per-rule key cap and a legitimate client
// keeps being served. LOCKGATE_FLOOD_IPS sets the number (docs: 1,000,000,
// against the deployed default cap of 20,000 keys).
//
// By default the cap is 2,000 keys and the flood three times that, as
// 60,000 against 20,000 were before: each rule's table fills a third of
// the way in and evicts for the rest, with a legitimate request every
// sixtieth of the flood, and the heap may grow by as much per flood
// request as before (64 MB for 60,000). Each request is a real round trip
// to the upstream, which made 60,000 the package's slowest test by far.
func TestFloodDistinctIPs(t *testing.T) {
	n, keys := 6_000, 2_000
	if v := os.Getenv("LOCKGATE_FLOOD_IPS"); v != "" {
		fmt.Sscan(v, &n)
		keys = 20_000
	}
	if n < 3*keys {
		t.Fatalf("LOCKGATE_FLOOD_IPS=%d: the flood must be at least three times the %d-key cap to fill and evict", n, keys)
	}
	every := n / 60 // legitimate requests: 60 in the flood, from 50 clients
	shop := echoUpstream(t, "shop")
	f := newFixture(t, strings.Replace(gatewayYAML(shop.URL, shop.URL, ""), "waf:\n", fmt.Sprintf("waf:\n  max_keys_per_rule: %d\n", keys), 1))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := range n {
		r := httptest.NewRequest("GET", "/products/1", nil)
		r.Host = "shop.example"
		r.RemoteAddr = "127.0.0.1:4000"
		r.Header.Set("X-Forwarded-For", fmt.Sprintf("100.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i)))
		w := httptest.NewRecorder()
		f.gw.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("flood request %d: %d", i, w.Code)
		}
		if i%every == 0 {
			// Fifty legitimate clients, each well under the /login limit.
			r := httptest.NewRequest("POST", "/login", nil)
			r.Host, r.RemoteAddr = "shop.example", fmt.Sprintf("192.0.2.%d:5000", i/every%50)
			w := httptest.NewRecorder()
			f.gw.ServeHTTP(w, r)
			if w.Code != 200 {
				t.Fatalf("the legitimate client was refused during the flood (request %d): %d", i, w.Code)
			}
		}
	}
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d distinct IPs, %d-key cap, in %v (%.0f req/s): heap grew %.1f MB", n, keys, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(grew)/1e6)
	// Two rate-based rules × the cap × ~113 B, plus the log buffer and
	// the transport: well under 64 MB whatever n is, and under ~1.1 KB
	// per flood request, the bound 64 MB for 60,000 set.
	limit := min(int64(64<<20), int64(n)*(64<<20)/60_000)
	if grew > limit {
		t.Fatalf("heap grew %.1f MB, over %.1f MB", float64(grew)/1e6, float64(limit)/1e6)
	}
}

// From an untrusted peer X-Forwarded-For is neither believed nor passed
// on; with only: blocked_and_counted, allowed requests leave no record.
func TestUntrustedPeerAndLogFilter(t *testing.T) {
	shop := echoUpstream(t, "shop")
	yaml := strings.Replace(gatewayYAML(shop.URL, shop.URL, ""), `trusted_proxies: ["127.0.0.1/32", "10.0.0.0/8"]`, `trusted_proxies: ["10.0.0.0/8"]`, 1)
	yaml = strings.Replace(yaml, "    file: waf.log\n", "    file: waf.log\n    only: blocked_and_counted\n", 1)
	f := newFixture(t, yaml)
	resp := f.do(t, "GET", "/products", "shop.example", "198.51.100.9", nil) // a reputation address, forged
	if resp.StatusCode != 200 || resp.Header.Get("X-Seen-XFF") != "127.0.0.1" {
		t.Fatalf("forged X-Forwarded-For: %d, upstream saw %q", resp.StatusCode, resp.Header.Get("X-Seen-XFF"))
	}
	for range 151 {
		f.do(t, "POST", "/login", "shop.example", "", nil)
	}
	f.gw.Close()
	data, _ := os.ReadFile(filepath.Join(f.dir, "waf.log"))
	if n := bytes.Count(data, []byte("\n")); n != 1 || !bytes.Contains(data, []byte(`"action":"BLOCK"`)) || !bytes.Contains(data, []byte(`"clientIp":"127.0.0.1"`)) {
		t.Fatalf("%d records, want only the one blocked:\n%s", n, data)
	}
}

// A broken file is refused once, not again every tick, and its fix is
// picked up.
func TestWatchRefusesOnce(t *testing.T) {
	shop := echoUpstream(t, "shop")
	f := newFixture(t, gatewayYAML(shop.URL, shop.URL, ""))
	var w watcher
	aclPath := filepath.Join(f.dir, "blog-acl.json")
	good, _ := os.ReadFile(aclPath)
	os.WriteFile(aclPath, []byte(`{"Name":`), 0o600)
	future := time.Now().Add(time.Minute)
	os.Chtimes(aclPath, future, future)
	for range 5 {
		w.poll(f.gw)
	}
	if refused := testutilCount(t, f, "error"); refused != 1 {
		t.Fatalf("%v refused reloads of one broken version in 5 ticks, want 1", refused)
	}
	os.WriteFile(aclPath, good, 0o600)
	later := future.Add(time.Minute)
	os.Chtimes(aclPath, later, later)
	w.poll(f.gw)
	w.poll(f.gw)
	if testutilCount(t, f, "ok") != 1 {
		t.Fatal("the fixed file was not picked up")
	}
}

// testutilCount reads lockgate_gateway_reloads_total{result}.
func testutilCount(t *testing.T, f *fixture, result string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lockgate_gateway_reloads_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
