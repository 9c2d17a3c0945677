package server

import (
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/internal/awsiam"
	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/forwardauth"
	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/httpapi"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/portal"
	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/vpn"
	"github.com/lockgate/lockgate/internal/webacl"
	"github.com/lockgate/lockgate/internal/webhook"
	"github.com/lockgate/lockgate/problem"
)

// Config is the whole configuration file. The top-level keys are the
// server's own; each section below belongs to the component that runs it
// and is checked by that component's provisioning.
type Config struct {
	Listen      string      `yaml:"listen" env:"LOCKGATE_LISTEN"`
	DataDir     config.Path `yaml:"data_dir" env:"LOCKGATE_DATA_DIR"`
	DatabaseURL string      `yaml:"database_url" env:"LOCKGATE_DATABASE_URL"`
	// PublicURLs are the URLs integrations reach lockgate at; tokens must
	// name one as aud. When neither the file nor the environment gives
	// them, they follow Listen.
	PublicURLs []string `yaml:"public_urls" env:"LOCKGATE_PUBLIC_URL"`
	// AdminToken, when set, is accepted as an admin token (stored hashed).
	// Prefer the LOCKGATE_ADMIN_TOKEN environment variable to a file.
	AdminToken string `yaml:"admin_token" env:"LOCKGATE_ADMIN_TOKEN"`
	// MasterKey is a base64 AES-256 key; MasterKeyFile a file holding one.
	// With neither, a key file is generated in the data directory.
	MasterKey     string      `yaml:"master_key" env:"LOCKGATE_MASTER_KEY"`
	MasterKeyFile config.Path `yaml:"master_key_file" env:"LOCKGATE_MASTER_KEY_FILE"`
	Log           Log         `yaml:"log"`
	TLS           config.TLS  `yaml:"tls"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout config.Duration `yaml:"shutdown_timeout"`

	LockCheck    lock.CheckConfig   `yaml:"lock_check"`
	Auth         httpapi.AuthConfig `yaml:"auth"`
	Webhooks     webhook.Config     `yaml:"webhooks"`
	IAMResponder awsiam.Settings    `yaml:"iam_responder"`
	WAF          webacl.Config      `yaml:"waf"`
	Gateway      gateway.Config     `yaml:"gateway"`
	ForwardAuth  forwardauth.Config `yaml:"forward_auth"`
	Authz        authz.Config       `yaml:"authz"`
	Geo          geo.Config         `yaml:"geo"`
	VPN          vpn.Config         `yaml:"vpn"`
	Portal       portal.Config      `yaml:"portal"`

	// PublicURLsFollowListen is set by Load when the public URL was
	// derived from the listen address rather than given.
	PublicURLsFollowListen bool `yaml:"-"`
}

// Log selects the log format and level.
type Log struct {
	Format string `yaml:"format" env:"LOCKGATE_LOG_FORMAT"` // text or json
	Level  string `yaml:"level" env:"LOCKGATE_LOG_LEVEL"`   // debug, info, warn, error
}

// DefaultListen is where lockgate listens with no configuration.
const DefaultListen = "127.0.0.1:8080"

// Default returns the embedded defaults: everything lockgate needs to run
// on one machine with no file at all.
func Default() Config {
	return Config{
		Listen:          DefaultListen,
		DataDir:         "./lockgate-data",
		Log:             Log{Format: "text", Level: "info"},
		ShutdownTimeout: config.Duration(30 * time.Second),
		LockCheck:       lock.DefaultCheckConfig(),
		Auth:            httpapi.DefaultAuthConfig(),
		Webhooks:        webhook.DefaultConfig(),
		Gateway:         gateway.DefaultConfig(),
		ForwardAuth:     forwardauth.DefaultConfig(),
		Authz:           authz.DefaultConfig(),
		Portal:          portal.DefaultConfig(),
	}
}

// Load reads the file at path (none when path is "") over the defaults,
// then the environment (getenv, usually os.Getenv). Problems of decoding
// are returned with the file's lines; the sections' own checks run in
// Provision.
func Load(path string, getenv func(string) string) (Config, *config.Source, error) {
	cfg := Default()
	src, err := config.Load(path, getenv, &cfg)
	if len(cfg.PublicURLs) == 0 {
		cfg.PublicURLs = []string{publicURLFor(cfg.Listen, cfg.TLS.Enabled())}
		cfg.PublicURLsFollowListen = cfg.Listen != DefaultListen
	}
	return cfg, src, err
}

// publicURLFor is the URL a client on this machine reaches listen at.
func publicURLFor(listen string, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return scheme + "://" + listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// SQLitePath is where the embedded database lives when no URL is given.
func (c *Config) SQLitePath() string { return filepath.Join(string(c.DataDir), "lockgate.db") }

// validate checks the server's own keys.
func (c *Config) validate() problem.List {
	var probs problem.List
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		probs.Addf("listen", "%q is not host:port", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		probs.Addf("listen", "%q has no valid port", c.Listen)
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		probs.Add("data_dir", "required when database_url is empty")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		switch {
		case err != nil:
			probs.Add("database_url", "not a URL")
		case !slices.Contains([]string{"postgres", "postgresql", "sqlite", "file"}, u.Scheme):
			probs.Addf("database_url", "scheme %q is not postgres://, sqlite: or file:", u.Scheme)
		}
	}
	for i, p := range c.PublicURLs {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			probs.Addf("public_urls["+strconv.Itoa(i)+"]", "%q is not an http(s) URL", p)
		}
	}
	if c.AdminToken != "" {
		if err := lock.CheckBootstrapToken(c.AdminToken); err != nil {
			probs.Add("admin_token", "refused: it "+err.Error()+" (LOCKGATE_ADMIN_TOKEN)")
		}
	}
	if c.MasterKey != "" && c.MasterKeyFile != "" {
		probs.Add("master_key", "set master_key or master_key_file, not both")
	}
	if c.MasterKey != "" {
		if reason := config.Placeholder(c.MasterKey); reason != "" {
			probs.Add("master_key", "refused: it looks like a placeholder (it "+reason+"): set LOCKGATE_MASTER_KEY to base64 of 32 random bytes, e.g. openssl rand -base64 32")
		} else if _, err := secretbox.ParseKey(c.MasterKey); err != nil {
			probs.Addf("master_key", "%v (LOCKGATE_MASTER_KEY: base64 of 32 random bytes, e.g. openssl rand -base64 32)", err)
		}
	}
	probs = append(probs, c.checkListeners()...)
	probs = append(probs, c.checkStorage()...)
	probs = append(probs, c.checkMasterKey()...)
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		probs.Addf("log.format", "%q is not text or json", c.Log.Format)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		probs.Addf("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.ShutdownTimeout <= 0 {
		probs.Add("shutdown_timeout", "must be positive")
	}
	return probs
}
