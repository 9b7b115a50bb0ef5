package schema

import (
	"errors"
	"fmt"
)

// ErrNotSCO reports an operation that needs a STIX Cyber-observable Object,
// such as SCOID, applied to another kind of object.
var ErrNotSCO = errors.New("not a cyber-observable object")

// ValidationError says which object and which property broke which rule.
// Ingest wraps it with the file and the object's position.
type ValidationError struct {
	// ObjectID is the STIX id of the offending object, when it has one.
	ObjectID string
	// Property is the property name, or a path such as "hashes.SHA-256".
	Property string
	// Reason says what is wrong, in a few words.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *ValidationError) Error() string {
	s := "invalid"
	if e.ObjectID != "" {
		s += " object " + e.ObjectID
	}
	if e.Property != "" {
		s += fmt.Sprintf(" property %q", e.Property)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ValidationError) Unwrap() error { return e.Err }
