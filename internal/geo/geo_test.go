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
		{"fe80::1", ""},
		{"ff02::1", ""},
		{"0.0.0.0", ""},
	} {
		if got := Country(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Country(%s) = %q, want %q", tt.ip, got, tt.want)
		}
		loc, err := Embedded{}.Lookup(netip.MustParseAddr(tt.ip))
		if err != nil || loc != (Location{Country: tt.want}) {
			t.Errorf("Embedded.Lookup(%s) = %+v, %v", tt.ip, loc, err)
		}
	}
	if got := Country(netip.Addr{}); got != "" {
		t.Errorf("zero Addr: %q", got)
	}
}

func TestRegionCode(t *testing.T) {
	for _, tt := range []struct{ region, want string }{
		{"US-CA", "CA"}, {"GB-ENG", "ENG"}, {"JP-13", "13"}, {"", ""}, {"US", ""}, {"US-", ""},
	} {
		if got := (Location{Region: tt.region}).RegionCode(); got != tt.want {
			t.Errorf("RegionCode(%q) = %q, want %q", tt.region, got, tt.want)
		}
	}
}
