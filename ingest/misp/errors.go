package misp

import "errors"

// Sentinel errors of this package, wrapped inside *ingest.ObjectError
// values next to the shared sentinels of package ingest (ErrMalformedJSON,
// ErrTruncated, ErrTrailingData, ErrBadTopLevel, ErrEmpty, ErrTooDeep,
// ErrTooLarge, ErrInvalidUTF8, ErrDuplicateKey). Callers test them with
// errors.Is.
var (
	// ErrBadField reports a MISP field of the wrong JSON type (an
	// "Attribute" that is not an array, a "timestamp" that is not a number)
	// or a required field that is missing (an attribute without "type" or
	// "value"). The attribute, object or event at fault is skipped; the
	// ObjectError names the field by its path, such as
	// "Object[2].Attribute[0].value".
	ErrBadField = errors.New("bad MISP field")

	// ErrNotEvent reports an element of a REST response, a top-level array
	// or a feed that is neither a MISP event nor a sharing group. It is
	// skipped.
	ErrNotEvent = errors.New("not a MISP event")

	// ErrEmptyEvent reports an event with nothing to hold in a report: no
	// attributes, objects, galaxies or organisation.
	ErrEmptyEvent = errors.New("empty MISP event")

	// ErrBadManifest reports a feed manifest.json that is not an object
	// keyed by event uuid.
	ErrBadManifest = errors.New("bad MISP feed manifest")
)
