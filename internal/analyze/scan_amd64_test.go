package analyze

import (
	"bytes"
	"math/rand/v2"
	"syscall"
	"testing"
)

// TestLineAVX512 compares the one-pass AVX-512 line index with the
// two-pass one (bytes.IndexByte, then indexBlocks) on random lines of
// structural bytes, line ends and control characters, around the block
// size and the longest line indexed, and on lines that end at the end of
// mapped memory, where the masked load of the last block must not read
// past it.
func TestLineAVX512(t *testing.T) {
	if indexLineFast == nil {
		t.Skip("no AVX-512BW")
	}
	generic := (*lineIndex).lineGeneric
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "\"\\{}[]ab:,\x00\x1f\x7f\xff\x7b\x5b\x7d\x5d\x3b\x1b\r\n\x8a\x2a"
	lengths := []int{0, 1, 2, 63, 64, 65, 127, 128, 129, 1000, maxIndexed - 1, maxIndexed, maxIndexed + 1, maxIndexed + 2, maxIndexed + 100}
	for range 3000 {
		n := lengths[rng.IntN(len(lengths))]
		if rng.IntN(2) == 0 {
			n = rng.IntN(300)
		}
		d := make([]byte, n)
		for i := range d {
			d[i] = 'a'
			if rng.IntN(8) == 0 {
				d[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		if rng.IntN(3) == 0 {
			// mostly regular lines: no backslash, no control character
			// but the line end, perhaps CRLF
			d = bytes.Map(func(r rune) rune {
				if r < ' ' || r == '\\' {
					return 'a'
				}
				return r
			}, d)
			if len(d) > 1 {
				at := rng.IntN(len(d))
				d[at] = '\n'
				if rng.IntN(2) == 0 && at > 0 {
					d[at-1] = '\r'
				}
			}
		}
		if want, got := lineTrace(generic, d), lineTrace(lineAVX512, d); want != got {
			t.Fatalf("%q:\ntwo passes: %s\none pass:   %s", d, want, got)
		}
	}

	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Skip(err)
	}
	for n := range 200 {
		d := mem[page-n : page]
		for i := range d {
			d[i] = `ab"{}[]`[i%7]
		}
		if want, got := lineTrace(generic, d), lineTrace(lineAVX512, d); want != got {
			t.Fatalf("%d bytes at the end of memory:\ntwo passes: %s\none pass:   %s", n, want, got)
		}
	}
}
