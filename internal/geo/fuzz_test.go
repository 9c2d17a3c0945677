package geo_test

import (
	"net/netip"
	"os"
	"testing"

	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/geo/geotest"
)

// A database file is input from outside: whatever its bytes, opening and
// looking up return errors, never panic.
func FuzzMMDB(f *testing.F) {
	data, err := os.ReadFile(geotest.Write(f, geotest.City, geotest.Records[:3]))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("\xab\xcd\xefMaxMind.com"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := geo.MMDBFromBytes(data)
		if err != nil {
			return
		}
		for _, ip := range []string{"8.8.8.8", "24.48.0.1", "2001:218::1", "0.0.0.0", "::"} {
			db.Lookup(netip.MustParseAddr(ip))
		}
	})
}
