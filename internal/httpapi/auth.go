package httpapi

import (
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
)

// AuthConfig is the auth section: how failed admin and owner
// authentications are limited. Each source address (an IPv4 address, or
// an IPv6 /64) has a budget of FailureBurst failures that refills by one
// every FailureRefill; an address with none left gets 429 with
// Retry-After for every admin or owner request, right tokens included,
// until the budget refills: a guesser learns nothing more by trying.
type AuthConfig struct {
	FailureBurst  int             `yaml:"failure_burst" env:"LOCKGATE_AUTH_FAILURE_BURST"`
	FailureRefill config.Duration `yaml:"failure_refill" env:"LOCKGATE_AUTH_FAILURE_REFILL"`
}

// DefaultAuthConfig is the section before the file: 10 failures at once,
// then one every 6 seconds (10 a minute).
func DefaultAuthConfig() AuthConfig {
	return AuthConfig{FailureBurst: 10, FailureRefill: config.Duration(6 * time.Second)}
}

// Validate returns every problem with the section.
func (c AuthConfig) Validate() problem.List {
	var probs problem.List
	if c.FailureBurst < 1 || c.FailureBurst > 10_000 {
		probs.Addf("failure_burst", "%d is outside 1..10000", c.FailureBurst)
	}
	if c.FailureRefill.Std() < time.Millisecond || c.FailureRefill.Std() > time.Hour {
		probs.Addf("failure_refill", "%s is outside 1ms..1h", c.FailureRefill.Std())
	}
	return probs
}

// failureLimiter counts failed authentications per source.
type failureLimiter struct {
	burst  float64
	refill time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[netip.Prefix]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxSources bounds the limiter's memory; full buckets are dropped first.
const maxSources = 100_000

func newFailureLimiter(c AuthConfig, now func() time.Time) *failureLimiter {
	if c.FailureBurst == 0 {
		c = DefaultAuthConfig()
	}
	return &failureLimiter{burst: float64(c.FailureBurst), refill: c.FailureRefill.Std(), now: now, m: map[netip.Prefix]*bucket{}}
}

// source is the limiter's key for a client address.
func source(ip string) netip.Prefix {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// level refills b to now and returns its tokens.
func (l *failureLimiter) level(b *bucket, now time.Time) float64 {
	b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.refill))
	b.at = now
	return b.tokens
}

// blocked reports whether src has no failures left, and when it will.
func (l *failureLimiter) blocked(src netip.Prefix) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[src]
	if b == nil {
		return 0, false
	}
	if t := l.level(b, l.now()); t < 1 {
		return time.Duration((1 - t) * float64(l.refill)), true
	}
	return 0, false
}

// fail takes one failure from src's budget.
func (l *failureLimiter) fail(src netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.m[src]
	if b == nil {
		if len(l.m) >= maxSources {
			for k, v := range l.m {
				if l.level(v, now) >= l.burst {
					delete(l.m, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.m[src] = b
	}
	l.level(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// retryAfter is the Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
