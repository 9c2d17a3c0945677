package analyze

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Stage one of the scanner, after simdjson: a line is first indexed,
// 64 bytes at a time, into bitmaps of its quotes and its brackets, and
// when it holds no backslash and no control character (most records: one
// quote then always ends a string, and every string is valid JSON) the
// scanner finds the end of a string from those bits, without looking at
// the bytes between. Lines with a backslash or a control character, and
// very long ones (records concatenated without newlines), are read byte
// by byte, each string checked. The index also notes whether the line
// holds a byte of 0x80 or above: a line of ASCII needs no UTF-8 check.

// maxIndexed is the longest line indexed; an AWS WAF record is a few
// kilobytes.
const maxIndexed = 1 << 16

// lineIndex is the structure of the current line: for each 64-byte block
// from base, three words: its quotes, its opening brackets ({ and [) and
// its closing brackets (} and ]), bit i for byte base+64·block+i.
type lineIndex struct {
	base int
	ok   bool // the line is indexed and has no backslash and no control character
	// high is false when the line holds no byte of 0x80 or above (it is
	// ASCII, valid UTF-8 without a look): true when it does, or when the
	// line is too long to be indexed.
	high bool
	m    []uint64
	tail [64]byte
}

// maxIndexWords is the most words a line's index takes with
// indexLineFast, which may index one byte more than maxIndexed before it
// gives up.
const maxIndexWords = 3 * ((maxIndexed + 1 + 63) / 64)

// line finds the end of the line at the start of d, which starts at base
// in the scanner's data: the offset of its '\n' in d, or -1 when the line
// runs to the end of d; and indexes the line.
func (x *lineIndex) line(d []byte, base int) int {
	if indexLineFast != nil && useIndex != nil {
		return indexLineFast(x, d, base)
	}
	return x.lineGeneric(d, base)
}

// lineGeneric is line in two passes: bytes.IndexByte for the line end,
// then index.
func (x *lineIndex) lineGeneric(d []byte, base int) int {
	i := bytes.IndexByte(d, '\n')
	line := d
	if i >= 0 {
		line = d[:i]
	}
	x.index(line, base)
	return i
}

// index indexes line, which starts at base in the scanner's data.
func (x *lineIndex) index(line []byte, base int) {
	x.ok, x.high = false, true
	if len(line) > maxIndexed || useIndex == nil {
		return
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		// A CRLF line end's CR is no control character inside a string:
		// a string reaching it is cut short, as nextQuote says.
		line = line[:n-1]
	}
	blocks := (len(line) + 63) / 64
	if cap(x.m) < 3*blocks {
		x.m = make([]uint64, 3*blocks, 3*maxIndexed/64)
	}
	x.m = x.m[:3*blocks]
	full := len(line) / 64
	bs, high := useIndex(line[:full*64], x.m)
	if r := len(line) - full*64; r > 0 {
		// The last block is copied into one of spaces: a space is no
		// quote, no bracket, no backslash, no control character and
		// ASCII.
		n := copy(x.tail[:], line[full*64:])
		copy(x.tail[n:], blanks[:])
		bs2, high2 := useIndex(x.tail[:], x.m[3*full:])
		bs, high = bs || bs2, high || high2
	}
	x.base, x.ok, x.high = base, !bs, high
}

var blanks = [64]byte(bytes.Repeat([]byte{' '}, 64))

// useIndex computes the bitmaps of whole 64-byte blocks into m and
// reports whether they hold a backslash or a control character (below
// 0x20), and whether they hold a byte of 0x80 or above; nil disables
// stage one.
var useIndex = indexBlocks

// indexBlocksGo is the portable stage one: eight bytes at a time, each
// comparison's high bits gathered into a byte of the word.
func indexBlocksGo(b []byte, m []uint64) (irregular, high bool) {
	var bsAny, highAny uint64
	for blk := 0; blk*64 < len(b); blk++ {
		var q, o, c uint64
		for j := 0; j < 8; j++ {
			v := binary.LittleEndian.Uint64(b[blk*64+8*j:])
			f := v | lsb*0x20 // { and [ differ in bit 5 only, as } and ]
			q |= gather(eqBytes(v, '"')) << (8 * j)
			o |= gather(eqBytes(f, '{')) << (8 * j)
			c |= gather(eqBytes(f, '}')) << (8 * j)
			bsAny |= eqBytes(v, '\\') | ltBytes(v, ' ')
			highAny |= v
		}
		m[3*blk], m[3*blk+1], m[3*blk+2] = q, o, c
	}
	return bsAny != 0, highAny&msb != 0
}

// eqBytes sets the high bit of every byte of v equal to c, exactly (no
// borrow reaches another byte's high bit).
func eqBytes(v uint64, c byte) uint64 {
	x := v ^ (lsb * uint64(c))
	return ^(((x &^ msb) + ^uint64(msb)) | x) & msb
}

// ltBytes sets the high bit of every byte of v below c (at most 0x80),
// exactly.
func ltBytes(v uint64, c byte) uint64 {
	return ^(v | (v&^msb + lsb*uint64(0x80-c))) & msb
}

// gather packs the high bits of the eight bytes of v into a byte.
func gather(v uint64) uint64 { return ((v >> 7) * 0x0102040810204080) >> 56 }

// nextQuote returns the position of the first quote at or after i in an
// indexed line, or -1.
func (x *lineIndex) nextQuote(i int) int {
	off := uint(i - x.base)
	if w := off >> 6 * 3; w < uint(len(x.m)) {
		if m := x.m[w] >> (off & 63); m != 0 {
			return i + bits.TrailingZeros64(m)
		}
	}
	return x.nextQuoteAfter(int(off >> 6))
}

// nextQuoteAfter returns the position of the first quote in a word after
// w, or -1. It is kept out of line so that nextQuote, whose first word
// usually holds the quote, is inlined.
//
//go:noinline
func (x *lineIndex) nextQuoteAfter(w int) int {
	for w++; 3*w < len(x.m); w++ {
		if m := x.m[3*w]; m != 0 {
			return x.base + w<<6 + bits.TrailingZeros64(m)
		}
	}
	return -1
}
