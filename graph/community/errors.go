package community

import "errors"

// Errors returned by this package. Callers test them with errors.Is; the
// returned errors wrap them with the step that failed and the offending value.
var (
	// ErrInvalid means an argument was rejected before any work was done: a
	// negative or too large node index, a negative, NaN or infinite weight, a
	// partition of the wrong length, or an option out of range.
	ErrInvalid = errors.New("invalid argument")
	// ErrSyntax means a line of an edge list does not parse; the error names
	// the line number.
	ErrSyntax = errors.New("edge list syntax error")
)
