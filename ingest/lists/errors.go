package lists

import (
	"errors"
	"fmt"

	"github.com/verband-cti/verband/ingest"
)

// Sentinel errors of this package. A Decoder returns them wrapped in an
// *ingest.ObjectError; Classify and ClassifyAs return them wrapped with the
// value at fault. Test with errors.Is.
var (
	// ErrUnknownType reports a value that is none of the kinds Classify
	// knows, or a type name ParseKind does not know. Nothing is guessed.
	ErrUnknownType = errors.New("unknown indicator type")

	// ErrTypeMismatch reports a value whose type column names a type that
	// the value does not have.
	ErrTypeMismatch = errors.New("value does not match its type column")

	// ErrEmptyValue reports an empty value field in a CSV record.
	ErrEmptyValue = errors.New("empty value")

	// ErrValueTooLong reports a value longer than MaxValueBytes.
	ErrValueTooLong = errors.New("value too long")

	// ErrLineTooLong reports a line longer than Options.MaxLineBytes. The
	// line is skipped and reading goes on with the next one. It wraps
	// ingest.ErrTooLarge.
	ErrLineTooLong = fmt.Errorf("line too long: %w", ingest.ErrTooLarge)

	// ErrInvalidUTF8 reports a line or field that is not valid UTF-8. It is
	// ingest.ErrInvalidUTF8.
	ErrInvalidUTF8 = ingest.ErrInvalidUTF8

	// ErrMalformedCSV reports a CSV record that encoding/csv cannot parse,
	// such as a stray quote; the *csv.ParseError is wrapped as well.
	ErrMalformedCSV = errors.New("malformed CSV record")

	// ErrBadColumns reports a column mapping that does not fit the file: a
	// named column missing from the header, or a column number beyond the
	// record. A missing header column is fatal.
	ErrBadColumns = errors.New("bad column mapping")

	// ErrBadTime reports a first_seen or last_seen field that is not a
	// timestamp (see ParseTime).
	ErrBadTime = errors.New("bad timestamp")

	// ErrBadTLP reports a TLP field that schema.ParseTLP does not read.
	ErrBadTLP = errors.New("bad TLP")

	// ErrTooBig reports a maltrail file larger than Options.MaxFileBytes;
	// maltrail files are read whole, to build the family before its
	// entries. It wraps ingest.ErrTooLarge.
	ErrTooBig = fmt.Errorf("maltrail file too large: %w", ingest.ErrTooLarge)
)
