package forwardauth

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/lockgate/lockgate/waf"
)

// GRPCServer is Envoy's ext_authz service (envoy.service.auth.v3
// Authorization/Check) on a gRPC server of its own.
func (s *Service) GRPCServer() *grpc.Server {
	g := grpc.NewServer()
	authv3.RegisterAuthorizationServer(g, extAuthz{s: s})
	return g
}

type extAuthz struct {
	authv3.UnimplementedAuthorizationServer
	s *Service
}

// Check decides one request Envoy holds. What is read, from Envoy's
// AttributeContext (docs/integrations.md cites the fields):
// source.address (the downstream client as Envoy sees it), and of
// request.http: method, path (path and query, not decoded), host,
// scheme, protocol, headers (or header_map with encode_raw_headers),
// body (or raw_body with pack_as_bytes) and size.
func (x extAuthz) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	s := x.s
	st := s.state.Load()
	var peerAddr netip.Addr
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		if ap, err := netip.ParseAddrPort(p.Addr.String()); err == nil {
			peerAddr = ap.Addr().Unmap()
		}
	}
	if !st.trustedPeer(peerAddr) {
		s.log.Warn("ext_authz: refused a peer that is not a trusted proxy", "peer", peerAddr.String())
		return denied(plain(http.StatusForbidden)), nil
	}
	o, err := fromCheck(req)
	if err != nil {
		s.log.Error("ext_authz: cannot read the request", "peer", peerAddr.String(), "error", err)
		return denied(plain(http.StatusInternalServerError)), nil
	}
	// Identity headers the client sent are removed on the way upstream,
	// whatever the decision's own headers.
	var remove []string
	if rt, _ := st.match(o.host, o.uri); rt != nil && rt.authz != nil {
		kept := o.header.Clone()
		rt.authz.StripIdentity(kept)
		for name := range o.header {
			if _, ok := kept[name]; !ok {
				remove = append(remove, strings.ToLower(name))
			}
		}
	}
	v := s.decide(ctx, st, o)
	if !v.allow {
		return denied(v), nil
	}
	// Set headers overwrite the client's copies; those this request did
	// not get, and the client's identity headers, are removed. A name is
	// never both set and removed (Envoy would apply both).
	ok := &authv3.OkHttpResponse{}
	set := map[string]bool{}
	for name, vs := range v.header {
		for _, val := range vs {
			if val == "" {
				remove = append(remove, strings.ToLower(name))
				continue
			}
			set[strings.ToLower(name)] = true
			ok.Headers = append(ok.Headers, header(name, val))
		}
	}
	slices.Sort(remove)
	for _, n := range slices.Compact(remove) {
		if !set[n] {
			ok.HeadersToRemove = append(ok.HeadersToRemove, n)
		}
	}
	slices.SortFunc(ok.Headers, func(a, b *corev3.HeaderValueOption) int { return strings.Compare(a.Header.Key, b.Header.Key) })
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(code.Code_OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
	}, nil
}

func header(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: strings.ToLower(name), Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// denied is Envoy's answer for a refusal: the response the client gets.
// It is PERMISSION_DENIED whatever the status, so that a block with a
// 2xx custom response is sent to the client by Envoy, never passed to
// the upstream; Envoy sends denied_response's status as it is.
func denied(v verdict) *authv3.CheckResponse {
	d := &authv3.DeniedHttpResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode(v.status)}, Body: string(v.body)}
	for name, vs := range v.header {
		for _, val := range vs {
			d.Headers = append(d.Headers, header(name, val))
		}
	}
	slices.SortFunc(d.Headers, func(a, b *corev3.HeaderValueOption) int { return strings.Compare(a.Header.Key, b.Header.Key) })
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(code.Code_PERMISSION_DENIED)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: d},
	}
}

// fromCheck reads the original request from Envoy's attributes.
func fromCheck(req *authv3.CheckRequest) (*original, error) {
	h := req.GetAttributes().GetRequest().GetHttp()
	if h == nil {
		return nil, errors.New("attributes.request.http is missing")
	}
	if h.GetMethod() == "" || !strings.HasPrefix(h.GetPath(), "/") {
		return nil, errors.New("attributes.request.http has no method or no origin-form path")
	}
	o := &original{integration: Envoy, method: h.GetMethod(), host: h.GetHost(), tls: h.GetScheme() == "https", proto: h.GetProtocol()}
	if o.proto == "" {
		o.proto = "HTTP/1.1"
	}
	o.uri, o.query, _ = strings.Cut(h.GetPath(), "?")
	sa := req.GetAttributes().GetSource().GetAddress().GetSocketAddress()
	// Read as the gateway reads a hop (an address with a port included).
	a, ok := waf.ParseForwardedAddr(sa.GetAddress())
	if !ok {
		return nil, errors.New("attributes.source.address.socket_address.address is not an IP address")
	}
	o.client = a
	o.header = http.Header{}
	add := func(name, value string) {
		if strings.HasPrefix(name, ":") { // HTTP/2 pseudo-headers: method, path, host are read above
			return
		}
		o.header.Add(name, value)
	}
	if hm := h.GetHeaderMap(); hm != nil {
		for _, hv := range hm.GetHeaders() {
			v := hv.GetValue()
			if len(hv.GetRawValue()) > 0 {
				v = string(hv.GetRawValue())
			}
			add(hv.GetKey(), v)
		}
	} else {
		names := make([]string, 0, len(h.GetHeaders()))
		for name := range h.GetHeaders() {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			add(name, h.GetHeaders()[name])
		}
	}
	o.headers = make([]waf.Header, 0, len(o.header)+1)
	if o.host != "" {
		o.headers = append(o.headers, waf.Header{Name: "Host", Value: o.host})
	}
	names := make([]string, 0, len(o.header))
	for name := range o.header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == "Host" {
			continue
		}
		for _, v := range o.header[name] {
			o.headers = append(o.headers, waf.Header{Name: name, Value: v})
		}
	}
	o.body = h.GetRawBody()
	if len(o.body) == 0 && h.GetBody() != "" {
		o.body = []byte(h.GetBody())
	}
	o.bodySize = h.GetSize()
	if o.bodySize < int64(len(o.body)) {
		o.bodySize = int64(len(o.body)) // -1: unknown
	}
	return o, nil
}
