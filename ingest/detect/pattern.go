package detect

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds a parser for the subset of STIX patterning that detection
// tools can use: observation expressions joined by OR, each holding
// comparisons joined by OR (or, for network traffic, by AND), with the
// operators = and ISSUBSET on string or integer literals. Everything else
// (qualifiers, NOT, LIKE, MATCHES, !=, parentheses, FOLLOWEDBY, nested
// references other than dst_ref) is refused with ErrNotSimple, and the
// indicator is left out of the export.

// comparison is one "object-path op literal".
type comparison struct {
	objType string   // "ipv4-addr"
	path    []string // ["value"], ["hashes", "SHA-256"], ["dst_ref", "value"]
	op      string   // "=" or "ISSUBSET"
	str     string   // a string literal
	num     int      // an integer literal
	isNum   bool
}

// observation is one bracketed observation expression.
type observation struct {
	comps []comparison
	and   bool // the comparisons are joined by AND (else by OR)
}

// token kinds.
const (
	tEOF = iota
	tLBrack
	tRBrack
	tPath
	tOp
	tString
	tNumber
	tAnd
	tOr
	tOther
)

type token struct {
	kind int
	text string
}

// lexer splits a pattern into tokens.
type lexer struct {
	s   string
	pos int
}

func (l *lexer) next() (token, error) {
	s := l.s
	for l.pos < len(s) && (s[l.pos] == ' ' || s[l.pos] == '\t' || s[l.pos] == '\n' || s[l.pos] == '\r') {
		l.pos++
	}
	if l.pos >= len(s) {
		return token{kind: tEOF}, nil
	}
	start := l.pos
	c := s[l.pos]
	switch {
	case c == '[':
		l.pos++
		return token{tLBrack, "["}, nil
	case c == ']':
		l.pos++
		return token{tRBrack, "]"}, nil
	case c == '=':
		l.pos++
		return token{tOp, "="}, nil
	case c == '!' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',':
		l.pos++
		return token{tOther, string(c)}, nil
	case c == '\'':
		str, err := l.str()
		return token{tString, str}, err
	case c == '-' || c >= '0' && c <= '9':
		l.pos++
		for l.pos < len(s) && (s[l.pos] >= '0' && s[l.pos] <= '9' || s[l.pos] == '.') {
			l.pos++
		}
		return token{tNumber, s[start:l.pos]}, nil
	}
	// A word: a keyword or an object path, which may hold quoted keys
	// ("file:hashes.'SHA-256'").
	for l.pos < len(s) {
		c := s[l.pos]
		if c == '\'' && l.pos > start && s[l.pos-1] == '.' {
			if _, err := l.str(); err != nil {
				return token{}, err
			}
			continue
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '[' || c == ']' || c == '=' ||
			c == '!' || c == '<' || c == '>' || c == '(' || c == ')' || c == '\'' || c == ',' {
			break
		}
		l.pos++
	}
	word := s[start:l.pos]
	if word == "" {
		l.pos++
		return token{tOther, string(c)}, nil
	}
	switch strings.ToUpper(word) {
	case "AND":
		return token{tAnd, word}, nil
	case "OR":
		return token{tOr, word}, nil
	case "ISSUBSET":
		return token{tOp, "ISSUBSET"}, nil
	}
	if strings.Contains(word, ":") {
		return token{tPath, word}, nil
	}
	return token{tOther, word}, nil
}

// str reads a quoted string literal at l.pos, undoing \' and \\.
func (l *lexer) str() (string, error) {
	s := l.s
	l.pos++ // the opening quote
	var b strings.Builder
	for l.pos < len(s) {
		c := s[l.pos]
		switch c {
		case '\\':
			if l.pos+1 >= len(s) || s[l.pos+1] != '\'' && s[l.pos+1] != '\\' {
				return "", fmt.Errorf("bad escape at offset %d: %w", l.pos, ErrNotSimple)
			}
			b.WriteByte(s[l.pos+1])
			l.pos += 2
		case '\'':
			l.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", fmt.Errorf("unterminated string: %w", ErrNotSimple)
}

// parsePattern parses a simple pattern into its observations.
func parsePattern(p string) ([]observation, error) {
	l := &lexer{s: p}
	var obs []observation
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		if t.kind != tLBrack {
			return nil, fmt.Errorf("expected '[' at offset %d, got %q: %w", l.pos, t.text, ErrNotSimple)
		}
		o, err := parseObservation(l)
		if err != nil {
			return nil, err
		}
		obs = append(obs, o)
		t, err = l.next()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tEOF:
			return obs, nil
		case tOr:
			continue
		}
		return nil, fmt.Errorf("%q after an observation (qualifiers and AND/FOLLOWEDBY between observations are not simple): %w", t.text, ErrNotSimple)
	}
}

// parseObservation parses the comparisons up to the closing bracket.
func parseObservation(l *lexer) (observation, error) {
	var o observation
	for i := 0; ; i++ {
		c, err := parseComparison(l)
		if err != nil {
			return o, err
		}
		o.comps = append(o.comps, c)
		t, err := l.next()
		if err != nil {
			return o, err
		}
		switch t.kind {
		case tRBrack:
			return o, nil
		case tAnd, tOr:
			and := t.kind == tAnd
			if i > 0 && and != o.and {
				return o, fmt.Errorf("AND and OR mixed in one observation: %w", ErrNotSimple)
			}
			o.and = and
			continue
		}
		return o, fmt.Errorf("unexpected %q in an observation: %w", t.text, ErrNotSimple)
	}
}

// parseComparison parses "object-path op literal".
func parseComparison(l *lexer) (comparison, error) {
	var c comparison
	t, err := l.next()
	if err != nil {
		return c, err
	}
	if t.kind != tPath {
		return c, fmt.Errorf("expected an object path, got %q: %w", t.text, ErrNotSimple)
	}
	typ, path, _ := strings.Cut(t.text, ":")
	c.objType = typ
	if c.path, err = splitPath(path); err != nil {
		return c, err
	}
	t, err = l.next()
	if err != nil {
		return c, err
	}
	if t.kind != tOp {
		return c, fmt.Errorf("operator %q is not = or ISSUBSET: %w", t.text, ErrNotSimple)
	}
	c.op = t.text
	t, err = l.next()
	if err != nil {
		return c, err
	}
	switch t.kind {
	case tString:
		c.str = t.text
	case tNumber:
		n, err := strconv.Atoi(t.text)
		if err != nil {
			return c, fmt.Errorf("number %q: %w", t.text, ErrNotSimple)
		}
		c.num, c.isNum = n, true
	default:
		return c, fmt.Errorf("literal %q is not a string or an integer: %w", t.text, ErrNotSimple)
	}
	return c, nil
}

// splitPath splits "hashes.'SHA-256'" into ["hashes", "SHA-256"].
func splitPath(p string) ([]string, error) {
	var out []string
	for p != "" {
		if p[0] == '\'' {
			end := strings.IndexByte(p[1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted key: %w", ErrNotSimple)
			}
			out = append(out, p[1:1+end])
			p = p[2+end:]
		} else {
			i := strings.IndexByte(p, '.')
			if i < 0 {
				i = len(p)
			}
			out = append(out, p[:i])
			p = p[i:]
		}
		if p != "" {
			if p[0] != '.' {
				return nil, fmt.Errorf("bad object path: %w", ErrNotSimple)
			}
			p = p[1:]
			if p == "" {
				return nil, fmt.Errorf("object path ends in '.': %w", ErrNotSimple)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty object path: %w", ErrNotSimple)
	}
	return out, nil
}
