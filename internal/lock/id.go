package lock

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// lastStamp is the last (milliseconds << 16 | sequence) handed out.
var lastStamp atomic.Uint64

// newID returns prefix_ + 32 hex digits: 48 bits of milliseconds, a 16-bit
// sequence, then 64 random bits (UUIDv7's counter method). IDs made by one
// process sort in the order they were made, even within a millisecond or
// when the clock steps back, so attempts page by ID without gaps.
func newID(prefix string, now time.Time) string {
	stamp := uint64(now.UnixMilli()) << 16
	for {
		last := lastStamp.Load()
		next := max(stamp, last+1)
		if lastStamp.CompareAndSwap(last, next) {
			stamp = next
			break
		}
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], stamp)
	if _, err := rand.Read(b[8:]); err != nil {
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
