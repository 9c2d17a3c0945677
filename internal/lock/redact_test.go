package lock_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/lock"
)

// TestRedactURL: every query value is hidden, a bare query ("?SECRET",
// atk14 F14) included, and no part of a query disappears from what is
// shown, even one a query decoder would drop.
func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"https://hooks.example/in", "https://hooks.example/in"},
		{"https://hooks.example/in?token=sk-live-1", "https://hooks.example/in?token=REDACTED"},
		{"http://example.com/?TOPSECRET9", "http://example.com/?REDACTED"},
		{"http://example.com/hook?SECRET&v=2", "http://example.com/hook?REDACTED&v=REDACTED"},
		{"http://example.com/?a=1;token=X", "http://example.com/?a=REDACTED;token=REDACTED"},
		{"http://example.com/?token=X;x", "http://example.com/?token=REDACTED;REDACTED"},
		{"http://example.com/?token=X&x=%zz", "http://example.com/?token=REDACTED&x=REDACTED"},
		{"http://example.com/?=v&&k=", "http://example.com/?=REDACTED&&k=REDACTED"},
		{"http://example.com/?a=1=2", "http://example.com/?a=REDACTED"},
		{"http://example.com/?", "http://example.com/?"},
		{"http://u:pw@example.com/?k=v#frag", "http://REDACTED@example.com/?k=REDACTED"},
		{"http://example.com/%zz", "(unparsable URL)"},
	} {
		if got := lock.RedactURL(tt.raw); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// FuzzRedactURL: whatever the URL, every part of its query is shown,
// redacted: as many parts as were sent, each REDACTED or key=REDACTED.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"http://example.com/?TOPSECRET9", "http://example.com/?a=1;token=X", "http://example.com/?token=X&x=%zz",
		"http://u:p@h/?&&;=", "https://h/p?k=v=w#f", "http://h/?%00", "http://[::1]:80/?a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		got := lock.RedactURL(raw)
		if err != nil {
			if got != "(unparsable URL)" {
				t.Fatalf("RedactURL(%q) = %q for an unparsable URL", raw, got)
			}
			return
		}
		if u.RawQuery == "" {
			return
		}
		r, err := url.Parse(got)
		if err != nil {
			t.Fatalf("RedactURL(%q) = %q, unparsable: %v", raw, got, err)
		}
		sep := func(c rune) bool { return c == '&' || c == ';' }
		in, out := strings.FieldsFunc(u.RawQuery, sep), strings.FieldsFunc(r.RawQuery, sep)
		if len(in) != len(out) {
			t.Fatalf("RedactURL(%q) = %q: %d query parts, want %d", raw, got, len(out), len(in))
		}
		for _, p := range out {
			if p != "REDACTED" && !strings.HasSuffix(p, "=REDACTED") {
				t.Fatalf("RedactURL(%q) = %q: part %q not redacted", raw, got, p)
			}
		}
	})
}
