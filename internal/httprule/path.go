package httprule

import (
	"strings"

	"github.com/lockgate/lockgate/problem"
)

// CleanPath is p as an application may resolve it: every valid percent
// escape decoded (%2F and escaped unreserved characters such as %61
// included), then empty segments ("//") and dot segments ("/./",
// "/../") removed as RFC 3986, 5.2.4 does; a trailing slash is kept.
func CleanPath(p string) string {
	if isClean(p) {
		return p // most paths: no allocation
	}
	return cleanPath(p)
}

// isClean reports whether CleanPath(p) is p: it starts with "/" and has
// no escape, no empty segment but the last, no "." or ".." segment.
func isClean(p string) bool {
	if p == "" || p[0] != '/' || strings.IndexByte(p, '%') >= 0 {
		return false
	}
	for rest := p[1:]; ; {
		seg, after, more := strings.Cut(rest, "/")
		if (seg == "" && more) || seg == "." || seg == ".." {
			return false
		}
		if !more {
			return true
		}
		rest = after
	}
}

func cleanPath(p string) string { return removeDotSegments(unescape(p)) }

// removeDotSegments removes empty and dot segments of a decoded path.
func removeDotSegments(p string) string {
	var out []string
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch s {
		case "", ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// unescape decodes the valid %XX escapes of s and keeps the rest as is.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// Ambiguous reports whether the raw path (as the client sent it, not
// decoded) would be routed differently in one of the forms an
// application may resolve it to: decoded; decoded and cleaned of "//",
// "/./" and "/../"; or as servlet containers and IIS read it
// (servletPath: "/open/..;/admin" and "/open/..%5Cadmin" are /admin to
// them). route chooses the route of a path. Such a request is refused:
// routed on one spelling, it would be inspected by one route's web ACL
// and served as another's path (fail closed: no spelling of a path
// escapes its route's web ACL).
func Ambiguous[T comparable](raw string, route func(path string) T) bool {
	r := route(raw)
	d := unescape(raw) // raw itself, without allocating, when it has no escape
	if d != raw && route(d) != r {
		return true
	}
	if route(CleanPath(raw)) != r {
		return true
	}
	return strings.ContainsAny(d, ";\\") && route(servletPath(d)) != r
}

// servletPath is a decoded path as Java servlet containers (Tomcat,
// Jetty, Spring) and IIS resolve it: a backslash is a separator, each segment's
// ";" parameters are dropped ("..;" is ".."), then dot and empty
// segments are removed. The authorizer refuses such paths outright
// (internal/authz); routing refuses them when they change the route.
func servletPath(d string) string {
	segs := strings.Split(strings.ReplaceAll(d, "\\", "/"), "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, ';'); j >= 0 {
			segs[i] = s[:j]
		}
	}
	return removeDotSegments(strings.Join(segs, "/"))
}

// ValidatePathCase checks a route's path_case at path.
func ValidatePathCase(path, v string) problem.List {
	var probs problem.List
	switch v {
	case "", PathCaseSensitive, PathCaseInsensitive:
	default:
		probs.Addf(path, "%q is not sensitive or insensitive", v)
	}
	return probs
}

// Values of a route's path_case.
const (
	PathCaseSensitive   = "sensitive"
	PathCaseInsensitive = "insensitive"
)

// WindowsPath is a decoded, cleaned path as Windows servers (IIS, and
// any application on a case-insensitive file system) resolve it: without
// case, each segment without its trailing dots and spaces ("/priv./x"
// is /priv/x) and without an NTFS stream suffix ("/priv::$DATA/x",
// "/priv:$DATA/x" are /priv/x).
func WindowsPath(p string) string {
	segs := strings.Split(strings.ToLower(p), "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, ':'); j >= 0 {
			s = s[:j]
		}
		segs[i] = strings.TrimRight(s, ". ")
	}
	return strings.Join(segs, "/")
}

// shortName reports whether a path has a segment that may be an 8.3
// short name ("ADMINI~1" for administrator): '~' then a digit. Which
// long name it stands for only the server's file system knows.
func shortName(p string) bool {
	for i := strings.IndexByte(p, '~'); i >= 0 && i+1 < len(p); {
		if p[i+1] >= '0' && p[i+1] <= '9' {
			return true
		}
		j := strings.IndexByte(p[i+1:], '~')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// Folded reports whether a request for host and the cleaned path clean,
// routed to chosen, would be served by a case-insensitive server under
// another route, one whose path_case is insensitive (insensitive(r)):
// its WindowsPath matches that route's prefix without case before
// chosen's ("/PRIV/x", "/priv./x" and "/priv::$DATA/x" are /priv/x to
// IIS), or it holds a segment that may be an 8.3 short name, which may
// stand for any such route's segment. Such a request is refused: the
// web ACL of the route it is served under never saw it (atk20f F8).
// Routes are in SortRoutes order.
func Folded[R comparable](routes []R, place func(R) (host, prefix string), insensitive func(R) bool, host, clean string, chosen R) bool {
	w := ""
	for _, r := range routes {
		h, prefix := place(r)
		if h != "" && !strings.EqualFold(h, host) {
			continue
		}
		if !insensitive(r) {
			if strings.HasPrefix(clean, prefix) {
				return r != chosen
			}
			continue
		}
		if shortName(clean) {
			return true
		}
		if w == "" {
			w = WindowsPath(clean)
		}
		if strings.HasPrefix(w, strings.ToLower(prefix)) || strings.HasPrefix(clean, prefix) {
			return r != chosen
		}
	}
	var none R
	return chosen != none
}
