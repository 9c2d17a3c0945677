package server

import (
	"fmt"
	"testing"
)

func TestOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:8081", false},
		{"127.0.0.1:8080", "127.0.0.2:8080", false},
		{":8080", "127.0.0.1:8080", true},
		{"0.0.0.0:8080", "127.0.0.1:8080", true},
		{"[::]:8080", "127.0.0.1:8080", true},
		{"[::]:8080", "0.0.0.0:8080", true},
		{":8080", "[::1]:8080", true},
		{"0.0.0.0:8080", "[::1]:8080", false}, // IPv4 only
		{"0.0.0.0:8080", "localhost:8080", true},
		{"LocalHost:8080", "localhost:8080", true},
		{"[::ffff:127.0.0.1]:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:http", "127.0.0.1:80", true},
		{":0", ":0", false}, // two free ports
		{"garbage", ":8080", false},
	}
	for _, tt := range tests {
		if got := overlap(tt.a, tt.b); got != tt.want {
			t.Errorf("overlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := overlap(tt.b, tt.a); got != tt.want {
			t.Errorf("overlap(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// Two listeners of one configuration on one address are refused by
// validate, at the later key (atk9f F7: validate said ok, serve then
// failed to bind its own second port).
func TestValidateRefusesListenersOnOneAddress(t *testing.T) {
	const cfg = "listen: %s\ndata_dir: d\ngateway:\n  listen: %s\n  routes: [{name: shop, upstreams: [\"http://127.0.0.1:24092\"]}]\nforward_auth:\n  listen: %s\n  grpc_listen: %s\n  trusted_proxies: [127.0.0.1]\n  routes: [{name: shop}]\n"
	tests := []struct {
		name               string
		main, gw, fa, grpc string
		want               string
	}{
		{"all apart", "127.0.0.1:38080", "127.0.0.1:38443", "127.0.0.1:39191", "127.0.0.1:39192", ""},
		{"gateway on the main address", "127.0.0.1:38080", "127.0.0.1:38080", "127.0.0.1:39191", "127.0.0.1:39192",
			"DIR/lockgate.yaml:4:11: gateway.listen: 127.0.0.1:38080 overlaps listen (127.0.0.1:38080): serve cannot listen on both"},
		{"forward auth on every address of the main port", "127.0.0.1:38080", "127.0.0.1:38443", ":38080", "127.0.0.1:39192",
			"DIR/lockgate.yaml:7:11: forward_auth.listen: :38080 overlaps listen (127.0.0.1:38080): serve cannot listen on both"},
		{"gRPC on the gateway's port, IPv6 wildcard", "127.0.0.1:38080", "0.0.0.0:38443", "127.0.0.1:39191", "[::]:38443",
			"DIR/lockgate.yaml:8:16: forward_auth.grpc_listen: [::]:38443 overlaps gateway.listen (0.0.0.0:38443): serve cannot listen on both"},
		// rechk9: localhost is 127.0.0.1 here.
		{"gateway on the main address by name", "127.0.0.1:38080", "localhost:38080", "127.0.0.1:39191", "127.0.0.1:39192",
			"DIR/lockgate.yaml:4:11: gateway.listen: localhost:38080 overlaps listen (127.0.0.1:38080): serve cannot listen on both"},
		{"gRPC and HTTP forward auth, written alike", "127.0.0.1:38080", "127.0.0.1:38443", "127.0.0.1:39191", "127.0.0.1:39191",
			"DIR/lockgate.yaml:8:16: forward_auth.grpc_listen: must differ from listen"},
		{"gRPC and HTTP forward auth, written differently", "127.0.0.1:38080", "127.0.0.1:38443", "0.0.0.0:39191", "127.0.0.1:39191",
			"DIR/lockgate.yaml:8:16: forward_auth.grpc_listen: 127.0.0.1:39191 overlaps forward_auth.listen (0.0.0.0:39191): serve cannot listen on both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := validateIn(t, fmt.Sprintf(cfg, tt.main, quoted(tt.gw), quoted(tt.fa), quoted(tt.grpc)), nil, nil)
			if tt.want == "" {
				if !ok {
					t.Fatalf("validate refused:\n%s", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("validate said\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// quoted writes a listen address as a YAML string ("[::]:1" would be a list).
func quoted(s string) string { return `"` + s + `"` }
