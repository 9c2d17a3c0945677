package analyze

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// fields is what the analyzer reads of one AWS WAF log record. Byte
// slices point into the chunk being scanned (or, for the rare string
// with escapes, into a fresh decoded copy): they are valid until the
// chunk's buffer is reused.
type fields struct {
	ts        int64
	hasTS     bool
	action    []byte
	rule      []byte // terminatingRuleId
	hasReq    bool
	ip        []byte
	country   []byte
	uri       []byte
	method    []byte
	args      []byte
	requestID []byte
	bodySize  int64
	// hdr holds the values of the header the scanner was asked for
	// (every occurrence), or every header when all headers are wanted.
	hdr []header
}

type header struct{ name, value []byte }

// scanner reads AWS WAF log records: JSON objects one a line, or
// concatenated without separators as Firehose may deliver them. It
// decodes only the members the analyzer uses and skips the rest without
// building them, which is what makes it several times faster than
// decoding whole records.
type scanner struct {
	// full is the chunk; data is full up to the end of the current line,
	// so that a record cut short fails at its line end instead of
	// swallowing the next one.
	full []byte
	data []byte
	pos  int
	// header is the lower-case name of the header whose values are
	// wanted ("" none); allHeaders keeps every header (replay).
	header     []byte
	allHeaders bool
	f          fields
	h          header // the header object being read
	// keys are the member names (as `"name":`) each kind of object had,
	// in order, in the last record: records of one log are written alike,
	// so the next record's names are checked by comparing bytes instead
	// of being scanned as strings.
	keys *[objectKinds][]scriptKey
	// idx is the current line's structure (stage one); slow turns it
	// off, for the differential test.
	idx  *lineIndex
	slow bool
	// open is skipComposite's stack of open brackets, kept for reuse.
	open []byte
	// lines counts the line ends found, up to counted: once the scanner
	// has returned -1, those of the whole data, which saves counting them
	// in another pass.
	lines, counted int
	// long is set on a line longer than maxRecord: its segments (see
	// maxRecord), of which the current one is [segStart, segEnd), are
	// measured before their records are read.
	long             bool
	segStart, segEnd int
}

// maxRecord is the longest record read, in bytes: a segment (the bytes
// from a line's start or from a record boundary `}{"timestamp"` to the
// next line end or boundary) longer than this is one bad record, skipped
// without being read. AWS WAF's records are far shorter: Firehose, which
// delivers them, takes records of at most 1,000 KiB, and an Application
// Load Balancer refuses requests whose headers are over 64 KiB. The bound
// is what keeps memory bounded on input without line ends (a stream of
// zeros, a file of garbage): the chunker keeps only the first
// maxRecord+1 bytes of such a segment. A variable for the tests.
var maxRecord = 4 << 20

// skipBOM skips a UTF-8 byte order mark at the start of the data, which
// Windows tools write at the start of a text file: called for the first
// chunk of an input only.
func (s *scanner) skipBOM() {
	if bytes.HasPrefix(s.full, bom) {
		s.pos = len(bom)
	}
}

var bom = []byte("\xef\xbb\xbf")

// segment checks the length of the segment holding start, on a long
// line; errTooLong when it is too long, and the scanner is then past it.
func (s *scanner) segment(start int) error {
	for start >= s.segEnd {
		s.segStart, s.segEnd = s.segEnd, len(s.data)
		if i := bytes.Index(s.data[s.segStart:], recordJoin); i >= 0 {
			s.segEnd = s.segStart + i + 1
		}
	}
	if n := s.segEnd - s.segStart; n > maxRecord && (s.segEnd < len(s.data) || n-crlf(s.data, s.segStart) > maxRecord) {
		s.pos = s.segEnd
		return errTooLong
	}
	return nil
}

var errTooLong = errors.New("too long")

// crlf is 1 when the line data (from its start at from) ends in the CR
// of a CRLF line end (or of the last line), else 0.
func crlf(data []byte, from int) int {
	if len(data) > from && data[len(data)-1] == '\r' {
		return 1
	}
	return 0
}

func (s *scanner) tooLong() error {
	return fmt.Errorf("longer than %d bytes, the most a record may be (skipped unread)", maxRecord)
}

// The kinds of object whose member names are remembered.
const (
	topLevel = iota
	httpRequestObj
	headerObj
	objectKinds
)

// syntaxError says what is wrong and at which byte of the record.
type syntaxError struct {
	msg string
	at  int
}

