// Package transform implements AWS WAF's text transformations, applied to
// a request component before it is inspected. Each follows the
// description in the AWS WAF Developer Guide ("Text transformation
// options") and the WAFV2 API reference (TextTransformation).
package transform

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Func transforms a value. It may return its argument unchanged.
type Func func([]byte) []byte

var funcs = map[string]Func{
	"NONE":                 func(b []byte) []byte { return b },
	"LOWERCASE":            lowerASCII,
	"UPPERCASE":            upperASCII,
	"COMPRESS_WHITE_SPACE": compressWhiteSpace,
	"REMOVE_WHITESPACE":    removeWhiteSpace,
	"TRIM":                 func(b []byte) []byte { return trimRight(trimLeft(b)) },
	"TRIM_LEFT":            trimLeft,
	"TRIM_RIGHT":           trimRight,
	"REMOVE_NULLS":         func(b []byte) []byte { return bytes.ReplaceAll(b, []byte{0}, nil) },
	"REPLACE_NULLS":        func(b []byte) []byte { return bytes.ReplaceAll(b, []byte{0}, []byte{' '}) },
	"URL_DECODE":           urlDecode,
	"BASE64_DECODE":        base64Decode,
	"BASE64_DECODE_EXT":    base64DecodeExt,
	"HEX_DECODE":           hexDecode,
	"MD5":                  func(b []byte) []byte { s := md5.Sum(b); return s[:] },
	"SHA256":               func(b []byte) []byte { s := sha256.Sum256(b); return s[:] },
	"CMD_LINE":             cmdLine,
	"HTML_ENTITY_DECODE":   htmlEntityDecode,
	"NORMALIZE_PATH":       normalizePath,
	"NORMALIZE_PATH_WIN":   func(b []byte) []byte { return normalizePath(bytes.ReplaceAll(b, []byte{'\\'}, []byte{'/'})) },
	"REPLACE_COMMENTS":     replaceComments,
	"ESCAPE_SEQ_DECODE":    escapeSeqDecode,
	"SQL_HEX_DECODE":       sqlHexDecode,
	"CSS_DECODE":           cssDecode,
	"JS_DECODE":            jsDecode,
	"URL_DECODE_UNI":       urlDecodeUni,
	"UTF8_TO_UNICODE":      utf8ToUnicode,
	"REMOVE_COMMENTS_CHAR": removeCommentsChar,
}

// Implemented reports whether lockgate implements the transformation.
// The other three (CMD_LINE_WIN, CMD_LINE_UNIX, JS_DECODE_EXT) are
// refused when a web ACL is loaded: AWS publishes their names but not
// what they do, and a guess would inspect something other than what the
// rule's author tested against AWS.
func Implemented(typ string) bool { _, ok := funcs[typ]; return ok }

// Get returns a transformation, or nil.
func Get(typ string) Func { return funcs[typ] }

// Apply runs the transformations in order.
func Apply(b []byte, types ...string) []byte {
	for _, t := range types {
		b = funcs[t](b)
	}
	return b
}

// isSpace: the characters COMPRESS_WHITE_SPACE turns into a space: \f,
// \t, \n, \r, \v, the space itself and the non-breaking space (160).
func isSpace(c byte) bool {
	return c == ' ' || c == '\f' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == 0xa0
}

// Every transformation works on bytes, as AWS WAF's do: a value need not
// be UTF-8, and a byte such as 0xA0 (the non-breaking space) is one
// character, not part of a multi-byte one.

func trimLeft(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// lowerASCII: "Convert uppercase letters (A-Z) to lowercase (a-z)";
// other bytes are left alone.
func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func upperASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func compressWhiteSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	prevSpace := false
	for _, c := range b {
		if isSpace(c) {
			if !prevSpace {
				out = append(out, ' ')
			}
			prevSpace = true
			continue
		}
		prevSpace = false
		out = append(out, c)
	}
	return out
}

func removeWhiteSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if !isSpace(c) {
			out = append(out, c)
		}
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hexAt decodes the two hex digits at b[i] and b[i+1].
func hexAt(b []byte, i int) (byte, bool) {
	if i < 0 || i+1 >= len(b) {
		return 0, false
	}
	h, ok1 := unhex(b[i])
	l, ok2 := unhex(b[i+1])
	return h<<4 | l, ok1 && ok2
}

// urlDecode decodes %XX and + (a space); an invalid escape stays as it is.
func urlDecode(b []byte) []byte { return decodeURL(b, false) }

// urlDecodeUni is URL_DECODE with Microsoft's %uHHHH: the low byte, with
// full-width ASCII (U+FF01–U+FF5E) mapped back.
func urlDecodeUni(b []byte) []byte { return decodeURL(b, true) }

func decodeURL(b []byte, uni bool) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '+':
			out = append(out, ' ')
			continue
		case c != '%':
		case uni && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U'):
			hi, ok1 := hexAt(b, i+2)
			lo, ok2 := hexAt(b, i+4)
			if ok1 && ok2 {
				out = append(out, fullWidth(lo, hi == 0xff))
				i += 5
				continue
			}
		default:
			if v, ok := hexAt(b, i+1); ok {
				out = append(out, v)
				i += 2
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// base64Decode decodes standard base64 (with or without padding); a value
// that is not base64 is left as it is.
func base64Decode(b []byte) []byte {
	s := strings.TrimRight(string(b), "=")
	if out, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return out
	}
	return b
}

// base64DecodeExt ignores the characters that are not base64.
func base64DecodeExt(b []byte) []byte {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out, err := base64.RawStdEncoding.DecodeString(string(clean))
	if err != nil {
		return b
	}
	return out
}

// hexDecode decodes a string of hex digit pairs; anything else is left as
// it is.
func hexDecode(b []byte) []byte {
	if len(b)%2 != 0 {
		return b
	}
	out := make([]byte, len(b)/2)
	for i := 0; i < len(b); i += 2 {
		v, ok := hexAt(b, i)
		if !ok {
			return b
		}
		out[i/2] = v
	}
	return out
}

// cmdLine: delete \ " ' ^; delete spaces before / and (; replace , and ;
// with a space; replace runs of spaces with one; lower-case A-Z.
func cmdLine(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch c {
		case '\\', '"', '\'', '^':
			continue
		case ',', ';':
			c = ' '
		case '/', '(':
			for len(out) > 0 && out[len(out)-1] == ' ' {
				out = out[:len(out)-1]
			}
		}
		if c == ' ' && len(out) > 0 && out[len(out)-1] == ' ' {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return out
}

// htmlEntityDecode replaces &quot; &amp; &lt; &gt; and &nbsp; (the byte
// 160, as AWS documents it), and &#xhhhh; and &#nnnn; with the
// character they stand for: one byte up to 255 (so &#160; is &nbsp;),
// UTF-8 above. The closing ';' may be missing, as in ModSecurity's
// transformation of the same name; anything that is not an entity stays.
func htmlEntityDecode(b []byte) []byte {
	if bytes.IndexByte(b, '&') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '&' {
			out = append(out, b[i])
			continue
		}
		c, n, ok := entity(b[i+1:])
		if !ok {
			out = append(out, '&')
			continue
		}
		if c <= 0xff {
			out = append(out, byte(c))
		} else {
			out = utf8.AppendRune(out, c)
		}
		i += n
	}
	return out
}

