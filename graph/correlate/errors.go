package correlate

import "errors"

// Errors returned by the package. Callers test them with errors.Is; the
// returned errors wrap them with the step that failed. A container the
// viewer may not see is reported with graph.ErrNotFound, exactly like a
// missing one.
var (
	// ErrNotContainer means the object asked about is not a container
	// (see ContainerTypes), so nothing correlates through it.
	ErrNotContainer = errors.New("not a container")
)