func (e *syntaxError) Error() string { return e.msg + " at byte " + strconv.Itoa(e.at+1) }

// maxTimestamp is 10000-01-01T00:00:00Z in milliseconds.
const maxTimestamp = 253402300800000

func (s *scanner) fail(msg string) error { return &syntaxError{msg, s.pos} }

// next finds the next record. It returns its start offset, or -1 at the
// end of the data; err describes a record that is not a usable AWS WAF
// log record, after which the scanner has moved past it.
func (s *scanner) next() (start int, err error) {
	for {
		if s.pos >= len(s.data) {
			if s.pos >= len(s.full) {
				return -1, nil
			}
			var i int
			if s.slow {
				i = bytes.IndexByte(s.full[s.pos:], '\n')
			} else {
				if s.idx == nil {
					s.idx = new(lineIndex)
				}
				i = s.idx.line(s.full[s.pos:], s.pos)
			}
			end := len(s.full)
			if i >= 0 {
				end = s.pos + i
				if end >= s.counted { // not the end of the line just read
					s.lines, s.counted = s.lines+1, end+1
				}
			}
			s.data = s.full[:end]
			// The CR of a CRLF line end is the line end's, not the
			// record's: it is not counted against maxRecord.
			s.long, s.segEnd = end-s.pos-crlf(s.data, s.pos) > maxRecord, s.pos
		}
		if s.long && s.pos < len(s.data) {
			// Before blanks are skipped: a too-long segment is bad even
			// when its first maxRecord bytes are blank (the chunker
			// keeps no more of it).
			if start := s.pos; s.segment(start) != nil {
				return start, s.tooLong()
			}
		}
		s.skipWS()
		if s.pos < len(s.data) {
			break
		}
		s.pos++ // the line end
	}
	start = s.pos
	s.f = fields{hdr: s.f.hdr[:0]}
	if err = s.record(); err != nil {
		s.resync(start)
		return start, relative(err, start)
	}
	// A record ends its line, or is followed directly by the next one of
	// a Firehose concatenation, `}{"timestamp"`, where chunks and ranges
	// may be cut: anything else after it (`}{`, `}{"x":1}`, `}  {…}`)
	// makes the line (or segment) one bad record, as junk before a
	// record does, not a good record beside a bad one.
	if !bytes.HasPrefix(s.data[s.pos-1:], recordJoin) {
		s.skipSpaces()
		// A CR ends a record only as the CR of a CRLF line end (or at
		// the end of the data): a lone CR is no line end (neither
		// RFC 8259 nor the JSON Lines convention makes it one), so
		// `{…}\r{…}` is one line, one bad record, however long.
		if s.pos < len(s.data) && (s.data[s.pos] != '\r' || s.pos != len(s.data)-1) {
			err = s.fail("unexpected data after the record")
			s.resync(start)
			return start, relative(err, start)
		}
	}
	// JSON exchanged between systems is UTF-8 (RFC 8259 §8.1): a record
	// that is not is bad, whichever member holds the bytes, rather than
	// counted under a key that prints as another's. Only a line the
	// index saw a byte of 0x80 or above in (or did not index) is looked
	// at.
	if (s.idx == nil || s.idx.high) && !utf8.Valid(s.data[start:s.pos]) {
		return start, invalidUTF8(s.data[start:s.pos])
	}
	if !s.f.hasTS {
		return start, errors.New("no timestamp")
	}
	if !s.f.hasReq || len(s.f.ip) == 0 {
		return start, errors.New("no httpRequest.clientIp")
	}
	return start, nil
}

// invalidUTF8 says where the record b, which is not UTF-8, stops being
// it.
func invalidUTF8(b []byte) error {
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		i += n
	}
	return &syntaxError{"invalid UTF-8", i}
}

// relative makes a syntax error's offset count from the record's start.
func relative(err error, start int) error {
	if e, ok := err.(*syntaxError); ok {
		e.at -= start
	}
	return err
}

// resync moves past a broken record: to the next line, or to the next
// record of a concatenation, after the '}' of `}{"timestamp"` (a quote
// inside a JSON string is always escaped, so this is no string's
// content). Whatever is broken up to there is one bad record: junk
// before a record's '{' makes the record bad rather than a bad record of
// its own and a good one, so that a line (or a segment of a Firehose
// concatenation) counts once, and the bad ones end where chunks and
// ranges may be cut, wherever the input is cut.
func (s *scanner) resync(start int) {
	end := len(s.data) + 1 // past the line end
	if i := bytes.Index(s.data[start:], recordJoin); i >= 0 {
		end = start + i + 1
	}
	s.pos = end
}

