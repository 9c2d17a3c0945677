package gateway

import (
	"bufio"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/gaissmai/bart"
)

// The checks of forward.go run on every request: an ordinary request
// (no repeated header, nothing to strip) costs them no allocation.
func TestForwardChecksAllocateNothing(t *testing.T) {
	raw := "GET /shop/items?id=7;x=1 HTTP/1.1\r\nHost: Shop.Example.:8443\r\nUser-Agent: Mozilla/5.0\r\n" +
		"Accept: */*\r\nAccept-Language: en\r\nCookie: s=1\r\nX-Forwarded-For: 203.0.113.1\r\nConnection: keep-alive\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAddr = "192.0.2.1:5000"
	st := &state{cfg: DefaultConfig(), trusted: &bart.Lite{}, header: "X-Forwarded-For"}
	ip := netip.MustParseAddr("192.0.2.1")
	allocs := testing.AllocsPerRun(100, func() {
		if routeHost(r.Host) != "Shop.Example" {
			t.Fatal("host")
		}
		refused, s := st.screen(r)
		if refused != "" || s != stripConnection {
			t.Fatalf("%q %b", refused, s)
		}
		st.prepare(r, ip, s)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations a request", allocs)
	}
}

func TestRouteHost(t *testing.T) {
	for in, want := range map[string]string{
		"shop.test": "shop.test", "SHOP.Test.": "SHOP.Test", "shop.test.:80": "shop.test", "shop.test:8080": "shop.test",
		"[2001:db8::1]:443": "[2001:db8::1]", "[2001:DB8::1]": "[2001:DB8::1]", "": "", "192.0.2.1:80": "192.0.2.1",
	} {
		if got := routeHost(in); got != want {
			t.Errorf("routeHost(%q) = %q, want %q", in, got, want)
		}
	}
}
