package analyze

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// scanTrace is everything the scanner says of its input: each record's
// start, error, end and fields.
func scanTrace(data []byte, slow bool) []string {
	var out []string
	for _, all := range []bool{false, true} {
		sc := &scanner{full: data, header: []byte("x-forwarded-for"), allHeaders: all, slow: slow}
		for {
			start, err := sc.next()
			if start < 0 {
				break
			}
			f := sc.f
			line := fmt.Sprintf("%d-%d %v ts=%d/%v req=%v ip=%q country=%q uri=%q method=%q args=%q id=%q action=%q rule=%q body=%d",
				start, sc.pos, err, f.ts, f.hasTS, f.hasReq, f.ip, f.country, f.uri, f.method, f.args, f.requestID, f.action, f.rule, f.bodySize)
			for _, h := range f.hdr {
				line += fmt.Sprintf(" %q=%q", h.name, h.value)
			}
			out = append(out, line)
		}
		if n := bytes.Count(data, []byte{'\n'}); sc.lines != n {
			out = append(out, fmt.Sprintf("%d line ends counted, %d in the data", sc.lines, n))
		}
	}
	return out
}

// lineTrace is what lineIndex.line says of the line at the start of d:
// its end, whether it is indexed and, if so, its bitmaps (trailing zero
// words dropped: the one-pass routine may index one more block, of
// nothing, than the two-pass one).
func lineTrace(f func(*lineIndex, []byte, int) int, d []byte) string {
	x := new(lineIndex)
	end := f(x, d, 7)
	if !x.ok {
		return fmt.Sprintf("end %d, not indexed, high %v", end, x.high)
	}
	m := x.m
	for len(m) > 0 && m[len(m)-1] == 0 {
		m = m[:len(m)-1]
	}
	return fmt.Sprintf("end %d, base %d, high %v, %x", end, x.base, x.high, m)
}

// FuzzScanIndex: the scanner with stage one (the index of quotes and
// brackets) and without it read any input alike: the same records, the
// same errors at the same bytes, the same fields. And the AVX2 index
// equals the portable one, and the AVX-512 line index (where the CPU
// has it) the two-pass one.
func FuzzScanIndex(f *testing.F) {
	f.Add([]byte(rec + "\n" + rec + rec))
	f.Add([]byte(strings.Replace(rec, `"uri":"/login"`, `"uri":"/a\"b\\c\u00e9"`, 1) + "\n" + rec))
	f.Add([]byte(rec[:300] + "\n" + rec[:500] + rec))
	f.Add([]byte(`{"timestamp":1,"httpRequest":{"clientIp":"1.2.3.4","x":[{"a":"]}"},"}{"]}}` + "\n"))
	f.Add([]byte(`{"timestamp":1,"httpRequest":{"clientIp":"1.2.3.4","x":[[[{"a":"` + strings.Repeat("x", 70) + `"}]]]}}`))
	f.Add([]byte(`{"timestamp":1,"x":{"a":"unterminated}}` + "\n" + `{"timestamp":2,"x":[1,2` + "\n"))
	// CRLF line ends whose CR ends a 64-byte block, a control character
	// and a backslash in the last byte of a block, a line end at a
	// block's first byte.
	pad := `{"timestamp":1,"httpRequest":{"clientIp":"1.2.3.4","uri":"` + strings.Repeat("a", 64)
	f.Add([]byte(pad[:63] + "\r\n" + rec + "\r\n"))
	f.Add([]byte(pad[:63] + "\x01\"}}\n" + pad[:64] + "\n" + rec))
	f.Add([]byte(pad[:63] + `\"}}` + "\n" + rec + "\r"))
	// Bytes of 0x80 and above, valid UTF-8 or not, across a block's end.
	f.Add([]byte(pad[:62] + "\xc3\xa9\"}}\n" + pad[:63] + "\xc3\"}}\n" + rec))
	f.Add([]byte(strings.Replace(rec, `"uri":"/login"`, "\"uri\":\"/a\xed\xa0\x80\xff\"", 1) + "\n" + rec))
	f.Fuzz(func(t *testing.T, data []byte) {
		if indexLineFast != nil {
			// The one-pass line index against the two-pass one, at
			// every line's start.
			for i := 0; i < len(data); {
				want, got := lineTrace((*lineIndex).lineGeneric, data[i:]), lineTrace(indexLineFast, data[i:])
				if want != got {
					t.Fatalf("%q at %d:\ntwo passes: %s\none pass:   %s", data, i, want, got)
				}
				e := bytes.IndexByte(data[i:], '\n')
				if e < 0 {
					break
				}
				i += e + 1
			}
		}
		slow, fast := scanTrace(data, true), scanTrace(data, false)
		if strings.Join(slow, "\n") != strings.Join(fast, "\n") {
			t.Fatalf("%q:\nbyte by byte:\n%s\nindexed:\n%s", data, strings.Join(slow, "\n"), strings.Join(fast, "\n"))
		}
		if one := indexLineFast; one != nil {
			// The scanner on the two-pass index (AVX2 or portable), as
			// on a CPU without AVX-512.
			indexLineFast = nil
			two := scanTrace(data, false)
			indexLineFast = one
			if strings.Join(two, "\n") != strings.Join(fast, "\n") {
				t.Fatalf("%q:\ntwo-pass index:\n%s\none-pass index:\n%s", data, strings.Join(two, "\n"), strings.Join(fast, "\n"))
			}
		}
		n := len(data) / 64 * 64
		if n == 0 {
			return
		}
		want, got := make([]uint64, 3*n/64), make([]uint64, 3*n/64)
		bw, hw := indexBlocksGo(data[:n], want)
		bg, hg := indexBlocks(data[:n], got)
		if bw != bg || hw != hg || fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("%q: index %v %v %x, portable %v %v %x", data[:n], bg, hg, got, bw, hw, want)
		}
	})
}

// TestIndexBlocks: the index's bits on blocks of random bytes drawn from
// the structural ones, against a byte-by-byte count.
func TestIndexBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "\"\\{}[]ab:,\x00\xff\x7b\x5b\x7d\x5d\x3b\x1b"
	for _, fn := range []struct {
		name string
		f    func([]byte, []uint64) (bool, bool)
	}{{"portable", indexBlocksGo}, {"default", indexBlocks}} {
		for range 200 {
			b := make([]byte, 64*(1+rng.IntN(4)))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			m := make([]uint64, 3*len(b)/64)
			bs, high := fn.f(b, m)
			var wantBS, wantHigh bool
			for i, c := range b {
				w, bit := 3*(i/64), uint64(1)<<(i%64)
				want := [3]bool{c == '"', c == '{' || c == '[', c == '}' || c == ']'}
				for k := range 3 {
					if (m[w+k]&bit != 0) != want[k] {
						t.Fatalf("%s: byte %d (%q), kind %d: got %v", fn.name, i, c, k, m[w+k]&bit != 0)
					}
				}
				wantBS = wantBS || c == '\\' || c < ' '
				wantHigh = wantHigh || c >= 0x80
			}
			if bs != wantBS || high != wantHigh {
				t.Fatalf("%s: backslash %v, high %v; want %v, %v", fn.name, bs, high, wantBS, wantHigh)
			}
		}
	}
}
