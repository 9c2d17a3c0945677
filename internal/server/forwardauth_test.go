package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/forwardauth"
)

// lockgate serve with a forward_auth section: both listeners bound with
// the others, decisions answered, and their latency on /metrics; a
// reload reads the configuration again (Options.LoadConfig, as for the
// gateway) and the next decision follows it.
func TestForwardAuthServed(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listen = "127.0.0.1:0"
	cfg.ForwardAuth.Listen, cfg.ForwardAuth.GRPCListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ForwardAuth.TrustedProxies = []string{"127.0.0.1"}
	cfg.ForwardAuth.Routes = []forwardauth.Route{{Name: "open"}}
	// The configuration a reload reads: the one route now covers /open/
	// only, so / has no route (403).
	reloaded := cfg
	reloaded.ForwardAuth.Routes = []forwardauth.Route{{Name: "open", PathPrefix: "/open/"}}
	s, err := Provision(cfg, nil, quiet, Options{LoadConfig: func() (Config, *config.Source, error) { return reloaded, nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	lns, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeListeners(ctx, lns) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListeners: %v", err)
		}
	})
	ask := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+lns.ForwardAuth.Addr().String()+"/nginx", nil)
		req.Header.Set("X-Original-Method", "GET")
		req.Header.Set("X-Original-URI", "/")
		req.Header.Set("X-Forwarded-For", "192.0.2.10")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := ask(); code != 200 {
		t.Fatalf("forward auth: %d", code)
	}
	conn, err := grpc.NewClient(lns.ForwardAuthGRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cr, err := authv3.NewAuthorizationClient(conn).Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:  &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{Address: "192.0.2.10"}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/", Host: "shop.example"}},
	}})
	if err != nil || cr.GetOkResponse() == nil {
		t.Fatalf("ext_authz: %v %v", cr, err)
	}
	if err := s.ForwardAuth().Reload(); err != nil {
		t.Fatal(err)
	}
	if code := ask(); code != 403 {
		t.Fatalf("forward auth after the reload: %d, want 403 (no route)", code)
	}
	mresp, err := http.Get("http://" + lns.Main.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`lockgate_forward_auth_decision_duration_seconds_count{integration="nginx"} 2`,
		`lockgate_forward_auth_decision_duration_seconds_count{integration="envoy"} 1`, `lockgate_forward_auth_reloads_total{result="ok"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
