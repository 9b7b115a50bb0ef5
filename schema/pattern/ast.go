package pattern

// Pattern is a parsed STIX pattern.
type Pattern struct {
	// Expr is the top-level observation expression.
	Expr ObservationExpr
}

// ObservationExpr is an observation expression: *Observation,
// *ObservationOp or *Qualified.
type ObservationExpr interface {
	// Pos returns the byte offset in the pattern where the expression
	// starts (for an operator, where the operator keyword is).
	Pos() int
	obsExpr()
}

// ComparisonExpr is a comparison expression inside square brackets:
// *ComparisonOp or *Comparison.
type ComparisonExpr interface {
	// Pos returns the byte offset in the pattern where the expression
	// starts (for an operator, where the operator keyword is).
	Pos() int
	cmpExpr()
}

// Operator joins two expressions.
type Operator uint8

// Operators. And and Or join observation expressions and comparison
// expressions alike; FollowedBy joins only observation expressions.
const (
	And Operator = iota + 1
	Or
	FollowedBy
)

// String returns the keyword: "AND", "OR" or "FOLLOWEDBY".
func (o Operator) String() string {
	switch o {
	case And:
		return "AND"
	case Or:
		return "OR"
	case FollowedBy:
		return "FOLLOWEDBY"
	}
	return "?"
}

// Observation is a comparison expression in square brackets: what one
// observed object must match.
type Observation struct {
	Offset int
	Expr   ComparisonExpr
}

// ObservationOp joins two observation expressions.
type ObservationOp struct {
	Offset      int
	Op          Operator
	Left, Right ObservationExpr
}

// QualifierKind names a qualifier.
type QualifierKind uint8

// Qualifier kinds.
const (
	// Within is WITHIN <seconds> SECONDS.
	Within QualifierKind = iota + 1
	// Repeats is REPEATS <n> TIMES.
	Repeats
	// StartStop is START t'…' STOP t'…'.
	StartStop
)

// String returns "WITHIN", "REPEATS" or "START/STOP".
func (k QualifierKind) String() string {
	switch k {
	case Within:
		return "WITHIN"
	case Repeats:
		return "REPEATS"
	case StartStop:
		return "START/STOP"
	}
	return "?"
}

// Qualifier restricts when or how often an observation expression matches.
type Qualifier struct {
	Kind QualifierKind
	// Value is the number of seconds of Within (an Int or Float literal)
	// or the count of Repeats (an Int literal).
	Value Literal
	// Start and Stop are the Timestamp literals of StartStop.
	Start, Stop Literal
}

// Qualified is an observation expression with a qualifier.
type Qualified struct {
	Offset    int
	Expr      ObservationExpr
	Qualifier Qualifier
}

// ComparisonOp joins two comparison expressions with And or Or.
type ComparisonOp struct {
	Offset      int
	Op          Operator
	Left, Right ComparisonExpr
}

// Comparator is the operator of a comparison.
type Comparator uint8

// Comparators.
const (
	Equal        Comparator = iota + 1 // = (also written ==)
	NotEqual                           // != (also written <>)
	Greater                            // >
	Less                               // <
	GreaterEqual                       // >=
	LessEqual                          // <=
	In                                 // IN (a set of literals)
	Like                               // LIKE (SQL wildcards)
	Matches                            // MATCHES (a PCRE regular expression)
	IsSubset                           // ISSUBSET (an IP range)
	IsSuperset                         // ISSUPERSET (an IP range)
	Exists                             // EXISTS (no literal)
)

var comparatorNames = [...]string{
	Equal: "=", NotEqual: "!=", Greater: ">", Less: "<", GreaterEqual: ">=", LessEqual: "<=",
	In: "IN", Like: "LIKE", Matches: "MATCHES", IsSubset: "ISSUBSET", IsSuperset: "ISSUPERSET", Exists: "EXISTS",
}

// String returns the operator as a pattern writes it.
func (c Comparator) String() string {
	if int(c) < len(comparatorNames) && comparatorNames[c] != "" {
		return comparatorNames[c]
	}
	return "?"
}

// Comparison tests one property of an observed object.
type Comparison struct {
	Offset int
	// Path names the property.
	Path ObjectPath
	// Negated is set when NOT precedes the operator.
	Negated bool
	Op      Comparator
	// Value is the literal compared with, for every operator but In and
	// Exists.
	Value Literal
	// Set holds the literals of In (possibly none).
	Set []Literal
}

// ObjectPath names a property of an object: its type and the steps from
// the object to the property, such as file:hashes.'SHA-256' or
// network-traffic:dst_ref.value or email-message:body_multipart[*].body_raw_ref.name.
type ObjectPath struct {
	// Type is the STIX type of the object, such as "file".
	Type string
	// Steps go from the object to the property; the first is always a Key.
	Steps []Step
}

// StepKind says what a path step is.
type StepKind uint8

// Step kinds.
const (
	// Key selects a property (or dictionary key) by name.
	Key StepKind = iota + 1
	// Index selects a list element by position.
	Index
	// AnyIndex ([*]) selects any element of a list.
	AnyIndex
)

// Step is one step of an object path.
type Step struct {
	Kind StepKind
	// Name is the property name of a Key step.
	Name string
	// Index is the position of an Index step (the grammar allows negative
	// positions).
	Index int64
}

// LiteralKind says what a literal is.
type LiteralKind uint8

// Literal kinds.
const (
	String    LiteralKind = iota + 1 // 'text'
	Int                              // 42, -1, +7
	Float                            // 7.0, -.5
	Bool                             // true, false
	Binary                           // b'base64'
	Hex                              // h'ffd8'
	Timestamp                        // t'2016-06-01T00:00:00Z'
)

// Literal is a constant in a pattern. Only the field of its kind is set.
type Literal struct {
	Kind LiteralKind
	// Str is the text of a String (unescaped) or a Timestamp (as written,
	// between the quotes).
	Str   string
	Int   int64
	Float float64
	Bool  bool
	// Bytes is the decoded content of a Binary or Hex literal.
	Bytes []byte
}

// Pos returns the offset of the opening bracket.
func (e *Observation) Pos() int { return e.Offset }

// Pos returns the offset of the operator keyword.
func (e *ObservationOp) Pos() int { return e.Offset }

// Pos returns the offset of the qualifier keyword.
func (e *Qualified) Pos() int { return e.Offset }

// Pos returns the offset of the operator keyword.
func (e *ComparisonOp) Pos() int { return e.Offset }

// Pos returns the offset of the comparison's object path (or of EXISTS).
func (e *Comparison) Pos() int { return e.Offset }

func (*Observation) obsExpr()   {}
func (*ObservationOp) obsExpr() {}
func (*Qualified) obsExpr()     {}
func (*ComparisonOp) cmpExpr()  {}
func (*Comparison) cmpExpr()    {}
