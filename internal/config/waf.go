package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"

	"github.com/lockgate/lockgate/waf"
)

// WAF holds what web ACLs reference, shared by every web ACL lockgate
// runs: IP sets, regex pattern sets and rule groups by ARN, the lists
// behind the managed groups, and where rate-based counts live.
type WAF struct {
	// BodyLimitKiB is how much of a body rules inspect (1..64, default 16).
	BodyLimitKiB int `yaml:"body_limit_kib"`
	// MaxKeysPerRule bounds the keys a rate-based rule tracks in memory.
	MaxKeysPerRule int `yaml:"max_keys_per_rule"`
	// RedisURL shares rate-based counts with other lockgate processes
	// (redis://host:6379/0); in memory when empty.
	RedisURL string `yaml:"redis_url"`
	// RedisPrefix starts the counters' Redis keys: processes that share
	// counts use the same (default lockgate:rl:).
	RedisPrefix string         `yaml:"redis_prefix"`
	IPSets      []IPSetRef     `yaml:"ip_sets"`
	RegexSets   []RegexRef     `yaml:"regex_sets"`
	Groups      []RuleGroupRef `yaml:"rule_groups"`
	// IPReputationFile and AnonymousIPFile back lockgate's managed groups
	// (and AWS's IP reputation and anonymous IP lists, by name).
	IPReputationFile string `yaml:"ip_reputation_file"`
	AnonymousIPFile  string `yaml:"anonymous_ip_file"`
}

// IPSetRef defines an IP set: its addresses inline, or a file (get-ip-set
// JSON or one CIDR a line).
type IPSetRef struct {
	ARN       string   `yaml:"arn"`
	File      string   `yaml:"file"`
	Addresses []string `yaml:"addresses"`
}

// RegexRef defines a regex pattern set: its patterns inline, or a file.
type RegexRef struct {
	ARN      string   `yaml:"arn"`
	File     string   `yaml:"file"`
	Patterns []string `yaml:"patterns"`
}

// RuleGroupRef points a rule group's ARN at its file.
type RuleGroupRef struct {
	ARN  string `yaml:"arn"`
	File string `yaml:"file"`
}

// Files lists the files the section names (for reload on change).
func (w WAF) Files() []string {
	var out []string
	for _, s := range w.IPSets {
		if s.File != "" {
			out = append(out, s.File)
		}
	}
	for _, s := range w.RegexSets {
		if s.File != "" {
			out = append(out, s.File)
		}
	}
	for _, g := range w.Groups {
		out = append(out, g.File)
	}
	for _, f := range []string{w.IPReputationFile, w.AnonymousIPFile} {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Options builds the engine options the section describes, reading its
// files relative to dir (the configuration file's directory). Every
// problem is returned, each with its path in the file.
func (w WAF) Options(dir string) (waf.Options, []Problem) {
	var probs []Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	opts := waf.Options{IPSets: map[string][]netip.Prefix{}, RegexSets: map[string][]string{}, RuleGroups: map[string]*waf.RuleGroup{},
		MaxKeys: w.MaxKeysPerRule, BodyLimit: w.BodyLimitKiB << 10}
	if w.BodyLimitKiB < 0 || w.BodyLimitKiB > 64 {
		add("waf.body_limit_kib", "%d is outside 1..64", w.BodyLimitKiB)
	}
	if w.MaxKeysPerRule < 0 {
		add("waf.max_keys_per_rule", "must not be negative")
	}
	if w.RedisURL != "" {
		if u, err := url.Parse(w.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			add("waf.redis_url", "%q is not a redis:// or rediss:// URL", w.RedisURL)
		}
	}
	read := func(path, file string) ([]byte, bool) {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			add(path, "%v", err)
			return nil, false
		}
		return data, true
	}
	seen := map[string]string{}
	arn := func(path, a string) bool {
		if a == "" {
			add(path+".arn", "required")
			return false
		}
		if prev, dup := seen[a]; dup {
			add(path+".arn", "%q is also defined at %s", a, prev)
			return false
		}
		seen[a] = path
		return true
	}
	for i, s := range w.IPSets {
		p := fmt.Sprintf("waf.ip_sets[%d]", i)
		if !arn(p, s.ARN) {
			continue
		}
		switch {
		case (s.File == "") == (s.Addresses == nil):
			add(p, "give file or addresses, one of them")
		case s.File != "":
			if data, ok := read(p+".file", s.File); ok {
				set, err := waf.ParseIPSet(data)
				if err != nil {
					add(p+".file", "%s: %v", s.File, err)
				}
				opts.IPSets[s.ARN] = set
			}
		default:
			for j, a := range s.Addresses {
				pfx, err := netip.ParsePrefix(a)
				if err != nil {
					add(fmt.Sprintf("%s.addresses[%d]", p, j), "%q is not a CIDR", a)
					continue
				}
				opts.IPSets[s.ARN] = append(opts.IPSets[s.ARN], pfx.Masked())
			}
		}
	}
	for i, s := range w.RegexSets {
		p := fmt.Sprintf("waf.regex_sets[%d]", i)
		if !arn(p, s.ARN) {
			continue
		}
		var data []byte
		switch {
		case (s.File == "") == (s.Patterns == nil):
			add(p, "give file or patterns, one of them")
			continue
		case s.File != "":
			var ok bool
			if data, ok = read(p+".file", s.File); !ok {
				continue
			}
		default:
			for _, pat := range s.Patterns {
				data = append(append(data, pat...), '\n')
			}
		}
		pats, err := waf.ParseRegexPatternSet(data)
		if err != nil {
			add(p, "%v", err)
		}
		opts.RegexSets[s.ARN] = pats
	}
	for i, g := range w.Groups {
		p := fmt.Sprintf("waf.rule_groups[%d]", i)
		if !arn(p, g.ARN) {
			continue
		}
		if g.File == "" {
			add(p+".file", "required")
			continue
		}
		if data, ok := read(p+".file", g.File); ok {
			rg, err := waf.LoadRuleGroup(data, waf.LoadOptions{})
			if err != nil {
				add(p+".file", "%s: %v", g.File, err)
				continue
			}
			opts.RuleGroups[g.ARN] = rg
		}
	}
	for _, m := range []struct{ path, file, set string }{
		{"waf.ip_reputation_file", w.IPReputationFile, "ip-reputation"},
		{"waf.anonymous_ip_file", w.AnonymousIPFile, "anonymous-ip"},
	} {
		if m.file == "" {
			continue
		}
		if data, ok := read(m.path, m.file); ok {
			set, err := waf.ParseIPSet(data)
			if err != nil {
				add(m.path, "%s: %v", m.file, err)
			}
			opts.IPSets[m.set] = set
		}
	}
	return opts, probs
}
