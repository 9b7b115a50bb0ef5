package ingest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/verband-cti/verband/schema"
)

func TestObjectErrorMessage(t *testing.T) {
	ve := &schema.ValidationError{ObjectID: "indicator--1", Property: "pattern", Reason: "unbalanced brackets"}
	tests := []struct {
		name string
		err  *ObjectError
		want string
	}{
		{
			name: "all fields",
			err:  &ObjectError{File: "attack.json", Index: 1532, ID: "indicator--1", Field: "pattern", Offset: 99, Err: errors.New("bad")},
			want: `attack.json: object 1532 (indicator--1): field "pattern": bad`,
		},
		{
			name: "lifted from a validation error",
			err:  &ObjectError{File: "attack.json", Index: 1532, Offset: -1, Err: ve},
			want: `attack.json: object 1532 (indicator--1): field "pattern": unbalanced brackets`,
		},
		{
			name: "validation error with a cause",
			err: &ObjectError{File: "a.json", Index: 0, Offset: -1,
				Err: &schema.ValidationError{Property: "created", Reason: "not a timestamp", Err: errors.New("parse")}},
			want: `a.json: object 0: field "created": not a timestamp: parse`,
		},
		{
			name: "wrapped validation error keeps its context",
			err:  &ObjectError{File: "a.json", Index: 2, Offset: -1, Err: fmt.Errorf("validate: %w", ve)},
			want: `a.json: object 2 (indicator--1): field "pattern": validate: invalid object indicator--1 property "pattern": unbalanced brackets`,
		},
		{
			name: "fatal, not about one object",
			err:  &ObjectError{File: "b.json.gz", Index: -1, Offset: 12345, Fatal: true, Err: ErrTrailingData},
			want: `b.json.gz: at byte 12345: trailing data after the top-level value`,
		},
		{
			name: "about the bundle",
			err:  &ObjectError{File: "b.json", Index: -1, ID: "bundle--1", Field: "objects", Offset: -1, Fatal: true, Err: ErrBadTopLevel},
			want: `b.json: bundle--1: field "objects": top-level value is not a bundle, an object or an array of objects`,
		},
		{
			name: "long id and field are clipped",
			err:  &ObjectError{File: "c.json", Index: 0, ID: strings.Repeat("é", 150), Field: strings.Repeat("f", 300), Offset: -1, Err: ErrDuplicateKey},
			want: `c.json: object 0 (` + strings.Repeat("é", 100) + `…): field "` + strings.Repeat("f", 200) + `…": duplicate property`,
		},
		{
			name: "no file name",
			err:  &ObjectError{Index: 3, Offset: -1, Err: ErrTooLarge},
			want: `<input>: object 3: object too large`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q\nwant      %q", got, tt.want)
			}
		})
	}
}

func TestObjectErrorUnwrap(t *testing.T) {
	ve := &schema.ValidationError{Property: "id", Reason: "missing"}
	err := error(&ObjectError{File: "a.json", Index: 0, Err: fmt.Errorf("%w: %w", ErrTruncated, io.ErrUnexpectedEOF)})
	if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%v does not wrap both causes", err)
	}
	err = fmt.Errorf("ingest batch: %w", &ObjectError{File: "a.json", Index: 0, Err: ve})
	var got *schema.ValidationError
	if !errors.As(err, &got) || got != ve {
		t.Errorf("%v does not wrap the validation error", err)
	}
}

func TestIsFatal(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{io.EOF, false},
		{&ObjectError{Err: ErrNotObject}, false},
		{fmt.Errorf("wrapped: %w", &ObjectError{Err: ErrNotObject}), false},
		{&ObjectError{Err: ErrMalformedJSON, Fatal: true}, true},
		{fmt.Errorf("wrapped: %w", &ObjectError{Err: ErrTruncated, Fatal: true}), true},
		{errors.New("disk on fire"), true},
	}
	for _, tt := range tests {
		if got := IsFatal(tt.err); got != tt.want {
			t.Errorf("IsFatal(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
