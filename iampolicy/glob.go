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

// A pattern is a wildcard pattern compiled for speed. Most patterns in
// real policies are "*", a literal, a prefix ("s3:Get*") or stars
// between literals ("*/*/GET/petstore/v2/status"): those match with
// comparisons and strings.Index, without the general matcher's
// backtracking. Patterns with ? use the general matcher.
type pattern struct {
	kind   patternKind
	lit    string   // patExact, patPrefix: the literal (lower case when folded)
	chunks []string // patStars: the literals around the stars; first is a prefix, last a suffix
	src    string   // patGeneral: the pattern for match
	fold   bool
}

type patternKind uint8

const (
	patAny patternKind = iota
	patExact
	patPrefix
	patStars
	patGeneral
)

// compilePattern compiles a pattern as glob reads it (litStar and
// litQuestion stand for literal * and ?). fold: case-insensitive, for
// actions; the pattern is lowered.
func compilePattern(src string, fold bool) pattern {
	if fold {
		src = strings.ToLower(src)
	}
	p := pattern{src: src, fold: fold}
	switch {
	case strings.IndexByte(src, '?') >= 0:
		p.kind = patGeneral
		return p
	case strings.Trim(src, "*") == "" && src != "":
		p.kind = patAny
		return p
	}
	stars := strings.Count(src, "*")
	unlit := func(s string) string {
		return strings.NewReplacer(string(rune(litStar)), "*", string(rune(litQuestion)), "?").Replace(s)
	}
	switch {
	case stars == 0:
		p.kind, p.lit = patExact, unlit(src)
	case stars == 1 && strings.HasSuffix(src, "*"):
		p.kind, p.lit = patPrefix, unlit(src[:len(src)-1])
	case fold:
		p.kind = patGeneral // strings.Index does not fold
	default:
		p.kind = patStars
		for c := range strings.SplitSeq(src, "*") {
			p.chunks = append(p.chunks, unlit(c))
		}
	}
	return p
}

// match reports whether s matches the compiled pattern.
func (p *pattern) match(s string) bool {
	switch p.kind {
	case patAny:
		return true
	case patExact:
		if p.fold {
			return len(s) == len(p.lit) && asciiEqualFold(s, p.lit)
		}
		return s == p.lit
	case patPrefix:
		if len(s) < len(p.lit) {
			return false
		}
		if p.fold {
			return asciiEqualFold(s[:len(p.lit)], p.lit)
		}
		return s[:len(p.lit)] == p.lit
	case patStars:
		return matchChunks(p.chunks, s)
	}
	return match(p.src, s, p.fold)
}

// matchChunks matches literals separated by stars: the first is a
// prefix, the last a suffix, and each one between is found leftmost,
// which is enough when the only wildcard is *.
func matchChunks(chunks []string, s string) bool {
	first, last := chunks[0], chunks[len(chunks)-1]
	if len(s) < len(first)+len(last) || s[:len(first)] != first {
		return false
	}
	s = s[len(first):]
	for _, c := range chunks[1 : len(chunks)-1] {
		i := strings.Index(s, c)
		if i < 0 {
			return false
		}
		s = s[i+len(c):]
	}
	return len(s) >= len(last) && s[len(s)-len(last):] == last
}

// asciiEqualFold compares two strings of equal length, folding ASCII
// letters only (actions are ASCII); b is lower case.
func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// arnParts splits an ARN into partition, service, region, account and
// resource (everything after the fifth colon, which may hold colons and
// slashes). ok is false when s is not an ARN.
func arnParts(s string) (parts [5]string, ok bool) {
	if len(s) < 4 || s[:4] != "arn:" {
		return parts, false
	}
	// One pass over the bytes: ARN parts are short, and four calls of
	// strings.IndexByte cost more than the scan.
	n, start := 0, 4
	for i := 4; i < len(s); i++ {
		if s[i] == ':' {
			parts[n] = s[start:i]
			n, start = n+1, i+1
			if n == 4 {
				parts[4] = s[start:]
				return parts, true
			}
		}
	}
	return parts, false
}

// arnMatch matches an ARN against a pattern part by part: a wildcard
// never crosses from one part into the next, but * in the resource part
// crosses / and :.
func arnMatch(pattern *[5]string, s string) bool {
	parts, ok := arnParts(s)
	if !ok {
		return false
	}
	return arnPartsMatch(pattern, &parts)
}

func arnPartsMatch(pattern, parts *[5]string) bool {
	for i := range 5 {
		if !glob(pattern[i], parts[i]) {
			return false
		}
	}
	return true
}

// arnPattern is an ARN pattern compiled part by part.
type arnPattern [5]pattern

func compileARN(parts [5]string) arnPattern {
	var a arnPattern
	for i, p := range parts {
		a[i] = compilePattern(p, false)
	}
	return a
}

// match compares an ARN already split by arnParts.
func (a *arnPattern) match(parts *[5]string) bool {
	// The resource part first: it is where ARNs of one service differ.
	if !a[4].match(parts[4]) {
		return false
	}
	for i := range 4 {
		if !a[i].match(parts[i]) {
			return false
		}
	}
	return true
}
