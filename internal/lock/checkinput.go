package lock

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// checkFields are CheckInput's JSON names, which encoding/json matches
// without regard to case.
var checkFields = [...]string{"userIP", "userDevice", "userLocation", "integrationType", "integrationData"}

// DecodeCheckInput reads a lock-check body of the shape integrations send
// without encoding/json's reflection: an object of the known members,
// strings without escapes, integrationData any value. ok is false when
// the body is anything else (escapes, invalid UTF-8, a member twice or
// named in another case, null, trailing data); the caller then decodes it
// with encoding/json, whose answer — value or error — is the reference.
// When ok, the result is what encoding/json decodes.
func DecodeCheckInput(b []byte) (in CheckInput, ok bool) {
	if !utf8.Valid(b) {
		return in, false
	}
	s := jsonScan{b: b}
	if !s.object() {
		return in, false
	}
	var seen uint8
	var texts [4][]byte // the string members' bytes, in checkFields' order
	for first := true; ; first = false {
		name, ok := s.nextMember(first)
		if !ok {
			return CheckInput{}, false
		}
		if name == nil {
			break
		}
		field := -1
		for i, n := range checkFields {
			if string(name) == n {
				field = i
				break
			}
		}
		if field < 0 {
			for _, c := range name {
				if c >= utf8.RuneSelf {
					return CheckInput{}, false
				}
			}
			for _, n := range checkFields {
				if bytes.EqualFold(name, []byte(n)) {
					return CheckInput{}, false
				}
			}
			s.skip(0)
			if s.bad {
				return CheckInput{}, false
			}
			continue
		}
		if seen&(1<<field) != 0 {
			return CheckInput{}, false
		}
		seen |= 1 << field
		if field == 4 {
			s.peek()
			start := s.i
			s.skip(0)
			if s.bad {
				return CheckInput{}, false
			}
			in.IntegrationData = bytes.Clone(b[start:s.i])
			continue
		}
		v, ok := s.strValue()
		if !ok {
			return CheckInput{}, false
		}
		texts[field] = v
	}
	if !s.end() {
		return CheckInput{}, false
	}
	// The text members become one string, cut in four: one allocation
	// instead of one each. They live as long as one another, in the
	// attempt.
	var all strings.Builder
	all.Grow(len(texts[0]) + len(texts[1]) + len(texts[2]) + len(texts[3]))
	for _, t := range texts {
		all.Write(t)
	}
	rest := all.String()
	for i, dst := range [...]*string{&in.UserIP, &in.UserDevice, &in.UserLocation, &in.IntegrationType} {
		*dst, rest = rest[:len(texts[i])], rest[len(texts[i]):]
	}
	return in, true
}
