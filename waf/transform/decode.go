package transform

import (
	"fmt"
	"unicode/utf8"
)

// The decoders below follow the AWS WAF Developer Guide's descriptions,
// which are those of the ModSecurity transformations of the same names
// (cssDecode, jsDecode, urlDecodeUni, utf8toUnicode, removeCommentsChar).

func isHex(c byte) bool { _, ok := unhex(c); return ok }

func isHex2(b []byte, i int) bool { _, ok := hexAt(b, i); return ok }

func isHex4(b []byte, i int) bool { return isHex2(b, i) && isHex2(b, i+2) }

// fullWidth turns the low byte of U+FF01–U+FF5E (full-width ASCII) into
// the ASCII it stands for; any other code point keeps only its low byte.
func fullWidth(lo byte, highIsFF bool) byte {
	if highIsFF && lo > 0x00 && lo < 0x5f {
		return lo + 0x20
	}
	return lo
}

// cssDecode decodes CSS 2.x escapes: a backslash and one to six hex
// digits (the last two give the byte, full-width ASCII mapped back; one
// white space after the escape is skipped), a backslash and a newline
// (removed), a backslash and any other character (that character:
// ja\vascript is javascript).
func cssDecode(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) { // a trailing backslash is dropped
			break
		}
		j := 0
		for j < 6 && i+1+j < len(b) && isHex(b[i+1+j]) {
			j++
		}
		if j == 0 {
			if b[i+1] != '\n' {
				out = append(out, b[i+1])
			}
			i++
			continue
		}
		h := b[i+1 : i+1+j]
		hx := func(k int) byte { v, _ := hexAt(h, k); return v }
		var c byte
		switch j {
		case 1:
			c, _ = unhex(h[0])
		case 2, 3, 5:
			c = hx(j - 2)
		case 4:
			c = fullWidth(hx(2), hx(0) == 0xff)
		case 6:
			c = fullWidth(hx(4), hx(0) == 0 && hx(2) == 0xff)
		}
		out = append(out, c)
		i += j
		if i+1 < len(b) && isSpaceByte(b[i+1]) {
			i++
		}
	}
	return out
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// jsDecode decodes JavaScript escapes: \uHHHH (the low byte; full-width
// ASCII mapped back), \xHH, octal \OOO, and the character escapes \a \b
// \f \n \r \t \v; any other escaped character stands for itself.
func jsDecode(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		n := b[i+1]
		switch {
		case n == 'u' && isHex4(b, i+2):
			hi, _ := hexAt(b, i+2)
			lo, _ := hexAt(b, i+4)
			out = append(out, fullWidth(lo, hi == 0xff))
			i += 5
		case n == 'x' && isHex2(b, i+2):
			v, _ := hexAt(b, i+2)
			out = append(out, v)
			i += 3
		case '0' <= n && n <= '7':
			// Up to three octal digits, the value at most 0377.
			j, v := 0, 0
			for j < 3 && i+1+j < len(b) && '0' <= b[i+1+j] && b[i+1+j] <= '7' {
				if nv := v*8 + int(b[i+1+j]-'0'); nv <= 0xff {
					v = nv
					j++
					continue
				}
				break
			}
			out = append(out, byte(v))
			i += j
		default:
			out = append(out, jsEscape(n))
			i++
		}
	}
	return out
}

func jsEscape(c byte) byte {
	switch c {
	case 'a':
		return '\a'
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'v':
		return '\v'
	}
	return c
}

// utf8ToUnicode writes every multi-byte UTF-8 character as %uHHHH (hex
// of its code point), so rules can match non-ASCII text in one form.
// ASCII and invalid bytes stay as they are.
func utf8ToUnicode(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			out = append(out, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			out = append(out, b[i])
			i++
			continue
		}
		out = fmt.Appendf(out, "%%u%04x", r)
		i += size
	}
	return out
}

// removeCommentsChar deletes comment markers, keeping what is between
// them: /* */ <!-- --> -- and #.
func removeCommentsChar(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		rest := b[i:]
		switch {
		case hasPrefix(rest, "/*"), hasPrefix(rest, "*/"):
			i += 2
		case hasPrefix(rest, "<!--"):
			i += 4
		case hasPrefix(rest, "-->"):
			i += 3
		case hasPrefix(rest, "--"):
			i += 2
		case rest[0] == '#':
			i++
		default:
			out = append(out, rest[0])
			i++
		}
	}
	return out
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }
