package waf

import (
	"bytes"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Request is the part of an HTTP request a web ACL inspects.
type Request struct {
	// ClientIP is the connection's address (or the client behind a
	// trusted proxy, as the caller decides).
	ClientIP netip.Addr
	// ClientIPFallback is what statements on the client address do when
	// ClientIP is not valid — the caller does not know the client, as
	// when a trusted proxy forwarded an address that does not parse —
	// like a ForwardedIPConfig's FallbackBehavior: "MATCH" treats the
	// request as matching (an IP set matches, a rate-based rule counts it
	// under the key INVALID), anything else as not matching.
	ClientIPFallback string
	Method           string
	// URI is the path as received (not decoded), without the query.
	URI string
	// Query is the raw query string, without '?'.
	Query    string
	Fragment string
	// Headers in the order received.
	Headers []Header
	// OrderUnknown is set when Headers are not known to be in the order
	// received: FillRequest sorts them (net/http keeps no order), and
	// HeaderOrder.Apply or ReorderHeaders restores the order and clears
	// it. A rule that inspects HeaderOrder then blocks the request rather
	// than judge a sorted list as if the client had sent it (fail
	// closed): a client must not escape a header-order rule by making its
	// order unknowable (a folded line, a huge block, a framing the
	// listener does not follow). A Request built in code is in the order
	// given.
	OrderUnknown bool
	// Body holds at most the inspection limit; BodySize is the whole
	// body's length.
	Body     []byte
	BodySize int64

	names []string // FillRequest's scratch
}

// cookie returns a cookie's value (names compared with case).
func (r *Request) cookie(name string) (string, bool) {
	for _, h := range r.Headers {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		for part := range strings.SplitSeq(h.Value, ";") {
			n, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if n == name {
				return v, true
			}
		}
	}
	return "", false
}

// queryArg returns the first value of a query argument (names compared
// without case, as AWS WAF does).
func (r *Request) queryArg(name string) (string, bool) {
	for q := r.Query; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		n, v, _ := strings.Cut(pair, "=")
		if strings.EqualFold(n, name) {
			return v, true
		}
	}
	return "", false
}

// Header is one request header.
type Header struct{ Name, Value string }

// header returns the first value of a header, names compared without case.
func (r *Request) header(name string) (string, bool) {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// TargetPath is the path of r's request target exactly as the client
// sent it: AWS WAF inspects the URI path as sent, while net/url's
// EscapedPath re-escapes a path whose raw form it does not consider
// canonical (a `"` becomes %22), so a rule would see bytes the upstream
// never receives. An absolute-form target gives its path; requests built
// in code (no RequestURI) fall back to EscapedPath.
func TargetPath(r *http.Request) string {
	t := r.RequestURI
	if t == "" {
		return r.URL.EscapedPath()
	}
	if t[0] != '/' {
		_, rest, ok := strings.Cut(t, "://")
		i := strings.IndexByte(rest, '/')
		if !ok || i < 0 {
			return r.URL.EscapedPath()
		}
		t = rest[i:]
	}
	if i := strings.IndexByte(t, '?'); i >= 0 {
		t = t[:i]
	}
	return t
}

// RequestFromHTTP builds the inspected view of an HTTP request, as seen
// from clientIP. When a rule inspects the body, up to the inspection
// limit is read and put back in front of the rest, so r.Body still reads
// the whole body.
func (e *Engine) RequestFromHTTP(r *http.Request, clientIP netip.Addr) (*Request, error) {
	req := new(Request)
	return req, e.FillRequest(req, r, clientIP)
}

// FillRequest is RequestFromHTTP into req, reusing its storage (the
// header list): a caller that pools Requests allocates nothing for the
// headers of a request once the pool is warm.
func (e *Engine) FillRequest(req *Request, r *http.Request, clientIP netip.Addr) error {
	names, headers := req.names[:0], req.Headers[:0]
	*req = Request{ClientIP: clientIP, Method: r.Method, URI: TargetPath(r), Query: r.URL.RawQuery, Fragment: r.URL.Fragment, BodySize: r.ContentLength, OrderUnknown: true}
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	if r.Host != "" {
		headers = append(headers, Header{"Host", r.Host})
	}
	for _, name := range names {
		for _, v := range r.Header[name] {
			headers = append(headers, Header{name, v})
		}
	}
	req.names, req.Headers = names, headers
	if e.needsBody && r.Body != nil && r.Body != http.NoBody {
		buf := make([]byte, e.bodyLimit+1)
		n, err := io.ReadFull(r.Body, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		req.Body = buf[:min(n, e.bodyLimit)]
		if n <= e.bodyLimit && req.BodySize < 0 {
			req.BodySize = int64(n)
		} else if req.BodySize < int64(n) {
			req.BodySize = int64(n) // at least this much: over the limit
		}
		r.Body = readCloser{io.MultiReader(bytes.NewReader(buf[:n]), r.Body), r.Body}
	}
	if req.BodySize < 0 {
		req.BodySize = 0
	}
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
