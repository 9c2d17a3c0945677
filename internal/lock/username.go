package lock

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// UsernameMatch says which usernames an application treats as one account.
type UsernameMatch string

// The username matches.
const (
	// MatchExact compares usernames byte for byte.
	MatchExact UsernameMatch = "exact"
	// MatchCaseless compares usernames as people read them: Unicode NFKC
	// (full-width and compatibility forms fold to their plain letters,
	// NFD to NFC), then case folding, with zero-width characters removed
	// and surrounding white space trimmed. "Alice", "ALICE", " alice",
	// "alice\u200b", "ａlice" and "alice" are one account; so are the
	// composed and decomposed forms of "josé". It is the default: a
	// sign-in form that ignores case or spacing must not get a different
	// lock answer than the account's owner set (AWS IAM user names, for
	// one, are unique case-insensitively).
	MatchCaseless UsernameMatch = "caseless"
)

// Valid reports whether m is a known match.
func (m UsernameMatch) Valid() bool { return m == MatchExact || m == MatchCaseless }

var folder = cases.Fold()

// CanonicalUsername returns the key under which m finds the account named
// name; "" when nothing is left of name (only spaces or invisible
// characters), which names no account.
func CanonicalUsername(m UsernameMatch, name string) string {
	if m == MatchExact {
		return name
	}
	if plainLower(name) {
		return name // the common case: nothing to do, nothing allocated
	}
	s := norm.NFKC.String(name)
	s = folder.String(s)
	s = strings.Map(func(r rune) rune {
		if isInvisible(r) {
			return -1
		}
		return r
	}, s)
	// Folding, and removing what sat between a letter and its accent, can
	// leave text NFKC would change again; normalise once more so that a
	// key is its own key.
	s = norm.NFKC.String(s)
	return strings.TrimFunc(s, unicode.IsSpace)
}

// plainLower reports whether s is printable ASCII without upper-case
// letters or surrounding spaces: its own canonical form.
func plainLower(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// isInvisible reports the characters that draw nothing but would make two
// names differ: zero-width spaces and joiners, the word joiner, the byte
// order mark, the soft hyphen, and the other default-ignorable format
// characters (bidirectional marks among them).
func isInvisible(r rune) bool {
	switch r {
	case '\u00ad', '\u034f', '\u061c', '\u115f', '\u1160', '\u17b4', '\u17b5', '\u180e', '\u3164', '\uffa0', '\ufeff':
		return true
	}
	if unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) {
		return true
	}
	return r == utf8.RuneError // replacement of invalid UTF-8 is no letter
}

// canonical is the key of name at app, or an error naming the problem.
func (app Application) canonical(name string) (string, error) {
	if name == "" || !validText(name, 512) {
		return "", invalid("username: required, UTF-8, at most 512 bytes, no NUL")
	}
	key := CanonicalUsername(app.Settings.UsernameMatch, name)
	if key == "" {
		return "", invalid("username: %q has no visible characters", name)
	}
	return key, nil
}
