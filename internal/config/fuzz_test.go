package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: any file decodes or is refused with problems; never a panic,
// and every problem says where it is.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"", "listen: 127.0.0.1:9000\n", "public_urls: [https://a.example, https://b.example]\n",
		"gateway:\n  routes:\n    - name: a\n      web_acl: x.json\n", "gateway: {labels: {a: b}}\n",
		"listen: [1, 2]\n", "a: &a [*a, *a]\n", "workers: -1\n", "\t\x00", "shutdown_timeout: 3d\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := defaults()
		_, err := Load(path, func(string) string { return "" }, &cfg)
		if err != nil && err.Error() == "" {
			t.Fatal("an error without a message")
		}
	})
}

func TestAliasBombIsRefused(t *testing.T) {
	body := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		body += n + ": &" + n + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = n
	}
	var dst struct {
		A []string
		B [][]string
		C [][][]string
		D [][][][]string
		E [][][][][]string
		F [][][][][][]string
		G [][][][][][][]string
		H [][][][][][][][]string
	}
	err := Decode([]byte(body), &dst)
	if err == nil || !strings.Contains(err.Error(), "through aliases") {
		t.Fatalf("an alias bomb: %v", err)
	}
}

// FuzzPlaceholder: any value is judged without a panic, the same way
// twice, and a refusal of a long value never repeats it (the reason is
// logged).
func FuzzPlaceholder(f *testing.F) {
	for _, s := range []string{
		"", "…", "${X}", "0123456789abcdefghijklmnopqrstuv", "qwertyuiopasdfghjklzxcvbnm123456",
		"your-admin-token-here-0123456789ab", "aaaaaaaabbbbbbbbccccccccddddddddeeee", "İİİİtokenİİ",
		"3f9c1e7a5b2d8046c1e9a7f35b2d8c4e6a1f0b9d7c5e3a18", "\xff\xfe0123",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Placeholder(s)
		if r != Placeholder(s) {
			t.Fatalf("Placeholder(%q) is not stable", s)
		}
		if v := strings.TrimSpace(s); r != "" && len(v) >= 32 && strings.Contains(r, v) {
			t.Fatalf("the reason repeats the value: %q", r)
		}
	})
}
