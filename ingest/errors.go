package ingest

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/verband-cti/verband/schema"
)

// Sentinel errors that decoders wrap inside an *ObjectError. Callers test
// for them with errors.Is.
var (
	// ErrEmpty reports an input that holds nothing but whitespace.
	ErrEmpty = errors.New("empty input")

	// ErrMalformedJSON reports input that is not valid JSON. It is fatal:
	// nothing after the bad byte can be read.
	ErrMalformedJSON = errors.New("malformed JSON")

	// ErrTruncated reports input that ends in the middle of a value, or a
	// compressed stream that ends early; it wraps io.ErrUnexpectedEOF. It is
	// fatal.
	ErrTruncated = errors.New("truncated input")

	// ErrTrailingData reports bytes other than whitespace after the
	// top-level value. It is fatal.
	ErrTrailingData = errors.New("trailing data after the top-level value")

	// ErrBadTopLevel reports a top-level value that is not a bundle, a single
	// object or an array of objects, or a bundle whose "type" or "objects"
	// is wrong. It is fatal.
	ErrBadTopLevel = errors.New("top-level value is not a bundle, an object or an array of objects")

	// ErrNotObject reports an element of a bundle or array that is not a JSON
	// object, or is itself a bundle. The element is skipped; the stream goes on.
	ErrNotObject = errors.New("not a STIX object")

	// ErrTooDeep reports arrays and objects nested deeper than the decoder's
	// limit. The object is skipped; the stream goes on unless the nesting
	// exceeds the decoder's hard limit as well.
	ErrTooDeep = errors.New("nesting too deep")

	// ErrTooLarge reports an object larger than the decoder's size limit.
	// The object is skipped; the stream goes on.
	ErrTooLarge = errors.New("object too large")

	// ErrInvalidUTF8 reports a string that is not valid UTF-8, including an
	// escaped lone UTF-16 surrogate such as "\ud800". Decoders reject such
	// objects rather than replace the bad bytes.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")

	// ErrDuplicateKey reports an object that names the same property twice.
	// Such objects are rejected, since decoders disagree on which value wins.
	ErrDuplicateKey = errors.New("duplicate property")

	// ErrNotUpgraded reports STIX 2.0 objects that were returned before the
	// bundle's spec_version "2.0" was read (it came after "objects"), so they
	// were not upgraded to 2.1. It is reported once, at the end of the stream.
	ErrNotUpgraded = errors.New("STIX 2.0 objects read before the bundle's spec_version were not upgraded")
)

// ObjectError says where in which input a decoder failed: the file, the
// position of the object, its id and the property at fault, when known. It
// wraps the cause, which is one of the sentinels above, a
// *schema.ValidationError, or an I/O error.
type ObjectError struct {
	// File names the input, as given to the decoder.
	File string
	// Index is the 0-based position of the object in the file (in the
	// bundle's "objects", in a top-level array, or 0 for a single object),
	// or -1 when the error is not about one object.
	Index int
	// ID is the object's STIX id when the decoder read that far.
	ID string
	// Field is the property at fault, or empty.
	Field string
	// Offset is the byte offset in the (decompressed) input where the
	// problem was found, or where the object starts; -1 when unknown.
	Offset int64
	// Fatal reports that no further objects can be read from the input.
	// When it is false the caller may skip the object and call Next again.
	Fatal bool
	// Err is the cause.
	Err error
}

// Error renders the error as
// `attack.json: object 1532 (indicator--…): field "pattern": <reason>`,
// adding the byte offset for fatal errors. The id and field come from a
// wrapped *schema.ValidationError when the ObjectError does not set them.
func (e *ObjectError) Error() string {
	id, field := e.where()
	var b strings.Builder
	b.WriteString(e.File)
	if e.File == "" {
		b.WriteString("<input>")
	}
	switch {
	case e.Index >= 0:
		b.WriteString(": object ")
		b.WriteString(strconv.Itoa(e.Index))
		if id != "" {
			b.WriteString(" (" + clip(id) + ")")
		}
	case id != "":
		b.WriteString(": " + clip(id))
	}
	if field != "" {
		b.WriteString(": field " + strconv.Quote(clip(field)))
	}
	if e.Fatal && e.Offset >= 0 {
		b.WriteString(": at byte ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
	}
	b.WriteString(": ")
	b.WriteString(e.reason())
	return b.String()
}

// maxShown is how many bytes of an id or property name an error message
// shows; hostile input can make either arbitrarily long.
const maxShown = 200

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= maxShown {
		return s
	}
	i := maxShown
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// Unwrap returns the cause.
func (e *ObjectError) Unwrap() error { return e.Err }

// where returns the id and field, lifted from a wrapped
// *schema.ValidationError when the error itself leaves them empty.
func (e *ObjectError) where() (id, field string) {
	id, field = e.ID, e.Field
	var ve *schema.ValidationError
	if (id == "" || field == "") && errors.As(e.Err, &ve) {
		if id == "" {
			id = ve.ObjectID
		}
		if field == "" {
			field = ve.Property
		}
	}
	return id, field
}

// reason renders the cause without repeating the id and property that
// Error already shows when the cause is a *schema.ValidationError.
func (e *ObjectError) reason() string {
	if e.Err == nil {
		return "unknown error"
	}
	if ve, ok := e.Err.(*schema.ValidationError); ok {
		if ve.Err != nil {
			return ve.Reason + ": " + ve.Err.Error()
		}
		return ve.Reason
	}
	return e.Err.Error()
}

// IsFatal reports whether err means that no further objects can be read
// from the input. It is false for nil, for io.EOF (the normal end) and for an
// *ObjectError about one bad object, after which the caller may go on
// reading; every other error is fatal.
func IsFatal(err error) bool {
	if err == nil || err == io.EOF {
		return false
	}
	var oe *ObjectError
	if errors.As(err, &oe) {
		return oe.Fatal
	}
	return true
}
