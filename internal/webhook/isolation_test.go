package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
	"github.com/lockgate/lockgate/internal/webhook"
)

// silentReceiver accepts connections and reads what is sent, but never
// answers: the receiver that held everyone's alerts for 80 s.
func silentReceiver(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int32{}
	var conns sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns.Add(1)
			go func() {
				defer conns.Done()
				go io.Copy(io.Discard, c)
				<-done
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); close(done); conns.Wait() })
	return ln.Addr().String(), accepted
}

type world struct {
	st  *store.Store
	box *secretbox.Box
	svc *lock.Service
}

func newWorld(t *testing.T, backend string, policy *webhook.Policy) *world {
	st := storetest.Open(t, backend)
	box, _ := secretbox.New(make([]byte, 32))
	o := lock.Options{Store: st, Box: box, Audiences: []string{"https://x"}, MaxTokenLifetime: time.Minute, Logger: slog.New(slog.DiscardHandler)}
	if policy != nil {
		o.WebhookURLs = policy
	}
	return &world{st: st, box: box, svc: lock.New(o)}
}

func (w *world) app(t *testing.T, name string) lock.Application {
	app, _, err := w.svc.CreateApplication(context.Background(), lock.ApplicationInput{Name: &name, Issuers: []string{"https://" + name + ".example"}})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestSlowReceiverDelaysOnlyItself: one receiver accepts and never
// answers, with forty events queued ahead; another person's receiver gets
// its event in under 2 s all the same.
func TestSlowReceiverDelaysOnlyItself(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			loopback, _ := webhook.NewPolicy([]string{"127.0.0.0/8"})
			w := newWorld(t, b, loopback)
			slowAddr, accepted := silentReceiver(t)
			got := make(chan time.Time, 10)
			fast := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { got <- time.Now() }))
			defer fast.Close()

			slowApp, fastApp := w.app(t, "slow"), w.app(t, "fast")
			if _, _, err := w.svc.AddWebhook(ctx, "application", slowApp.ID, "http://"+slowAddr+"/hook"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := w.svc.AddWebhook(ctx, "application", fastApp.ID, fast.URL); err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				w.svc.SetLock(ctx, slowApp.ID, fmt.Sprintf("u%d", i), lock.Target{Lock: true}, lock.Actor{Name: "t"})
			}
			d := &webhook.Dispatcher{Store: w.st, Secrets: w.box, Policy: loopback, Timeout: 30 * time.Second, Concurrency: 2,
				Logger: slog.New(slog.DiscardHandler), Wake: w.svc.Queued(), Poll: 50 * time.Millisecond}
			var run sync.WaitGroup
			run.Add(1)
			go func() { defer run.Done(); d.Run(ctx) }()
			defer func() { cancel(); run.Wait() }()
			// Wait until the slow receiver holds its deliveries.
			deadline := time.Now().Add(5 * time.Second)
			for accepted.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond) // polling a condition, not ordering events
			}
			if accepted.Load() < 2 {
				t.Fatalf("the slow receiver got %d connections", accepted.Load())
			}
			start := time.Now()
			if _, err := w.svc.SetLock(ctx, fastApp.ID, "ann", lock.Target{Lock: true}, lock.Actor{Name: "t"}); err != nil {
				t.Fatal(err)
			}
			select {
			case at := <-got:
				if d := at.Sub(start); d >= 2*time.Second {
					t.Fatalf("fast receiver got its event after %s", d)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("fast receiver got nothing within 2s while the slow one hangs")
			}
			if n := accepted.Load(); n > 2 {
				t.Fatalf("the slow destination has %d deliveries in flight, over its concurrency of 2", n)
			}
			// The hung deliveries stay leased: another replica claims none
			// of them while they may still be answered.
			other, err := w.st.ClaimEvents(ctx, mustHook(t, w, slowApp.ID), time.Now().Add(d.Timeout), time.Minute, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(other) != 38 {
				t.Fatalf("another replica claimed %d events, want the 38 not in flight", len(other))
			}
		})
	}
}

