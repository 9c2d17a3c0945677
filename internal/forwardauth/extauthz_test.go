package forwardauth

import (
	"context"
	"net"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// extAuthzClient serves s's ext_authz on a free port and dials it, as
// Envoy's envoy_grpc cluster would.
func extAuthzClient(t *testing.T, s *Service) authv3.AuthorizationClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := s.GRPCServer()
	done := make(chan struct{})
	go func() { defer close(done); g.Serve(ln) }()
	t.Cleanup(func() { g.Stop(); <-done })
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// envoyCheck is a CheckRequest as Envoy's ext_authz HTTP filter sends it
// (AttributeContext, envoy.service.auth.v3): source.address is the
// downstream client; request.http has method, path ("The request target,
// as it appears in the first line of the HTTP request. This includes the
// URL path and query-string. No decoding is performed."), host, scheme,
// protocol, headers ("All header keys must be lower-cased"; Envoy
// includes the pseudo-headers), size ("If unknown, it must be -1") and,
// with with_request_body, body.
func envoyCheck(client, method, path string, headers map[string]string, body string) *authv3.CheckRequest {
	h := map[string]string{":authority": "shop.example", ":method": method, ":path": path, ":scheme": "https",
		"user-agent": "curl/8.5.0", "x-forwarded-proto": "https", "x-request-id": "6f1d3c1e-0000-4000-8000-000000000001"}
	for k, v := range headers {
		h[k] = v
	}
	size := int64(len(body))
	if body == "" {
		size = -1
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{Address: client, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 53211}}}}},
		Destination: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{Address: "10.0.0.5", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 10000}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "6f1d3c1e-0000-4000-8000-000000000001", Method: method, Headers: h, Path: path, Host: "shop.example",
			Scheme: "https", Protocol: "HTTP/1.1", Size: size, Body: body,
		}},
	}}
}

func TestExtAuthzCheck(t *testing.T) {
	s := newService(t, []string{"127.0.0.1/32"}, "", nil)
	c := extAuthzClient(t, s)
	tests := []struct {
		name    string
		req     *authv3.CheckRequest
		allowed bool
		status  int32             // denied: the HTTP status Envoy sends
		headers map[string]string // headers in the answer
		body    string
	}{
		{"allowed", envoyCheck("192.0.2.10", "GET", "/", nil, ""), true, 0, nil, ""},
		{"ip set", envoyCheck("203.0.113.9", "GET", "/", nil, ""), false, 403, nil, "Forbidden\n"},
		{"header rule", envoyCheck("192.0.2.10", "GET", "/", map[string]string{"x-attack": "1"}, ""), false, 403, nil, ""},
		{"custom response", envoyCheck("192.0.2.10", "GET", "/", map[string]string{"user-agent": "BadBot/2"}, ""), false, 429, map[string]string{"retry-after": "60"}, "slow down, bot"},
		{"inserted header", envoyCheck("192.0.2.10", "GET", "/api/pets?limit=2", nil, ""), true, 0, map[string]string{"x-amzn-waf-api": "yes"}, ""},
		// atk20 F6: a block whose custom response is 2xx is denied: Envoy
		// sends the 200 to the client itself, the upstream never sees it.
		{"block with a 200 custom response", envoyCheck("192.0.2.10", "GET", "/honey200", nil, ""), false, 200, map[string]string{"x-honeypot": "1"}, "welcome, honeypot"},
		{"block with a 204 custom response", envoyCheck("192.0.2.10", "GET", "/honey204", nil, ""), false, 204, map[string]string{"x-honeypot": "1"}, ""},
		{"body rule with with_request_body", envoyCheck("192.0.2.10", "POST", "/search", map[string]string{"content-type": "application/x-www-form-urlencoded"}, "q=1' OR '1'='1"), false, 403, nil, ""},
		{"body rule, raw_body (pack_as_bytes)", func() *authv3.CheckRequest {
			r := envoyCheck("192.0.2.10", "POST", "/search", nil, "")
			r.Attributes.Request.Http.RawBody, r.Attributes.Request.Http.Size = []byte("q=1' OR '1'='1"), 14
			return r
		}(), false, 403, nil, ""},
		{"no source address: refused", func() *authv3.CheckRequest {
			r := envoyCheck("192.0.2.10", "GET", "/", nil, "")
			r.Attributes.Source = nil
			return r
		}(), false, 500, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Check(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			if tc.allowed {
				if resp.GetStatus().GetCode() != int32(code.Code_OK) || resp.GetOkResponse() == nil {
					t.Fatalf("want OK, got %v", resp)
				}
				for _, h := range resp.GetOkResponse().GetHeaders() {
					got[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
				}
				// A header the web ACL may insert that this request did not
				// get is removed: the client's forged copy never passes.
				removed := resp.GetOkResponse().GetHeadersToRemove()
				if _, set := got["x-amzn-waf-api"]; set == slices.Contains(removed, "x-amzn-waf-api") {
					t.Errorf("x-amzn-waf-api: set %v, removed %v", got, removed)
				}
			} else {
				d := resp.GetDeniedResponse()
				if resp.GetStatus().GetCode() != int32(code.Code_PERMISSION_DENIED) || d == nil {
					t.Fatalf("want PERMISSION_DENIED, got %v", resp)
				}
				if int32(d.GetStatus().GetCode()) != tc.status {
					t.Fatalf("status %d, want %d", d.GetStatus().GetCode(), tc.status)
				}
				if tc.body != "" && d.GetBody() != tc.body {
					t.Errorf("body %q, want %q", d.GetBody(), tc.body)
				}
				for _, h := range d.GetHeaders() {
					got[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
				}
			}
			for k, v := range tc.headers {
				if got[k] != v {
					t.Errorf("header %s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

// Envoy itself must be a trusted proxy: anyone else reaching the gRPC
// port could describe any request.
func TestExtAuthzUntrustedPeer(t *testing.T) {
	s := newService(t, []string{"192.0.2.1/32"}, "", nil)
	resp, err := extAuthzClient(t, s).Check(context.Background(), envoyCheck("192.0.2.10", "GET", "/", nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDeniedResponse().GetStatus().GetCode() != 403 {
		t.Fatalf("untrusted peer: %v", resp)
	}
}
