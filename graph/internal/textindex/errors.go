package textindex

import "errors"

// Errors returned by this package. Callers test for them with errors.Is;
// the returned errors wrap them with the step that failed.
var (
	// ErrCorrupt means the index directory exists but cannot be opened as a
	// consistent index: files are missing, truncated or damaged, or were
	// written by an incompatible format version. The caller should Remove
	// the directory and rebuild the index from the source of truth.
	ErrCorrupt = errors.New("text index corrupt")

	// ErrClosed means the Index was used after Close.
	ErrClosed = errors.New("text index closed")

	// ErrBadQuery means a query was rejected: its text is too long, it uses
	// a regular expression or a wildcard after fewer than two characters,
	// it has too many terms or expands to too many, or its paging window is
	// larger than Options.MaxWindow.
	ErrBadQuery = errors.New("bad text query")
)
