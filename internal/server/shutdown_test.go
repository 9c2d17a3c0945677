package server

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/gateway"
)

// atk9f F23: a shutdown that outlasts shutdown_timeout ended with
// "gateway: context deadline exceeded". It still fails (the request in
// flight was cut off, so serve exits 1), but says what happened.
func TestShutdownTimeoutSaysSo(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}))
	defer up.Close()
	defer close(release)
	cfg := testConfig(t)
	cfg.ShutdownTimeout = config.Duration(50 * time.Millisecond)
	cfg.Gateway.Listen = "127.0.0.1:0"
	cfg.Gateway.Routes = []gateway.RouteConfig{{Name: "app", Upstreams: []string{up.URL}}}
	s, err := Provision(cfg, nil, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lns, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListeners(ctx, lns) }()
	go http.Get("http://" + lns.Gateway.(*net.TCPListener).Addr().String() + "/slow")
	<-started // a request is in flight
	cancel()
	err = <-done
	if err == nil || !strings.Contains(err.Error(), "gateway: shutdown_timeout 50ms passed with requests still in flight: they were cut off") {
		t.Fatalf("ServeListeners: %v", err)
	}
}
