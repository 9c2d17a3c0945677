package vpn_test

import (
	"context"
	"testing"

	"github.com/lockgate/lockgate/internal/vpn"
	"github.com/lockgate/lockgate/internal/webacl"
)

// BenchmarkGeoLookup is the baseline: the database lookup alone.
func BenchmarkGeoLookup(b *testing.B) {
	db := cityDB(b)
	ip := mustAddr("24.48.0.1")
	for b.Loop() {
		db.Lookup(ip)
	}
}

// BenchmarkDecide is one connect decision by allowed countries, through
// the handler's deadline and logging (discarded), as Lambda runs it.
func BenchmarkDecide(b *testing.B) {
	h, _ := vpn.Provision(vpn.Config{AllowedCountries: []string{"US", "CA"}}, vpn.Options{Geo: cityDB(b)})
	ev := readFile(b, "testdata/v2.json")
	b.ReportAllocs()
	for b.Loop() {
		if o := h.HandleEvent(context.Background(), ev); !o.Response.Allow {
			b.Fatal(o)
		}
	}
}

// BenchmarkDecideWebACL runs the example web ACL (IP set, per-username
// rate limit, GeoMatch) on every decision, usernames spread over 1,000.
func BenchmarkDecideWebACL(b *testing.B) {
	set, _ := webacl.Provision(webacl.Config{IPSets: []webacl.IPSetRef{{ARN: blockedSet, Addresses: []string{"8.8.4.0/24"}}}}, nil)
	h, probs := vpn.Provision(vpn.Config{WebACLFile: "testdata/vpn-acl.json"}, vpn.Options{Geo: cityDB(b), WAF: set})
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	users := make([]string, 1000)
	for i := range users {
		users[i] = "user" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Decide(context.Background(), vpn.Request{PublicIP: "24.48.0.1", Username: users[i%len(users)], SchemaVersion: "v2"})
		i++
	}
}
