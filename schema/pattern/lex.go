package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tInt
	tFloat
	tBinary
	tHex
	tTimestamp
	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tStar
	tCmp // = == != <> < <= > >=
)

// token is one lexical token. text is the source text (for tIdent and tCmp
// the name or operator; for literals the literal as written); lit is the
// decoded literal.
type token struct {
	kind tokKind
	pos  int
	text string
	lit  Literal
}

// describe renders a token for an error message.
func (t token) describe() string {
	if t.kind == tEOF {
		return "the end of the pattern"
	}
	s := t.text
	if len(s) > 40 {
		i := 40
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return strconv.Quote(s)
}

// lexer splits a pattern into tokens on demand.
type lexer struct {
	src string
	pos int
}

func (l *lexer) errf(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: pos, Msg: sprintf(format, args...)}
}

// isSpace reports the white space the grammar skips.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// skip skips white space and comments.
func (l *lexer) skip() *SyntaxError {
	for l.pos < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		switch {
		case isSpace(r):
			l.pos += n
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return l.errf(l.pos, "comment is not closed")
			}
			l.pos += end + 4
		case strings.HasPrefix(l.src[l.pos:], "//"):
			end := strings.IndexAny(l.src[l.pos:], "\r\n")
			if end < 0 {
				l.pos = len(l.src)
			} else {
				l.pos += end
			}
		default:
			return nil
		}
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '-'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token.
func (l *lexer) next() (token, *SyntaxError) {
	if err := l.skip(); err != nil {
		return token{}, err
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	single := func(k tokKind) (token, *SyntaxError) {
		l.pos++
		return token{kind: k, pos: start, text: l.src[start:l.pos]}, nil
	}
	switch c {
	case '[':
		return single(tLBrack)
	case ']':
		return single(tRBrack)
	case '(':
		return single(tLParen)
	case ')':
		return single(tRParen)
	case ':':
		return single(tColon)
	case ',':
		return single(tComma)
	case '*':
		return single(tStar)
	case '\'':
		s, err := l.quoted()
		if err != nil {
			return token{}, err
		}
		return token{kind: tString, pos: start, text: l.src[start:l.pos], lit: Literal{Kind: String, Str: s}}, nil
	case '=', '!', '<', '>':
		return l.comparator()
	case '.':
		if l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]) {
			return l.number()
		}
		return single(tDot)
	case '+', '-':
		return l.number()
	}
	if isDigit(c) {
		return l.number()
	}
	if isIdentStart(c) {
		if l.pos+1 < len(l.src) && l.src[l.pos+1] == '\'' {
			switch c {
			case 't':
				return l.timestamp()
			case 'b':
				return l.binary()
			case 'h':
				return l.hexLit()
			}
		}
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tIdent, pos: start, text: l.src[start:l.pos]}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	if r == utf8.RuneError {
		return token{}, l.errf(start, "invalid UTF-8")
	}
	return token{}, l.errf(start, "unexpected character %q", r)
}

func (l *lexer) comparator() (token, *SyntaxError) {
	start := l.pos
	two := ""
	if l.pos+1 < len(l.src) {
		two = l.src[l.pos : l.pos+2]
	}
	switch two {
	case "==", "!=", "<>", "<=", ">=":
		l.pos += 2
		return token{kind: tCmp, pos: start, text: two}, nil
	}
	switch c := l.src[l.pos]; c {
	case '=', '<', '>':
		l.pos++
		return token{kind: tCmp, pos: start, text: string(c)}, nil
	}
	return token{}, l.errf(start, "unexpected character '!' (want \"!=\")")
}

// quoted reads a string between single quotes starting at l.pos, with the
// escapes \' and \\ only, and returns its content.
func (l *lexer) quoted() (string, *SyntaxError) {
	start := l.pos
	l.pos++ // the opening quote
	var b strings.Builder
	plain := l.pos
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case '\'':
			b.WriteString(l.src[plain:l.pos])
			l.pos++
			s := b.String()
			if !utf8.ValidString(s) {
				return "", l.errf(start, "string holds invalid UTF-8")
			}
			return s, nil
		case '\\':
			b.WriteString(l.src[plain:l.pos])
			if l.pos+1 >= len(l.src) {
				return "", l.errf(start, "string is not closed")
			}
			e := l.src[l.pos+1]
			if e != '\'' && e != '\\' {
				return "", l.errf(l.pos, "invalid escape \\%c in a string (only \\' and \\\\ are allowed)", e)
			}
			b.WriteByte(e)
			l.pos += 2
			plain = l.pos
		default:
			l.pos++
		}
	}
	return "", l.errf(start, "string is not closed")
}

