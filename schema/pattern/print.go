package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// String prints the pattern in a canonical form: single spaces, upper-case
// keywords, "=" and "!=" for equality, parentheses only where the grouping
// needs them, and property names quoted only when they must be. Parsing the
// result gives the same tree (offsets aside).
func (p *Pattern) String() string {
	var b strings.Builder
	writeObs(&b, p.Expr)
	return b.String()
}

// Observation-level precedences: higher binds tighter.
func obsPrec(e ObservationExpr) int {
	if op, ok := e.(*ObservationOp); ok {
		switch op.Op {
		case FollowedBy:
			return 1
		case Or:
			return 2
		default:
			return 3
		}
	}
	return 4
}

func writeObs(b *strings.Builder, e ObservationExpr) {
	switch e := e.(type) {
	case *Observation:
		b.WriteByte('[')
		writeCmp(b, e.Expr)
		b.WriteByte(']')
	case *ObservationOp:
		prec := obsPrec(e)
		writeObsParen(b, e.Left, obsPrec(e.Left) < prec)
		b.WriteString(" " + e.Op.String() + " ")
		writeObsParen(b, e.Right, obsPrec(e.Right) <= prec)
	case *Qualified:
		_, isOp := e.Expr.(*ObservationOp)
		writeObsParen(b, e.Expr, isOp || chainHas(e.Expr, e.Qualifier.Kind))
		b.WriteByte(' ')
		writeQualifier(b, e.Qualifier)
	}
}

// chainHas reports whether e is a chain of qualifiers (without parentheses
// between them) that holds one of kind k.
func chainHas(e ObservationExpr, k QualifierKind) bool {
	for {
		q, ok := e.(*Qualified)
		if !ok {
			return false
		}
		if q.Qualifier.Kind == k {
			return true
		}
		e = q.Expr
	}
}

func writeObsParen(b *strings.Builder, e ObservationExpr, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	writeObs(b, e)
	if paren {
		b.WriteByte(')')
	}
}

func writeQualifier(b *strings.Builder, q Qualifier) {
	switch q.Kind {
	case Within:
		b.WriteString("WITHIN ")
		writeLiteral(b, q.Value)
		b.WriteString(" SECONDS")
	case Repeats:
		b.WriteString("REPEATS ")
		writeLiteral(b, q.Value)
		b.WriteString(" TIMES")
	case StartStop:
		b.WriteString("START ")
		writeLiteral(b, q.Start)
		b.WriteString(" STOP ")
		writeLiteral(b, q.Stop)
	}
}

func cmpPrec(e ComparisonExpr) int {
	if op, ok := e.(*ComparisonOp); ok {
		if op.Op == Or {
			return 1
		}
		return 2
	}
	return 3
}

func writeCmp(b *strings.Builder, e ComparisonExpr) {
	switch e := e.(type) {
	case *ComparisonOp:
		prec := cmpPrec(e)
		writeCmpParen(b, e.Left, cmpPrec(e.Left) < prec)
		b.WriteString(" " + e.Op.String() + " ")
		writeCmpParen(b, e.Right, cmpPrec(e.Right) <= prec)
	case *Comparison:
		writeComparison(b, e)
	}
}

func writeCmpParen(b *strings.Builder, e ComparisonExpr, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	writeCmp(b, e)
	if paren {
		b.WriteByte(')')
	}
}

func writeComparison(b *strings.Builder, c *Comparison) {
	if c.Op == Exists {
		b.WriteString("EXISTS ")
		b.WriteString(c.Path.String())
		return
	}
	b.WriteString(c.Path.String())
	if c.Negated {
		b.WriteString(" NOT")
	}
	b.WriteByte(' ')
	b.WriteString(c.Op.String())
	b.WriteByte(' ')
	if c.Op != In {
		writeLiteral(b, c.Value)
		return
	}
	b.WriteByte('(')
	for i, l := range c.Set {
		if i > 0 {
			b.WriteString(", ")
		}
		writeLiteral(b, l)
	}
	b.WriteByte(')')
}

// String prints the path as a pattern writes it, such as
// file:hashes.'SHA-256'.
func (op ObjectPath) String() string {
	return op.Type + ":" + op.PropertyPath()
}

// PropertyPath prints the path without its type, such as hashes.'SHA-256'
// or body_multipart[*].body_raw_ref.name.
func (op ObjectPath) PropertyPath() string {
	var b strings.Builder
	for i, s := range op.Steps {
		switch s.Kind {
		case Key:
			if i > 0 {
				b.WriteByte('.')
			}
			if plainName(s.Name) {
				b.WriteString(s.Name)
			} else {
				writeString(&b, s.Name)
			}
		case Index:
			b.WriteByte('[')
			b.WriteString(strconv.FormatInt(s.Index, 10))
			b.WriteByte(']')
		case AnyIndex:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// keywords are the words that cannot be written as plain property names.
var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "FOLLOWEDBY": true, "LIKE": true, "MATCHES": true,
	"ISSUPERSET": true, "ISSUBSET": true, "EXISTS": true, "LAST": true, "IN": true, "START": true,
	"STOP": true, "SECONDS": true, "true": true, "false": true, "WITHIN": true, "REPEATS": true, "TIMES": true,
}

// plainName reports whether a property name may be written without quotes:
// an identifier without hyphens that is not a keyword.
func plainName(s string) bool {
	if s == "" || !isIdentStart(s[0]) || keywords[s] {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isIdentStart(c) && !isDigit(c) {
			return false
		}
	}
	return true
}

// String prints the literal as a pattern writes it.
func (l Literal) String() string {
	var b strings.Builder
	writeLiteral(&b, l)
	return b.String()
}

func writeLiteral(b *strings.Builder, l Literal) {
	switch l.Kind {
	case String:
		writeString(b, l.Str)
	case Int:
		b.WriteString(strconv.FormatInt(l.Int, 10))
	case Float:
		s := strconv.FormatFloat(l.Float, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		b.WriteString(s)
	case Bool:
		b.WriteString(strconv.FormatBool(l.Bool))
	case Binary:
		b.WriteString("b'" + base64.StdEncoding.EncodeToString(l.Bytes) + "'")
	case Hex:
		b.WriteString("h'" + hex.EncodeToString(l.Bytes) + "'")
	case Timestamp:
		b.WriteString("t'" + l.Str + "'")
	}
}

func writeString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\'' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
}
