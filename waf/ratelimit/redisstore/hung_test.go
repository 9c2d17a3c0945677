package redisstore

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lockgate/lockgate/waf/ratelimit"
)

// Item 6 of issue 13: a Redis that accepts connections and never
// answers costs a request at most the per-request budget, once; then
// the circuit is open and requests count locally without waiting, until
// a sync gets an answer. In a synctest bubble the hung Redis is a
// net.Pipe whose far end reads and never writes, and time is the
// bubble's: the waits measured are exact, not timings.
func TestItem6HungRedisCostsTheBudgetOnce(t *testing.T) {
	const budget = 50 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var conns []net.Conn
		opts := &redis.Options{Addr: "hung.invalid:6379", Protocol: 2, Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, far := net.Pipe()
			mu.Lock()
			conns = append(conns, c, far)
			mu.Unlock()
			go io.Copy(io.Discard, far) // accepts everything, answers nothing
			return c, nil
		}}
		Bound(opts, budget)
		client := redis.NewClient(opts)
		s := New(client, Options{Manual: true, Timeout: budget})
		// As after a sync that saw three engines: a key's first hit asks
		// Redis what the others counted.
		s.healthy.Store(true)
		s.engines.Store(3)
		c := s.Counter("r", time.Minute, 100)
		ctx := context.Background()
		now := time.Now()
		hit := func(ip string) time.Duration {
			start := time.Now()
			n, err := c.Hit(ctx, ratelimit.Key{IP: netip.MustParseAddr(ip)}, now)
			if err != nil || n != 1 {
				t.Fatalf("hit %s: %d %v, want counted locally", ip, n, err)
			}
			return time.Since(start)
		}
		if d := hit("192.0.2.1"); d <= 0 || d > budget {
			t.Fatalf("the first request waited %v for the hung Redis, want at most the budget %v", d, budget)
		}
		if s.healthy.Load() || s.Errors() != 1 {
			t.Fatalf("after the failed exchange: healthy %v, %d errors; want the circuit open", s.healthy.Load(), s.Errors())
		}
		for _, ip := range []string{"192.0.2.2", "192.0.2.3", "2001:db8::1"} {
			if d := hit(ip); d != 0 {
				t.Fatalf("request for %s waited %v with the circuit open", ip, d)
			}
		}
		// A background sync against the hung Redis fails within the
		// budget too (each read is bounded) and keeps the circuit open.
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := s.Sync(sctx); err == nil {
			t.Fatal("sync against a hung Redis succeeded")
		}
		cancel()
		if d := time.Since(start); d > 2*budget {
			t.Fatalf("a sync waited %v, want about the budget %v", d, budget)
		}
		if d := hit("192.0.2.4"); d != 0 || s.healthy.Load() {
			t.Fatalf("after the failed sync: waited %v, healthy %v", d, s.healthy.Load())
		}
		client.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
}

// The same against a real TCP listener that accepts and never answers:
// requests from new clients finish within the budget plus a margin for
// a loaded machine (an upper bound, not a measurement); only the first
// of a burst waits at all.
func TestItem6HungRedisListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var accepted []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range accepted {
			c.Close()
		}
		mu.Unlock()
	})
	const budget, margin = 100 * time.Millisecond, 2 * time.Second
	opts := &redis.Options{Addr: ln.Addr().String()}
	Bound(opts, budget)
	client := redis.NewClient(opts)
	defer client.Close()
	s := New(client, Options{Manual: true, Timeout: budget})
	s.healthy.Store(true)
	s.engines.Store(3)
	c := s.Counter("r", time.Minute, 100)
	var wg sync.WaitGroup
	durations := make([]time.Duration, 40)
	for i := range durations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			c.Hit(context.Background(), ratelimit.Key{IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})}, time.Now())
			durations[i] = time.Since(start)
		}()
	}
	wg.Wait()
	for i, d := range durations {
		if d > budget+margin {
			t.Errorf("request %d from a new client took %v against a hung Redis; the budget is %v", i, d, budget)
		}
	}
	if s.healthy.Load() {
		t.Fatal("the circuit is closed after the hung exchange")
	}
	if waits := s.Waits(); waits > int64(len(durations)) {
		t.Fatalf("%d waits", waits)
	}
}