// recordJoin is where two concatenated records meet: a chunk may be cut
// after its '}'.
var recordJoin = []byte(`}{"timestamp"`)

func (s *scanner) skipWS() {
	// Records rarely hold blanks between tokens: one comparison tells
	// most bytes are none.
	for s.pos < len(s.data) {
		if c := s.data[s.pos]; c > ' ' || c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return
		}
		s.pos++
	}
}

// skipSpaces skips blanks but not line ends.
func (s *scanner) skipSpaces() {
	for s.pos < len(s.data) && (s.data[s.pos] == ' ' || s.data[s.pos] == '\t') {
		s.pos++
	}
}

// The members the analyzer reads, by object kind; memberOther is any
// other, skipped. A remembered member name carries its number, so that a
// record written like the one before costs a comparison of bytes and a
// switch on a small integer per member, not a switch on strings.
const (
	memberOther = iota
	memberTimestamp
	memberAction
	memberRule
	memberBodySize
	memberHTTPRequest
	memberClientIP
	memberCountry
	memberURI
	memberMethod
	memberArgs
	memberRequestID
	memberHeaders
	memberName
	memberValue
)

// memberOf numbers the member name key (decoded) of an object of kind.
func memberOf(kind int, key []byte) uint8 {
	switch kind {
	case topLevel:
		switch string(key) {
		case "timestamp":
			return memberTimestamp
		case "action":
			return memberAction
		case "terminatingRuleId":
			return memberRule
		case "requestBodySize":
			return memberBodySize
		case "httpRequest":
			return memberHTTPRequest
		}
	case httpRequestObj:
		switch string(key) {
		case "clientIp":
			return memberClientIP
		case "country":
			return memberCountry
		case "uri":
			return memberURI
		case "httpMethod":
			return memberMethod
		case "args":
			return memberArgs
		case "requestId":
			return memberRequestID
		case "headers":
			return memberHeaders
		}
	case headerObj:
		switch string(key) {
		case "name":
			return memberName
		case "value":
			return memberValue
		}
	}
	return memberOther
}

// scriptKey is a member name as written (`"name":`) and its number.
type scriptKey struct {
	raw []byte
	id  uint8
}

func (s *scanner) record() error {
	if s.data[s.pos] != '{' {
		return s.fail("a record is a JSON object")
	}
	return s.object(topLevel)
}

// member reads the value of the member numbered id.
func (s *scanner) member(id uint8) error {
	switch id {
	case memberTimestamp:
		ts, err := s.number("timestamp")
		if err != nil {
			return err
		}
		// Windows and RFC 3339 times exist for years 1970..9999 only:
		// a record outside is no log AWS wrote.
		if ts < 0 || ts >= maxTimestamp {
			return s.fail("timestamp " + strconv.FormatInt(ts, 10) + " is outside 1970..9999 (milliseconds since the epoch)")
		}
		s.f.ts, s.f.hasTS = ts, true
		return nil
	case memberAction:
		return s.stringInto(&s.f.action)
	case memberRule:
		return s.stringInto(&s.f.rule)
	case memberBodySize:
		if s.peek() == 'n' {
			return s.skipValue()
		}
		n, err := s.number("requestBodySize")
		s.f.bodySize = n
		return err
	case memberHTTPRequest:
		if s.peek() != '{' {
			return s.skipValue()
		}
		s.f.hasReq = true
		return s.object(httpRequestObj)
	case memberClientIP:
		return s.stringInto(&s.f.ip)
	case memberCountry:
		return s.stringInto(&s.f.country)
	case memberURI:
		return s.stringInto(&s.f.uri)
	case memberMethod:
		return s.stringInto(&s.f.method)
	case memberArgs:
		return s.stringInto(&s.f.args)
	case memberRequestID:
		return s.stringInto(&s.f.requestID)
	case memberHeaders:
		// Read even when no header is wanted: a header whose name or
		// value is no string makes the record bad, for the analysis as
		// for replay, which must evaluate it.
		if s.peek() != '[' {
			return s.skipValue()
		}
		return s.headers()
	case memberName:
		return s.stringInto(&s.h.name)
	case memberValue:
		return s.stringInto(&s.h.value)
	}
	return s.skipValue()
}

