package waf

import (
	"net/netip"
	"sync"
)

// GeoLocator locates client addresses for GeoMatch statements. It is all
// the engine needs of a geolocation database: lockgate's embedded country
// database (internal/geo, wrapped in CountryFunc) implements it, and so
// can a region-aware database (MaxMind's format, for one). waf itself
// ships no database, so that importing it does not import one.
type GeoLocator interface {
	// Locate returns the ISO 3166-1 alpha-2 code of the address's
	// country and the ISO 3166-2 subdivision code of its region without
	// the country prefix ("CA" for California, whose ISO 3166-2 code is
	// US-CA); "" for what is unknown.
	Locate(ip netip.Addr) (country, region string)
}

// CountryFunc is a GeoLocator that knows countries only.
type CountryFunc func(netip.Addr) string

// Locate implements GeoLocator.
func (f CountryFunc) Locate(ip netip.Addr) (country, region string) { return f(ip), "" }

// Country is the country the engine's GeoLocator gives ip, "" when
// unknown or when the engine has none: what a log record's
// httpRequest.country shows.
func (e *Engine) Country(ip netip.Addr) string {
	if e.geo == nil {
		return ""
	}
	cc, _ := e.geo.Locate(ip)
	return cc
}

// unknownCountry is the country code of an address AWS WAF cannot place.
const unknownCountry = "XX"

// geoMatch is a GeoMatchStatement. Like AWS WAF it labels every request
// it inspects with the country (XX when unknown) and, when the locator
// knows it, the region, whether or not the country is one it matches.
type geoMatch struct {
	countries []string
	fwd       *ForwardedIPConfig
	geo       GeoLocator
	source    int // clientip or forwardedip
	regions   *regionLabels
}

func newGeoMatch(g *GeoMatchStatement, loc GeoLocator) *geoMatch {
	m := &geoMatch{countries: g.CountryCodes, fwd: g.ForwardedIPConfig, geo: loc, regions: &regionLabels{m: map[[2]string]string{}}}
	if g.ForwardedIPConfig != nil {
		m.source = 1
	}
	return m
}

var geoSources = [2]string{"awswaf:clientip:geo:", "awswaf:forwardedip:geo:"}

func (m *geoMatch) match(st *evalState) bool {
	ip, present, invalid := clientIP(st, m.fwd)
	if !present {
		return false
	}
	if invalid {
		if m.fwd == nil {
			return fallbackMatch(st, "", false)
		}
		return fallbackMatch(st, m.fwd.FallbackBehavior, true)
	}
	cc, region := m.geo.Locate(ip)
	if !isCountryCode(cc) {
		cc, region = unknownCountry, ""
	}
	st.addLabel(countryLabel(m.source, cc))
	if region != "" {
		st.addLabel(m.regions.label(m.source, cc, region))
	}
	for _, c := range m.countries {
		if c == cc {
			return true
		}
	}
	return false
}

func isCountryCode(cc string) bool {
	return len(cc) == 2 && 'A' <= cc[0] && cc[0] <= 'Z' && 'A' <= cc[1] && cc[1] <= 'Z'
}

// countryLabels holds every awswaf:…:geo:country:CC label, so that
// labelling a request allocates nothing.
var (
	countryLabelsOnce sync.Once
	countryLabels     [2][26 * 26]string
)

func countryLabel(source int, cc string) string {
	countryLabelsOnce.Do(func() {
		for s, prefix := range geoSources {
			for i := range 26 * 26 {
				countryLabels[s][i] = prefix + "country:" + string(rune('A'+i/26)) + string(rune('A'+i%26))
			}
		}
	})
	return countryLabels[source][int(cc[0]-'A')*26+int(cc[1]-'A')]
}

// regionLabels remembers the region labels of one statement, so that a
// busy region costs one allocation, not one per request. It stops
// remembering at maxRegionLabels (ISO 3166-2 has about 5,000 codes).
type regionLabels struct {
	mu sync.RWMutex
	m  map[[2]string]string // {country, region} → label
}

const maxRegionLabels = 8192

func (r *regionLabels) label(source int, cc, region string) string {
	key := [2]string{cc, region}
	r.mu.RLock()
	l, ok := r.m[key]
	r.mu.RUnlock()
	if ok {
		return l
	}
	l = geoSources[source] + "region:" + cc + "-" + region
	r.mu.Lock()
	if len(r.m) < maxRegionLabels {
		r.m[key] = l
	}
	r.mu.Unlock()
	return l
}
