// Package webacl provisions web ACLs for the components that run them
// (the gateway, and the WAF commands): the configuration's waf section —
// IP sets, regex pattern sets and rule groups by ARN, the lists behind the
// managed groups, where rate-based counts live — resolved into the
// options the waf engine compiles web ACLs with.
package webacl

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
	"github.com/lockgate/lockgate/waf"
	"github.com/lockgate/lockgate/waf/ratelimit"
)

// Config is the waf section of the configuration file.
type Config struct {
	// BodyLimitKiB is how much of a body rules inspect (1..64, default 16).
	BodyLimitKiB int `yaml:"body_limit_kib"`
	// MaxKeysPerRule bounds the keys a rate-based rule tracks in memory.
	MaxKeysPerRule int `yaml:"max_keys_per_rule"`
	// RedisURL shares rate-based counts with other lockgate processes
	// (redis://host:6379/0); in memory when empty.
	RedisURL string `yaml:"redis_url" env:"LOCKGATE_REDIS_URL"`
	// RedisPrefix starts the counters' Redis keys: processes that share
	// counts use the same (default lockgate:rl:).
	RedisPrefix string `yaml:"redis_prefix"`
	// RedisTimeout is the per-request budget for Redis: the longest a
	// request waits for it (dial, write, read), after which it is counted
	// locally and no request waits until Redis answers a sync again
	// (default 100ms).
	RedisTimeout config.Duration `yaml:"redis_timeout"`
	IPSets       []IPSetRef      `yaml:"ip_sets"`
	RegexSets    []RegexRef      `yaml:"regex_sets"`
	Groups       []RuleGroupRef  `yaml:"rule_groups"`
	// IPReputationFile and AnonymousIPFile back lockgate's managed groups
	// (and AWS's IP reputation and anonymous IP lists, by name).
	IPReputationFile config.Path `yaml:"ip_reputation_file"`
	AnonymousIPFile  config.Path `yaml:"anonymous_ip_file"`
}

// IPSetRef defines an IP set: its addresses inline, or a file (get-ip-set
// JSON or one CIDR a line).
type IPSetRef struct {
	ARN       string      `yaml:"arn"`
	File      config.Path `yaml:"file"`
	Addresses []string    `yaml:"addresses"`
}

// RegexRef defines a regex pattern set: its patterns inline, or a file.
type RegexRef struct {
	ARN      string      `yaml:"arn"`
	File     config.Path `yaml:"file"`
	Patterns []string    `yaml:"patterns"`
}

// RuleGroupRef points a rule group's ARN at its file.
type RuleGroupRef struct {
	ARN  string      `yaml:"arn"`
	File config.Path `yaml:"file"`
}

// Set is a provisioned waf section: the engine options every web ACL is
// compiled with, and the files they came from (watched for reloads).
type Set struct {
	Options waf.Options
	Files   []string
	cfg     Config
}

// Config returns the section the set was provisioned from.
func (s *Set) Config() Config { return s.cfg }

// Locator places client addresses: a country (ISO 3166-1 alpha-2) and a
// region (the ISO 3166-2 code without its country prefix), "" for what is
// unknown. lockgate's geo database (geo.DB) is one.
type Locator interface {
	Locate(ip netip.Addr) (country, region string)
}

