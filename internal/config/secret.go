package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// placeholderWords mark a value copied from documentation or a template
// unedited. Each is long enough (or holds a character random secrets of
// the hex and base64url alphabets rarely have) that a generated secret
// containing one by chance is out of the question: a short word such as
// "todo" would refuse one lockgate webhook secret in twenty thousand.
var placeholderWords = []string{"changeme", "change-me", "change_me", "replace", "placeholder", "example", "your-secret", "your_secret", "your-token", "your_token", "insert-", "walkthrough-admin-token"}

// Placeholder reports why s looks like a documentation or template
// placeholder rather than a secret someone chose ("" when it does not):
// an ellipsis, <angle brackets>, ${VAR} that no shell expanded, a word
// such as CHANGEME or REPLACE (or the value lockgate's own walkthrough
// once published), one character repeated ("x", "xxxx") or one pattern
// repeated ("abab…", "abcdefghabcdefgh…"). A secret that is a placeholder
// is public: it is in this repository. It is the one such check: the
// admin token (lock.CheckBootstrapToken), the master key and shared
// secrets (CheckSecret) all use it.
func Placeholder(s string) string {
	t := strings.TrimSpace(s)
	if t == "" {
		return ""
	}
	lower := strings.ToLower(t)
	switch {
	case strings.Contains(t, "…") || strings.Contains(t, "..."):
		return "holds an ellipsis"
	case strings.HasPrefix(t, "<") && strings.HasSuffix(t, ">"):
		return "is an <angle-bracketed> placeholder"
	case strings.Contains(t, "${") || strings.HasPrefix(t, "$"):
		return "is a shell variable no shell expanded"
	}
	for _, w := range placeholderWords {
		if strings.Contains(lower, w) {
			return fmt.Sprintf("contains %q", w)
		}
	}
	r, size := utf8.DecodeRuneInString(t)
	if strings.Count(t, string(r)) == len(t)/size {
		return "is one character repeated"
	}
	if repetitive(t) {
		return "repeats one pattern"
	}
	return ""
}

// repetitive reports whether s is one pattern repeated at least twice,
// the last time perhaps in part ("abab…", "abcabca"): typed, not
// generated.
func repetitive(s string) bool {
	for p := 1; p <= len(s)/2; p++ {
		if strings.Repeat(s[:p], len(s)/p+1)[:len(s)] == s {
			return true
		}
	}
	return false
}

// CheckSecret refuses a shared secret shorter than min bytes or that
// looks like a placeholder. how says how to make a good one; the error
// never repeats the value.
func CheckSecret(s string, min int, how string) error {
	if reason := Placeholder(s); reason != "" {
		return fmt.Errorf("looks like a placeholder (it %s), not a secret: %s", reason, how)
	}
	if len(s) < min {
		return fmt.Errorf("is %d bytes, at least %d are required: %s", len(s), min, how)
	}
	return nil
}
