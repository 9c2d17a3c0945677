package geo_test

import (
	"net/netip"
	"testing"

	"github.com/phuslu/iploc"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/geo/geotest"
)

var benchAddrs = []netip.Addr{
	netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("175.16.199.1"),
	netip.MustParseAddr("2001:218::1"), netip.MustParseAddr("2a02:ec0::1"), netip.MustParseAddr("24.48.0.1"),
}

var sink string

// BenchmarkIPLoc is the baseline: phuslu/iploc called directly.
func BenchmarkIPLoc(b *testing.B) {
	for _, ip := range benchAddrs { // unpacks the IPv6 data once, outside the timing
		iploc.IPCountry(ip)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink = iploc.IPCountry(benchAddrs[i%len(benchAddrs)])
	}
}

// BenchmarkLookupEmbedded is lockgate's lookup over the same data.
func BenchmarkLookupEmbedded(b *testing.B) {
	db, _ := geo.Open(geo.Config{}, nil)
	for _, ip := range benchAddrs {
		db.Lookup(ip)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l, _ := db.Lookup(benchAddrs[i%len(benchAddrs)])
		sink = l.Country
	}
}

// BenchmarkLookupMMDB reads a City database written by mmdbwriter.
func BenchmarkLookupMMDB(b *testing.B) {
	db, err := geo.Open(geo.Config{DatabaseFile: config.Path(geotest.Write(b, geotest.City, geotest.Records))}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l, _ := db.Lookup(benchAddrs[i%len(benchAddrs)])
		sink = l.Region
	}
}

func BenchmarkLookupMMDBParallel(b *testing.B) {
	db, err := geo.Open(geo.Config{DatabaseFile: config.Path(geotest.Write(b, geotest.City, geotest.Records))}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			db.Lookup(benchAddrs[i%len(benchAddrs)])
			i++
		}
	})
}
