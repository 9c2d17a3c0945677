package vpn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/vpn"
	"github.com/lockgate/lockgate/internal/webacl"
)

// Client VPN writes each field once under its documented name
// ("public-ip"). encoding/json alone would also read "PUBLIC-IP" and let
// the last of two keys win, so a request could be decided on an address
// other than the one a reader of the JSON sees: such requests are
// refused, while keys that are no field at all stay ignored.
func TestRequestKeysAreExact(t *testing.T) {
	for _, tt := range []struct {
		name, body, err string
	}{
		{"documented names", `{"public-ip":"8.8.8.8","username":"bob","schema-version":"v2","x-new-field":1}`, ""},
		{"another case", `{"public-ip":"5.9.0.1","PUBLIC-IP":"8.8.8.8"}`, `"PUBLIC-IP" is not a field; the field is "public-ip"`},
		{"mixed case alone", `{"Public-IP":"8.8.8.8"}`, `"Public-IP" is not a field`},
		{"twice", `{"public-ip":"5.9.0.1","public-ip":"8.8.8.8"}`, `"public-ip" appears twice`},
		{"username twice", `{"username":"mallory","username":"bob"}`, `"username" appears twice`},
	} {
		r, err := vpn.ParseRequest([]byte(tt.body))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err == "" && r.PublicIP != "8.8.8.8":
			t.Errorf("%s: public-ip %q", tt.name, r.PublicIP)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
		}
	}
}

// AWS WAF's text transformations have no trim, so the rate-based rule
// keyed on x-vpn-username (LOWERCASE) would count "bob " or "bob\u200b"
// as new users while the lock check reads them as bob. The handler
// writes the key in the lock check's caseless form: every spelling of
// one account shares its limit.
func TestRateKeyIsTheCanonicalUsername(t *testing.T) {
	set, probs := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSet, Addresses: []string{"8.8.4.0/24"}}}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	h := provision(t, vpn.Config{WebACLFile: "testdata/vpn-acl.json"}, vpn.Options{WAF: set, Now: func() time.Time { return now }})
	spellings := []string{"bob", "bob ", " BOB", "bob\u200b", "ｂｏｂ", "Bob\t"}
	blocked := -1
	for i := range 20 {
		o := h.Decide(context.Background(), vpn.Request{PublicIP: "8.8.8.8", Username: spellings[i%len(spellings)], SchemaVersion: "v2"})
		if !o.Response.Allow {
			if !strings.Contains(o.Detail, "AttemptsPerUsername") {
				t.Fatalf("attempt %d blocked by %s", i, o.Detail)
			}
			blocked = i
			break
		}
	}
	if blocked != 10 {
		t.Fatalf("the 11th attempt (the limit is 10) should be the first blocked, got attempt %d", blocked+1)
	}
}
