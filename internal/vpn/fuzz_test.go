package vpn_test

import (
	"context"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/lockgate/lockgate/internal/vpn"
	"github.com/lockgate/lockgate/internal/webacl"
)

// Whatever Client VPN (or a caller of POST /vpn/connect) sends, the
// handler answers a response within AWS's limits and never panics.
func FuzzHandleEvent(f *testing.F) {
	for _, v := range []string{"v1", "v2", "v3"} {
		f.Add(readFile(f, "testdata/"+v+".json"))
	}
	f.Add([]byte(`{"public-ip":"::ffff:1.2.3.4","groups":"x","schema-version":"v1"}`))
	f.Add([]byte(`{"public-ip":"fe80::1%eth0"}`))
	set, _ := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSet, Addresses: []string{"8.8.4.0/24"}}}}, nil)
	h, probs := vpn.Provision(vpn.Config{AllowedCountries: []string{"US"}, AllowedRegions: []string{"SE-E"}, WebACLFile: "testdata/vpn-acl.json"}, vpn.Options{Geo: cityDB(f), WAF: set})
	if len(probs) > 0 {
		f.Fatal(probs)
	}
	f.Fuzz(func(t *testing.T, ev []byte) {
		o := h.HandleEvent(context.Background(), ev)
		raw, err := json.Marshal(o.Response)
		if err != nil || !json.Valid(raw) || !utf8.Valid(raw) {
			t.Fatalf("%q: %v %q", ev, err, raw)
		}
		var back vpn.Response
		if err := json.Unmarshal(raw, &back); err != nil || len(back.Statuses) > vpn.MaxStatuses || utf8.RuneCountInString(back.Message) > vpn.MaxMessage {
			t.Fatalf("%q: %+v %v", ev, back, err)
		}
	})
}
