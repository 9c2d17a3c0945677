package httprule

import "strings"

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

func cleanPath(p string) string {
	p = unescape(p)
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
// application may resolve it to: decoded, or decoded and cleaned of
// "//", "/./" and "/../". route chooses the route of a path. Such a
// request is refused: routed on one spelling, it would be inspected by
// one route's web ACL and served as another's path (fail closed: no
// spelling of a path escapes its route's web ACL).
func Ambiguous[T comparable](raw string, route func(path string) T) bool {
	r := route(raw)
	if d := unescape(raw); d != raw && route(d) != r {
		return true
	}
	return route(CleanPath(raw)) != r
}
