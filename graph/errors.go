package graph

import "errors"

// Errors returned by the store. Callers test them with errors.Is; the
// returned errors wrap them with the step that failed.
var (
	// ErrNotFound means no visible node has the given id, STIX id or value.
	// A node the viewer may not see is reported exactly like a missing one.
	ErrNotFound = errors.New("not found")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store closed")
	// ErrFormatVersion means the data directory was written by a version of
	// Verband with another storage format.
	ErrFormatVersion = errors.New("unsupported storage format version")
	// ErrCorrupt means a stored key or record does not decode.
	ErrCorrupt = errors.New("corrupt store data")
	// ErrReadOnly means a write was attempted in a read-only transaction or
	// on a store opened read-only.
	ErrReadOnly = errors.New("read-only")
	// ErrTooLarge means one object needs more writes than a single Badger
	// transaction can hold (for example a report with hundreds of thousands
	// of references).
	ErrTooLarge = errors.New("object too large for one transaction")
	// ErrForbidden means the viewer may see an object but not do what was
	// asked with it, such as change another organization's policy or pass
	// on an object it may not re-share.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid means an argument was rejected before any work was done.
	ErrInvalid = errors.New("invalid argument")
	// ErrLocked means another process (a running serve or demo) has the
	// data directory open.
	ErrLocked = errors.New("data directory is in use by another process")
	// ErrEncryptionKey means the encryption key could not be read or has the
	// wrong length.
	ErrEncryptionKey = errors.New("bad encryption key")
)
