package geo

import (
	"fmt"
	"net/netip"
	"os"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
)

// MMDB is a MaxMind-format database read from a file: GeoLite2 or GeoIP2
// Country or City, DB-IP lite, or another database with the same layout.
// It is safe for concurrent use.
//
// The file is read into memory rather than memory-mapped: geoipupdate
// replaces files by renaming, but an operator copying a new file over the
// old one would truncate a mapping under the readers and crash the
// process with SIGBUS. A City database is about 60 MB.
type MMDB struct {
	r      *maxminddb.Reader
	source string

	// cache holds each record decoded once, by its offset in the data
	// section: a record is shared by every network of a place, so a
	// database has far fewer records than networks, and a lookup that
	// finds its record here allocates nothing. It never holds more
	// entries than the database has records (bounded again by
	// maxCachedRecords).
	mu    sync.RWMutex
	cache map[uintptr]Location
}

const maxCachedRecords = 1 << 20

// OpenMMDB reads a MaxMind-format database file.
func OpenMMDB(path string) (*MMDB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	db, err := MMDBFromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

// MMDBFromBytes reads a database held in memory; data must not change
// afterwards.
func MMDBFromBytes(data []byte) (*MMDB, error) {
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, fmt.Errorf("not a MaxMind DB file: %w", err)
	}
	if r.Metadata.IPVersion != 4 && r.Metadata.IPVersion != 6 {
		return nil, fmt.Errorf("not a MaxMind DB file: ip_version %d", r.Metadata.IPVersion)
	}
	src := r.Metadata.DatabaseType
	if src == "" {
		src = "mmdb"
	}
	return &MMDB{r: r, source: src, cache: map[uintptr]Location{}}, nil
}

// Source is the database's type as its metadata names it
// ("GeoLite2-City", "DBIP-City-Lite").
func (m *MMDB) Source() string { return m.source }

// record is what lockgate reads of a record, in GeoIP2's layout (which
// DB-IP lite shares). Flat layouts with a top-level country_code are
// read too.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	CountryCode  string `maxminddb:"country_code"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
}

// Lookup implements Locator. An address the database does not hold has
// the zero Location; a record that cannot be decoded is an error.
func (m *MMDB) Lookup(ip netip.Addr) (Location, error) {
	res := m.r.Lookup(ip.Unmap())
	if err := res.Err(); err != nil {
		return Location{}, err
	}
	if !res.Found() {
		return Location{}, nil
	}
	off := res.Offset()
	m.mu.RLock()
	loc, ok := m.cache[off]
	m.mu.RUnlock()
	if ok {
		return loc, nil
	}
	var rec record
	if err := res.Decode(&rec); err != nil {
		return Location{}, fmt.Errorf("geo: %s record for %s: %w", m.source, ip, err)
	}
	loc = rec.location()
	m.mu.Lock()
	if len(m.cache) < maxCachedRecords {
		m.cache[off] = loc
	}
	m.mu.Unlock()
	return loc, nil
}

// location keeps what is well formed: a country that is two capital
// letters, a region only under a country.
func (r *record) location() Location {
	var l Location
	for _, cc := range []string{r.Country.ISOCode, r.CountryCode, r.RegisteredCountry.ISOCode} {
		if isAlpha2(cc) {
			l.Country = cc
			break
		}
	}
	if l.Country == "" {
		return l
	}
	if len(r.Subdivisions) > 0 {
		if sub := r.Subdivisions[0].ISOCode; isSubdivision(sub) {
			l.Region = l.Country + "-" + sub
		}
	}
	l.City = r.City.Names.EN
	return l
}

// isAlpha2 reports whether s is written as an ISO 3166-1 alpha-2 code.
func isAlpha2(s string) bool {
	return len(s) == 2 && upper(s[0]) && upper(s[1])
}

// isSubdivision reports whether s is written as the part of an ISO
// 3166-2 code after the country: one to three letters or digits.
func isSubdivision(s string) bool {
	if len(s) == 0 || len(s) > 3 {
		return false
	}
	for i := range len(s) {
		if !upper(s[i]) && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

func upper(b byte) bool { return 'A' <= b && b <= 'Z' }
