// Package geotest writes MaxMind-format databases for tests, with
// maxmind/mmdbwriter, laid out as GeoLite2 City and Country databases
// are. Only tests import it.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Record is one network of a test database.
type Record struct {
	Network string // CIDR
	Country string // ISO 3166-1 alpha-2
	Region  string // ISO 3166-2 subdivision code without the country ("CA")
	City    string
}

// Records are real public networks with the country the embedded
// IP2Location LITE data gives them, and a region and city as GeoLite2
// City would.
var Records = []Record{
	{"8.8.8.0/24", "US", "CA", "Mountain View"},
	{"24.48.0.0/24", "CA", "QC", "Montreal"},
	{"81.2.69.0/24", "GB", "ENG", "London"},
	{"89.160.20.0/24", "SE", "E", "Linköping"},
	{"1.1.1.0/24", "AU", "", ""},
	{"175.16.199.0/24", "CN", "JL", "Changchun"},
	{"77.88.8.0/24", "RU", "MOW", "Moscow"},
	{"200.160.2.0/24", "BR", "SP", "São Paulo"},
	{"2001:4860:4860::/48", "US", "CA", "Mountain View"},
	{"2001:218::/32", "JP", "13", "Tokyo"},
	{"2a02:ec0::/32", "FR", "IDF", "Paris"},
}

// Kind says which database layout to write.
type Kind string

// The layouts.
const (
	City    Kind = "GeoLite2-City"
	Country Kind = "GeoLite2-Country"
)

// Write writes recs as a database of kind to a new file in t's temporary
// directory and returns its path.
func Write(t testing.TB, kind Kind, recs []Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), string(kind)+".mmdb")
	WriteFile(t, path, kind, recs)
	return path
}

// WriteFile writes recs as a database of kind to path, replacing it
// through a rename as geoipupdate does.
func WriteFile(t testing.TB, path string, kind Kind, recs []Record) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: string(kind), RecordSize: 24, IPVersion: 6, Languages: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		_, n, err := net.ParseCIDR(r.Network)
		if err != nil {
			t.Fatalf("geotest: %v", err)
		}
		if err := tree.Insert(n, value(kind, r)); err != nil {
			t.Fatalf("geotest: %s: %v", r.Network, err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func value(kind Kind, r Record) mmdbtype.Map {
	country := mmdbtype.Map{"iso_code": mmdbtype.String(r.Country), "names": mmdbtype.Map{"en": mmdbtype.String(r.Country)}}
	m := mmdbtype.Map{"country": country, "registered_country": country}
	if kind == City {
		if r.Region != "" {
			m["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(r.Region)}}
		}
		if r.City != "" {
			m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(r.City)}}
		}
	}
	return m
}
