package config

import "fmt"

// minKeyEntropy is the Shannon entropy per byte, estimated from a key's
// own byte counts (and from those of the steps between its bytes), under
// which a 32-byte key is not random: 32 random bytes never came under 4.2
// bits in 300,000 draws, while a key made of at most 11 byte values, or
// of a few steps repeated, comes under 3.5.
const minKeyEntropy = 3.5

// WeakKey reports why key, binary key material as decoded from base64 or
// hex, is not random ("" when it may be): Placeholder judges only the
// text that spells a key, and base64 of "change-me-change-me-change-me-12"
// or of the bytes 0, 1, 2, … 31 spells nothing it recognises. A key whose
// bytes are all printable ASCII is typed text (32 random bytes are so
// once in 10^14) and goes through Placeholder as an admin token does;
// other keys are refused when they repeat one pattern, have too few
// different bytes, or are a sequence (bytes a few steps apart, such as
// 0x00…0x1f).
func WeakKey(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	text := true
	for _, b := range key {
		if b < 0x20 || b > 0x7e {
			text = false
			break
		}
	}
	if text {
		// Typed text: judged as an admin token is. 32 printable
		// characters chosen at random still hold some 200 bits.
		if reason := Placeholder(string(key)); reason != "" {
			return "is text that " + reason
		}
		return ""
	}
	if repetitive(string(key)) {
		return "repeats one pattern of bytes"
	}
	if h := entropy(string(key)); h < minKeyEntropy {
		return fmt.Sprintf("has about %.1f bits of entropy per byte (%d different bytes), under the %.1f of any random key", h, distinct(string(key)), minKeyEntropy)
	}
	if len(key) > 1 {
		steps := make([]byte, len(key)-1)
		for i := range steps {
			steps[i] = key[i+1] - key[i]
		}
		if h := entropy(string(steps)); h < minKeyEntropy {
			return "is a sequence: its bytes go up or down by a few steps repeated"
		}
	}
	return ""
}
