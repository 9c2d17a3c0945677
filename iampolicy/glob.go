package iampolicy

import "strings"

// glob reports whether s matches pattern, where * matches any run of
// characters (including none) and ? exactly one. It does not allocate:
// on a mismatch it backtracks only to the last star, which is enough for
// patterns of this form.
func glob(pattern, s string) bool { return match(pattern, s, false) }

// globFold is glob with ASCII case folding; pattern must be lower case.
func globFold(pattern, s string) bool { return match(pattern, s, true) }

func match(pattern, s string, fold bool) bool {
	var p, i, starP, starI = 0, 0, -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starI = p, i
				p++
				continue
			case '?':
				p++
				i += runeLen(s, i)
				continue
			default:
				sc := s[i]
				if fold {
					sc = lower(sc)
				}
				if c == sc || c == litStar && sc == '*' || c == litQuestion && sc == '?' {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starI += runeLen(s, starI)
		p, i = starP+1, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// litStar and litQuestion stand in a compiled pattern for a literal * or
// ? (written ${*} and ${?} in a policy, or coming from a variable's
// value), which must not act as wildcards.
const (
	litStar     = 0x00
	litQuestion = 0x01
)

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// runeLen is the byte length of the UTF-8 character at s[i], so ? matches
// one character, not one byte.
func runeLen(s string, i int) int {
	c := s[i]
	switch {
	case c < 0x80:
		return 1
	case c>>5 == 0x6 && i+1 < len(s):
		return 2
	case c>>4 == 0xe && i+2 < len(s):
		return 3
	case c>>3 == 0x1e && i+3 < len(s):
		return 4
	}
	return 1
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

// arnParts splits an ARN into partition, service, region, account and
// resource (everything after the fifth colon, which may hold colons and
// slashes). ok is false when s is not an ARN.
func arnParts(s string) (parts [5]string, ok bool) {
	if !strings.HasPrefix(s, "arn:") {
		return parts, false
	}
	rest := s[4:]
	for i := range 4 {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return parts, false
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	parts[4] = rest
	return parts, true
}

// arnMatch matches an ARN against a pattern part by part: a wildcard
// never crosses from one part into the next, but * in the resource part
// crosses / and :.
func arnMatch(pattern *[5]string, s string) bool {
	parts, ok := arnParts(s)
	if !ok {
		return false
	}
	for i := range 5 {
		if !glob(pattern[i], parts[i]) {
			return false
		}
	}
	return true
}
