package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/verband-cti/verband/ingest"
)

const (
	// readBufSize is the size of the scanner's read buffer.
	readBufSize = 64 << 10
	// hardMaxDepth bounds the nesting the scanner follows while it skips a
	// value that is already too deep; beyond it the input is given up. It
	// matches encoding/json's own limit.
	hardMaxDepth = 10000
	// maxEmptyReads is how many (0, nil) reads in a row count as a stuck
	// reader.
	maxEmptyReads = 100
)

// plain marks the bytes that a string may contain as they are: printable
// ASCII other than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// member records one property of the object being scanned, as spans of the
// scanner's output: the key (with its quotes) and the value.
type member struct {
	ks, ke, vs, ve int
	koff, voff     int64 // input offsets of the key and of the value's end
}

// scanner reads JSON values from a stream, one at a time, checking their
// syntax, their UTF-8, their nesting and their size, and appending their
// compact form (insignificant whitespace dropped) to out. It holds at most
// one value in memory.
type scanner struct {
	src  io.Reader
	buf  []byte // read buffer; buf[r:w] is not yet consumed
	r, w int
	base int64 // input offset of buf[0]
	rerr error // first error from src; io.EOF at the end

	// Per-value state, set by begin.
	out      []byte   // compact form of the value, unless discard is set
	discard  bool     // stop appending to out
	record   bool     // record the members of an object value
	members  []member // members of the value, when record is set
	stack    []byte   // open containers: '{' or '['
	maxDepth int      // containers allowed open at once
	limit    int64    // largest size of the value in input bytes; <0 for none
	start    int64    // input offset where the value starts

	// Problems found in the value that do not stop the scan. The first one
	// is kept with the key of the member it occurred in and the id, when
	// the value was an object that had them.
	problem    error
	problemKey string
	problemID  string
	problemOff int64

	errOff int64 // input offset of the last fatal error
}

// offset returns the input offset of the next unread byte.
func (s *scanner) offset() int64 { return s.base + int64(s.r) }

// fill reads more input into the buffer, keeping the unread bytes. It
// reports whether more bytes are available; when it returns false, rerr
// says why. It also enforces the size limit of the value being scanned.
func (s *scanner) fill() bool {
	s.checkSize()
	if s.rerr != nil {
		return false
	}
	if s.r > 0 {
		n := copy(s.buf, s.buf[s.r:s.w])
		s.base += int64(s.r)
		s.w, s.r = n, 0
	}
	for range maxEmptyReads {
		n, err := s.src.Read(s.buf[s.w:])
		if n < 0 || n > len(s.buf)-s.w {
			s.rerr = errors.New("read: invalid count from reader")
			return false
		}
		s.w += n
		if err != nil {
			s.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.rerr = fmt.Errorf("read: %w", io.ErrNoProgress)
	return false
}

// ensure makes at least n unread bytes available, if the input has them.
func (s *scanner) ensure(n int) bool {
	for s.w-s.r < n {
		if !s.fill() {
			return false
		}
	}
	return true
}

// skipSpace skips whitespace and returns the next byte without consuming
// it; ok is false at the end of the input or on a read error.
func (s *scanner) skipSpace() (c byte, ok bool) {
	for {
		for s.r < s.w {
			c = s.buf[s.r]
			if c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
				return c, true
			}
			s.r++
		}
		if !s.fill() {
			return 0, false
		}
	}
}

// endErr returns the error for input that ended, or failed to read, in the
// middle of a value.
func (s *scanner) endErr() error {
	s.errOff = s.offset()
	return s.readErr(true)
}

// readErr converts rerr into the error to report. A clean end of input
// counts as truncation when mid is set.
func (s *scanner) readErr(mid bool) error {
	switch {
	case s.rerr == nil, s.rerr == io.EOF:
		if mid {
			return fmt.Errorf("%w: %w", ingest.ErrTruncated, io.ErrUnexpectedEOF)
		}
		return nil
	case errors.Is(s.rerr, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %w", ingest.ErrTruncated, s.rerr)
	default:
		return fmt.Errorf("read: %w", s.rerr)
	}
}

// syntaxErr returns a malformed-JSON error about the byte at the current
// offset.
func (s *scanner) syntaxErr(format string, args ...any) error {
	s.errOff = s.offset()
	return fmt.Errorf("%w: "+format, append([]any{ingest.ErrMalformedJSON}, args...)...)
}

// begin prepares the scan of one value. With discard set nothing is kept;
// with record set the members of an object value are recorded.
func (s *scanner) begin(discard, record bool, maxDepth int, limit int64) {
	s.out = s.out[:0]
	s.discard = discard
	s.record = record && !discard
	s.members = s.members[:0]
	s.stack = s.stack[:0]
	s.maxDepth = maxDepth
	s.limit = limit
	s.start = s.offset()
	s.problem, s.problemKey, s.problemID, s.problemOff = nil, "", "", -1
}

// checkSize records a too-large problem when the value scanned so far is
// larger than the limit.
func (s *scanner) checkSize() {
	if s.limit >= 0 && s.offset()-s.start > s.limit {
		s.fail(ingest.ErrTooLarge, s.start+s.limit)
	}
}

// endLimit ends the size limit of the value just scanned, so that reading
// on past it does not count.
func (s *scanner) endLimit() { s.limit = -1 }

// fail records a problem that spoils the value but not the stream. The one
// at the lowest input offset is kept, so that the outcome does not depend
// on when a too-large value is noticed (at a buffer refill or at its end).
// Too-deep and too-large values are not kept any further; scanning goes on
// to find their end. What was kept so far stays, for noteWhere.
func (s *scanner) fail(err error, off int64) {
	if s.problem == nil || off < s.problemOff {
		s.problem, s.problemOff = err, off
		s.problemKey, s.problemID = "", ""
		s.noteWhere(off)
	}
	if err != ingest.ErrInvalidUTF8 {
		s.discard = true
	}
}

// noteWhere notes the key of the member at input offset off and the
// object's id, when they have been read.
func (s *scanner) noteWhere(off int64) {
	if s.record && len(s.members) > 0 {
		i := len(s.members) - 1
		for i > 0 && s.members[i].koff > off {
			i--
		}
		if m := s.members[i]; m.ke > m.ks {
			s.problemKey, _ = decodeKey(s.out[m.ks:m.ke])
		}
		for _, m := range s.members {
			if m.ve > m.vs && m.voff <= off && string(s.out[m.ks:m.ke]) == `"id"` {
				var id string
				if json.Unmarshal(s.out[m.vs:m.ve], &id) == nil {
					s.problemID = id
				}
			}
		}
	}
}

// recording reports whether the scan is directly inside the object whose
// members are recorded.
func (s *scanner) recording() bool {
	return s.record && !s.discard && len(s.stack) == 1 && s.stack[0] == '{'
}

// scanValue scans one value that starts at the next non-space byte. It
// returns an error only when the stream cannot go on (bad syntax, early
// end, read error); problems with the value itself are left in problem.
func (s *scanner) scanValue() error {
	defer s.endLimit()
	const (
		stValue        = iota // a value must follow
		stValueOrClose        // after '['
		stKeyOrClose          // after '{'
		stKey                 // after ',' in an object
		stColon               // after a key
		stCommaOrClose        // after a value inside a container
	)
	state := stValue
	for {
		c, ok := s.skipSpace()
		if !ok {
			return s.endErr()
		}
		switch state {
		case stValue, stValueOrClose:
			if c == ']' && state == stValueOrClose {
				s.r++
				s.put(c)
				s.stack = s.stack[:len(s.stack)-1]
				break
			}
			if s.recording() {
				s.members[len(s.members)-1].vs = len(s.out)
			}
			switch {
			case c == '{' || c == '[':
				if len(s.stack) >= s.maxDepth {
					s.fail(ingest.ErrTooDeep, s.offset())
					if len(s.stack) >= hardMaxDepth {
						s.errOff = s.offset()
						return fmt.Errorf("%w: more than %d levels", ingest.ErrTooDeep, hardMaxDepth)
					}
				}
				s.r++
				s.put(c)
				s.stack = append(s.stack, c)
				if c == '{' {
					state = stKeyOrClose
				} else {
					state = stValueOrClose
				}
				continue
			case c == '"':
				if err := s.scanString(); err != nil {
					return err
				}
			case c == '-' || (c >= '0' && c <= '9'):
				if err := s.scanNumber(); err != nil {
					return err
				}
			case c == 't':
				if err := s.scanLiteral("true"); err != nil {
					return err
				}
			case c == 'f':
				if err := s.scanLiteral("false"); err != nil {
					return err
				}
			case c == 'n':
				if err := s.scanLiteral("null"); err != nil {
					return err
				}
			default:
				return s.syntaxErr("invalid character %s looking for beginning of value", quoteChar(c))
			}
		case stKeyOrClose, stKey:
			if c == '}' && state == stKeyOrClose {
				s.r++
				s.put(c)
				s.stack = s.stack[:len(s.stack)-1]
				break
			}
			if c != '"' {
				return s.syntaxErr("invalid character %s looking for beginning of object key string", quoteChar(c))
			}
			rec := s.recording()
			if rec {
				s.members = append(s.members, member{ks: len(s.out), ke: -1, koff: s.offset()})
			}
			if err := s.scanString(); err != nil {
				return err
			}
			if rec && !s.discard {
				s.members[len(s.members)-1].ke = len(s.out)
			}
			state = stColon
			continue
		case stColon:
			if c != ':' {
				return s.syntaxErr("invalid character %s after object key", quoteChar(c))
			}
			s.r++
			s.put(c)
			state = stValue
			continue
		case stCommaOrClose:
			top := s.stack[len(s.stack)-1]
			switch {
			case c == ',':
				s.r++
				s.put(c)
				if top == '{' {
					state = stKey
				} else {
					state = stValue
				}
				continue
			case c == '}' && top == '{', c == ']' && top == '[':
				s.r++
				s.put(c)
				s.stack = s.stack[:len(s.stack)-1]
			case top == '{':
				return s.syntaxErr("invalid character %s after object key:value pair", quoteChar(c))
			default:
				return s.syntaxErr("invalid character %s after array element", quoteChar(c))
			}
		}
		// A value has just ended.
		if len(s.stack) == 0 {
			s.checkSize()
			return nil
		}
		if s.recording() {
			m := &s.members[len(s.members)-1]
			m.ve, m.voff = len(s.out), s.offset()
		}
		state = stCommaOrClose
	}
}

// put appends one byte to the output unless it is discarded.
func (s *scanner) put(c byte) {
	if !s.discard {
		s.out = append(s.out, c)
	}
}

// putBytes appends bytes to the output unless they are discarded.
func (s *scanner) putBytes(b []byte) {
	if !s.discard {
		s.out = append(s.out, b...)
	}
}

// scanString scans a string at the opening quote. Bad UTF-8 and lone
// surrogates are recorded as problems; bad escapes and control characters
// are syntax errors.
func (s *scanner) scanString() error {
	s.r++
	s.put('"')
	for {
		if s.r == s.w && !s.fill() {
			return s.endErr()
		}
		chunk := s.buf[s.r:s.w]
		i := 0
		for i < len(chunk) && plain[chunk[i]] {
			i++
		}
		s.putBytes(chunk[:i])
		s.r += i
		if i == len(chunk) {
			continue
		}
		switch c := chunk[i]; {
		case c == '"':
			s.r++
			s.put(c)
			return nil
		case c == '\\':
			if err := s.scanEscape(); err != nil {
				return err
			}
		case c < 0x20:
			return s.syntaxErr("invalid control character %s in string", quoteChar(c))
		default:
			for !utf8.FullRune(s.buf[s.r:s.w]) && s.fill() {
			}
			rn, n := utf8.DecodeRune(s.buf[s.r:s.w])
			if rn == utf8.RuneError && n == 1 {
				s.fail(ingest.ErrInvalidUTF8, s.offset())
			}
			s.putBytes(s.buf[s.r : s.r+n])
			s.r += n
		}
	}
}

// scanEscape scans an escape sequence at its backslash.
func (s *scanner) scanEscape() error {
	if !s.ensure(2) {
		return s.endErr()
	}
	switch s.buf[s.r+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.putBytes(s.buf[s.r : s.r+2])
		s.r += 2
		return nil
	case 'u':
	default:
		s.r++
		return s.syntaxErr("invalid character %s in string escape code", quoteChar(s.buf[s.r]))
	}
	v, err := s.hex4()
	if err != nil {
		return err
	}
	off := s.offset()
	s.putBytes(s.buf[s.r : s.r+6])
	s.r += 6
	switch {
	case v >= 0xdc00 && v <= 0xdfff:
		s.fail(ingest.ErrInvalidUTF8, off)
	case v >= 0xd800 && v <= 0xdbff:
		// A high surrogate must be followed by an escaped low one.
		if s.ensure(2) && s.buf[s.r] == '\\' && s.buf[s.r+1] == 'u' {
			lo, err := s.hex4()
			if err != nil {
				return err
			}
			if lo >= 0xdc00 && lo <= 0xdfff {
				s.putBytes(s.buf[s.r : s.r+6])
				s.r += 6
				return nil
			}
		}
		s.fail(ingest.ErrInvalidUTF8, off)
	}
	return nil
}

// hex4 decodes the four hex digits of a \u escape at the backslash,
// without consuming anything.
func (s *scanner) hex4() (rune, error) {
	var v rune
	for i := 2; i < 6; i++ {
		if s.w-s.r <= i && !s.ensure(i+1) {
			return 0, s.endErr()
		}
		c := s.buf[s.r+i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			s.r += i
			return 0, s.syntaxErr("invalid character %s in \\u hexadecimal character escape", quoteChar(c))
		}
	}
	return v, nil
}

// peek returns the next byte without consuming it; ok is false at the end
// of the input.
func (s *scanner) peek() (byte, bool) {
	if s.r == s.w && !s.fill() {
		return 0, false
	}
	return s.buf[s.r], true
}

// digits consumes a run of decimal digits, at least one.
func (s *scanner) digits(what string) error {
	n := 0
	for {
		c, ok := s.peek()
		if !ok {
			return s.endErr()
		}
		if c < '0' || c > '9' {
			if n == 0 {
				return s.syntaxErr("invalid character %s in %s", quoteChar(c), what)
			}
			return nil
		}
		s.r++
		s.put(c)
		n++
	}
}

// scanNumber scans a number at its first byte, following the JSON grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. Numbers only occur
// inside containers, so the input cannot end right after one.
func (s *scanner) scanNumber() error {
	c, _ := s.peek()
	if c == '-' {
		s.r++
		s.put(c)
		var ok bool
		if c, ok = s.peek(); !ok {
			return s.endErr()
		}
	}
	if c == '0' {
		s.r++
		s.put(c)
	} else if err := s.digits("numeric literal"); err != nil {
		return err
	}
	c, ok := s.peek()
	if !ok {
		return s.endErr()
	}
	if c == '.' {
		s.r++
		s.put(c)
		if err := s.digits("numeric literal after decimal point"); err != nil {
			return err
		}
		if c, ok = s.peek(); !ok {
			return s.endErr()
		}
	}
	if c == 'e' || c == 'E' {
		s.r++
		s.put(c)
		if c, ok = s.peek(); !ok {
			return s.endErr()
		}
		if c == '+' || c == '-' {
			s.r++
			s.put(c)
		}
		if err := s.digits("numeric literal exponent"); err != nil {
			return err
		}
	}
	return nil
}

// scanLiteral scans true, false or null.
func (s *scanner) scanLiteral(lit string) error {
	s.ensure(len(lit))
	for i := range len(lit) {
		if s.r+i >= s.w {
			s.r += i
			return s.endErr()
		}
		if c := s.buf[s.r+i]; c != lit[i] {
			s.r += i
			return s.syntaxErr("invalid character %s in literal %s (expecting %q)", quoteChar(c), lit, lit[i])
		}
	}
	s.putBytes(s.buf[s.r : s.r+len(lit)])
	s.r += len(lit)
	return nil
}

// decodeKey decodes a scanned key or string, quotes included.
func decodeKey(b []byte) (string, error) {
	if len(b) >= 2 {
		inner := b[1 : len(b)-1]
		simple := true
		for _, c := range inner {
			if c == '\\' {
				simple = false
				break
			}
		}
		if simple {
			return string(inner), nil
		}
	}
	var k string
	if err := json.Unmarshal(b, &k); err != nil {
		return "", err
	}
	return k, nil
}

// quoteChar formats a byte for an error message, the way encoding/json does.
func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= 0x7f:
		return fmt.Sprintf("%#02x", c)
	}
	return "'" + string(rune(c)) + "'"
}
