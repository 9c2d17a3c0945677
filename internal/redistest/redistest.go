// Package redistest connects tests to the Redis at 127.0.0.1:6379 (or
// LOCKGATE_TEST_REDIS). Without it a test skips with what to start,
// except under CI=true, where it fails.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client returns a client and a key prefix of the test's own; the keys
// under it are removed when the test ends.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	addr := os.Getenv("LOCKGATE_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is not answering at %s (CI=true requires it): %v", addr, err)
		}
		t.Skipf("Redis is not answering at %s: start it with redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no (%v)", addr, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "lockgate-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		c.Close()
	})
	return c, prefix
}