// headers reads [{"name": …, "value": …}, …], keeping the wanted ones.
func (s *scanner) headers() error {
	s.pos++ // [
	s.skipWS()
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		s.skipWS()
		if s.peek() != '{' {
			return s.fail("a header is an object")
		}
		h, ok := s.quickHeader()
		if !ok {
			s.h = header{}
			if err := s.object(headerObj); err != nil {
				return err
			}
			h = s.h
		}
		if s.allHeaders || len(s.header) > 0 && equalFold(h.name, s.header) {
			s.f.hdr = append(s.f.hdr, h)
		}
		s.skipWS()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.fail("expected , or ] in headers")
		}
	}
}

// quickHeader reads a header object written as AWS writes it,
// {"name":"…","value":"…"} on an indexed line; any other spelling is
// left to object, and quickHeader returns false without moving.
func (s *scanner) quickHeader() (h header, ok bool) {
	const open, mid, end = `{"name":"`, `","value":"`, `"}`
	x := s.idx
	if x == nil || !x.ok {
		return h, false
	}
	d := s.data
	i := s.pos
	if len(d)-i < len(open) || string(d[i:i+len(open)]) != open {
		return h, false
	}
	ne := x.nextQuote(i + len(open))
	if ne < 0 || len(d)-ne < len(mid) || string(d[ne:ne+len(mid)]) != mid {
		return h, false
	}
	vs := ne + len(mid)
	ve := x.nextQuote(vs)
	if ve < 0 || len(d)-ve < len(end) || string(d[ve:ve+len(end)]) != end {
		return h, false
	}
	s.pos = ve + len(end)
	return header{name: d[i+len(open) : ne], value: d[vs:ve]}, true
}