// Provision reads every file the section names and checks every entry.
// Problems carry paths relative to the section (ip_sets[0].file); all of
// them are returned together. loc places client addresses for GeoMatch
// statements and their labels (nil: web ACLs with GeoMatch are refused).
func Provision(c Config, loc Locator) (*Set, problem.List) {
	var probs problem.List
	s := &Set{cfg: c, Options: waf.Options{
		IPSets: map[string][]netip.Prefix{}, RegexSets: map[string][]string{}, RuleGroups: map[string]*waf.RuleGroup{},
		MaxKeys: c.MaxKeysPerRule, BodyLimit: c.BodyLimitKiB << 10,
	}}
	if loc != nil {
		s.Options.Geo = loc
	}
	if c.BodyLimitKiB < 0 || c.BodyLimitKiB > 64 {
		probs.Addf("body_limit_kib", "%d is outside 1..64", c.BodyLimitKiB)
	}
	if c.MaxKeysPerRule < 0 {
		probs.Addf("max_keys_per_rule", "must not be negative")
	}
	if c.RedisTimeout < 0 || c.RedisTimeout.Std() > 10*time.Second {
		probs.Addf("redis_timeout", "%v is outside 0..10s (0: 100ms)", c.RedisTimeout.Std())
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			probs.Addf("redis_url", "%q is not a redis:// or rediss:// URL", c.RedisURL)
		}
	}
	read := func(path string, file config.Path) ([]byte, bool) {
		data, err := os.ReadFile(string(file))
		if err != nil {
			probs.Addf(path, "%v", err)
			return nil, false
		}
		s.Files = append(s.Files, string(file))
		return data, true
	}
	seen := map[string]string{}
	arn := func(path, a string) bool {
		if a == "" {
			probs.Addf(path+".arn", "required")
			return false
		}
		if prev, dup := seen[a]; dup {
			probs.Addf(path+".arn", "%q is also defined at %s", a, prev)
			return false
		}
		seen[a] = path
		return true
	}
	for i, r := range c.IPSets {
		p := fmt.Sprintf("ip_sets[%d]", i)
		if !arn(p, r.ARN) {
			continue
		}
		switch {
		case (r.File == "") == (r.Addresses == nil):
			probs.Addf(p, "give file or addresses, one of them")
		case r.File != "":
			if data, ok := read(p+".file", r.File); ok {
				set, err := waf.ParseIPSet(data)
				if err != nil {
					probs = append(probs, problem.Within(p+".file", inFile(string(r.File), err))...)
				}
				s.Options.IPSets[r.ARN] = set
			}
		default:
			for j, a := range r.Addresses {
				pfx, err := netip.ParsePrefix(a)
				if err != nil {
					probs.Addf(fmt.Sprintf("%s.addresses[%d]", p, j), "%q is not a CIDR", a)
					continue
				}
				s.Options.IPSets[r.ARN] = append(s.Options.IPSets[r.ARN], pfx.Masked())
			}
		}
	}
	for i, r := range c.RegexSets {
		p := fmt.Sprintf("regex_sets[%d]", i)
		if !arn(p, r.ARN) {
			continue
		}
		var data []byte
		switch {
		case (r.File == "") == (r.Patterns == nil):
			probs.Addf(p, "give file or patterns, one of them")
			continue
		case r.File != "":
			var ok bool
			if data, ok = read(p+".file", r.File); !ok {
				continue
			}
		default:
			for _, pat := range r.Patterns {
				data = append(append(data, pat...), '\n')
			}
		}
		pats, err := waf.ParseRegexPatternSet(data)
		switch {
		case err != nil && r.File != "":
			probs = append(probs, problem.Within(p+".file", inFile(string(r.File), err))...)
		case err != nil:
			probs = append(probs, problem.Within(p+".patterns", err)...)
		}
		s.Options.RegexSets[r.ARN] = pats
	}
	for i, g := range c.Groups {
		p := fmt.Sprintf("rule_groups[%d]", i)
		if !arn(p, g.ARN) {
			continue
		}
		if g.File == "" {
			probs.Addf(p+".file", "required")
			continue
		}
		if data, ok := read(p+".file", g.File); ok {
			rg, err := waf.LoadRuleGroup(data, waf.LoadOptions{})
			if err != nil {
				probs = append(probs, problem.Within(p+".file", inFile(string(g.File), err))...)
				continue
			}
			s.Options.RuleGroups[g.ARN] = rg
		}
	}
	for _, m := range []struct {
		path string
		file config.Path
		set  *[]netip.Prefix
	}{
		{"ip_reputation_file", c.IPReputationFile, &s.Options.IPReputation},
		{"anonymous_ip_file", c.AnonymousIPFile, &s.Options.AnonymousIP},
	} {
		if m.file == "" {
			continue
		}
		if data, ok := read(m.path, m.file); ok {
			set, err := waf.ParseIPSet(data)
			if err != nil {
				probs = append(probs, problem.Within(m.path, inFile(string(m.file), err))...)
			}
			*m.set = set
		}
	}
	return s, probs
}

// LoadFile reads and validates a web ACL file (any form waf.Load reads).
func LoadFile(path string, lo waf.LoadOptions) (*waf.WebACL, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	acl, _, err := waf.Load(data, lo)
	if err != nil {
		return nil, inFile(path, err)
	}
	return acl, nil
}

// inFile is the problems err holds, found in the file at path.
func inFile(path string, err error) problem.List {
	var pl problem.List
	pl.Append("", err)
	return pl.InFile(path)
}

// CounterFunc makes the counter of one rate-based rule of a web ACL (nil:
// the engine's in-memory counters).
type CounterFunc = func(waf.RateRule) ratelimit.Counter

// Compile loads the web ACL file and builds its engine with the set's
// options, so that a web ACL naming an IP set, regex set or rule group the
// section lacks is refused here, not at the first request. counters, when
// not nil, gives the counter maker for the loaded web ACL.
func (s *Set) Compile(path string, counters func(*waf.WebACL) CounterFunc) (*waf.WebACL, *waf.Engine, error) {
	acl, err := LoadFile(path, waf.LoadOptions{})
	if err != nil {
		return nil, nil, err
	}
	o := s.Options
	if counters != nil {
		o.Counter = counters(acl)
	}
	eng, err := waf.New(acl, o)
	if err != nil {
		return nil, nil, inFile(path, err)
	}
	return acl, eng, nil
}
