package lock

import (
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
)

// CheckConfig is the lock_check section: how the lock-check API verifies
// tokens and what it keeps of an attempt.
type CheckConfig struct {
	Leeway            config.Duration `yaml:"leeway"`
	MaxTokenLifetime  config.Duration `yaml:"max_token_lifetime"`
	KeyCacheTTL       config.Duration `yaml:"key_cache_ttl"`
	MaxIntegrationKiB int             `yaml:"max_integration_data_kib"`
}

// DefaultCheckConfig is the section before the file.
func DefaultCheckConfig() CheckConfig {
	return CheckConfig{
		Leeway:            config.Duration(60 * time.Second),
		MaxTokenLifetime:  config.Duration(10 * time.Minute),
		KeyCacheTTL:       config.Duration(5 * time.Second),
		MaxIntegrationKiB: 16,
	}
}

// Validate returns every problem with the section, at paths relative to it.
func (c CheckConfig) Validate() problem.List {
	var probs problem.List
	if c.Leeway < 0 || c.Leeway.Std() > 5*time.Minute {
		probs.Addf("leeway", "%s is outside 0s..5m", c.Leeway.Std())
	}
	if c.MaxTokenLifetime.Std() < time.Minute || c.MaxTokenLifetime.Std() > time.Hour {
		probs.Addf("max_token_lifetime", "%s is outside 1m..1h", c.MaxTokenLifetime.Std())
	}
	if c.KeyCacheTTL < 0 || c.KeyCacheTTL.Std() > time.Minute {
		probs.Addf("key_cache_ttl", "%s is outside 0s..1m (a revoked key stays usable on other replicas for this long)", c.KeyCacheTTL.Std())
	}
	if c.MaxIntegrationKiB < 1 || c.MaxIntegrationKiB > 16 {
		probs.Addf("max_integration_data_kib", "%d is outside 1..16", c.MaxIntegrationKiB)
	}
	return probs
}
