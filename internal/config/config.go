// Package config defines lockgate's configuration file, its embedded
// defaults, the environment overrides, and validation that names every
// problem by its path in the file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lockgate/lockgate/internal/awsiam"
)

// Config is the whole configuration. Field names in YAML are snake_case.
type Config struct {
	Listen      string   `yaml:"listen"`
	DataDir     string   `yaml:"data_dir"`
	DatabaseURL string   `yaml:"database_url"`
	PublicURLs  []string `yaml:"public_urls"`
	// AdminToken, when set, is accepted as an admin token (stored hashed).
	// Prefer the LOCKGATE_ADMIN_TOKEN environment variable to a file.
	AdminToken string `yaml:"admin_token"`
	// MasterKey is a base64 AES-256 key; MasterKeyFile a file holding one.
	// With neither, a key file is generated in the data directory.
	MasterKey     string    `yaml:"master_key"`
	MasterKeyFile string    `yaml:"master_key_file"`
	Log           Log       `yaml:"log"`
	TLS           TLS       `yaml:"tls"`
	LockCheck     LockCheck `yaml:"lock_check"`
	Webhooks      Webhooks  `yaml:"webhooks"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// IAMResponder runs the AWS IAM lockout responder's HTTP endpoints.
	IAMResponder awsiam.Settings `yaml:"iam_responder"`
	// WAF defines what web ACLs reference (docs/waf.md).
	WAF WAF `yaml:"waf"`
	// Gateway runs the WAF-protected reverse proxy (docs/gateway.md).
	Gateway Gateway `yaml:"gateway"`
	// dir is the configuration file's directory: relative paths in the
	// waf section are read from there.
	dir  string
	file string
}

// Dir is the directory relative paths in the file are read from.
func (c *Config) Dir() string { return c.dir }

// File is the configuration file read, or "".
func (c *Config) File() string { return c.file }

// Log selects the log format and level.
type Log struct {
	Format string `yaml:"format"` // text or json
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// TLS serves HTTPS when both files are set.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// LockCheck tunes token verification of the lock-check API.
type LockCheck struct {
	Leeway            Duration `yaml:"leeway"`
	MaxTokenLifetime  Duration `yaml:"max_token_lifetime"`
	KeyCacheTTL       Duration `yaml:"key_cache_ttl"`
	MaxIntegrationKiB int      `yaml:"max_integration_data_kib"`
}

// Webhooks tunes outbound event delivery.
type Webhooks struct {
	Timeout     Duration `yaml:"timeout"`
	MaxAttempts int      `yaml:"max_attempts"`
	MaxBackoff  Duration `yaml:"max_backoff"`
}

// Duration is a time.Duration written as "15m" in YAML.
type Duration time.Duration

// UnmarshalYAML accepts Go duration strings.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use e.g. 30s, 15m)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Default returns the embedded defaults: everything lockgate needs to run
// on one machine with no file at all.
func Default() Config {
	return Config{
		Gateway:         DefaultGateway(),
		Listen:          "127.0.0.1:8080",
		DataDir:         "./lockgate-data",
		PublicURLs:      []string{"http://127.0.0.1:8080"},
		Log:             Log{Format: "text", Level: "info"},
		ShutdownTimeout: Duration(30 * time.Second),
		LockCheck: LockCheck{
			Leeway:            Duration(60 * time.Second),
			MaxTokenLifetime:  Duration(10 * time.Minute),
			KeyCacheTTL:       Duration(5 * time.Second),
			MaxIntegrationKiB: 16,
		},
		Webhooks: Webhooks{
			Timeout:     Duration(10 * time.Second),
			MaxAttempts: 20,
			MaxBackoff:  Duration(time.Hour),
		},
	}
}

// Problem is one thing wrong with a configuration.
type Problem struct {
	Path string // e.g. "lock_check.leeway"
	Line int    // 0 when unknown
	Msg  string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", p.Path, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Msg)
}

// Error lists every problem found.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.File != "" {
			b.WriteString(e.File)
			b.WriteString(": ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads the file at path (none when path is ""), applies it over the
// defaults, then applies the environment (getenv, usually os.Getenv), and
// validates the result.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	var root *yaml.Node
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, err
		}
		root, err = decode(data, &cfg)
		if err != nil {
			return cfg, &Error{File: path, Problems: []Problem{yamlProblem(err)}}
		}
		cfg.dir, cfg.file = filepath.Dir(path), path
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	if probs := cfg.Validate(); len(probs) > 0 {
		for i := range probs {
			probs[i].Line = lineOf(root, probs[i].Path)
		}
		return cfg, &Error{File: path, Problems: probs}
	}
	return cfg, nil
}

// decode parses YAML strictly: an unknown field is an error, never ignored,
// so a misspelt setting cannot silently fall back to a default.
func decode(data []byte, cfg *Config) (*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &root, nil
}

func yamlProblem(err error) Problem {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	return Problem{Msg: msg}
}

func applyEnv(cfg *Config, getenv func(string) string) error {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("LOCKGATE_LISTEN", &cfg.Listen)
	set("LOCKGATE_DATA_DIR", &cfg.DataDir)
	set("LOCKGATE_DATABASE_URL", &cfg.DatabaseURL)
	set("LOCKGATE_ADMIN_TOKEN", &cfg.AdminToken)
	set("LOCKGATE_MASTER_KEY", &cfg.MasterKey)
	set("LOCKGATE_EVENTS_SECRET", &cfg.IAMResponder.EventsSecret)
	set("LOCKGATE_WEBHOOK_SECRET", &cfg.IAMResponder.WebhookSecret)
	set("LOCKGATE_SIGNING_KEY", &cfg.IAMResponder.SigningKey)
	if v := getenv("LOCKGATE_PUBLIC_URL"); v != "" {
		cfg.PublicURLs = nil
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.PublicURLs = append(cfg.PublicURLs, u)
			}
		}
	}
	return nil
}

// Validate returns every problem with the configuration.
func (c *Config) Validate() []Problem {
	var probs []Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "%q is not host:port", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add("listen", "%q has no valid port", c.Listen)
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		add("data_dir", "required when database_url is empty")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		switch {
		case err != nil:
			add("database_url", "not a URL")
		case u.Scheme != "postgres" && u.Scheme != "postgresql" && u.Scheme != "sqlite" && u.Scheme != "file":
			add("database_url", "scheme %q is not postgres://, sqlite: or file:", u.Scheme)
		}
	}
	if len(c.PublicURLs) == 0 {
		add("public_urls", "at least one URL is required (tokens must carry one as aud)")
	}
	for i, p := range c.PublicURLs {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(fmt.Sprintf("public_urls[%d]", i), "%q is not an http(s) URL", p)
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < 20 {
		add("admin_token", "too short: use at least 20 characters (lockgate generates 43)")
	}
	if c.MasterKey != "" && c.MasterKeyFile != "" {
		add("master_key", "set master_key or master_key_file, not both")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "%q is not text or json", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls", "cert_file and key_file go together")
	}
	for _, f := range []struct{ path, name string }{{"tls.cert_file", c.TLS.CertFile}, {"tls.key_file", c.TLS.KeyFile}, {"master_key_file", c.MasterKeyFile}} {
		if f.name == "" {
			continue
		}
		if _, err := os.Stat(f.name); err != nil && (f.path != "master_key_file" || !errors.Is(err, os.ErrNotExist)) {
			add(f.path, "%v", err)
		}
	}
	lc := c.LockCheck
	if lc.Leeway < 0 || lc.Leeway.Std() > 5*time.Minute {
		add("lock_check.leeway", "%s is outside 0s..5m", lc.Leeway.Std())
	}
	if lc.MaxTokenLifetime.Std() < time.Minute || lc.MaxTokenLifetime.Std() > time.Hour {
		add("lock_check.max_token_lifetime", "%s is outside 1m..1h", lc.MaxTokenLifetime.Std())
	}
	if lc.KeyCacheTTL < 0 || lc.KeyCacheTTL.Std() > time.Minute {
		add("lock_check.key_cache_ttl", "%s is outside 0s..1m (a revoked key stays usable on other replicas for this long)", lc.KeyCacheTTL.Std())
	}
	if lc.MaxIntegrationKiB < 1 || lc.MaxIntegrationKiB > 16 {
		add("lock_check.max_integration_data_kib", "%d is outside 1..16", lc.MaxIntegrationKiB)
	}
	if c.Webhooks.Timeout.Std() <= 0 {
		add("webhooks.timeout", "must be positive")
	}
	if c.Webhooks.MaxAttempts < 1 {
		add("webhooks.max_attempts", "must be at least 1")
	}
	if c.Webhooks.MaxBackoff.Std() < time.Second {
		add("webhooks.max_backoff", "must be at least 1s")
	}
	if c.ShutdownTimeout.Std() <= 0 {
		add("shutdown_timeout", "must be positive")
	}
	c.validateGateway(add)
	if _, wp := c.WAF.Options(c.dir); len(wp) > 0 {
		probs = append(probs, wp...)
	}
	if r := c.IAMResponder; r.Enabled {
		if err := r.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				add("iam_responder", "%s", line)
			}
		}
		if len(r.EventsSecret) < 20 {
			add("iam_responder.events_secret", "required, at least 20 characters (LOCKGATE_EVENTS_SECRET): it authenticates EventBridge's calls")
		}
	}
	return probs
}

// SQLitePath is where the embedded database lives when no URL is given.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "lockgate.db") }

// lineOf finds the line of a dotted path ("lock_check.leeway",
// "public_urls[1]") in the parsed file, or 0.
func lineOf(root *yaml.Node, path string) int {
	if root == nil || len(root.Content) == 0 {
		return 0
	}
	n := root.Content[0]
	for _, part := range strings.Split(path, ".") {
		idx := -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
			part = part[:i]
		}
		next := (*yaml.Node)(nil)
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					next = n.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			return 0
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return 0
			}
			n = n.Content[idx]
		}
	}
	return n.Line
}
