package geo

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/text/language"
)

// CountryProblem says what is wrong with an ISO 3166-1 alpha-2 code, ""
// when nothing. golang.org/x/text knows the assigned codes, so a typo
// (UK for GB) is named instead of silently fencing a country out.
func CountryProblem(cc string) string {
	if !isAlpha2(cc) {
		return "is not an ISO 3166-1 alpha-2 country code (US)"
	}
	r, err := language.ParseRegion(cc)
	if err != nil || !r.IsCountry() {
		return "is not an assigned ISO 3166-1 country code"
	}
	if canon := r.Canonicalize().String(); canon != cc {
		return fmt.Sprintf("is not the ISO 3166-1 code: use %s", canon)
	}
	return ""
}

var regionRe = regexp.MustCompile(`^([A-Z]{2})-[A-Z0-9]{1,3}$`)

// RegionProblem says what is wrong with an ISO 3166-2 code (US-CA), ""
// when nothing. Its country must be assigned; the subdivision part is
// checked for form only.
func RegionProblem(code string) string {
	m := regionRe.FindStringSubmatch(code)
	if m == nil {
		return "is not an ISO 3166-2 code (US-CA)"
	}
	return CountryProblem(m[1])
}

// NormalizeCodes upper-cases and trims codes, and reports the first
// problem (with its index) through check.
func NormalizeCodes(codes []string, check func(string) string) (out []string, bad int, problem string) {
	for i, c := range codes {
		c = strings.ToUpper(strings.TrimSpace(c))
		if p := check(c); p != "" {
			return nil, i, p
		}
		out = append(out, c)
	}
	return out, -1, ""
}
