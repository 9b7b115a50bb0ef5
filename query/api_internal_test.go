package query

import (
	"bytes"
	"encoding/json"
	"testing"

	gqlerrors "github.com/graph-gophers/graphql-go/errors"
)

// TestOperationName checks that skipping the expression when no keyword
// is followed by white space changes no name.
func TestOperationName(t *testing.T) {
	docs := []string{
		"", "{ node(id: 1) { id } }",
		"query($id: ID!) { node(id: $id) { id } }",
		"query Q($id: ID!) { node(id: $id) { id } }",
		"query\tTab { viewer { org } }", "query\nLine { viewer { org } }",
		"mutation M { x }", "subscription S { x }",
		`query($q: String!) { search(query: $q) { totalCount } }`,
		"# query Commented\n{ a }", "fragment F on Query { a }\nquery Named { ...F }",
		`{ search(query: "query Quoted") { totalCount } }`,
		"queryX Y { a }", "query", "query ", "myquery Name { a }",
	}
	for _, q := range docs {
		want := ""
		if m := operationNameRE.FindStringSubmatch(q); m != nil {
			want = m[2]
		}
		if got := operationName(Request{Query: q}); got != want {
			t.Errorf("operationName(%q) = %q, want %q", q, got, want)
		}
	}
	if got := operationName(Request{Query: "query A { a }", OperationName: "B"}); got != "B" {
		t.Errorf("the request's operationName: got %q", got)
	}
}

// TestWriteResponse checks that writeResponse writes what json.Encoder
// does, byte for byte, on compact data (as graphql-go builds it) with and
// without the characters the encoder escapes, and with errors.
func TestWriteResponse(t *testing.T) {
	for _, resp := range []*Response{
		{Data: json.RawMessage(`{"node":{"id":"0a1b","labels":["a b","c\"d"]}}`)},
		{Data: json.RawMessage(`{"node":{"name":"<script>&amp;"}}`)},
		{Data: json.RawMessage("{\"node\":{\"name\":\"a\u2028b\u2029\"}}")},
		{Data: json.RawMessage(`{"node":null}`), Errors: []*gqlerrors.QueryError{{Message: "no <such> object"}}},
		{Errors: []*gqlerrors.QueryError{{Message: "bad"}}},
		{Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{"x": 1}},
	} {
		var want, got bytes.Buffer
		if err := json.NewEncoder(&want).Encode(resp); err != nil {
			t.Fatal(err)
		}
		if err := writeResponse(&got, resp); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("writeResponse:\n got %q\nwant %q", got.String(), want.String())
		}
	}
}
