package lock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Checks of a token's header and claims that golang-jwt does not make,
// applied on both verification paths (the fast path leaves every token
// they could refuse to the golang-jwt path, where these run).
//
// encoding/json, which golang-jwt decodes with, keeps the last of
// duplicate members, matches member names without regard to case (with
// Unicode folding: "ſub" is "sub"), turns invalid UTF-8 into U+FFFD, and
// converts a number like 1e300 to a time by a float-to-integer overflow.
// Each would let a token mean something its signer did not write.

// maxNumericDate bounds exp, nbf and iat: seconds since 1970 up to about
// the year 5138. Beyond it a date is no date lockgate can compare (int64
// nanoseconds end in 2262; float seconds convert by overflow).
const maxNumericDate = 1e11

// jweHeader are members that make a JOSE header a JWE's (RFC 7516
// §4.1.2 enc, §4.1.3 zip): such a token is encrypted or compressed, not a
// signed JWT lockgate can read.
var jweHeader = [...]string{"enc", "zip"}

// checkHeader refuses a JOSE header that is not valid UTF-8 JSON (RFC 7515
// §5.2 step 3), holds a member twice (§5.2 step 4 lets a parser reject
// it) or is a JWE header.
func checkHeader(b []byte) error {
	return eachMember(b, "header", func(name string, _ json.RawMessage) error {
		for _, n := range jweHeader {
			if name == n {
				return fmt.Errorf("header has %q, a JWE member: lockgate reads signed tokens only", name)
			}
		}
		return nil
	})
}

// registeredClaims are the claim names lockgate reads.
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// checkClaims refuses a claims set that is not valid UTF-8 JSON, holds a
// claim twice, or holds a member whose name is a registered claim's in
// another case: RFC 7519 §4, "The Claim Names within a JWT Claims Set
// MUST be unique", and names are compared as strings, so "SUB" is not
// "sub" — refusing it rather than ignoring it keeps encoding/json from
// reading it as sub. exp, nbf and iat must be JSON numbers within range;
// their exact values are returned.
func checkClaims(b []byte) (dates tokenDates, err error) {
	err = eachMember(b, "claims", func(name string, v json.RawMessage) error {
		for _, n := range registeredClaims {
			if name != n && strings.EqualFold(name, n) {
				return fmt.Errorf("claim %q is %q in another case: claim names are case-sensitive", name, n)
			}
		}
		var t *time.Time
		switch name {
		case "exp":
			t = &dates.exp
		case "nbf":
			t, dates.hasNbf = &dates.nbf, true
		case "iat":
			t, dates.hasIat = &dates.iat, true
		default:
			return nil
		}
		f, err := numericDate(v)
		if err != nil {
			return fmt.Errorf("%s %w", name, err)
		}
		*t = dateTime(f)
		dates.hasExp = dates.hasExp || name == "exp"
		return nil
	})
	return dates, err
}

// tokenDates are exp, nbf and iat at full precision.
type tokenDates struct {
	exp, nbf, iat          time.Time
	hasExp, hasNbf, hasIat bool
}

// numericDate reads a NumericDate (RFC 7519 §2: "A JSON numeric value"):
// a number, finite, from 0 to maxNumericDate.
func numericDate(raw []byte) (float64, error) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, errors.New("is not a JSON number")
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || !(f >= 0 && f < maxNumericDate) {
		return 0, fmt.Errorf("is %s, not a date from 1970 to about 5000", raw)
	}
	return f, nil
}

// dateTime converts seconds to a time to the nanosecond, rounding a
// fraction up: dates are compared exactly, not truncated to whole seconds
// as golang-jwt does, which moved nbf and iat earlier and shortened a
// lifetime — the lenient way. The fraction stays within its second, so
// the expiry check's rounding down gives golang-jwt's whole second.
func dateTime(f float64) time.Time {
	whole, frac := math.Modf(f)
	return time.Unix(int64(whole), min(int64(math.Ceil(frac*1e9)), 999_999_999))
}

// eachMember calls fn with the name and value of each member of the JSON
// object b, refusing invalid UTF-8, anything but one object, and a name
// met twice (after unescaping, as encoding/json compares them).
func eachMember(b []byte, what string, fn func(name string, v json.RawMessage) error) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("%s is not a JSON object", what)
	}
	seen := make(map[string]bool, 8)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return fmt.Errorf("%s has %q twice", what, name)
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%s: %q: %v", what, name, err)
		}
		if err := fn(name, v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: trailing data after the object", what)
	}
	return nil
}
