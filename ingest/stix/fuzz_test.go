package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// FuzzDecoder checks that the decoder never panics and always ends, that
// every error is an *ingest.ObjectError, that every object it returns is
// valid JSON with a type and an id, and that it agrees with encoding/json
// on which inputs are well-formed JSON.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		bundle(ind1, ind2),
		`{"objects":[` + ind1 + `],"id":"bundle--x","spec_version":"2.0","type":"bundle"}`,
		`{"type":"bundle","spec_version":"2.0","objects":[{"type":"malware","id":"malware--1","labels":["x"]},{"type":"indicator","id":"indicator--1","created":"2017-01-01T00:00:00Z","pattern":"[x:y = 'z']"}]}`,
		`[` + ind1 + `,42,[1],{"type":"x","id":"x--1","a":{"b":[true,false,null,-1.5e-3]}}]`,
		ind1,
		`{"type":"malware","id":"malware--1","name":"caf\u00e9 \ud83d\ude00 \ud800","x":"` + "\xff" + `"}`,
		`{"type":"bundle","objects":[{"type":"x","id":"x--1","x":[[[[[[[[[[1]]]]]]]]]]}]}`,
		`{"type":"bundle","objects":[{"type":"x","id":"x--1","a":1,"a":2}]}`,
		"\xef\xbb\xbf[]",
		`{"type":"bundle","objects":[` + ind1 + `]} x`,
		`{"type":"bundle","objects":[{"type":"x","id":"x--1",`,
		``,
		`"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Add(gz(f, bundle(ind1, ind2)))
	small := Options{MaxObjectBytes: 512, MaxDepth: 6, Upgrade20: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{DefaultOptions(), small} {
			got := decodeAll(t, "fuzz.json", data, opts)
			sameResults(t, got, decodeAllFrom(t, "fuzz.json", iotest.OneByteReader(bytes.NewReader(data)), len(data), opts))
			for _, obj := range got.objs {
				if obj.Type == "" || obj.ID == "" {
					t.Fatalf("object without type or id: %#v", obj)
				}
				enc, err := obj.MarshalJSON()
				if err != nil {
					t.Fatalf("MarshalJSON: %v", err)
				}
				back, err := schema.ParseObject(enc)
				if err != nil {
					t.Fatalf("ParseObject(%s): %v", enc, err)
				}
				if back.ID != obj.ID || len(back.Props) != len(obj.Props) {
					t.Fatalf("round trip changed %s into %s", enc, mustMarshal(t, back))
				}
			}
			for _, e := range got.errs {
				if e.File != "fuzz.json" || e.Index < -1 || e.Err == nil {
					t.Fatalf("bad error %#v", e)
				}
			}
			checkWellFormed(t, data, got)
		}
	})
}

// checkWellFormed compares the decoder's verdict on the syntax of data
// with encoding/json's.
func checkWellFormed(t *testing.T, data []byte, got decoded) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		return // compressed: the JSON is not data itself
	}
	valid := json.Valid(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	var fatal *ingest.ObjectError
	if n := len(got.errs); n > 0 && got.errs[n-1].Fatal {
		fatal = got.errs[n-1]
	}
	syntax := fatal != nil && (errors.Is(fatal, ingest.ErrMalformedJSON) || errors.Is(fatal, ingest.ErrTruncated) ||
		errors.Is(fatal, ingest.ErrTrailingData) || errors.Is(fatal, ingest.ErrEmpty))
	switch {
	case valid && syntax:
		t.Fatalf("encoding/json accepts %q; the decoder says %v", data, fatal)
	case !valid && fatal == nil:
		t.Fatalf("encoding/json rejects %q; the decoder read it to the end", data)
	case !valid && !syntax && !errors.Is(fatal, ingest.ErrBadTopLevel) && !errors.Is(fatal, ingest.ErrTooDeep) &&
		!errors.Is(fatal, ingest.ErrDuplicateKey) && !errors.Is(fatal, ingest.ErrInvalidUTF8):
		// Only these fatal errors may come before the syntax error.
		t.Fatalf("encoding/json rejects %q; the decoder says %v", data, fatal)
	}
	if got.ended && !strings.HasPrefix(strings.TrimLeft(string(data), "\ufeff \t\r\n"), "{") && !strings.HasPrefix(strings.TrimLeft(string(data), "\ufeff \t\r\n"), "[") {
		t.Fatalf("decoder accepted a top level that is neither object nor array: %q", data)
	}
}

// sameResults checks that two decodings of the same input agree.
func sameResults(t *testing.T, a, b decoded) {
	t.Helper()
	if len(a.objs) != len(b.objs) || len(a.errs) != len(b.errs) || a.ended != b.ended {
		t.Fatalf("read in one piece: %d objects, errors %v; read byte by byte: %d objects, errors %v",
			len(a.objs), a.errs, len(b.objs), b.errs)
	}
	for i := range a.objs {
		if ja, jb := mustMarshal(t, a.objs[i]), mustMarshal(t, b.objs[i]); !bytes.Equal(ja, jb) {
			t.Fatalf("object %d read in one piece: %s; byte by byte: %s", i, ja, jb)
		}
	}
	for i := range a.errs {
		if *a.errs[i] != *b.errs[i] && a.errs[i].Error() != b.errs[i].Error() {
			t.Fatalf("error %d read in one piece: %v; byte by byte: %v", i, a.errs[i], b.errs[i])
		}
	}
}

func mustMarshal(t *testing.T, o *schema.Object) []byte {
	b, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
