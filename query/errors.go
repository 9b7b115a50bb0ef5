package query

import (
	"context"
	"errors"
	"fmt"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// Code is the machine-readable kind of an API error, sent as
// extensions.code of a GraphQL error.
type Code string

// Error codes.
const (
	// CodeValidation: an argument or input object is invalid; the error's
	// field names it.
	CodeValidation Code = "VALIDATION"
	// CodeNotFound: no visible object has the given id.
	CodeNotFound Code = "NOT_FOUND"
	// CodeForbidden: the caller's role or organization may not do this.
	CodeForbidden Code = "FORBIDDEN"
	// CodeLimit: the request exceeds a limit (depth, length, selections,
	// page size, time, nodes, scan budget).
	CodeLimit Code = "LIMIT"
	// CodeUnauthenticated: no valid token.
	CodeUnauthenticated Code = "UNAUTHENTICATED"
	// CodeBadQuery: the GraphQL document does not parse or does not
	// validate against the schema.
	CodeBadQuery Code = "BAD_QUERY"
	// CodeMethod: a mutation was sent with GET.
	CodeMethod Code = "METHOD_NOT_ALLOWED"
	// CodeInternal: anything else; the server log has the details.
	CodeInternal Code = "INTERNAL"
)

// Error is an API error with a code, and the field and object it is about
// when there is one.
type Error struct {
	// Code is the kind of error.
	Code Code
	// Message says what went wrong, for people.
	Message string
	// Field names the argument or input field at fault, such as
	// "input.relationshipType" or "members[2]".
	Field string
	// Object is the id of the object at fault, when known.
	Object string
	// Err is the cause, when there is one.
	Err error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Extensions returns the GraphQL error extensions: code, and field and
// object when set.
func (e *Error) Extensions() map[string]any {
	m := map[string]any{"code": string(e.Code)}
	if e.Field != "" {
		m["field"] = e.Field
	}
	if e.Object != "" {
		m["object"] = e.Object
	}
	return m
}

// errorf returns an *Error with a formatted message; a trailing error
// argument becomes its cause.
func errorf(code Code, field, format string, args ...any) *Error {
	e := &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
	if n := len(args); n > 0 {
		if err, ok := args[n-1].(error); ok {
			e.Err = err
		}
	}
	return e
}

// invalid is a VALIDATION error about field.
func invalid(field, format string, args ...any) *Error {
	return errorf(CodeValidation, field, format, args...)
}

// limitErr is a LIMIT error about field.
func limitErr(field, format string, args ...any) *Error {
	return errorf(CodeLimit, field, format, args...)
}

// classify turns any error into an *Error, keeping one that already is.
func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ve *schema.ValidationError
	if errors.As(err, &ve) {
		return &Error{Code: CodeValidation, Message: err.Error(), Field: ve.Property, Object: ve.ObjectID, Err: err}
	}
	var oe *ingest.ObjectError
	if errors.As(err, &oe) {
		return &Error{Code: CodeValidation, Message: err.Error(), Field: oe.Field, Object: oe.ID, Err: err}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeLimit, Message: "the request exceeded its time limit", Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Code: CodeLimit, Message: "the request was cancelled", Err: err}
	case errors.Is(err, graph.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, graph.ErrInvalid), errors.Is(err, schema.ErrInvalidValue), errors.Is(err, schema.ErrNotObject):
		return &Error{Code: CodeValidation, Message: err.Error(), Err: err}
	case errors.Is(err, graph.ErrTooLarge):
		return &Error{Code: CodeLimit, Message: err.Error(), Err: err}
	case errors.Is(err, graph.ErrUnauthenticated):
		return &Error{Code: CodeUnauthenticated, Message: err.Error(), Err: err}
	}
	return &Error{Code: CodeInternal, Message: err.Error(), Err: err}
}

// annotate gives every error of a response an extensions.code: resolver
// errors are classified; errors graphql-go raised itself (parsing,
// validation, limits, cancellation) are recognised by rule and message.
func annotate(errs []*gqlerrors.QueryError) {
	for _, qe := range errs {
		if qe.Extensions != nil {
			if _, ok := qe.Extensions["code"]; ok {
				continue
			}
		}
		var e *Error
		switch {
		case qe.ResolverError != nil:
			e = classify(qe.ResolverError)
			qe.Message = e.Message
		case qe.Rule == "MaxDepthExceeded",
			errors.Is(qe, graphql.ErrTooManySelections),
			strings.Contains(qe.Message, "exceeds the maximum allowed query length"),
			qe.Rule == "OverlapValidationLimitExceeded":
			e = &Error{Code: CodeLimit}
		case strings.Contains(qe.Message, context.DeadlineExceeded.Error()):
			e = &Error{Code: CodeLimit}
			qe.Message = "the request exceeded its time limit"
		case strings.Contains(qe.Message, context.Canceled.Error()):
			e = &Error{Code: CodeLimit}
			qe.Message = "the request was cancelled"
		case strings.HasPrefix(qe.Message, "panic occurred"), strings.HasPrefix(qe.Message, "graphql: got nil for non-null"):
			e = &Error{Code: CodeInternal}
		default:
			e = &Error{Code: CodeBadQuery}
		}
		ext := e.Extensions()
		for k, v := range qe.Extensions {
			ext[k] = v
		}
		qe.Extensions = ext
	}
}