// equalFold compares an ASCII header name with a lower-case one.
func equalFold(name, lower []byte) bool {
	if len(name) != len(lower) {
		return false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// object reads {"key": value, …} of the given kind, reading each value
// with member. The loop keeps its position in a local variable, stored
// to s.pos only around the calls that need it: the members it skips
// (most of them) cost no stores and reloads of the scanner's fields.
func (s *scanner) object(kind int) error {
	if s.keys == nil {
		s.keys = new([objectKinds][]scriptKey)
	}
	script := &s.keys[kind]
	s.pos++ // {
	s.skipWS()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	d := s.data
	var idx *lineIndex
	if s.idx != nil && s.idx.ok {
		idx = s.idx
	}
	pos := s.pos
	for i := 0; ; i++ {
		if pos < len(d) && d[pos] <= ' ' {
			s.pos = pos
			s.skipWS()
			pos = s.pos
		}
		var id uint8
		if sc := *script; i < len(sc) && hasKey(d[pos:], sc[i].raw) {
			id = sc[i].id
			pos += len(sc[i].raw)
		} else {
			s.pos = pos
			var err error
			if id, err = s.memberName(kind, i); err != nil {
				return err
			}
			pos = s.pos
		}
		if pos < len(d) && d[pos] <= ' ' {
			s.pos = pos
			s.skipWS()
			pos = s.pos
		}
		if id == memberOther && pos+1 < len(d) {
			// The values of skipped members that are cheap to pass here.
			switch c := d[pos]; {
			case c == '"' && idx != nil:
				if e := idx.nextQuote(pos + 1); e >= 0 {
					pos = e + 1
					goto next
				}
			case c == '[' && d[pos+1] == ']':
				pos += 2
				goto next
			case c == 'n' && pos+4 <= len(d) && string(d[pos:pos+4]) == "null":
				pos += 4
				goto next
			case '0' <= c && c <= '9':
				// Up to 18 digits cannot overflow number's int64;
				// fractions, exponents and leading zeros are left to it.
				e := pos + 1
				for e < len(d) && '0' <= d[e] && d[e] <= '9' {
					e++
				}
				if e-pos <= 18 && (e == len(d) || d[e] != '.' && d[e]|0x20 != 'e') && (c != '0' || e == pos+1) {
					pos = e
					goto next
				}
			}
		}
		s.pos = pos
		if err := s.member(id); err != nil {
			return err
		}
		pos = s.pos
	next:
		if pos < len(d) && d[pos] == ',' {
			pos++
			continue
		}
		s.pos = pos
		s.skipWS()
		switch s.peek() {
		case ',':
			s.pos++
			pos = s.pos
		case '}':
			s.pos++
			return nil
		default:
			return s.fail("expected , or }")
		}
	}
}

// memberName reads the name of member i of an object of kind, up to its
// colon, when it is not the one the script remembers, and learns it.
func (s *scanner) memberName(kind, i int) (uint8, error) {
	script := &s.keys[kind]
	if s.peek() != '"' {
		return 0, s.fail("expected a member name")
	}
	start := s.pos
	raw, esc, err := s.rawString()
	if err != nil {
		return 0, err
	}
	key := raw
	if esc {
		if key, err = unescape(raw); err != nil {
			return 0, s.fail(err.Error())
		}
	}
	s.skipWS()
	if s.peek() != ':' {
		return 0, s.fail("expected :")
	}
	s.pos++
	id := memberOf(kind, key)
	if !esc && s.pos-start == len(raw)+3 { // "name": with nothing between
		learned := scriptKey{append([]byte(nil), s.data[start:s.pos]...), id}
		if i < len(*script) {
			(*script)[i] = learned
		} else if i == len(*script) && i < 64 {
			*script = append(*script, learned)
		}
	}
	return id, nil
}

// hasKey reports whether d starts with the member name k.
func hasKey(d, k []byte) bool {
	return len(d) >= len(k) && string(d[:len(k)]) == string(k)
}

// stringInto reads a string (or null, leaving dst nil).
func (s *scanner) stringInto(dst *[]byte) error {
	switch s.peek() {
	case '"':
	case 'n':
		return s.literal("null")
	default:
		return s.fail("expected a string")
	}
	raw, esc, err := s.rawString()
	if err != nil {
		return err
	}
	if esc {
		if raw, err = unescape(raw); err != nil {
			return s.fail(err.Error())
		}
	}
	*dst = raw
	return nil
}

// rawString reads a string at a quote and returns its bytes as written,
// and whether they hold escapes.
func (s *scanner) rawString() (raw []byte, escaped bool, err error) {
	start := s.pos + 1
	var end int
	if s.idx != nil && s.idx.ok {
		end = s.idx.nextQuote(start) // the line has no escape and no control character
	} else {
		var bad int
		end, escaped, bad = stringEnd(s.data, start)
		if bad >= 0 {
			s.pos = bad
			if s.data[bad] == '\\' {
				return nil, false, s.fail("invalid escape")
			}
			return nil, false, s.fail("control character in a string")
		}
	}
	if end < 0 {
		return nil, false, s.fail("unterminated string")
	}
	raw = s.data[start:end]
	s.pos = end + 1
	return raw, escaped, nil
}

// stringEnd returns the index of the quote closing the string whose
// content starts at i, or -1, and whether the string has escapes; or,
// when the string is no JSON (RFC 8259: a control character, an unknown
// escape), the index of the first offending byte as bad (else -1). It
// looks at eight bytes at a time for a quote, a backslash or a control
// character (most strings are short, so this beats a call to
// bytes.IndexByte) and steps over escapes.
func stringEnd(d []byte, i int) (end int, escaped bool, bad int) {
	for {
		for i+8 <= len(d) {
			v := binary.LittleEndian.Uint64(d[i:])
			if m := hasByte(v, '"') | hasByte(v, '\\') | hasLess(v, ' '); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(d) && d[i] != '"' && d[i] != '\\' && d[i] >= ' ' {
			i++
		}
		switch {
		case i >= len(d):
			return -1, escaped, -1
		case d[i] == '"':
			return i, escaped, -1
		case d[i] < ' ':
			if i == len(d)-1 && d[i] == '\r' {
				// The CR of a CRLF line end: the string is cut short,
				// as the indexed scan (which does not index it) says.
				return -1, escaped, -1
			}
			return -1, escaped, i
		}
		// An escape: the next byte cannot end the string.
		escaped = true
		if i+1 >= len(d) {
			return -1, escaped, -1
		}
		switch d[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if _, ok := hex4(d[i+2:]); !ok {
				return -1, escaped, i
			}
			i += 6
		default:
			return -1, escaped, i
		}
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByte sets the high bit of the bytes of v equal to c; the lowest one
// set is exact (borrows only reach bytes above a match).
func hasByte(v uint64, c byte) uint64 {
	x := v ^ (lsb * uint64(c))
	return (x - lsb) &^ x & msb
}

// hasLess sets the high bit of the bytes of v below c (c at most 0x80);
// the lowest one set is exact.
func hasLess(v uint64, c byte) uint64 {
	return (v - lsb*uint64(c)) &^ v & msb
}
