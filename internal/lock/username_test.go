package lock_test

import (
	"testing"

	"github.com/lockgate/lockgate/internal/lock"
)

func TestCanonicalUsername(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // caseless
	}{
		{"plain", "alice", "alice"},
		{"capital", "Alice", "alice"},
		{"upper", "ALICE", "alice"},
		{"leading space", " alice", "alice"},
		{"trailing tab and newline", "alice\t\n", "alice"},
		{"zero-width space", "alice\u200b", "alice"},
		{"zero-width inside", "al\u200cic\u200de", "alice"},
		{"word joiner and BOM", "\ufeffalice\u2060", "alice"},
		{"soft hyphen", "ali\u00adce", "alice"},
		{"full-width a", "ａlice", "alice"},
		{"full-width all", "ＡＬＩＣＥ", "alice"},
		{"NFD josé", "jose\u0301", "josé"},
		{"NFC josé", "jos\u00e9", "josé"},
		{"upper NFD JOSÉ", "JOSE\u0301", "josé"},
		{"sharp s folds", "STRASSE", "strasse"},
		{"eszett", "straße", "strasse"},
		{"ligature", "ﬁle", "file"},
		{"greek final sigma", "ΟΔΟΣ", "οδοσ"},
		{"no-break space trimmed", "\u00a0alice\u00a0", "alice"},
		{"ideographic space", "\u3000alice", "alice"},
		{"bidi override removed", "\u202ealice", "alice"},
		{"inner space kept", "alice smith", "alice smith"},
		{"email", "Alice@Example.COM", "alice@example.com"},
		{"only invisible", " \u200b ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lock.CanonicalUsername(lock.MatchCaseless, tt.in); got != tt.want {
				t.Fatalf("caseless(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := lock.CanonicalUsername(lock.MatchExact, tt.in); got != tt.in {
				t.Fatalf("exact(%q) = %q, want it unchanged", tt.in, got)
			}
		})
	}
}

func TestCanonicalUsernameAllocations(t *testing.T) {
	n := testing.AllocsPerRun(100, func() { lock.CanonicalUsername(lock.MatchCaseless, "alice.smith@example.com") })
	if n != 0 {
		t.Fatalf("an already canonical ASCII name allocates %v times; the check path relies on 0", n)
	}
}

func FuzzCanonicalUsername(f *testing.F) {
	for _, s := range []string{"alice", "Alice", " ALICE\u200b", "ａlice", "jose\u0301", "ﬁ", "ß", "\u0130", "ΣΑΣ", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := lock.CanonicalUsername(lock.MatchCaseless, s)
		// A key is its own key: matching twice changes nothing.
		if k2 := lock.CanonicalUsername(lock.MatchCaseless, k); k2 != k {
			t.Fatalf("not idempotent: %q → %q → %q", s, k, k2)
		}
	})
}
