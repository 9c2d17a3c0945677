package transform

import (
	"encoding/hex"
	"testing"
)

// Worked examples for every implemented transformation.
func TestTransformations(t *testing.T) {
	tests := []struct {
		typ, in, want string
	}{
		{"NONE", "AbC /x", "AbC /x"},
		{"CSS_DECODE", `ja\vascript`, "javascript"},
		{"CSS_DECODE", `\3c script\3E`, "<script>"},
		{"CSS_DECODE", `\00003c`, "<"},
		{"CSS_DECODE", `\ff1cx`, "<x"},
		{"CSS_DECODE", "a\\\nb\\", "ab"},
		{"JS_DECODE", `\x3cscript\u003e`, "<script>"},
		{"JS_DECODE", `\uff1c\u0141`, "<A"},
		{"JS_DECODE", `\74\101\n\q`, "<A\nq"},
		{"JS_DECODE", `end\`, `end\`},
		{"URL_DECODE_UNI", "%u003cscript%3E+x", "<script> x"},
		{"URL_DECODE_UNI", "%uff1c%u0141%u12", "<A%u12"},
		{"UTF8_TO_UNICODE", "caf\u00e9 \u20ac", "caf%u00e9 %u20ac"},
		{"UTF8_TO_UNICODE", "a\xffb", "a\xffb"},
		{"REMOVE_COMMENTS_CHAR", "SEL/**/ECT 1 -- x #y <!--z-->", "SELECT 1  x y z"},
		{"LOWERCASE", "SELECT * FROM", "select * from"},
		{"UPPERCASE", "select", "SELECT"},
		{"COMPRESS_WHITE_SPACE", "a \t\n\r\f\v\xa0b  c", "a b c"},
		{"REMOVE_WHITESPACE", " a \tb\nc ", "abc"},
		{"TRIM", " \t a b \n", "a b"},
		{"TRIM_LEFT", "  a b ", "a b "},
		{"TRIM_RIGHT", "  a b ", "  a b"},
		{"REMOVE_NULLS", "a\x00b\x00", "ab"},
		{"REPLACE_NULLS", "a\x00b", "a b"},
		{"URL_DECODE", "a%20b+c%3Cscript%3E", "a b c<script>"},
		{"URL_DECODE", "100%zz%", "100%zz%"},
		{"BASE64_DECODE", "PHNjcmlwdD4=", "<script>"},
		{"BASE64_DECODE", "PHNjcmlwdD4", "<script>"},
		{"BASE64_DECODE", "not base64!", "not base64!"},
		{"BASE64_DECODE_EXT", "PH*Nj.cmlw dD4", "<script>"},
		{"HEX_DECODE", "3c7363726970743e", "<script>"},
		{"HEX_DECODE", "3c7", "3c7"},
		{"CMD_LINE", `C^at "/ETC/PASSWD"`, "cat/etc/passwd"},
		{"CMD_LINE", "a,b;c   d (e)", "a b c d(e)"},
		{"CMD_LINE", `wh\o'am'i`, "whoami"},
		{"HTML_ENTITY_DECODE", "&lt;script&gt; &quot;x&quot; &amp; &#x41;&#66;&nbsp;", "<script> \"x\" & AB\xa0"},
		{"NORMALIZE_PATH", "/a//b/./c/../d", "/a/b/d"},
		{"NORMALIZE_PATH", "/../../etc/passwd", "/etc/passwd"},
		{"NORMALIZE_PATH", "a/b/", "a/b/"},
		{"NORMALIZE_PATH_WIN", `C:\a\..\windows\\system32`, "C:/windows/system32"},
		{"REPLACE_COMMENTS", "SELECT/* x */name/**/FROM", "SELECT name FROM"},
		{"REPLACE_COMMENTS", "a/* open", "a "},
		{"ESCAPE_SEQ_DECODE", `a\tb\x41\101\n\\\q`, "a\tbAA\n\\\\q"},
		{"SQL_HEX_DECODE", "SELECT 0x414243 x 0xZZ", "SELECT ABC x 0xZZ"},
	}
	for _, tt := range tests {
		if got := string(Get(tt.typ)([]byte(tt.in))); got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.typ, tt.in, got, tt.want)
		}
	}
	md5 := hex.EncodeToString(Get("MD5")([]byte("abc")))
	sha := hex.EncodeToString(Get("SHA256")([]byte("abc")))
	if md5 != "900150983cd24fb0d6963f7d28e17f72" || sha != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("MD5 %s, SHA256 %s", md5, sha)
	}
	if got := string(Apply([]byte("%3C%53cript%3E"), "URL_DECODE", "LOWERCASE")); got != "<script>" {
		t.Errorf("chained: %q", got)
	}
}

// AWS's descriptions of the transformations, each row quoting the
// sentence it implements. The chain works on bytes from end to end.
func TestTransformationsAsAWSDocuments(t *testing.T) {
	const api = "WAFV2 API Reference, TextTransformation (Type): "
	const guide = "AWS WAF Developer Guide, Text transformation options: "
	tests := []struct {
		doc      string
		chain    []string
		in, want string
	}{
		{api + `HTML_ENTITY_DECODE "Replaces (ampersand)nbsp; with a non-breaking space, decimal 160"`,
			[]string{"HTML_ENTITY_DECODE"}, "a&nbsp;b", "a\xa0b"},
		{api + `HTML_ENTITY_DECODE "Replaces characters that are represented in decimal format, (ampersand)#nnnn;, with the corresponding characters"`,
			[]string{"HTML_ENTITY_DECODE"}, "&#160;&#65;&#20013;", "\xa0A\u4e2d"},
		{api + `HTML_ENTITY_DECODE "Replaces characters that are represented in hexadecimal format, (ampersand)#xhhhh;, with the corresponding characters"`,
			[]string{"HTML_ENTITY_DECODE"}, "&#xa0;&#x41;&#x4E2D;", "\xa0A\u4e2d"},
		{api + `HTML_ENTITY_DECODE "Replaces (ampersand)quot; with" a double quote, "(ampersand)lt;" and "(ampersand)gt;"; other names stay`,
			[]string{"HTML_ENTITY_DECODE"}, "&quot;&lt;&gt;&copy;&#;&", "\"<>&copy;&#;&"},
		{api + `COMPRESS_WHITE_SPACE replaces "Non-breaking space, decimal 160" with a space: after HTML_ENTITY_DECODE too`,
			[]string{"HTML_ENTITY_DECODE", "COMPRESS_WHITE_SPACE"}, "a&nbsp;&nbsp; b", "a b"},
		{api + `ESCAPE_SEQ_DECODE "Decode the following ANSI C escape sequences: \a, \b, \f, \n, \r, \t, \v, \\, \?, \', \", \xHH (hexadecimal), \0OOO (octal)" (C's \OOO, one to three digits, too)`,
			[]string{"ESCAPE_SEQ_DECODE"}, `\a\b\f\n\r\t\v\\\?\'\"\x41\101\0`, "\a\b\f\n\r\t\v\\?'\"AA\x00"},
		{api + `ESCAPE_SEQ_DECODE "\0OOO (octal)": a backslash, 0 and three octal digits is one byte, \0101 is A`,
			[]string{"ESCAPE_SEQ_DECODE"}, `\0101\0123\00x\0`, "AS\x00x\x00"},
		{api + `ESCAPE_SEQ_DECODE "Encodings that aren't valid remain in the output."`,
			[]string{"ESCAPE_SEQ_DECODE"}, `\q \xZZ \x4 end\`, `\q \xZZ \x4 end\`},
		{api + `LOWERCASE "Convert uppercase letters (A-Z) to lowercase (a-z)": other bytes stay`,
			[]string{"LOWERCASE"}, "AZ\xc9\xff", "az\xc9\xff"},
		{api + `TRIM removes white space, the non-breaking space (decimal 160) included, from both ends`,
			[]string{"TRIM"}, "\xa0 a\xa0b \xa0", "a\xa0b"},
		{guide + `MD5 "Calculate an MD5 hash from the data in the input": 16 raw bytes, not hex`,
			[]string{"MD5"}, "abc", "\x90\x01\x50\x98\x3c\xd2\x4f\xb0\xd6\x96\x3f\x7d\x28\xe1\x7f\x72"},
	}
	for _, tt := range tests {
		if got := string(Apply([]byte(tt.in), tt.chain...)); got != tt.want {
			t.Errorf("%s\n%v(%q) = %q, want %q", tt.doc, tt.chain, tt.in, got, tt.want)
		}
	}
}

func TestImplemented(t *testing.T) {
	for _, typ := range []string{"JS_DECODE_EXT", "CMD_LINE_WIN", "CMD_LINE_UNIX", "BOGUS"} {
		if Implemented(typ) {
			t.Errorf("%s claims to be implemented", typ)
		}
	}
	if len(funcs) != 28 {
		t.Errorf("%d transformations", len(funcs))
	}
}

func FuzzTransformations(f *testing.F) {
	for _, s := range []string{"%", "%4", "\\x4", "\\0", "/*", "0x", "&#x;", "../..", "===="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for typ, fn := range funcs {
			out := fn(append([]byte(nil), b...))
			if typ == "NONE" && string(out) != string(b) {
				t.Fatal("NONE changed its input")
			}
		}
	})
}
