package pattern

import "fmt"

// MaxDepth bounds the nesting of parentheses and brackets in a pattern, so
// that hostile input cannot exhaust the stack.
const MaxDepth = 200

var sprintf = fmt.Sprintf

// Parse parses a STIX 2.1 pattern. It fails with a *SyntaxError (wrapping
// ErrSyntax) that gives the byte offset of the first problem.
func Parse(s string) (*Pattern, error) {
	p := &parser{lex: lexer{src: s}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	e, err := p.observations()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("an observation operator (AND, OR, FOLLOWEDBY) or a qualifier")
	}
	return &Pattern{Expr: e}, nil
}

// parser is a recursive-descent parser with one token of look-ahead.
type parser struct {
	lex   lexer
	tok   token
	depth int
}

// advance reads the next token. (It returns error, not *SyntaxError, so
// that a nil result is a nil interface.)
func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errf(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unexpected(want string) *SyntaxError {
	return p.errf(p.tok.pos, "want %s, found %s", want, p.tok.describe())
}

// keyword reports whether the current token is the keyword kw.
func (p *parser) keyword(kw string) bool {
	return p.tok.kind == tIdent && p.tok.text == kw
}

func (p *parser) expect(k tokKind, want string) error {
	if p.tok.kind != k {
		return p.unexpected(want)
	}
	return p.advance()
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errf(p.tok.pos, "nesting deeper than %d levels", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// chain parses operand (keyword operand)*, joining left to right, as every
// binary operator of the grammar does.
func chain[E any](p *parser, keyword string, operand func() (E, error), join func(pos int, l, r E) E) (E, error) {
	var zero E
	left, err := operand()
	if err != nil {
		return zero, err
	}
	for p.keyword(keyword) {
		pos := p.tok.pos
		if err := p.advance(); err != nil {
			return zero, err
		}
		right, err := operand()
		if err != nil {
			return zero, err
		}
		left = join(pos, left, right)
	}
	return left, nil
}

// observations parses observationExpressions: FOLLOWEDBY chains.
func (p *parser) observations() (ObservationExpr, error) {
	return chain(p, "FOLLOWEDBY", p.observationOr, func(pos int, l, r ObservationExpr) ObservationExpr {
		return &ObservationOp{Offset: pos, Op: FollowedBy, Left: l, Right: r}
	})
}

func (p *parser) observationOr() (ObservationExpr, error) {
	return chain(p, "OR", p.observationAnd, func(pos int, l, r ObservationExpr) ObservationExpr {
		return &ObservationOp{Offset: pos, Op: Or, Left: l, Right: r}
	})
}

func (p *parser) observationAnd() (ObservationExpr, error) {
	return chain(p, "AND", p.qualified, func(pos int, l, r ObservationExpr) ObservationExpr {
		return &ObservationOp{Offset: pos, Op: And, Left: l, Right: r}
	})
}

// qualified parses an observation expression and the qualifiers after it.
// The same kind of qualifier may not follow a bracketed observation twice
// (the OASIS validator's rule; after a parenthesised expression it may).
func (p *parser) qualified() (ObservationExpr, error) {
	compound := p.tok.kind == tLParen
	e, err := p.observationPrimary()
	if err != nil {
		return nil, err
	}
	var seen [StartStop + 1]bool
	for {
		pos := p.tok.pos
		var q Qualifier
		switch {
		case p.keyword("WITHIN"):
			q, err = p.within()
		case p.keyword("REPEATS"):
			q, err = p.repeats()
		case p.keyword("START"):
			q, err = p.startStop()
		default:
			return e, nil
		}
		if err != nil {
			return nil, err
		}
		if seen[q.Kind] && !compound {
			return nil, p.errf(pos, "a second %s qualifier on one observation expression (put the first in parentheses)", q.Kind)
		}
		seen[q.Kind] = true
		e = &Qualified{Offset: pos, Expr: e, Qualifier: q}
	}
}

func (p *parser) within() (Qualifier, error) {
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	t := p.tok
	if (t.kind != tInt && t.kind != tFloat) || t.text[0] == '-' || (t.kind == tFloat && t.lit.Float < 0) {
		return Qualifier{}, p.unexpected("a positive number of seconds after WITHIN")
	}
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	if !p.keyword("SECONDS") {
		return Qualifier{}, p.unexpected("SECONDS")
	}
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	return Qualifier{Kind: Within, Value: t.lit}, nil
}

func (p *parser) repeats() (Qualifier, error) {
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	t := p.tok
	if t.kind != tInt || t.text[0] == '-' {
		return Qualifier{}, p.unexpected("a positive integer after REPEATS")
	}
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	if !p.keyword("TIMES") {
		return Qualifier{}, p.unexpected("TIMES")
	}
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	return Qualifier{Kind: Repeats, Value: t.lit}, nil
}

func (p *parser) startStop() (Qualifier, error) {
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	start := p.tok
	if start.kind != tTimestamp {
		return Qualifier{}, p.unexpected("a timestamp t'…' after START")
	}
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	if !p.keyword("STOP") {
		return Qualifier{}, p.unexpected("STOP")
	}
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	stop := p.tok
	if stop.kind != tTimestamp {
		return Qualifier{}, p.unexpected("a timestamp t'…' after STOP")
	}
	if err := p.advance(); err != nil {
		return Qualifier{}, err
	}
	return Qualifier{Kind: StartStop, Start: start.lit, Stop: stop.lit}, nil
}

// observationPrimary parses [ comparisons ] or ( observations ).
func (p *parser) observationPrimary() (ObservationExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	pos := p.tok.pos
	switch p.tok.kind {
	case tLBrack:
		if err := p.advance(); err != nil {
			return nil, err
		}
		c, err := p.comparisonOr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tRBrack, `"]" or a comparison operator (AND, OR)`); err != nil {
			return nil, err
		}
		return &Observation{Offset: pos, Expr: c}, nil
	case tLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.observations()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tRParen, `")" or an observation operator (AND, OR, FOLLOWEDBY)`); err != nil {
			return nil, err
		}
		return e, nil
	}
	return nil, p.unexpected(`an observation expression ("[" or "(")`)
}

func (p *parser) comparisonOr() (ComparisonExpr, error) {
	return chain(p, "OR", p.comparisonAnd, func(pos int, l, r ComparisonExpr) ComparisonExpr {
		return &ComparisonOp{Offset: pos, Op: Or, Left: l, Right: r}
	})
}

func (p *parser) comparisonAnd() (ComparisonExpr, error) {
	return chain(p, "AND", p.propTest, func(pos int, l, r ComparisonExpr) ComparisonExpr {
		return &ComparisonOp{Offset: pos, Op: And, Left: l, Right: r}
	})
}

// propTest parses one comparison or a parenthesised comparison expression.
func (p *parser) propTest() (ComparisonExpr, error) {
	pos := p.tok.pos
	if p.tok.kind == tLParen {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		if err := p.advance(); err != nil {
			return nil, err
		}
		c, err := p.comparisonOr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tRParen, `")" or a comparison operator (AND, OR)`); err != nil {
			return nil, err
		}
		return c, nil
	}
	if p.keyword("EXISTS") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		path, err := p.objectPath()
		if err != nil {
			return nil, err
		}
		return &Comparison{Offset: pos, Path: path, Op: Exists}, nil
	}
	path, err := p.objectPath()
	if err != nil {
		return nil, err
	}
	c := &Comparison{Offset: pos, Path: path}
	if p.keyword("NOT") {
		c.Negated = true
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	opTok := p.tok
	switch {
	case opTok.kind == tCmp:
		switch opTok.text {
		case "=", "==":
			c.Op = Equal
		case "!=", "<>":
			c.Op = NotEqual
		case ">":
			c.Op = Greater
		case "<":
			c.Op = Less
		case ">=":
			c.Op = GreaterEqual
		case "<=":
			c.Op = LessEqual
		}
	case p.keyword("IN"):
		c.Op = In
	case p.keyword("LIKE"):
		c.Op = Like
	case p.keyword("MATCHES"):
		c.Op = Matches
	case p.keyword("ISSUBSET"):
		c.Op = IsSubset
	case p.keyword("ISSUPERSET"):
		c.Op = IsSuperset
	default:
		return nil, p.unexpected("a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	switch c.Op {
	case Equal, NotEqual:
		c.Value, err = p.literal(true, opTok)
	case Greater, Less, GreaterEqual, LessEqual:
		c.Value, err = p.literal(false, opTok)
	case In:
		c.Set, err = p.set()
	default:
		if p.tok.kind != tString {
			return nil, p.unexpected(fmt.Sprintf("a string after %s", c.Op))
		}
		c.Value = p.tok.lit
		err = p.advance()
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// literal parses a primitive literal (bools included when withBool).
func (p *parser) literal(withBool bool, after token) (Literal, error) {
	t := p.tok
	switch t.kind {
	case tString, tInt, tFloat, tBinary, tHex, tTimestamp:
	case tIdent:
		if !withBool || (t.text != "true" && t.text != "false") {
			return Literal{}, p.unexpected(fmt.Sprintf("a literal after %q", after.text))
		}
		t.lit = Literal{Kind: Bool, Bool: t.text == "true"}
	default:
		return Literal{}, p.unexpected(fmt.Sprintf("a literal after %q", after.text))
	}
	if err := p.advance(); err != nil {
		return Literal{}, err
	}
	return t.lit, nil
}

// set parses ( literal, … ) after IN.
func (p *parser) set() ([]Literal, error) {
	if p.tok.kind != tLParen {
		return nil, p.unexpected(`"(" to start the set after IN`)
	}
	open := p.tok
	if err := p.advance(); err != nil {
		return nil, err
	}
	out := []Literal{}
	if p.tok.kind == tRParen {
		return out, p.advance()
	}
	for {
		lit, err := p.literal(true, open)
		if err != nil {
			return nil, err
		}
		out = append(out, lit)
		switch p.tok.kind {
		case tComma:
			if err := p.advance(); err != nil {
				return nil, err
			}
			open = token{text: ","}
		case tRParen:
			return out, p.advance()
		default:
			return nil, p.unexpected(`"," or ")" in the set after IN`)
		}
	}
}

// objectPath parses type:first(.key | [n] | [*])*.
func (p *parser) objectPath() (ObjectPath, error) {
	var path ObjectPath
	if p.tok.kind != tIdent {
		return path, p.unexpected("an object path such as file:name")
	}
	path.Type = p.tok.text
	if err := p.advance(); err != nil {
		return path, err
	}
	if p.tok.kind != tColon {
		return path, p.unexpected(fmt.Sprintf(`":" after the object type %q`, path.Type))
	}
	if err := p.advance(); err != nil {
		return path, err
	}
	name, err := p.pathKey()
	if err != nil {
		return path, err
	}
	path.Steps = append(path.Steps, Step{Kind: Key, Name: name})
	for {
		switch p.tok.kind {
		case tDot:
			if err := p.advance(); err != nil {
				return path, err
			}
			name, err := p.pathKey()
			if err != nil {
				return path, err
			}
			path.Steps = append(path.Steps, Step{Kind: Key, Name: name})
		case tLBrack:
			if err := p.advance(); err != nil {
				return path, err
			}
			switch t := p.tok; t.kind {
			case tStar:
				path.Steps = append(path.Steps, Step{Kind: AnyIndex})
			case tInt:
				path.Steps = append(path.Steps, Step{Kind: Index, Index: t.lit.Int})
			default:
				return path, p.unexpected("a list index or * inside [ ]")
			}
			if err := p.advance(); err != nil {
				return path, err
			}
			if err := p.expect(tRBrack, `"]" after the list index`); err != nil {
				return path, err
			}
		default:
			return path, nil
		}
	}
}

// pathKey parses a property name: an identifier or a quoted string.
func (p *parser) pathKey() (string, error) {
	t := p.tok
	if t.kind != tIdent && t.kind != tString {
		return "", p.unexpected("a property name")
	}
	name := t.text
	if t.kind == tString {
		name = t.lit.Str
	}
	return name, p.advance()
}
