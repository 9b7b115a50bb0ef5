package cluster

import "errors"

// Errors returned by the package. Callers test them with errors.Is; the
// returned errors wrap them with the step that failed.
var (
	// ErrInvalid means an option or argument was rejected before any work
	// was done: a negative threshold, an overlap outside (0, 1], a path
	// asked for between a container and itself.
	ErrInvalid = errors.New("invalid argument")
	// ErrLimit means a path search examined more links than
	// PathOptions.MaxVisits allows.
	ErrLimit = errors.New("limit exceeded")
	// ErrSnapshot means a stored snapshot does not decode, or was written
	// by a newer version of this package.
	ErrSnapshot = errors.New("bad cluster snapshot")
)