func (l *lexer) number() (token, *SyntaxError) {
	start := l.pos
	neg := false
	if c := l.src[l.pos]; c == '+' || c == '-' {
		neg = c == '-'
		l.pos++
	}
	intStart := l.pos
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	intPart := l.src[intStart:l.pos]
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		fracStart := l.pos
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
		if l.pos == fracStart {
			return token{}, l.errf(start, "a number needs digits after its decimal point")
		}
		text := l.src[start:l.pos]
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return token{}, l.errf(start, "float %s is out of range", text)
		}
		return token{kind: tFloat, pos: start, text: text, lit: Literal{Kind: Float, Float: f}}, nil
	}
	text := l.src[start:l.pos]
	if intPart == "" {
		return token{}, l.errf(start, "unexpected character %q", l.src[start])
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return token{}, l.errf(start, "integer %s has a leading zero", text)
	}
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil && !(neg && intPart == "9223372036854775808") {
		return token{}, l.errf(start, "integer %s is out of range", text)
	}
	if neg {
		n = -n // -9223372036854775808 wraps to itself, as it should
	}
	return token{kind: tInt, pos: start, text: text, lit: Literal{Kind: Int, Int: n}}, nil
}

// prefixed reads a t'…', b'…' or h'…' literal's content: no escapes are
// allowed in them.
func (l *lexer) prefixed(what string) (string, *SyntaxError) {
	start := l.pos
	l.pos += 2
	end := strings.IndexByte(l.src[l.pos:], '\'')
	if end < 0 {
		return "", l.errf(start, "%s literal is not closed", what)
	}
	s := l.src[l.pos : l.pos+end]
	l.pos += end + 1
	return s, nil
}

func (l *lexer) timestamp() (token, *SyntaxError) {
	start := l.pos
	s, err := l.prefixed("timestamp")
	if err != nil {
		return token{}, err
	}
	if !validTimestamp(s) {
		return token{}, l.errf(start, "timestamp %q is not of the form YYYY-MM-DDThh:mm:ss[.s+]Z", clip(s))
	}
	return token{kind: tTimestamp, pos: start, text: l.src[start:l.pos], lit: Literal{Kind: Timestamp, Str: s}}, nil
}

// validTimestamp checks the grammar's TimestampLiteral content.
func validTimestamp(s string) bool {
	if len(s) < 20 || s[len(s)-1] != 'Z' {
		return false
	}
	d := func(i int) int {
		if !isDigit(s[i]) {
			return -1
		}
		return int(s[i] - '0')
	}
	two := func(i int) int {
		a, b := d(i), d(i+1)
		if a < 0 || b < 0 {
			return -1
		}
		return a*10 + b
	}
	for i := range 4 {
		if d(i) < 0 {
			return false
		}
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return false
	}
	mo, dd, hh, mm, ss := two(5), two(8), two(11), two(14), two(17)
	if mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 {
		return false
	}
	rest := s[19 : len(s)-1]
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) < 2 {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if !isDigit(rest[i]) {
			return false
		}
	}
	return true
}

func (l *lexer) binary() (token, *SyntaxError) {
	start := l.pos
	s, err := l.prefixed("binary")
	if err != nil {
		return token{}, err
	}
	if len(s) == 0 || len(s)%4 != 0 || strings.TrimLeft(s, base64Chars) != "" || strings.ContainsAny(strings.TrimRight(s, "="), "=") || len(s)-len(strings.TrimRight(s, "=")) > 2 {
		return token{}, l.errf(start, "binary literal %q is not padded base64", clip(s))
	}
	b, derr := base64.StdEncoding.DecodeString(s)
	if derr != nil {
		return token{}, l.errf(start, "binary literal %q is not base64", clip(s))
	}
	return token{kind: tBinary, pos: start, text: l.src[start:l.pos], lit: Literal{Kind: Binary, Bytes: b}}, nil
}

// base64Chars are the characters of a padded base64 literal.
const base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

func (l *lexer) hexLit() (token, *SyntaxError) {
	start := l.pos
	s, err := l.prefixed("hex")
	if err != nil {
		return token{}, err
	}
	b, derr := hex.DecodeString(s)
	if derr != nil {
		return token{}, l.errf(start, "hex literal %q is not an even number of hex digits", clip(s))
	}
	return token{kind: tHex, pos: start, text: l.src[start:l.pos], lit: Literal{Kind: Hex, Bytes: b}}, nil
}

func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	i := 40
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