func mustHook(t *testing.T, w *world, appID string) string {
	hs, err := w.svc.Webhooks(context.Background(), "application", appID)
	if err != nil || len(hs) != 1 {
		t.Fatalf("webhooks: %v %v", hs, err)
	}
	return hs[0].ID
}

func TestLeaseOutlastsAttempt(t *testing.T) {
	for _, timeout := range []time.Duration{time.Second, 10 * time.Second, 5 * time.Minute} {
		d := &webhook.Dispatcher{Timeout: timeout}
		if d.Lease() < timeout+30*time.Second {
			t.Errorf("timeout %s: lease %s does not outlast an attempt", timeout, d.Lease())
		}
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %q", host)
}

func TestPolicyRefusesInternalDestinations(t *testing.T) {
	public := netip.MustParseAddr("93.184.216.34")
	res := fakeResolver{
		"localhost":         {netip.MustParseAddr("127.0.0.1")},
		"hooks.example":     {public},
		"mixed.example":     {public, netip.MustParseAddr("10.0.0.5")},
		"metadata.internal": {netip.MustParseAddr("169.254.169.254")},
		"v6.example":        {netip.MustParseAddr("2606:4700::1")},
		// The public address first: every address is checked, not the
		// first one a connection would try.
		"mixed-loopback.example": {public, netip.MustParseAddr("127.0.0.1")},
		"mixed-v6.example":       {public, netip.MustParseAddr("::ffff:0:7f00:1")},
	}
	p, _ := webhook.NewPolicy(nil)
	p.Resolver = res
	allowLocal, _ := webhook.NewPolicy([]string{"127.0.0.0/8", "10.1.0.0/16"})
	allowLocal.Resolver = res
	allowBench, _ := webhook.NewPolicy([]string{"2001:2::/48"})
	tests := []struct {
		url    string
		policy *webhook.Policy
		ok     bool
	}{
		{"https://hooks.example/x", p, true},
		{"https://93.184.216.34/x", p, true},
		{"https://v6.example/x", p, true},
		{"http://127.0.0.1:5432/", p, false},
		{"http://169.254.169.254/latest/meta-data/", p, false},
		{"http://metadata.internal/", p, false},
		{"http://localhost:8080/", p, false},
		{"http://[::1]/", p, false},
		{"http://[::ffff:127.0.0.1]/", p, false},
		{"http://[64:ff9b::7f00:1]/", p, false},
		{"http://[2002:7f00:1::]/", p, false},
		{"http://10.0.0.1/", p, false},
		{"http://172.16.3.4/", p, false},
		{"http://192.168.1.1/", p, false},
		{"http://[fd00:ec2::254]/", p, false},
		{"http://[fe80::1%25eth0]/", p, false},
		{"http://0.0.0.0/", p, false},
		{"http://100.64.0.1/", p, false},
		{"http://2130706433/", p, false},
		{"http://0x7f000001/", p, false},
		{"http://127.1/", p, false},
		{"http://017700000001/", p, false},
		{"https://mixed.example/", p, false},
		{"https://unresolvable.example/", p, true}, // decided at each connection
		{"http://127.0.0.1:5432/", allowLocal, true},
		{"http://localhost/", allowLocal, true},
		{"http://10.1.2.3/", allowLocal, true},
		{"http://10.2.0.1/", allowLocal, false},
		// IPv4-compatible IPv6 (deprecated): refused even where the IPv4
		// address it carries is allowed, at registration and at dial time.
		{"http://[::127.0.0.1]/", p, false},
		{"http://[::127.0.0.1]/", allowLocal, false},
		{"http://[::8.8.8.8]/", p, false},
		// atk14 F5: IPv4-translated (SIIT) forms, deprecated site-local,
		// Teredo, local-use NAT64, and NAT64/6to4 carrying a private
		// IPv4 address: refused unless an allowed network holds them.
		{"http://[::ffff:0:127.0.0.1]/", p, false},
		{"http://[::ffff:0:127.0.0.1]/", allowLocal, false},
		{"http://[::ffff:0:8.8.8.8]/", p, false},
		{"http://[::ffff:0:169.254.169.254]/", p, false},
		{"http://[fec0::1]/", p, false},
		{"http://[feff:ffff::1]/", p, false},
		{"http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", p, false},
		{"http://[64:ff9b::10.0.0.1]/", p, false},
		{"http://[64:ff9b::8.8.8.8]/", p, true},
		{"http://[64:ff9b:1::a00:1]/", p, false},
		{"http://[2002:a00:1::1]/", p, false},
		{"http://[2002:c0a8:101::1]/", p, false},
		{"http://[2002:808:808::1]/", p, true},
		{"https://mixed-loopback.example/", p, false},
		{"https://mixed-v6.example/", p, false},
		// rechk14 N2: documentation ranges of both families (RFC 5737,
		// RFC 9637) and IPv6 outside global unicast 2000::/3 (RFC 4291
		// §2.4: SRv6 SIDs in 5f00::/16, the reserved ::/8).
		{"http://192.0.2.1/", p, false},
		{"http://198.51.100.1/", p, false},
		{"http://203.0.113.1/", p, false},
		{"http://[3fff::1]/", p, false},
		{"http://[5f00::1]/", p, false},
		{"http://[::ffff:0:0:127.0.0.1]/", p, false},
		{"http://[64:ff9b:1::127.0.0.1]/", p, false},
		{"http://[2a00:1450:4001::1]/", p, true},
		// atk14f F10: IANA's IPv6 special-purpose registry, by its
		// "Globally Reachable" column: 2001::/23 (IETF protocol
		// assignments) is not, but for the more specific blocks marked
		// True (anycast, AMT, AS112-v6, ORCHIDv2, DETs).
		{"http://[2001:2::1]/", p, false},         // benchmarking, False
		{"http://[2001:10::1]/", p, false},        // deprecated ORCHID, N/A
		{"http://[2001:1ff:ffff::1]/", p, false},  // unassigned in 2001::/23
		{"http://[2001:1::4]/", p, false},         // beside the anycast addresses
		{"http://[2001:1::1]/", p, true},          // PCP anycast, True
		{"http://[2001:1::2]/", p, true},          // TURN anycast, True
		{"http://[2001:3::1]/", p, true},          // AMT, True
		{"http://[2001:4:112::1]/", p, true},      // AS112-v6, True
		{"http://[2001:20::1]/", p, true},         // ORCHIDv2, True
		{"http://[2001:30::1]/", p, true},         // drone remote ID tags, True
		{"http://[2001:200::1]/", p, true},        // just past 2001::/23: allocated to an RIR
		{"http://[2001:2::1]/", allowBench, true}, // allow_networks still wins
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.policy.CheckURL(context.Background(), u)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckURL = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestDialTimeCheckStopsRebinding: a name that resolved to a public
// address at registration and resolves to loopback when the event is sent
// is refused before any byte leaves: the receiver on loopback never sees
// a connection.
func TestDialTimeCheckStopsRebinding(t *testing.T) {
	ctx := context.Background()
	addr, accepted := silentReceiver(t)
	_, port, _ := net.SplitHostPort(addr)
	policy, _ := webhook.NewPolicy(nil)
	policy.Resolver = fakeResolver{"localhost": {netip.MustParseAddr("93.184.216.34")}} // what DNS said at registration
	w := newWorld(t, "sqlite", policy)
	app := w.app(t, "a")
	if _, _, err := w.svc.AddWebhook(ctx, "application", app.ID, "http://localhost:"+port+"/hook"); err != nil {
		t.Fatalf("registration: %v", err)
	}
	policy.Resolver = fakeResolver{"localhost": {netip.MustParseAddr("127.0.0.1")}} // what DNS says when the event is sent
	w.svc.SetLock(ctx, app.ID, "u", lock.Target{Lock: true}, lock.Actor{Name: "t"})
	var logs bytes.Buffer
	d := &webhook.Dispatcher{Store: w.st, Secrets: w.box, Policy: policy, Timeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if n, err := d.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the loopback receiver accepted %d connections", n)
	}
	if !strings.Contains(logs.String(), "loopback") {
		t.Fatalf("log does not say why: %s", logs.String())
	}
}

// TestDialRefusesNameWithAnyRefusedAddress (atk14 F5): at each
// connection, as at registration, a name is refused when any address it
// resolves to is refused, even listed after an allowed one; nothing is
// connected to. A name resolving to allowed addresses only is delivered
// to.
func TestDialRefusesNameWithAnyRefusedAddress(t *testing.T) {
	ctx := context.Background()
	addr, accepted := silentReceiver(t)
	_, port, _ := net.SplitHostPort(addr)
	receiver := netip.MustParseAddr("127.0.0.1")
	for _, tt := range []struct {
		name     string
		addrs    []netip.Addr
		want     string // in the log
		accepted int32
	}{
		{"allowed and private", []netip.Addr{receiver, netip.MustParseAddr("10.0.0.5")}, "10.0.0.5 is private", 0},
		{"allowed and IPv4-translated", []netip.Addr{receiver, netip.MustParseAddr("::ffff:0:7f00:1")}, "IPv4-translated", 0},
		{"allowed only", []netip.Addr{receiver}, "no answer within", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			accepted.Store(0)
			policy, _ := webhook.NewPolicy([]string{"127.0.0.1/32"})
			policy.Resolver = fakeResolver{"hooks.test": {receiver}}
			w := newWorld(t, "sqlite", policy)
			app := w.app(t, "a")
			if _, _, err := w.svc.AddWebhook(ctx, "application", app.ID, "http://hooks.test:"+port+"/hook"); err != nil {
				t.Fatalf("registration: %v", err)
			}
			policy.Resolver = fakeResolver{"hooks.test": tt.addrs}
			w.svc.SetLock(ctx, app.ID, "u", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			var logs bytes.Buffer
			d := &webhook.Dispatcher{Store: w.st, Secrets: w.box, Policy: policy, Timeout: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			if n, err := d.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("RunOnce: %d %v", n, err)
			}
			if n := accepted.Load(); n != tt.accepted {
				t.Fatalf("the receiver accepted %d connections, want %d", n, tt.accepted)
			}
			if !strings.Contains(logs.String(), tt.want) {
				t.Fatalf("log does not say %q: %s", tt.want, logs.String())
			}
		})
	}
}

// TestCredentialsRedacted: a URL's password and query never reach the
// log, the stored error or a listing.
func TestCredentialsRedacted(t *testing.T) {
	ctx := context.Background()
	recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { rw.WriteHeader(503) }))
	defer recv.Close()
	loopback, _ := webhook.NewPolicy([]string{"127.0.0.0/8"})
	w := newWorld(t, "sqlite", loopback)
	app := w.app(t, "a")
	u, _ := url.Parse(recv.URL)
	raw := "http://hookuser:hunter2-pass@" + u.Host + "/in?api_key=sk-live-123&x=1&BARE-SECRET-77;k=semi-secret"
	hook, _, err := w.svc.AddWebhook(ctx, "application", app.ID, raw)
	if err != nil {
		t.Fatal(err)
	}
	w.svc.SetLock(ctx, app.ID, "u", lock.Target{Lock: true}, lock.Actor{Name: "t"})
	var logs bytes.Buffer
	d := &webhook.Dispatcher{Store: w.st, Secrets: w.box, Policy: loopback, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	d.RunOnce(ctx)
	hooks, _ := w.svc.Webhooks(ctx, "application", app.ID)
	listing, _ := json.Marshal(hooks)
	for what, text := range map[string]string{"log": logs.String(), "listing": string(listing)} {
		for _, secret := range []string{"hunter2-pass", "sk-live-123", "hookuser", "BARE-SECRET-77", "semi-secret"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds %q: %s", what, secret, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "status 503") || !strings.Contains(string(listing), u.Host) || !strings.Contains(string(listing), `?api_key=REDACTED\u0026x=REDACTED\u0026REDACTED;k=REDACTED`) {
		t.Fatalf("redaction hid too much: log %s listing %s", logs.String(), listing)
	}
	if got, _ := w.st.Webhook(ctx, hook.ID); got.URL != raw {
		t.Fatalf("stored URL changed: %q", got.URL)
	}
}

// TestShutdownInterruptsQuietly (atk14 F15): a shutdown during a delivery
// logs it at info level ("interrupted by shutdown, will retry"), no
// ERROR, and releases the event without counting an attempt, so the next
// start sends it at once rather than after its lease.
func TestShutdownInterruptsQuietly(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			arrived, stop := make(chan struct{}, 1), make(chan struct{})
			recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				select {
				case arrived <- struct{}{}:
				default:
				}
				select { // answers never
				case <-r.Context().Done():
				case <-stop:
				}
			}))
			defer recv.Close()
			defer close(stop)
			loopback, _ := webhook.NewPolicy([]string{"127.0.0.0/8"})
			w := newWorld(t, b, loopback)
			app := w.app(t, "a")
			hook, _, err := w.svc.AddWebhook(context.Background(), "application", app.ID, recv.URL)
			if err != nil {
				t.Fatal(err)
			}
			w.svc.SetLock(context.Background(), app.ID, "u", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			var logs bytes.Buffer
			var mu sync.Mutex
			d := &webhook.Dispatcher{Store: w.st, Secrets: w.box, Policy: loopback, Timeout: time.Minute,
				Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { d.Run(ctx); close(done) }()
			<-arrived
			cancel()
			<-done
			mu.Lock()
			out := logs.String()
			mu.Unlock()
			if strings.Contains(out, "level=ERROR") || !strings.Contains(out, "level=INFO msg=\"webhook: delivery interrupted by shutdown, will retry\"") {
				t.Fatalf("log:\n%s", out)
			}
			evs, err := w.st.ClaimEvents(context.Background(), hook.ID, time.Now(), time.Minute, 10)
			if err != nil || len(evs) != 1 || evs[0].Attempts != 0 {
				t.Fatalf("after the shutdown the event is not due at once: %+v %v", evs, err)
			}
		})
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A receiver that accepts and never answers: the timed-out attempt is
// recorded (counted, with its error, and retried later) however long
// the attempt took against the time allowed for recording it (atk14f
// F13: it was recorded with a budget taken before the attempt, which the
// attempt had used up). docs/api.md: "A failed delivery (non-2xx,
// timeout, refused address) is retried after 1 s, 2 s, 4 s …".
func TestTimedOutAttemptIsRecorded(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			addr, _ := silentReceiver(t)
			policy, _ := webhook.NewPolicy([]string{"127.0.0.1/32"})
			w := newWorld(t, backend, policy)
			app := w.app(t, "a")
			hook, _, err := w.svc.AddWebhook(ctx, "application", app.ID, "http://"+addr+"/hook")
			if err != nil {
				t.Fatal(err)
			}
			w.svc.SetLock(ctx, app.ID, "u", lock.Target{Lock: true}, lock.Actor{Name: "t"})
			d := &webhook.Dispatcher{Store: w.st, Secrets: w.box, Policy: policy, Timeout: 300 * time.Millisecond,
				RecordTimeout: 100 * time.Millisecond, MaxAttempts: 5, Logger: slog.New(slog.DiscardHandler)}
			if n, err := d.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("RunOnce: %d %v", n, err)
			}
			// Counted and given a retry time: a claim after the lease but
			// before the backoff finds nothing; one after the backoff finds
			// the event with one attempt.
			evs, err := w.st.ClaimEvents(ctx, hook.ID, time.Now().Add(webhook.Backoff(1, time.Hour)*2), time.Minute, 10)
			if err != nil || len(evs) != 1 || evs[0].Attempts != 1 {
				t.Fatalf("after a timed-out attempt: %+v %v, want one event with 1 attempt", evs, err)
			}
		})
	}
}
