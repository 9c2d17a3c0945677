package config

import "strings"

// IsHeaderName reports whether name is an HTTP field name: a token of
// RFC 9110 section 5.1 ("field-name = token"; tchar is a letter, a digit
// or one of !#$%&'*+-.^_`|~). A secret header configured with any other
// character could never be sent, so every request would be refused.
func IsHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
