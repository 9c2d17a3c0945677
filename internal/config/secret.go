package config

import (
	"fmt"
	"math"
	"strconv"
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
// repeated ("abab…", "abcdefghabcdefgh…"), a value made mostly of words,
// alphabet or digit runs and keyboard rows ("your-admin-token-here-0123…",
// "qwertyuiop…"), or one of 32 characters or more with too little entropy
// to be random. A secret that is a placeholder is public: it is in this
// repository, or the first thing anyone guesses. It is the one such check:
// the admin token (lock.CheckBootstrapToken), the master key and shared
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
	if reason := guessable(t); reason != "" {
		return reason
	}
	if len(t) >= 32 {
		// Random hex, the poorest alphabet lockgate suggests, has about
		// 3.4 bits per character at 32 characters and never (in millions
		// of draws) under 2.7; a typed value with few characters, most of
		// them one, has far less.
		if h := entropy(t); h < minEntropy {
			return fmt.Sprintf("has about %.1f bits of entropy per character (%d different characters), under the %.1f of any random value", h, distinct(t), minEntropy)
		}
	}
	return ""
}

// minEntropy is the Shannon entropy per character, estimated from a
// value's own character counts, under which a value of 32 characters or
// more is not random.
const minEntropy = 2.5

// guessWords, runs and keyboard rows are what people type when asked for
// a secret. Each part is removed; a value whose guessable parts outweigh
// the rest is refused. A random value holds such a part only by chance
// and then a short one, far from half of it.
var guessWords = []string{"password", "passwd", "changeme", "example", "secret", "token", "admin", "lockgate", "webhook", "master", "default", "your", "here", "test", "demo", "key", "api"}

// runs are the sequences typed in order, either way: the alphabet, the
// digits, and the rows of a QWERTY keyboard (unshifted and shifted).
var runs = []string{"abcdefghijklmnopqrstuvwxyz", "0123456789", "`1234567890-=", "~!@#$%^&*()_+", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./"}

// minRun is the shortest run counted as typed: a run of 4 turns up in one
// random hex secret of 64 characters in fifty, and removing it leaves
// the value far from refused.
const minRun = 4

// guessable reports a value made mostly of guessWords, runs of at least
// minRun characters of a sequence in runs, and separators.
func guessable(t string) string {
	lower := strings.ToLower(t)
	covered := make([]bool, len(lower))
	var found []string
	for _, w := range guessWords {
		if !strings.Contains(lower, w) {
			continue
		}
		found = append(found, strconv.Quote(w))
		for i := 0; ; {
			j := strings.Index(lower[i:], w)
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(w); k++ {
				covered[k] = true
			}
			i += j + len(w)
		}
	}
	seq := false
	for _, r := range runs {
		for _, s := range []string{r, reverse(r)} {
			if markRuns(lower, s, covered) {
				seq = true
			}
		}
	}
	if seq {
		found = append(found, "runs of the alphabet, digits or a keyboard row")
	}
	n := 0
	for i, c := range covered {
		if !c && !strings.ContainsRune("-_.:/ +=", rune(lower[i])) {
			n++
		}
	}
	if len(found) == 0 || 2*n >= len(lower) {
		return ""
	}
	return fmt.Sprintf("is mostly guessable: %s, with %d other characters of %d", strings.Join(found, ", "), n, len(lower))
}

// markRuns marks in covered each run of s's characters in order in t at
// least minRun long, and reports whether there was one.
func markRuns(t, s string, covered []bool) bool {
	var pos [256]int
	for i := 0; i < len(s); i++ {
		pos[s[i]] = i + 1
	}
	any := false
	for i := 0; i < len(t); {
		j := i + 1
		for j < len(t) && pos[t[i]] != 0 && pos[t[j]] == pos[t[j-1]]+1 {
			j++
		}
		if j-i >= minRun {
			any = true
			for k := i; k < j; k++ {
				covered[k] = true
			}
		}
		i = j
	}
	return any
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// entropy estimates the Shannon entropy per byte of s from its byte
// counts.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(s))
			h -= p * math.Log2(p)
		}
	}
	return h
}

// distinct counts the different bytes of s.
func distinct(s string) int {
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			n++
		}
	}
	return n
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