// entity decodes the entity after an '&': its character and how many
// bytes it took (the ';' included when present).
func entity(b []byte) (c rune, n int, ok bool) {
	semi := func(n int) int {
		if n < len(b) && b[n] == ';' {
			return n + 1
		}
		return n
	}
	if len(b) > 1 && b[0] == '#' {
		hex := len(b) > 2 && (b[1] == 'x' || b[1] == 'X')
		j, v := 1, 0
		if hex {
			j = 2
		}
		start := j
		for ; j < len(b); j++ {
			d, isDigit := digit(b[j], hex)
			if !isDigit {
				break
			}
			if v <= utf8.MaxRune {
				v = v*base(hex) + int(d)
			}
		}
		if j == start || v > utf8.MaxRune {
			return 0, 0, false
		}
		return rune(v), semi(j), true
	}
	for _, e := range namedEntities {
		if len(b) >= len(e.name) && string(b[:len(e.name)]) == e.name {
			return e.c, semi(len(e.name)), true
		}
	}
	return 0, 0, false
}

var namedEntities = []struct {
	name string
	c    rune
}{{"quot", '"'}, {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"nbsp", 0xa0}}

func base(hex bool) int {
	if hex {
		return 16
	}
	return 10
}

func digit(c byte, hex bool) (byte, bool) {
	if hex {
		return unhex(c)
	}
	if '0' <= c && c <= '9' {
		return c - '0', true
	}
	return 0, false
}

// normalizePath removes repeated slashes, ./ self-references and ../
// back-references that are not at the start of the input.
func normalizePath(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	abs := b[0] == '/'
	trailing := len(b) > 1 && b[len(b)-1] == '/'
	var parts []string
	for _, p := range strings.Split(string(b), "/") {
		switch p {
		case "", ".":
		case "..":
			if len(parts) > 0 && parts[len(parts)-1] != ".." {
				parts = parts[:len(parts)-1]
			} else if !abs {
				parts = append(parts, "..")
			}
		default:
			parts = append(parts, p)
		}
	}
	s := strings.Join(parts, "/")
	if abs {
		s = "/" + s
	}
	if trailing && !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return []byte(s)
}

// replaceComments replaces each C-style comment /* … */ with a single
// space; an unterminated comment at the end also becomes a space.
func replaceComments(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '/' && i+1 < len(b) && b[i+1] == '*' {
			end := bytes.Index(b[i+2:], []byte("*/"))
			out = append(out, ' ')
			if end < 0 {
				return out
			}
			i += 2 + end + 1
			continue
		}
		out = append(out, b[i])
	}
	return out
}

// escapeSeqDecode decodes the ANSI C escapes \a \b \f \n \r \t \v \\ \?
// \' \" \xHH and octal. AWS writes the octal escape "\0OOO (octal)": a
// backslash, 0 and up to three octal digits, so \0101 is A (ModSecurity,
// whose text AWS's is, reads only three digits in all: \010 and 1). A
// backslash and one to three octal digits not starting with 0 (C's \101)
// is octal too, as in C and ModSecurity. "Encodings that aren't valid
// remain in the output": \q and \xZZ stay as they are, backslash
// included.
func escapeSeqDecode(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		i++
		switch c := b[i]; c {
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, 10)
		case 'r':
			out = append(out, 13)
		case 't':
			out = append(out, 9)
		case 'v':
			out = append(out, 11)
		case '\\', '?', '\'', '"':
			out = append(out, c)
		case 'x':
			if v, ok := hexAt(b, i+1); ok {
				out = append(out, v)
				i += 2
				continue
			}
			out = append(out, '\\', c)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, n, digits := 0, 0, 3
			if c == '0' {
				digits = 4 // \0OOO
			}
			for n < digits && i+n < len(b) && b[i+n] >= '0' && b[i+n] <= '7' {
				v = v*8 + int(b[i+n]-'0')
				n++
			}
			out = append(out, byte(v))
			i += n - 1
		default:
			out = append(out, '\\', c)
		}
	}
	return out
}

// sqlHexDecode decodes SQL hex literals: 0x414243 becomes ABC.
func sqlHexDecode(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '0' && i+1 < len(b) && (b[i+1] == 'x' || b[i+1] == 'X') {
			j := i + 2
			for {
				v, ok := hexAt(b, j)
				if !ok {
					break
				}
				out = append(out, v)
				j += 2
			}
			if j > i+2 {
				i = j - 1
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}
