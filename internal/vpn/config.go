package vpn

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/problem"
)

// Config is the vpn section of the configuration file, and (with the geo
// and waf sections) the Lambda function's environment.
//
// The top-level policy applies to every Client VPN endpoint that
// Endpoints does not list.
type Config struct {
	// Enabled serves POST /vpn/connect on lockgate serve.
	Enabled bool `yaml:"enabled" env:"LOCKGATE_VPN"`
	// Secret authenticates POST /vpn/connect: callers send it in
	// SecretHeader (default X-Lockgate-VPN-Secret).
	Secret       string `yaml:"secret" env:"LOCKGATE_VPN_SECRET"`
	SecretHeader string `yaml:"secret_header" env:"LOCKGATE_VPN_SECRET_HEADER"`
	// Deadline bounds one decision: past it the connection is denied, well
	// before Client VPN's 30 seconds (default 10s, at most 25s).
	Deadline config.Duration `yaml:"deadline" env:"LOCKGATE_VPN_DEADLINE"`

	// AllowedCountries are ISO 3166-1 alpha-2 codes (US,CA); AllowedRegions
	// ISO 3166-2 codes (US-CA). A device whose public IP is in neither is
	// denied ("quarantined").
	AllowedCountries []string `yaml:"allowed_countries" env:"LOCKGATE_VPN_ALLOWED_COUNTRIES"`
	AllowedRegions   []string `yaml:"allowed_regions" env:"LOCKGATE_VPN_ALLOWED_REGIONS"`
	// WebACLFile is a web ACL (AWS WAF JSON) every connection goes
	// through; a BLOCK (or CAPTCHA/CHALLENGE, which a VPN client cannot
	// answer) denies. See docs/geo.md for how a connection looks to it.
	WebACLFile config.Path `yaml:"web_acl_file" env:"LOCKGATE_VPN_WEB_ACL_FILE"`
	// CheckLock asks the lock service whether the VPN username's account
	// is locked (settings in LockCheck).
	CheckLock bool `yaml:"check_lock" env:"LOCKGATE_VPN_CHECK_LOCK"`
	// DeniedMessage is shown to denied users (at most 255 characters).
	DeniedMessage string `yaml:"denied_message" env:"LOCKGATE_VPN_DENIED_MESSAGE"`

	// Endpoints give Client VPN endpoints policies of their own.
	Endpoints []Endpoint `yaml:"endpoints"`

	LockCheck LockCheck `yaml:"lock_check"`
}

// Endpoint is the policy of one Client VPN endpoint.
type Endpoint struct {
	ID               string      `yaml:"id"`
	AllowedCountries []string    `yaml:"allowed_countries"`
	AllowedRegions   []string    `yaml:"allowed_regions"`
	WebACLFile       config.Path `yaml:"web_acl_file"`
	CheckLock        bool        `yaml:"check_lock"`
	DeniedMessage    string      `yaml:"denied_message"`
}

// LockCheck reaches the lock service the way an integration does: a token
// signed with the application's key (lockclient).
type LockCheck struct {
	// AppURI is the application's issuer URI (the token's iss).
	AppURI string `yaml:"app_uri" env:"LOCKGATE_VPN_APP_URI"`
	// APIURI is the lock service's URI (the token's aud), APIPath its
	// lock-check path.
	APIURI  string `yaml:"api_uri" env:"LOCKGATE_VPN_API_URI"`
	APIPath string `yaml:"api_path" env:"LOCKGATE_VPN_API_PATH"`
	// The application's signing key: a file, or a Secrets Manager secret
	// (its string, or its "signing_key" field when it is JSON), or (with
	// a warning) the environment.
	SigningKeyFile      config.Path `yaml:"signing_key_file" env:"LOCKGATE_VPN_SIGNING_KEY_FILE"`
	SigningKeySecretARN string      `yaml:"signing_key_secret_arn" env:"LOCKGATE_VPN_SIGNING_KEY_SECRET_ARN"`
	SigningKey          string      `yaml:"-" env:"LOCKGATE_VPN_SIGNING_KEY"`
}

// The defaults.
const (
	DefaultDeadline      = 10 * time.Second
	MaxDeadline          = 25 * time.Second
	DefaultSecretHeader  = "X-Lockgate-VPN-Secret"
	DefaultDeniedMessage = "Error establishing connection. Please contact your administrator."
)

// policy is an endpoint's resolved policy.
type policy struct {
	countries, regions []string
	webACL             string
	checkLock          bool
	message            string
}

func (p policy) empty() bool {
	return len(p.countries) == 0 && len(p.regions) == 0 && p.webACL == "" && !p.checkLock
}

var (
	endpointIDRe = regexp.MustCompile(`^cvpn-endpoint-[0-9a-f]{17}$`)
)

// validate checks the section; handler says whether POST /vpn/connect is
// served (it then needs a secret).
func (c *Config) validate(handler bool) (def policy, eps map[string]policy, probs problem.List) {
	if handler && len(c.Secret) < 20 {
		probs.Add("secret", "required, at least 20 characters (LOCKGATE_VPN_SECRET): it authenticates the callers of POST /vpn/connect")
	}
	if h := c.SecretHeader; h != "" && !config.IsHeaderName(h) {
		probs.Addf("secret_header", "%q is not an HTTP header name (LOCKGATE_VPN_SECRET_HEADER): no caller could send it", h)
	}
	if d := c.Deadline.Std(); d < 0 || d > MaxDeadline {
		probs.Addf("deadline", "%v is outside 0..%v: Client VPN gives up after 30 s", d, MaxDeadline)
	}
	def = c.policy("", Endpoint{AllowedCountries: c.AllowedCountries, AllowedRegions: c.AllowedRegions,
		WebACLFile: c.WebACLFile, CheckLock: c.CheckLock, DeniedMessage: c.DeniedMessage}, &probs)
	eps = map[string]policy{}
	for i, e := range c.Endpoints {
		path := fmt.Sprintf("endpoints[%d]", i)
		switch _, dup := eps[e.ID]; {
		case !endpointIDRe.MatchString(e.ID):
			probs.Addf(path+".id", "%q is not a Client VPN endpoint ID (cvpn-endpoint-0123456789abcdef0)", e.ID)
		case dup:
			probs.Addf(path+".id", "%q is listed twice", e.ID)
		}
		if e.DeniedMessage == "" {
			e.DeniedMessage = def.message
		}
		p := c.policy(path+".", e, &probs)
		// An endpoint's policy narrows the section's, never drops a
		// check: the section's lock check and web ACL apply to it too
		// (a web ACL of its own replaces the section's), and without
		// countries or regions of its own the section's apply.
		p.checkLock = p.checkLock || def.checkLock
		if p.webACL == "" {
			p.webACL = def.webACL
		}
		if len(p.countries) == 0 && len(p.regions) == 0 {
			p.countries, p.regions = def.countries, def.regions
		}
		if p.empty() {
			probs.Add(path, "give allowed_countries, allowed_regions, web_acl_file or check_lock: an endpoint with none would let everyone in")
		}
		eps[e.ID] = p
	}
	if len(c.AllowedCountries) == 0 && len(c.AllowedRegions) == 0 && c.WebACLFile == "" && !c.CheckLock && len(c.Endpoints) == 0 {
		probs.Add("allowed_countries", "give allowed_countries, allowed_regions, web_acl_file, check_lock or endpoints: a handler with none would let everyone in")
	}
	if def.checkLock || anyLock(eps) {
		l := c.LockCheck
		if l.AppURI == "" {
			probs.Add("lock_check.app_uri", "required by check_lock: the application's issuer URI")
		}
		if l.APIURI == "" {
			probs.Add("lock_check.api_uri", "required by check_lock: the lock service's URI")
		}
		if l.SigningKeyFile == "" && l.SigningKeySecretARN == "" && l.SigningKey == "" {
			probs.Add("lock_check.signing_key_file", "required by check_lock (or signing_key_secret_arn, LOCKGATE_VPN_SIGNING_KEY_SECRET_ARN)")
		}
	}
	return def, eps, probs
}

func anyLock(eps map[string]policy) bool {
	for _, p := range eps {
		if p.checkLock {
			return true
		}
	}
	return false
}

// policy checks and normalises one policy's fields (path ends in "." or
// is empty).
func (c *Config) policy(path string, e Endpoint, probs *problem.List) policy {
	p := policy{webACL: string(e.WebACLFile), checkLock: e.CheckLock, message: e.DeniedMessage}
	if p.message == "" {
		p.message = DefaultDeniedMessage
	}
	if n := len([]rune(p.message)); n > MaxMessage {
		probs.Addf(path+"denied_message", "%d characters: Client VPN takes at most %d", n, MaxMessage)
	}
	p.countries = codes(path+"allowed_countries", e.AllowedCountries, geo.CountryProblem, probs)
	p.regions = codes(path+"allowed_regions", e.AllowedRegions, geo.RegionProblem, probs)
	return p
}

// codes upper-cases and checks a list of ISO codes, naming every bad one.
func codes(path string, list []string, check func(string) string, probs *problem.List) []string {
	var out []string
	for i, c := range list {
		norm := strings.ToUpper(strings.TrimSpace(c))
		if msg := check(norm); msg != "" {
			probs.Addf(fmt.Sprintf("%s[%d]", path, i), "%q %s", c, msg)
			continue
		}
		out = append(out, norm)
	}
	return out
}
