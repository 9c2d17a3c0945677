package portal

import (
	"net"
	"net/mail"
	"net/url"
	"slices"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
)

// Config is the portal section: the owner portal (/portal/) and the admin
// console (/console/) served on lockgate's main listener.
type Config struct {
	Enabled bool `yaml:"enabled" env:"LOCKGATE_PORTAL_ENABLED"`
	// Origin is the URL people open the portal at (scheme, host, port):
	// passkeys are bound to its host, and form posts must come from it.
	// The first public URL when empty.
	Origin string `yaml:"origin" env:"LOCKGATE_PORTAL_ORIGIN"`
	// SessionLifetime bounds a session from sign-in; IdleTimeout ends one
	// unused for that long.
	SessionLifetime config.Duration `yaml:"session_lifetime"`
	IdleTimeout     config.Duration `yaml:"idle_timeout"`
	// EnrolLinkLifetime is how long an enrolment link can be used.
	EnrolLinkLifetime config.Duration `yaml:"enrol_link_lifetime"`
	SignIn            SignInConfig    `yaml:"sign_in"`
	UnlockRequests    RequestConfig   `yaml:"unlock_requests"`
	SMTP              SMTPConfig      `yaml:"smtp"`
	// AlertInterval is how often alert mails are sent (one mail per
	// person per interval at most).
	AlertInterval config.Duration `yaml:"alert_interval"`
}

// SignInConfig limits failed sign-ins: each source address and each sign-in
// name has a budget of FailureBurst failures refilled by one every
// FailureRefill.
type SignInConfig struct {
	FailureBurst  int             `yaml:"failure_burst"`
	FailureRefill config.Duration `yaml:"failure_refill"`
}

// RequestConfig bounds unlock requests.
type RequestConfig struct {
	// Timeout is how long a request waits for its owner.
	Timeout config.Duration `yaml:"timeout"`
	// UnlockFor is how long an approved request unlocks the account.
	UnlockFor config.Duration `yaml:"unlock_for"`
}

// SMTPConfig is where alert mails go out. No Addr: no mails.
type SMTPConfig struct {
	Addr     string `yaml:"addr" env:"LOCKGATE_SMTP_ADDR"`
	From     string `yaml:"from" env:"LOCKGATE_SMTP_FROM"`
	Username string `yaml:"username" env:"LOCKGATE_SMTP_USERNAME"`
	Password string `yaml:"password" env:"LOCKGATE_SMTP_PASSWORD"`
	// Security is starttls (the default: refuse a server without it),
	// tls (implicit TLS, port 465) or none (plain text: only for a relay
	// on loopback).
	Security string `yaml:"security" env:"LOCKGATE_SMTP_SECURITY"`
}

// DefaultConfig is the section before the file.
func DefaultConfig() Config {
	return Config{
		Enabled:           true,
		SessionLifetime:   config.Duration(12 * time.Hour),
		IdleTimeout:       config.Duration(time.Hour),
		EnrolLinkLifetime: config.Duration(72 * time.Hour),
		SignIn:            SignInConfig{FailureBurst: 5, FailureRefill: config.Duration(time.Minute)},
		UnlockRequests:    RequestConfig{Timeout: config.Duration(10 * time.Minute), UnlockFor: config.Duration(5 * time.Minute)},
		SMTP:              SMTPConfig{Security: "starttls"},
		AlertInterval:     config.Duration(30 * time.Second),
	}
}

// Validate returns every problem with the section, at paths relative to it.
func (c Config) Validate() problem.List {
	var probs problem.List
	if c.Origin != "" {
		if u, err := url.Parse(c.Origin); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" && u.Path != "/" {
			probs.Addf("origin", "%q is not an origin such as https://lockgate.example.com", c.Origin)
		}
	}
	between := func(path string, d config.Duration, lo, hi time.Duration) {
		if d.Std() < lo || d.Std() > hi {
			probs.Addf(path, "%s is outside %s..%s", d.Std(), lo, hi)
		}
	}
	between("session_lifetime", c.SessionLifetime, 5*time.Minute, 30*24*time.Hour)
	between("idle_timeout", c.IdleTimeout, time.Minute, 30*24*time.Hour)
	between("enrol_link_lifetime", c.EnrolLinkLifetime, 5*time.Minute, 30*24*time.Hour)
	between("unlock_requests.timeout", c.UnlockRequests.Timeout, 30*time.Second, 24*time.Hour)
	between("unlock_requests.unlock_for", c.UnlockRequests.UnlockFor, time.Minute, 24*time.Hour)
	between("sign_in.failure_refill", c.SignIn.FailureRefill, time.Second, time.Hour)
	between("alert_interval", c.AlertInterval, 100*time.Millisecond, 24*time.Hour)
	if c.SignIn.FailureBurst < 1 || c.SignIn.FailureBurst > 1000 {
		probs.Addf("sign_in.failure_burst", "%d is outside 1..1000", c.SignIn.FailureBurst)
	}
	if s := c.SMTP; s.Addr != "" {
		host, _, err := net.SplitHostPort(s.Addr)
		if err != nil {
			probs.Addf("smtp.addr", "%q is not host:port", s.Addr)
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			probs.Addf("smtp.from", "%q is not an e-mail address (required with smtp.addr)", s.From)
		}
		switch {
		case !slices.Contains([]string{"starttls", "tls", "none"}, s.Security):
			probs.Addf("smtp.security", "%q is not starttls, tls or none", s.Security)
		case s.Security == "none" && err == nil && !loopback(host):
			probs.Addf("smtp.security", "none sends mail and any password in plain text: only for a relay on loopback, not %s", host)
		}
	}
	return probs
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
