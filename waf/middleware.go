package waf

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// MiddlewareOptions configure Engine.Middleware.
type MiddlewareOptions struct {
	// ClientIP gives the client's address; the connection's (RemoteAddr)
	// when nil. Statements with a ForwardedIPConfig read their header
	// themselves.
	ClientIP func(*http.Request) netip.Addr
	// OnDecision sees every request's decision (logging, metrics). The
	// decision is reused after it returns: copy what you keep.
	OnDecision func(*http.Request, *Decision)
	// HeaderOrder, when the server's listener is wrapped in it, gives
	// the engine the headers in the order and case received.
	HeaderOrder *HeaderOrder
}

var (
	decisionPool = sync.Pool{New: func() any { return new(Decision) }}
	requestPool  = sync.Pool{New: func() any { return new(Request) }}
)

// Middleware evaluates every request before next sees it. A blocked
// request gets the rule's custom response (403 by default); an allowed or
// counted one goes on with the rules' inserted headers (x-amzn-waf-NAME).
// When the web ACL inspects the body, up to the inspection limit is read
// and put back in front of the rest, so next reads the whole body.
//
// Go's net/http does not keep the order of request headers: without
// MiddlewareOptions.HeaderOrder, the engine sees them sorted by name,
// and a rule that inspects HeaderOrder blocks (Request.OrderUnknown).
func (e *Engine) Middleware(next http.Handler, opts MiddlewareOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := decisionPool.Get().(*Decision)
		defer decisionPool.Put(d)
		var ip netip.Addr
		if opts.ClientIP != nil {
			ip = opts.ClientIP(r)
		} else {
			ip = RemoteIP(r)
		}
		req := requestPool.Get().(*Request)
		defer requestPool.Put(req)
		if err := e.FillRequest(req, r, ip); err != nil {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
			return
		}
		if opts.HeaderOrder != nil {
			opts.HeaderOrder.Apply(req, r)
		}
		e.EvaluateInto(r.Context(), req, d)
		if opts.OnDecision != nil {
			opts.OnDecision(r, d)
		}
		if d.Action == "BLOCK" {
			WriteBlock(w, d)
			return
		}
		for _, h := range d.InsertHeaders {
			r.Header.Set("x-amzn-waf-"+h.Name, h.Value)
		}
		next.ServeHTTP(w, r)
	})
}

// RemoteIP is the address of the connection's peer.
func RemoteIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		a, _ := netip.ParseAddr(host)
		return a.Unmap()
	}
	return netip.Addr{}
}

// WriteBlock writes a blocked request's response: the rule's custom
// response, or 403 Forbidden.
func WriteBlock(w http.ResponseWriter, d *Decision) {
	code := http.StatusForbidden
	if cr := d.CustomResponse; cr != nil {
		code = int(cr.ResponseCode)
		for _, h := range cr.ResponseHeaders {
			w.Header().Set(h.Name, h.Value)
		}
	}
	if b := d.ResponseBody; b != nil {
		w.Header().Set("Content-Type", contentType(b.ContentType))
		w.WriteHeader(code)
		io.WriteString(w, b.Content)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, http.StatusText(code)+"\n")
}

func contentType(t string) string {
	switch t {
	case "TEXT_HTML":
		return "text/html; charset=utf-8"
	case "APPLICATION_JSON":
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}
