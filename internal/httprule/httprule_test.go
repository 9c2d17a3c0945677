package httprule

import (
	"net/http"
	"net/netip"
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
		// atk20 F2: not host[:port]. A proxy passes these on as they are,
		// nginx and frameworks read the part before the first colon.
		{"admin.test:80:80", "admin.test", false}, {"admin.test::80", "admin.test", false}, {"admin.test:80:", "admin.test", false},
		{"admin.test.:80:80", "admin.test.", false}, {"admin.test:", "admin.test", true}, {"admin.test:abc", "admin.test", false},
		{"admin.test:99999", "admin.test", false}, {"admin.test:-1", "admin.test", false}, {"admin.test:123456", "admin.test", false},
		{":80", "", false}, {".", "", false}, {"admin.test,x", "admin.test,x", false}, {"admin%2etest", "admin%2etest", false},
		{"admin test", "admin test", false}, {"[admin.test]", "[admin.test]", false}, {"[2001:db8::1]:80:80", "[2001:db8::1]", false},
		{"[2001:db8::1", "[2001:db8::1", false}, {"[fe80::1%25eth0]", "[fe80::1%25eth0]", false}, {"[192.0.2.1]", "[192.0.2.1]", false},
		{"[::1]x", "[::1]", false}, {"Admin_Test-1.example:65535", "Admin_Test-1.example", true},
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
		// atk20 F9: servlet path parameters and IIS backslashes.
		{"/x/..;/api/x", "/x/..;/api/x", true}, {"/x/%2e%2e;/api/x", "/x/..;/api/x", true}, {"/x/..%3b/api/x", "/x/..;/api/x", true},
		{"/x/.;/../api/x", "/x/api/x", true}, {"/x/..%5capi/x", "/x/..\\api/x", true}, {"/x/..\\api/x", "/x/..\\api/x", true},
		{"/api;v=1/x", "/api;v=1/x", true}, {"/api/x;jsessionid=1", "/api/x;jsessionid=1", false}, {"/api/a\\..\\b", "/api/a\\..\\b", false},
		{"/api/..;/api/x", "/api/..;/api/x", false},
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

// FuzzHost: a host Host accepts has no port, no colon outside brackets
// and no empty label, and reads the same once more (as a route's host
// does); the port it cut was digits.
func FuzzHost(f *testing.F) {
	for _, s := range []string{"shop.test", "shop.test.:80", "[2001:db8::1]:443", "", "admin.test:80:80", "admin.test::80", "a..b", "[::1", "x:", ":80", "a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		host, ok := Host(h)
		if !ok {
			return
		}
		if strings.HasPrefix(host, "[") {
			if !strings.HasSuffix(host, "]") {
				t.Fatalf("Host(%q) = %q", h, host)
			}
		} else if strings.ContainsAny(host, ":[]") || strings.Contains(host, "..") || strings.HasSuffix(host, ".") {
			t.Fatalf("Host(%q) = %q", h, host)
		}
		if again, ok := Host(host); !ok || again != host {
			t.Fatalf("Host(%q) = %q, then %q, %v", h, host, again, ok)
		}
		if port := strings.TrimPrefix(h[min(len(h), len(host)):], "."); port != "" && (port[0] != ':' || strings.Trim(port[1:], "0123456789") != "") {
			t.Fatalf("Host(%q) = %q cut %q", h, host, port)
		}
	})
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
		if w := WindowsPath(CleanPath(p)); w != strings.ToLower(w) || strings.Contains(w, ":") || strings.Contains(w, "./") || strings.Contains(w, " /") {
			t.Fatalf("WindowsPath(%q) = %q keeps case, a stream or a trailing dot or space", p, w)
		}
		if sp := servletPath(p); !strings.HasPrefix(sp, "/") || strings.ContainsAny(sp, ";\\") || strings.Contains(sp, "/../") {
			t.Fatalf("servletPath(%q) = %q", p, sp)
		}
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

// Wide marks what trusts more than proxies one runs: every address of a
// family, or more than 10.0.0.0/8 (fc00::/7 for IPv6).
func TestWide(t *testing.T) {
	for _, tc := range []struct {
		p    string
		wide bool
	}{
		{"0.0.0.0/0", true}, {"::/0", true}, {"0.0.0.0/1", true}, {"128.0.0.0/7", true}, {"2000::/3", true},
		{"::ffff:0.0.0.0/96", true}, {"::ffff:0.0.0.0/103", true},
		{"10.0.0.0/8", false}, {"100.64.0.0/10", false}, {"fc00::/7", false}, {"127.0.0.1/32", false},
		{"::ffff:10.0.0.0/104", false}, {"2600:9000::/28", false},
	} {
		if got := Wide(netip.MustParsePrefix(tc.p)); got != tc.wide {
			t.Errorf("Wide(%s) = %v, want %v", tc.p, got, tc.wide)
		}
	}
}

// A path a case-insensitive server (IIS) serves under a path_case:
// insensitive route is refused when it is routed elsewhere: in another
// case, with trailing dots or spaces, an NTFS stream or an 8.3 name.
func TestFolded(t *testing.T) {
	type rt struct {
		name, host, prefix string
		insensitive        bool
	}
	place := func(r *rt) (string, string) { return r.host, r.prefix }
	insensitive := func(r *rt) bool { return r.insensitive }
	routes := []*rt{{"any", "", "/", false}, {"priv", "", "/priv/", true}, {"static", "", "/static/", false}, {"shop-admin", "shop.test", "/Admin/", true}}
	SortRoutes(routes, place)
	for _, tc := range []struct {
		host, path string
		refused    bool
	}{
		{"", "/priv/x", false}, {"", "/x", false}, {"", "/static/x", false}, {"", "/private", false},
		{"", "/PRIV/x", true}, {"", "/Priv/x", true}, {"", "/priv./x", true}, {"", "/priv%20/x", true}, {"", "/priv::$DATA/x", true},
		{"", "/priv:$DATA/x", true}, {"", "/PRIV~1/x", true}, {"", "/x/a~1", true},
		{"", "/static/FILE~1.txt", false}, // a more specific route that is not insensitive serves it
		{"", "/STATIC/x", false},          // static is case-sensitive: the server does not fold it for lockgate
		{"shop.test", "/admin/x", true}, {"SHOP.test", "/ADMIN./x", true}, {"shop.test", "/Admin/x", false}, {"other.test", "/admin/x", false},
	} {
		clean := CleanPath(tc.path)
		chosen := Choose(routes, place, tc.host, clean)
		if got := Folded(routes, place, insensitive, tc.host, clean, chosen); got != tc.refused {
			t.Errorf("Folded(%q, %q) routed to %v = %v, want %v", tc.host, tc.path, chosen.name, got, tc.refused)
		}
	}
	if got := WindowsPath("/A. ./B::$DATA/c. "); got != "/a/b/c" {
		t.Errorf("WindowsPath = %q", got)
	}
}
