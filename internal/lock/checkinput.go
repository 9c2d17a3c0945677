package lock

import (
	"bytes"
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
		switch field {
		case 0:
			in.UserIP = string(v)
		case 1:
			in.UserDevice = string(v)
		case 2:
			in.UserLocation = string(v)
		case 3:
			in.IntegrationType = string(v)
		}
	}
	if !s.end() {
		return CheckInput{}, false
	}
	return in, true
}
