package vpn_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/vpn"
	"github.com/lockgate/lockgate/internal/webacl"
	"github.com/lockgate/lockgate/lockclient"
)

const blockedSet = "arn:aws:wafv2:us-east-1:111122223333:regional/ipset/vpn-blocked/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

// A whole web ACL decides: an IP set, GeoMatch, and a rate-based rule on
// connection attempts per username (a custom key on x-vpn-username), so a
// stolen certificate hammering the endpoint is stopped while the same
// user's colleagues still connect.
func TestWebACL(t *testing.T) {
	set, probs := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSet, Addresses: []string{"8.8.4.0/24"}}}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	h := provision(t, vpn.Config{WebACLFile: "testdata/vpn-acl.json"}, vpn.Options{WAF: set, Now: func() time.Time { return now }})
	decide := func(ip, user string) vpn.Outcome {
		return h.Decide(context.Background(), vpn.Request{PublicIP: ip, Username: user, SchemaVersion: "v2"})
	}
	for _, tt := range []struct {
		ip, user string
		allow    bool
		detail   string
	}{
		{"8.8.8.8", "alice", true, ""},
		{"8.8.4.4", "alice", false, "BlockedAddresses"},
		{"81.2.69.142", "alice", false, "AllowedCountries"},
		{"24.48.0.1", "alice", true, ""},
	} {
		o := decide(tt.ip, tt.user)
		if o.Response.Allow != tt.allow || !strings.Contains(o.Detail, tt.detail) || (!tt.allow && o.Reason != vpn.ReasonWAF) {
			t.Errorf("%s %s: %+v", tt.ip, tt.user, o)
		}
	}
	// Rules run in priority order: the attempt the IP set blocked never
	// reached the rate-based rule; the other three were counted. With a
	// limit of 10, the 11th counted attempt is the first blocked: alice's
	// 8th from here.
	blockedAt := 0
	for i := range 20 {
		o := decide("8.8.8.8", "Alice") // LOWERCASE: one key for Alice and alice
		if !o.Response.Allow {
			if !strings.Contains(o.Detail, "AttemptsPerUsername") {
				t.Fatalf("attempt %d blocked by %s", i, o.Detail)
			}
			blockedAt = i
			break
		}
	}
	if blockedAt != 7 {
		t.Fatalf("alice was limited after %d more attempts, want 7", blockedAt)
	}
	if o := decide("8.8.8.8", "bob"); !o.Response.Allow {
		t.Errorf("another user is limited too: %+v", o)
	}
	now = now.Add(10 * time.Minute)
	if o := decide("8.8.8.8", "alice"); !o.Response.Allow {
		t.Errorf("still limited after the window: %+v", o)
	}
}

// slowLocks never answers until released: the deadline must deny first.
type slowLocks struct{ release chan struct{} }

func (s slowLocks) Check(ctx context.Context, _ lockclient.Request) (lockclient.Decision, error) {
	<-s.release // ignores ctx on purpose: a dependency that hangs
	return lockclient.Decision{}, nil
}

// "The Lambda function times out after 30 seconds. This value cannot be
// changed." and an error or timeout denies: lockgate answers a denial at
// its own deadline, well within, whatever a dependency does.
func TestDeadlineDenies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		locks := slowLocks{release: make(chan struct{})}
		defer close(locks.release)
		h := provision(t, vpn.Config{CheckLock: true, Deadline: config.Duration(5 * time.Second), LockCheck: vpn.LockCheck{AppURI: "a", APIURI: "b", SigningKey: "c"}},
			vpn.Options{Locks: locks})
		start := time.Now()
		o := h.Decide(context.Background(), vpn.Request{PublicIP: "8.8.8.8", Username: "alice", SchemaVersion: "v1"})
		if o.Response.Allow || o.Reason != vpn.ReasonTimeout || o.Response.SchemaVersion != "v1" {
			t.Fatalf("%+v", o)
		}
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("answered after %v", took)
		}
	})
}

func TestConfigProblems(t *testing.T) {
	for _, tt := range []struct {
		cfg   vpn.Config
		serve bool
		want  []string
	}{
		{vpn.Config{}, false, []string{"allowed_countries: give allowed_countries"}},
		{vpn.Config{AllowedCountries: []string{"US"}}, true, []string{"secret: required"}},
		{vpn.Config{AllowedCountries: []string{"UK", "usa", "XX", "ca"}}, false, []string{
			`allowed_countries[0]: "UK" is not the ISO 3166-1 code: use GB`,
			`allowed_countries[1]: "usa" is not an ISO 3166-1 alpha-2`,
			`allowed_countries[2]: "XX" is not an assigned`}},
		{vpn.Config{AllowedRegions: []string{"US-CA", "CA", "ZZ-1"}}, false, []string{`allowed_regions[1]: "CA" is not an ISO 3166-2`, `allowed_regions[2]: "ZZ-1" is not an assigned`}},
		{vpn.Config{AllowedCountries: []string{"US"}, Deadline: config.Duration(29 * time.Second)}, false, []string{"deadline: 29s is outside"}},
		{vpn.Config{CheckLock: true}, false, []string{"lock_check.app_uri: required", "lock_check.api_uri: required", "lock_check.signing_key_file: required"}},
		{vpn.Config{AllowedCountries: []string{"US"}, DeniedMessage: strings.Repeat("x", 256)}, false, []string{"denied_message: 256 characters"}},
		{vpn.Config{Endpoints: []vpn.Endpoint{{ID: "vpn-1"}, {ID: "cvpn-endpoint-0123456789abcdef0", AllowedCountries: []string{"US"}}, {ID: "cvpn-endpoint-0123456789abcdef0", AllowedCountries: []string{"US"}}}}, false, []string{
			`endpoints[0].id: "vpn-1" is not a Client VPN endpoint ID`, "endpoints[0]: give allowed_countries", `endpoints[2].id: "cvpn-endpoint-0123456789abcdef0" is listed twice`}},
		{vpn.Config{WebACLFile: "testdata/missing.json"}, false, []string{"web_acl_file: open testdata/missing.json"}},
	} {
		_, probs := vpn.Provision(tt.cfg, vpn.Options{Geo: cityDB(t), Serve: tt.serve})
		got := probs.Error()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: %q lacks %q", tt.cfg, got, w)
			}
		}
		if len(probs) != len(tt.want) {
			t.Errorf("%+v: %d problems, want %d:\n%s", tt.cfg, len(probs), len(tt.want), got)
		}
	}
	// The environment is read by the same loader as lockgate serve.
	env := map[string]string{"LOCKGATE_VPN_ALLOWED_COUNTRIES": "US,CA", "LOCKGATE_VPN_CHECK_LOCK": "maybe"}
	if _, err := vpn.SettingsFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "LOCKGATE_VPN_CHECK_LOCK") {
		t.Errorf("a bad boolean: %v", err)
	}
	env["LOCKGATE_VPN_CHECK_LOCK"] = "false"
	env["LOCKGATE_GEO_DATABASE_FILE"] = "/opt/GeoLite2-City.mmdb"
	s, err := vpn.SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil || fmt.Sprint(s.VPN.AllowedCountries) != "[US CA]" || s.Geo.DatabaseFile != "/opt/GeoLite2-City.mmdb" {
		t.Errorf("%+v %v", s, err)
	}
}
