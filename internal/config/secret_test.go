package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestPlaceholder(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  string // the reason's start; "" for a real secret
	}{
		{"…", "holds an ellipsis"},
		{"...", "holds an ellipsis"},
		{"secret…", "holds an ellipsis"},
		{"<webhook-secret>", "is an <angle"},
		{"${SECRET}", "is a shell variable"},
		{"$LOCKGATE_ADMIN_TOKEN", "is a shell variable"},
		{"CHANGEME", `contains "changeme"`},
		{"change-me-please-0123456789abcdef", `contains "change-me"`},
		{"REPLACE-with-openssl-rand-hex-32", `contains "replace"`},
		{"your-secret-goes-here-0123456789", `contains "your-secret"`},
		{"x", "is one character repeated"},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "is one character repeated"},
		{"ééééé", "is one character repeated"},
		{"abababababababababababababababab", "repeats one pattern"},
		{"abcdefghabcdefghabcdefghabcdefghabcd", "repeats one pattern"},
		{"walkthrough-admin-token-0123456789abcdef", `contains "walkthrough-admin-token"`},
		// Sequential runs, keyboard rows and words (atk14 F4).
		{"0123456789abcdefghijklmnopqrstuv", "is mostly guessable: runs of the alphabet"},
		{"abcdefghijklmnopqrstuvwxyzabcdefghijkl", "is mostly guessable: runs"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ123456", "is mostly guessable: runs"},
		{"zyxwvutsrqponmlkjihgfedcba9876543210", "is mostly guessable: runs"},
		{"qwertyuiopasdfghjklzxcvbnm123456", "is mostly guessable: runs"},
		{"poiuytrewqlkjhgfdsamnbvcxz", "is mostly guessable: runs"},
		{"passwordpassword1234567890!@#$%^", `is mostly guessable: "password", runs`},
		{"your-admin-token-here-0123456789ab", `is mostly guessable: "token", "admin", "your", "here", runs`},
		{"my-secret-token-for-lockgate-2026", `is mostly guessable: "secret", "token", "lockgate"`},
		{"TestTokenHere-Xq7", `is mostly guessable: "token", "here", "test"`},
		// Low entropy at 32 characters or more.
		{"aaaaaaaabbbbbbbbccccccccddddddddeeee", "has about 2.3 bits of entropy per character (5 different"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa7K2mQ9", "has about 0.8 bits"},
		// Guessable parts in the minority: a secret with a word in it.
		{"lockgate-admin-Xq7vT2mP9wKd4rZb8nLf3hJc6sYg", ""},
		{"correct horse battery staple galaxy", ""},
		{"", ""},
		{"3f9c1e7a5b2d8046c1e9a7f35b2d8c4e6a1f0b9d7c5e3a18", ""},
		{"q1nD0uHK3x-8dYb4Zr_7mWcT2sLfV9aEoP5jGhUiRkA", ""},
	} {
		if got := Placeholder(tc.value); tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("Placeholder(%q) = %q, want %q", tc.value, got, tc.want)
		}
	}
}

// Secrets as lockgate and openssl make them (openssl rand -hex 32,
// -base64 32, and the shorter -hex 16) are never taken for placeholders:
// 20,000 of each alphabet and length.
func TestPlaceholderAcceptsRandomSecrets(t *testing.T) {
	for _, n := range []int{16, 32} {
		b := make([]byte, n)
		for range 20000 {
			rand.Read(b)
			for _, s := range []string{hex.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b), base64.StdEncoding.EncodeToString(b)} {
				if r := Placeholder(s); r != "" {
					t.Fatalf("random secret %q taken for a placeholder: %s", s, r)
				}
			}
		}
	}
}

func TestCheckSecret(t *testing.T) {
	if err := CheckSecret("short-but-random-Zq8", 32, "how"); err == nil || !strings.Contains(err.Error(), "is 20 bytes, at least 32") {
		t.Errorf("short: %v", err)
	}
	if err := CheckSecret("…", 32, "how"); err == nil || !strings.Contains(err.Error(), "placeholder") || strings.Contains(err.Error(), "…") {
		t.Errorf("placeholder: %v", err)
	}
	if err := CheckSecret("3f9c1e7a5b2d8046c1e9a7f35b2d8c4e", 32, "how"); err != nil {
		t.Errorf("random: %v", err)
	}
}
