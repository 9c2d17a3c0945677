package analyze

import (
	"bytes"
	"strconv"
)

// The scanner's JSON values other than strings and the objects it reads:
// numbers, literals, and the values of the members it skips, each checked
// against RFC 8259 so that a record that is no JSON is a bad record.

// number reads the value of the member name, a number the analyzer uses:
// an integer, or a number with a fraction or exponent (truncated), as a
// timestamp may be written. It takes JSON numbers only (RFC 8259): no
// leading zero, a digit on both sides of a point; and, as RFC 8259 lets
// an implementation, only those within ±2^62 (inclusive), an error that names the
// member. The numbers of the members skipped have no bound (skipNumber).
func (s *scanner) number(name string) (int64, error) {
	d := s.data
	i := s.pos
	neg := false
	if i < len(d) && d[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		// n*10+digit ≤ 2^62, the bound of the fraction path below too.
		if n > (1<<62-int64(d[i]-'0'))/10 {
			return 0, s.fail(name + " out of range")
		}
		n = n*10 + int64(d[i]-'0')
		i++
	}
	if i == start {
		return 0, s.fail("expected a number")
	}
	if d[start] == '0' && i-start > 1 {
		return 0, s.fail("invalid number (leading zero)")
	}
	if i < len(d) && (d[i] == '.' || d[i] == 'e' || d[i] == 'E') {
		j := i
		if d[j] == '.' {
			j = digits(d, j+1)
			if j < 0 {
				return 0, s.fail("invalid number")
			}
		}
		if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
			j++
			if j < len(d) && (d[j] == '+' || d[j] == '-') {
				j++
			}
			if j = digits(d, j); j < 0 {
				return 0, s.fail("invalid number")
			}
		}
		f, err := strconv.ParseFloat(string(d[s.pos:j]), 64)
		if err != nil || f > 1<<62 || f < -(1<<62) {
			return 0, s.fail(name + " out of range") // the grammar is checked above
		}
		s.pos = j
		return int64(f), nil
	}
	s.pos = i
	if neg {
		n = -n
	}
	return n, nil
}

// skipNumber moves past a number of a member the analyzer does not use,
// checking its grammar only: RFC 8259 sets no bound on a number's
// magnitude or precision, and the value is not needed.
func (s *scanner) skipNumber() error {
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	start := i
	if i = digits(d, i); i < 0 {
		return s.fail("expected a number")
	}
	if d[start] == '0' && i-start > 1 {
		return s.fail("invalid number (leading zero)")
	}
	if i < len(d) && d[i] == '.' {
		if i = digits(d, i+1); i < 0 {
			return s.fail("invalid number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i = digits(d, i); i < 0 {
			return s.fail("invalid number")
		}
	}
	s.pos = i
	return nil
}

// digits returns the end of the digits at i, or -1 when there is none.
func digits(d []byte, i int) int {
	j := i
	for j < len(d) && '0' <= d[j] && d[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func (s *scanner) literal(word string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return s.fail("invalid literal")
	}
	s.pos += len(word)
	return nil
}

// skipValue moves past any JSON value, checking that it is one.
func (s *scanner) skipValue() error {
	switch c := s.peek(); c {
	case '"':
		_, _, err := s.rawString()
		return err
	case '{', '[':
		return s.skipComposite()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			return s.skipNumber()
		}
		return s.fail("expected a value")
	}
}

// skipComposite moves past an object or array, checking its grammar
// token by token without building anything: a record that is no JSON is
// a bad record whichever member is damaged. On an indexed line a string
// is passed in one step, from the index of its quotes. The walk keeps its
// open brackets in a slice, not on the call stack: any depth is read, as
// DuckDB reads it.
func (s *scanner) skipComposite() error {
	open := s.open[:0]
	defer func() { s.open = open }()
	for {
		// A value.
		s.skipWS()
		switch c := s.peek(); c {
		case '{', '[':
			open = append(open, c)
			s.pos++
			s.skipWS()
			if s.peek() == c+2 { // } is { + 2, ] is [ + 2
				s.pos++
				open = open[:len(open)-1]
				break
			}
			if c == '{' {
				if err := s.memberKey(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if err := s.skipString(); err != nil {
				return err
			}
		default:
			if err := s.skipValue(); err != nil {
				return err
			}
		}
		// After a value: a comma, or the end of objects and arrays.
		for {
			if len(open) == 0 {
				return nil
			}
			s.skipWS()
			top := open[len(open)-1]
			if c := s.peek(); c == top+2 {
				s.pos++
				open = open[:len(open)-1]
				continue
			} else if c != ',' {
				if top == '{' {
					return s.fail("expected , or }")
				}
				return s.fail("expected , or ]")
			}
			s.pos++
			if top == '{' {
				s.skipWS()
				if err := s.memberKey(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// memberKey reads a skipped object's member name and its colon.
func (s *scanner) memberKey() error {
	if s.peek() != '"' {
		return s.fail("expected a member name")
	}
	if err := s.skipString(); err != nil {
		return err
	}
	s.skipWS()
	if s.peek() != ':' {
		return s.fail("expected :")
	}
	s.pos++
	return nil
}

// skipString moves past a string at a quote: on an indexed line in one
// step, from the quote bits.
func (s *scanner) skipString() error {
	if x := s.idx; x != nil && x.ok {
		if e := x.nextQuote(s.pos + 1); e >= 0 {
			s.pos = e + 1
			return nil
		}
	}
	_, _, err := s.rawString()
	return err
}
