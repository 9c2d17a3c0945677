package analyze

import (
	"bytes"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// indexAVX2 is indexBlocksGo with AVX2: 32 bytes a comparison. blocks is
// at least 1.
//
//go:noescape
func indexAVX2(b *byte, blocks int, m *uint64) (irregular, high bool)

// indexLineAVX512 finds the end of the line at b among n bytes and
// indexes the line, in one pass: see scan_amd64.s. n is at least 1; m
// has room for 3·⌈n/64⌉ words.
//
//go:noescape
func indexLineAVX512(b *byte, n int, m *uint64) (end, irregular, high int)

var indexBlocks = func() func([]byte, []uint64) (bool, bool) {
	if cpu.X86.HasAVX2 {
		return indexBlocksAVX2
	}
	return indexBlocksGo
}()

func indexBlocksAVX2(b []byte, m []uint64) (irregular, high bool) {
	if len(b) < 64 {
		return false, false
	}
	_ = m[3*(len(b)/64)-1]
	return indexAVX2(&b[0], len(b)/64, &m[0])
}

// indexLineFast is lineAVX512 when the CPU has AVX-512BW (and the BMI1,
// BMI2 and POPCNT instructions the routine uses), else nil.
var indexLineFast = func() func(*lineIndex, []byte, int) int {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasBMI1 && cpu.X86.HasBMI2 && cpu.X86.HasPOPCNT {
		return lineAVX512
	}
	return nil
}()

// lineAVX512 is lineGeneric in one pass over the line instead of two
// (bytes.IndexByte for the line end, then the index).
func lineAVX512(x *lineIndex, d []byte, base int) int {
	x.ok, x.high, x.base = false, true, base
	if len(d) == 0 {
		x.m, x.ok, x.high = x.m[:0], true, false
		return -1
	}
	if cap(x.m) < maxIndexWords {
		x.m = make([]uint64, 0, maxIndexWords)
	}
	n := min(len(d), maxIndexed+1)
	m := x.m[:cap(x.m)]
	end, irregular, high := indexLineAVX512(unsafe.SliceData(d), n, &m[0])
	nl := end < n
	blocks := (n + 63) / 64
	if nl {
		blocks = end/64 + 1
	}
	x.m = m[:3*blocks]
	if !nl && n < len(d) {
		// Longer than maxIndexed: not indexed.
		if i := bytes.IndexByte(d[n:], '\n'); i >= 0 {
			return n + i
		}
		return -1
	}
	if end > 0 && d[end-1] == '\r' {
		irregular-- // a CRLF line end's CR (see index)
	}
	x.ok = end <= maxIndexed && irregular == 0
	x.high = high != 0
	if nl {
		return end
	}
	return -1
}
