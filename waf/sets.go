package waf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// ParseIPSet reads the addresses of an IP set: the answer of aws wafv2
// get-ip-set, an IPSet object, or a plain list of CIDRs (or bare
// addresses), one a line with # comments, as threat-intelligence feeds
// publish them. Errors name the line or the JSON index.
func ParseIPSet(data []byte) ([]netip.Prefix, error) {
	if json.Valid(data) && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var doc struct {
			IPSet *struct {
				Addresses        []string
				IPAddressVersion string
			}
			Addresses []string
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, err
		}
		addrs, path := doc.Addresses, "Addresses"
		if doc.IPSet != nil {
			addrs, path = doc.IPSet.Addresses, "IPSet.Addresses"
		}
		if addrs == nil {
			return nil, fmt.Errorf("an IP set document has Addresses (or IPSet.Addresses)")
		}
		out := make([]netip.Prefix, 0, len(addrs))
		for i, a := range addrs {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %q is not a CIDR", path, i, a)
			}
			out = append(out, p.Masked())
		}
		return out, nil
	}
	out := []netip.Prefix{} // an empty list is a list, not a missing one
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		// Feeds often add columns after the address (";", spaces, tabs).
		if i := strings.IndexAny(text, " \t;,"); i >= 0 {
			text = text[:i]
		}
		p, err := netip.ParsePrefix(text)
		if err != nil {
			a, aerr := netip.ParseAddr(text)
			if aerr != nil {
				return nil, fmt.Errorf("line %d: %q is not an IP address or CIDR", line, text)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseRegexPatternSet reads the patterns of a regex pattern set: the
// answer of aws wafv2 get-regex-pattern-set, a RegexPatternSet object, or
// a plain list of patterns, one a line (blank lines and lines starting
// with # are skipped). Each must compile as RE2.
func ParseRegexPatternSet(data []byte) ([]string, error) {
	var out []string
	if json.Valid(data) && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		type regexList struct {
			RegularExpressionList []struct{ RegexString string }
		}
		var doc struct {
			RegexPatternSet *regexList
			regexList
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, err
		}
		list, path := doc.RegularExpressionList, "RegularExpressionList"
		if doc.RegexPatternSet != nil {
			list, path = doc.RegexPatternSet.RegularExpressionList, "RegexPatternSet.RegularExpressionList"
		}
		if list == nil {
			return nil, fmt.Errorf("a regex pattern set document has RegularExpressionList (or RegexPatternSet.RegularExpressionList)")
		}
		for i, r := range list {
			if _, err := regexp.Compile(r.RegexString); err != nil {
				return nil, fmt.Errorf("%s[%d].RegexString: not a regular expression lockgate can run (RE2): %v", path, i, err)
			}
			out = append(out, r.RegexString)
		}
		return out, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if _, err := regexp.Compile(text); err != nil {
			return nil, fmt.Errorf("line %d: not a regular expression lockgate can run (RE2): %v", line, err)
		}
		out = append(out, text)
	}
	return out, sc.Err()
}
