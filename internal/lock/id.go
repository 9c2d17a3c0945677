package lock

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// newID returns prefix_ + 32 hex digits: 48 bits of milliseconds then 80
// random bits, so IDs sort by creation time (attempts page by ID).
func newID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("lock: crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// newSecret returns n random bytes.
func newSecret(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("lock: crypto/rand failed: " + err.Error())
	}
	return b
}

// NewToken returns a bearer token: "lg_" and 256 random bits.
func NewToken() string {
	return "lg_" + base64.RawURLEncoding.EncodeToString(newSecret(32))
}

// HashToken is how bearer tokens are stored: a lookup by the SHA-256 of a
// 256-bit random token reveals nothing by its timing, and a stolen
// database holds no usable token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
