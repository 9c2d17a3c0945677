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
var placeholderWords = []string{"changeme", "change-me", "change_me", "replace", "placeholder", "example", "your-secret", "your_secret", "your-token", "your_token", "insert-"}

// Placeholder reports why s looks like a documentation or template
// placeholder rather than a secret someone chose ("" when it does not):
// an ellipsis, <angle brackets>, ${VAR} that no shell expanded, a word
// such as CHANGEME or REPLACE, or one character repeated ("x", "xxxx").
// A secret that is a placeholder is public: it is in this repository.
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
	return ""
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
