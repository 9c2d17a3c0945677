package geo

import (
	"net/netip"
	"testing"
)

func TestCountry(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"8.8.8.8", "US"},
		{"1.1.1.1", "AU"},
		{"::ffff:8.8.8.8", "US"},
		{"2001:4860:4860::8888", "US"},
		{"10.1.2.3", ""},
		{"127.0.0.1", ""},
		{"::1", ""},
	} {
		if got := Country(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Country(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
	if got := Country(netip.Addr{}); got != "" {
		t.Errorf("zero Addr: %q", got)
	}
}
