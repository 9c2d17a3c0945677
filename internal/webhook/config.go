package webhook

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
)

// Config is the webhooks section: how events are delivered, and where
// they may go.
type Config struct {
	// Timeout bounds one delivery attempt: connecting, sending and the
	// receiver's answer.
	Timeout     config.Duration `yaml:"timeout" env:"LOCKGATE_WEBHOOK_TIMEOUT"`
	MaxAttempts int             `yaml:"max_attempts"`
	MaxBackoff  config.Duration `yaml:"max_backoff"`
	// Concurrency is how many deliveries one destination has in flight;
	// each destination has its own, so a slow one delays only itself.
	Concurrency int `yaml:"concurrency_per_destination"`
	// LockedEventInterval throttles attempt.locked per account: the first
	// at once, then at most one attempt.locked.summary per interval. 0
	// sends one event per locked check.
	LockedEventInterval config.Duration `yaml:"locked_event_interval" env:"LOCKGATE_WEBHOOK_LOCKED_EVENT_INTERVAL"`
	// LockedEventsPerApp caps, per application and interval, the
	// attempt.locked events (and summaries) of accounts without an
	// owner, unknown names included: an end user typing new names
	// cannot flood the application's receivers. The rest are counted by
	// one summary of the application's. 0 turns the cap off.
	LockedEventsPerApp int `yaml:"locked_events_per_app" env:"LOCKGATE_WEBHOOK_LOCKED_EVENTS_PER_APP"`
	// AllowNetworks are CIDRs webhooks may reach although they are
	// loopback, link-local, private or unique-local (refused otherwise,
	// at registration and at every connection).
	AllowNetworks []string `yaml:"allow_networks" env:"LOCKGATE_WEBHOOK_ALLOW_NETWORKS"`
}

// DefaultConfig is the section before the file.
func DefaultConfig() Config {
	return Config{
		Timeout:             config.Duration(10 * time.Second),
		MaxAttempts:         20,
		MaxBackoff:          config.Duration(time.Hour),
		Concurrency:         2,
		LockedEventInterval: config.Duration(time.Minute),
		LockedEventsPerApp:  10,
	}
}

// Validate returns every problem with the section, at paths relative to it.
func (c Config) Validate() problem.List {
	var probs problem.List
	if c.Timeout <= 0 || c.Timeout.Std() > 5*time.Minute {
		probs.Addf("timeout", "%s is outside (0s, 5m]", c.Timeout.Std())
	}
	if c.MaxAttempts < 1 {
		probs.Add("max_attempts", "must be at least 1")
	}
	if c.MaxBackoff.Std() < time.Second {
		probs.Add("max_backoff", "must be at least 1s")
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		probs.Addf("concurrency_per_destination", "%d is outside 1..64", c.Concurrency)
	}
	if c.LockedEventInterval < 0 || c.LockedEventInterval.Std() > 24*time.Hour {
		probs.Addf("locked_event_interval", "%s is outside 0s..24h", c.LockedEventInterval.Std())
	}
	if c.LockedEventsPerApp < 0 || c.LockedEventsPerApp > 100_000 {
		probs.Addf("locked_events_per_app", "%d is outside 0..100000", c.LockedEventsPerApp)
	}
	for i, n := range c.AllowNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			probs.Addf("allow_networks["+strconv.Itoa(i)+"]", "%q is not a CIDR such as 10.1.0.0/16 (%v)", n, err)
		}
	}
	return probs
}

// Policy is the destination policy the section describes.
func (c Config) Policy() (*Policy, error) { return NewPolicy(c.AllowNetworks) }
