package httprule

import (
	"net/http"
	"strings"
	"testing"
)

func TestHost(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"shop.test", "shop.test", true}, {"SHOP.Test.", "SHOP.Test", true}, {"shop.test.:80", "shop.test", true},
		{"[2001:db8::1]:443", "[2001:db8::1]", true}, {"", "", true}, {"192.0.2.1:80", "192.0.2.1", true},
		{"shop.test..", "shop.test.", false}, {"shop..test", "shop..test", false}, {".shop.test", ".shop.test", false},
		{"shop.test..:80", "shop.test.", false},
	} {
		if got, ok := Host(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("Host(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCleanPathAndAmbiguous(t *testing.T) {
	route := func(p string) string {
		if strings.HasPrefix(p, "/api/") {
			return "api"
		}
		return "other"
	}
	for _, tc := range []struct {
		in, clean string
		ambiguous bool
	}{
		{"/", "/", false}, {"/api/x", "/api/x", false}, {"/api/", "/api/", false},
		{"/x/../api/x", "/api/x", true}, {"/./api/x", "/api/x", true}, {"//api/x", "/api/x", true},
		{"/%61pi/x", "/api/x", true}, {"/api%2Fx", "/api/x", true}, {"/x/%2e%2e/api/x", "/api/x", true},
		{"/api/../x", "/x", true}, {"/a/./b//c/", "/a/b/c/", false}, {"/%zz/..", "/", false},
		{"/..", "/", false}, {"/a/..", "/", false},
	} {
		if got := CleanPath(tc.in); got != tc.clean {
			t.Errorf("CleanPath(%q) = %q, want %q", tc.in, got, tc.clean)
		}
		if got := Ambiguous(tc.in, route); got != tc.ambiguous {
			t.Errorf("Ambiguous(%q) = %v, want %v", tc.in, got, tc.ambiguous)
		}
	}
}

func TestRepeatedAndUnderscore(t *testing.T) {
	h := http.Header{"X-Role": {"user", "admin"}, "X-Forwarded-For": {"a", "b"}, "Accept": {"*/*"}}
	if got := Repeated(h, nil); got != "X-Forwarded-For" {
		t.Errorf("Repeated = %q", got)
	}
	if got := Repeated(h, func(n string) bool { return n == "X-Forwarded-For" }); got != "X-Role" {
		t.Errorf("Repeated without XFF = %q", got)
	}
	if got := Underscore(http.Header{"X_role": {"a"}, "Accept": {"b"}}); got != "X_role" {
		t.Errorf("Underscore = %q", got)
	}
}

// FuzzCleanPath: a cleaned path starts with "/", holds no "//", "/./" or
// "/../" segment, and cleaning it again changes nothing but decoding; the
// fast path (a path already clean, returned as it is) answers as the
// full cleaning does.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/", "/x/../api/x", "//a", "/%2e%2e/", "/%zz", "/a/./b/", "%", "/%2F%2F", "/a/.", "/a/..", "/a/", "/a.b/..c/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c := CleanPath(p)
		if !strings.HasPrefix(c, "/") {
			t.Fatalf("CleanPath(%q) = %q", p, c)
		}
		if strings.Contains(c, "//") || strings.Contains(c, "/./") || strings.Contains(c, "/../") {
			t.Fatalf("CleanPath(%q) = %q keeps a segment to remove", p, c)
		}
		if isClean(p) && cleanPath(p) != p {
			t.Fatalf("%q taken for clean, but cleaning gives %q", p, cleanPath(p))
		}
		_ = Ambiguous(p, func(s string) bool { return strings.HasPrefix(s, "/api/") })
	})
}

// Routes naming a host come before those for any host, then the longest
// prefix first; the first that serves a request decides it.
func TestSortRoutesAndChoose(t *testing.T) {
	type rt struct{ name, host, prefix string }
	place := func(r *rt) (string, string) { return r.host, r.prefix }
	routes := []*rt{{"any", "", "/"}, {"any-api", "", "/api/"}, {"shop", "shop.test", "/"}, {"shop-api", "shop.test", "/api/"}, {"any2", "", "/"}}
	SortRoutes(routes, place)
	var order []string
	for _, r := range routes {
		order = append(order, r.name)
	}
	if got := strings.Join(order, " "); got != "shop-api shop any-api any any2" {
		t.Fatalf("order %s", got)
	}
	for _, tc := range []struct{ host, path, want string }{
		{"shop.test", "/api/x", "shop-api"}, {"SHOP.test", "/x", "shop"}, {"other.test", "/api/x", "any-api"},
		{"other.test", "/", "any"}, {"shop.test", "/apix", "shop"},
	} {
		if got := Choose(routes, place, tc.host, tc.path); got == nil || got.name != tc.want {
			t.Errorf("Choose(%s, %s) = %v, want %s", tc.host, tc.path, got, tc.want)
		}
	}
	if got := Choose(routes[:2], place, "other.test", "/x"); got != nil {
		t.Errorf("no route serves other.test/x, got %v", got)
	}
}
