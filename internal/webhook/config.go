package webhook

import (
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
)

// Config is the webhooks section: how events are delivered.
type Config struct {
	Timeout     config.Duration `yaml:"timeout"`
	MaxAttempts int             `yaml:"max_attempts"`
	MaxBackoff  config.Duration `yaml:"max_backoff"`
}

// DefaultConfig is the section before the file.
func DefaultConfig() Config {
	return Config{Timeout: config.Duration(10 * time.Second), MaxAttempts: 20, MaxBackoff: config.Duration(time.Hour)}
}

// Validate returns every problem with the section, at paths relative to it.
func (c Config) Validate() problem.List {
	var probs problem.List
	if c.Timeout <= 0 {
		probs.Add("timeout", "must be positive")
	}
	if c.MaxAttempts < 1 {
		probs.Add("max_attempts", "must be at least 1")
	}
	if c.MaxBackoff.Std() < time.Second {
		probs.Add("max_backoff", "must be at least 1s")
	}
	return probs
}
