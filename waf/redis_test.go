package waf

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/redistest"
	"github.com/lockgate/lockgate/waf/ratelimit"
	"github.com/lockgate/lockgate/waf/ratelimit/redisstore"
)

// The blog's /login rule across three engines sharing counts in Redis:
// one client spread over them gets 150 requests through, not 450.
func TestBlogACLThreeEngines(t *testing.T) {
	client, prefix := redistest.Client(t)
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	acl := loadACLFile(t, "blog-acl.json")
	var engines []*Engine
	var stores []*redisstore.Store
	for range 3 {
		s := redisstore.New(client, redisstore.Options{Prefix: prefix, Manual: true, Now: clock.now})
		stores = append(stores, s)
		e, err := New(acl, Options{IPReputation: []netip.Prefix{}, Now: clock.now,
			Counter: func(r RateRule) ratelimit.Counter { return s.Counter(acl.Name+"/"+r.Name, r.Window, r.Limit) }})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	ctx := context.Background()
	for range 2 { // the engines find each other
		for _, s := range stores {
			s.Sync(ctx)
		}
	}
	allowed := 0
	for i := range 600 {
		clock.t = clock.t.Add(100 * time.Millisecond)
		if d := engines[i%3].Evaluate(ctx, get("203.0.113.7", "/login")); d.Action == "ALLOW" {
			allowed++
		}
		if i%30 == 29 {
			for _, s := range stores {
				s.Sync(ctx)
			}
		}
	}
	// The Redis store's bound: within 1% of the limit or N requests.
	if allowed < 150 || allowed > 153 {
		t.Fatalf("%d /login requests allowed across 3 engines, want 150..153", allowed)
	}
	t.Logf("%d of 600 /login requests allowed across 3 engines (limit 150)", allowed)
	lim, err := engines[1].Limited(ctx, "UriBasedRule")
	if err != nil || len(lim) != 1 || lim[0].Key.String() != "203.0.113.7" {
		t.Fatalf("limited keys: %v %v", lim, err)
	}
}
