package authz

import (
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
)

// canonicalPath returns the request's path when it is canonical — the
// path the upstream will act on is then the one the ARN was built from.
// Anything an upstream could read as another path is refused: dot
// segments (also Tomcat's "..;"), doubled slashes, encoded slashes and
// backslashes, and control characters. Otherwise a policy allowing
// petstore/v1/* would also allow /petstore/v1/../v2/pets.
func canonicalPath(r *http.Request) (string, bool) {
	return canonical(r.URL.Path, r.URL.RawPath)
}

// canonical is canonicalPath of a decoded path p and the raw path it was
// decoded from ("" when it had no escapes).
func canonical(p, raw string) (string, bool) {
	if p == "" || p[0] != '/' {
		return "", false
	}
	if raw := strings.ToLower(raw); strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return "", false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	clean := path.Clean(p)
	if clean != p && (clean == "/" || clean+"/" != p) { // a trailing slash is kept; "//" is not one
		return "", false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if s, _, _ := strings.Cut(seg, ";"); s == "." || s == ".." {
			return "", false
		}
	}
	return p, true
}

// canonicalMethod reports whether m is a method an execute-api ARN can
// name exactly. ARNs match case-sensitively, so a Deny written for
// DELETE would not match "delete" — while many upstreams treat the two
// alike. A method with a lower-case letter (or anything but A-Z, 0-9, -
// and _) is refused before any policy is read.
func canonicalMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// StripIdentity removes the identity headers from h: however the client
// wrote their names (any case, _ for -), an upstream must only see the
// ones this authorizer sets.
func (a *Authorizer) StripIdentity(h http.Header) {
	for name := range h {
		if a.strip[headerKey(name)] {
			delete(h, name)
		}
	}
}

// SetIdentity writes an allowed decision's identity headers.
func (d *Decision) SetIdentity(h http.Header) {
	for _, kv := range d.headers {
		h.Set(kv[0], kv[1])
	}
}

// Authorize is the gateway's hook: it strips the client's identity
// headers, decides, and either answers the denial (false) or sets the
// identity headers for the upstream (true).
func (a *Authorizer) Authorize(w http.ResponseWriter, r *http.Request, client netip.Addr) bool {
	a.StripIdentity(r.Header)
	d := a.Decide(r, client)
	if !d.Allowed() {
		a.svc.log.Debug("authz: request refused", "outcome", d.Outcome.String(), "resource", d.Resource, "sub", d.Subject, "reason", d.Err)
		d.Write(w)
		return false
	}
	d.SetIdentity(r.Header)
	return true
}

// Middleware authorizes requests before next: for servers other than
// lockgate's gateway. clientIP gives the real client address (the
// connection's peer unless a trusted proxy says otherwise).
func (a *Authorizer) Middleware(next http.Handler, clientIP func(*http.Request) netip.Addr) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Authorize(w, r, clientIP(r)) {
			next.ServeHTTP(w, r)
		}
	})
}

// IdentityHeaders names the headers an allowed decision may set, for a
// proxy asking lockgate (forward auth) that must replace the client's
// own copies of all of them.
func (a *Authorizer) IdentityHeaders() []string {
	h := a.cfg.Headers
	names := []string{h.Principal, h.Username, h.Groups}
	for n := range h.Claims {
		names = append(names, n)
	}
	slices.Sort(names[3:])
	return names
}
