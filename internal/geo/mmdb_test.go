package geo_test

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/geo/geotest"
)

func TestMMDBCityAndCountry(t *testing.T) {
	city, err := geo.OpenMMDB(geotest.Write(t, geotest.City, geotest.Records))
	if err != nil {
		t.Fatal(err)
	}
	country, err := geo.OpenMMDB(geotest.Write(t, geotest.Country, geotest.Records))
	if err != nil {
		t.Fatal(err)
	}
	if city.Source() != "GeoLite2-City" || country.Source() != "GeoLite2-Country" {
		t.Errorf("sources %q, %q", city.Source(), country.Source())
	}
	for _, tt := range []struct {
		ip   string
		city geo.Location
	}{
		{"8.8.8.8", loc("US", "US-CA", "Mountain View")},
		{"::ffff:8.8.8.8", loc("US", "US-CA", "Mountain View")},
		{"24.48.0.1", loc("CA", "CA-QC", "Montreal")},
		{"81.2.69.142", loc("GB", "GB-ENG", "London")},
		{"89.160.20.112", loc("SE", "SE-E", "Linköping")},
		{"1.1.1.1", loc("AU", "", "")},
		{"2001:4860:4860::8888", loc("US", "US-CA", "Mountain View")},
		{"2001:218::1", loc("JP", "JP-13", "Tokyo")},
		{"2a02:ec0::1", loc("FR", "FR-IDF", "Paris")},
		{"9.9.9.9", geo.Location{}},     // not in the database
		{"2001:db8::1", geo.Location{}}, // documentation range
		{"10.0.0.1", geo.Location{}},    // private
	} {
		ip := netip.MustParseAddr(tt.ip)
		got, err := city.Lookup(ip)
		if err != nil || got != tt.city {
			t.Errorf("City %s = %+v, %v; want %+v", tt.ip, got, err, tt.city)
		}
		got, err = country.Lookup(ip)
		if want := (geo.Location{Country: tt.city.Country}); err != nil || got != want {
			t.Errorf("Country %s = %+v, %v; want %+v", tt.ip, got, err, want)
		}
	}
}

// The embedded IP2Location LITE data and a MaxMind-format database built
// from the same facts answer alike, for every network of the test
// database, at its edges and inside it, IPv4 and IPv6.
func TestEmbeddedAndMMDBAgree(t *testing.T) {
	db, err := geo.OpenMMDB(geotest.Write(t, geotest.City, geotest.Records))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for _, r := range geotest.Records {
		p := netip.MustParsePrefix(r.Network)
		addrs := []netip.Addr{p.Addr(), last(p)}
		for range 50 {
			addrs = append(addrs, random(rng, p))
		}
		for _, ip := range addrs {
			emb, _ := geo.Embedded{}.Lookup(ip)
			mm, err := db.Lookup(ip)
			if err != nil {
				t.Fatal(err)
			}
			if emb.Country != mm.Country || mm.Country != r.Country {
				t.Errorf("%s (in %s): embedded %q, MaxMind %q, want %q", ip, r.Network, emb.Country, mm.Country, r.Country)
			}
			checked++
		}
	}
	if checked != len(geotest.Records)*52 {
		t.Fatalf("checked %d addresses", checked)
	}
}

func loc(country, region, city string) geo.Location {
	return geo.Location{Country: country, Region: region, City: city}
}

func last(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func random(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if rng.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// A record that cannot be decoded is an error for Lookup (the VPN handler
// denies on it) and an unknown place for Locate (the WAF labels it XX).
func TestDamagedRecord(t *testing.T) {
	path := geotest.Write(t, geotest.City, geotest.Records)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Lookup(netip.MustParseAddr("81.2.69.142"))
	start := int(r.Metadata.NodeCount*r.Metadata.RecordSize/4) + 16
	at := start + int(res.Offset())
	data[at], data[at+1] = 0x00, 0xff // an extended type that does not exist
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := geo.Open(geo.Config{DatabaseFile: config.Path(path)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if loc, err := db.Lookup(netip.MustParseAddr("81.2.69.142")); err == nil {
		t.Fatalf("damaged record read as %+v", loc)
	}
	if cc, region := db.Locate(netip.MustParseAddr("81.2.69.142")); cc != "" || region != "" {
		t.Errorf("Locate of a damaged record = %q, %q", cc, region)
	}
	if loc, err := db.Lookup(netip.MustParseAddr("8.8.8.8")); err != nil || loc.Country != "US" {
		t.Errorf("an undamaged record: %+v, %v", loc, err)
	}
}

func TestNotADatabase(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("not a database"), bytes.Repeat([]byte{0xab}, 4096)} {
		if _, err := geo.MMDBFromBytes(data); err == nil || !strings.Contains(err.Error(), "not a MaxMind DB file") {
			t.Errorf("%q: %v", data, err)
		}
	}
}

// Lookups allocate nothing once a record has been read: the gateway
// calls them on every request.
func TestLookupAllocs(t *testing.T) {
	mm, err := geo.Open(geo.Config{DatabaseFile: config.Path(geotest.Write(t, geotest.City, geotest.Records))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := geo.Open(geo.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	v4, v6 := netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("2001:218::1")
	for name, db := range map[string]*geo.DB{"mmdb": mm, "embedded": emb} {
		db.Lookup(v4) // warm: the record is decoded once, the IPv6 data unpacked once
		db.Lookup(v6)
		if n := testing.AllocsPerRun(1000, func() {
			db.Lookup(v4)
			db.Lookup(v6)
			db.Locate(v4)
			db.Country(v6)
		}); n != 0 {
			t.Errorf("%s: %v allocations per lookup", name, n)
		}
	}
}
