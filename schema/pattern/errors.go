package pattern

import (
	"errors"
	"fmt"
)

// ErrSyntax is wrapped by every *SyntaxError, so callers can test for a
// pattern that does not parse with errors.Is.
var ErrSyntax = errors.New("invalid STIX pattern")

// SyntaxError reports where and why a pattern does not parse.
type SyntaxError struct {
	// Offset is the 0-based byte offset in the pattern where the problem
	// was found.
	Offset int
	// Msg says what was wrong, such as `want a literal after "=", found "]"`.
	Msg string
}

// Error renders the error as "pattern: offset 13: <msg>".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("pattern: offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }
