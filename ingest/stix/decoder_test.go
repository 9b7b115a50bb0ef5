package stix

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// decoded is everything one decoder returned, in order.
type decoded struct {
	objs  []*schema.Object
	errs  []*ingest.ObjectError // every error, the fatal one last
	ended bool                  // io.EOF was reached
}

// decodeAll runs a decoder to the end: io.EOF or a fatal error. It fails
// the test if an error is not an *ingest.ObjectError, or if the decoder
// does not end within a bound on the number of calls.
func decodeAll(tb testing.TB, name string, data []byte, opts Options) decoded {
	tb.Helper()
	return decodeAllFrom(tb, name, bytes.NewReader(data), len(data), opts)
}

// decodeAllFrom is decodeAll reading from r, which holds size bytes.
func decodeAllFrom(tb testing.TB, name string, r io.Reader, size int, opts Options) decoded {
	tb.Helper()
	var out decoded
	d, err := NewDecoder(r, name, opts)
	if err != nil {
		var oe *ingest.ObjectError
		if !errors.As(err, &oe) {
			tb.Fatalf("NewDecoder: error %v (%T) is not an *ingest.ObjectError", err, err)
		}
		out.errs = append(out.errs, oe)
		return out
	}
	for range size + 3 {
		obj, err := d.Next()
		switch {
		case err == io.EOF:
			out.ended = true
			return out
		case err != nil:
			var oe *ingest.ObjectError
			if !errors.As(err, &oe) {
				tb.Fatalf("Next: error %v (%T) is not an *ingest.ObjectError", err, err)
			}
			if obj != nil {
				tb.Fatalf("Next returned an object with error %v", err)
			}
			out.errs = append(out.errs, oe)
			if ingest.IsFatal(err) {
				if _, again := d.Next(); again != err {
					tb.Fatalf("after fatal error %v, Next returned %v", err, again)
				}
				return out
			}
		default:
			out.objs = append(out.objs, obj)
		}
	}
	tb.Fatalf("decoder did not end after %d calls", size+3)
	return out
}

const (
	ind1 = `{"type":"indicator","spec_version":"2.1","id":"indicator--1","created":"2024-01-02T03:04:05.000Z","modified":"2024-01-02T03:04:05.000Z","pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","valid_from":"2024-01-02T03:04:05Z"}`
	ind2 = `{"type":"indicator","spec_version":"2.1","id":"indicator--2","created":"2024-01-02T03:04:05Z","modified":"2024-01-02T03:04:05Z","pattern":"[domain-name:value = 'example.com']","pattern_type":"stix","valid_from":"2024-01-02T03:04:05Z"}`
)

func bundle(objs ...string) string {
	return `{"type":"bundle","id":"bundle--b","objects":[` + strings.Join(objs, ",") + `]}`
}

func gz(tb testing.TB, s string) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// anyCount and anyIndex accept any number of objects and any index.
const (
	anyCount = -1
	anyIndex = -2
)

// wantErr describes one expected error.
type wantErr struct {
	index int
	id    string
	field string
	is    error
	fatal bool
}

func TestBadInput(t *testing.T) {
	small := DefaultOptions()
	small.MaxObjectBytes = 300
	shallow := DefaultOptions()
	shallow.MaxDepth = 4
	good := gz(t, bundle(ind1, ind2))
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer
	deep := `{"type":"x-deep","id":"x-deep--1","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`

	tests := []struct {
		name string
		in   []byte
		opts Options
		objs int // objects returned
		errs []wantErr
	}{
		{
			name: "malformed JSON inside an object",
			in:   []byte(bundle(ind1, `{"type":"indicator","id":"indicator--3",x}`, ind2)),
			objs: 1,
			errs: []wantErr{{index: 1, is: ingest.ErrMalformedJSON, fatal: true}},
		},
		{
			name: "malformed JSON between objects",
			in:   []byte(`{"type":"bundle","objects":[` + ind1 + ` ` + ind2 + `]}`),
			objs: 1,
			errs: []wantErr{{index: -1, is: ingest.ErrMalformedJSON, fatal: true}},
		},
		{
			name: "control character in a string",
			in:   []byte(bundle(`{"type":"note","id":"note--1","content":"a` + "\x01" + `b"}`)),
			errs: []wantErr{{index: 0, is: ingest.ErrMalformedJSON, fatal: true}},
		},
		{
			name: "trailing comma",
			in:   []byte(bundle(ind1, "")),
			objs: 1,
			errs: []wantErr{{index: 1, is: ingest.ErrMalformedJSON, fatal: true}},
		},
		{
			name: "number with a leading zero",
			in:   []byte(bundle(`{"type":"x-n","id":"x-n--1","x_n":01}`)),
			errs: []wantErr{{index: 0, is: ingest.ErrMalformedJSON, fatal: true}},
		},
		{
			name: "bad escape",
			in:   []byte(bundle(`{"type":"x-n","id":"x-n--1","x_s":"\q"}`)),
			errs: []wantErr{{index: 0, is: ingest.ErrMalformedJSON, fatal: true}},
		},
		{
			name: "top level is a string",
			in:   []byte(`"bundle"`),
			errs: []wantErr{{index: -1, is: ingest.ErrBadTopLevel, fatal: true}},
		},
		{
			name: "top level is a number",
			in:   []byte(`42`),
			errs: []wantErr{{index: -1, is: ingest.ErrBadTopLevel, fatal: true}},
		},
		{
			name: "top level is null",
			in:   []byte(` null `),
			errs: []wantErr{{index: -1, is: ingest.ErrBadTopLevel, fatal: true}},
		},
		{
			name: "objects is not an array",
			in:   []byte(`{"type":"bundle","id":"bundle--b","objects":{"a":1}}`),
			errs: []wantErr{{index: -1, id: "bundle--b", field: "objects", is: ingest.ErrBadTopLevel, fatal: true}},
		},
		{
			name: "objects is not an array, type after it",
			in:   []byte(`{"objects":"none","type":"bundle"}`),
			errs: []wantErr{{index: -1, field: "objects", is: ingest.ErrBadTopLevel, fatal: true}},
		},
		{
			name: "objects array before a type other than bundle",
			in:   []byte(`{"objects":[` + ind1 + `],"type":"report","id":"report--1"}`),
			objs: 1,
			errs: []wantErr{{index: -1, id: "report--1", field: "type", is: ingest.ErrBadTopLevel, fatal: true}},
		},
		{
			name: "element is a number",
			in:   []byte(bundle(ind1, `42`, ind2)),
			objs: 2,
			errs: []wantErr{{index: 1, is: ingest.ErrNotObject}},
		},
		{
			name: "element of a top-level array is an array",
			in:   []byte(`[` + ind1 + `,[{"type":"x"}],` + ind2 + `]`),
			objs: 2,
			errs: []wantErr{{index: 1, is: ingest.ErrNotObject}},
		},
		{
			name: "element is a bundle",
			in:   []byte(bundle(bundle(ind1), ind2)),
			objs: 1,
			errs: []wantErr{{index: 0, id: "bundle--b", field: "type", is: ingest.ErrNotObject}},
		},
		{
			name: "missing type",
			in:   []byte(bundle(`{"id":"indicator--3","pattern":"x"}`, ind2)),
			objs: 1,
			errs: []wantErr{{index: 0, id: "indicator--3", field: "type"}},
		},
		{
			name: "type is not a string",
			in:   []byte(bundle(ind1, `{"type":7,"id":"indicator--3"}`)),
			objs: 1,
			errs: []wantErr{{index: 1, id: "indicator--3", field: "type"}},
		},
		{
			name: "missing id",
			in:   []byte(bundle(`{"type":"indicator","pattern":"x"}`, ind2)),
			objs: 1,
			errs: []wantErr{{index: 0, field: "id"}},
		},
		{
			name: "id is not a string",
			in:   []byte(`[` + ind1 + `,{"type":"indicator","id":["indicator--3"]}]`),
			objs: 1,
			errs: []wantErr{{index: 1, field: "id"}},
		},
		{
			name: "bad created timestamp",
			in:   []byte(bundle(ind1, `{"type":"malware","id":"malware--1","created":"yesterday","is_family":true}`, ind2)),
			objs: 2,
			errs: []wantErr{{index: 1, id: "malware--1", field: "created"}},
		},
		{
			name: "modified timestamp is a number",
			in:   []byte(bundle(`{"type":"malware","id":"malware--1","modified":20240102}`)),
			errs: []wantErr{{index: 0, id: "malware--1", field: "modified"}},
		},
		{
			name: "invalid UTF-8",
			in:   []byte(bundle(ind1, `{"type":"malware","id":"malware--1","name":"caf`+"\xe9"+`","is_family":true}`, ind2)),
			objs: 2,
			errs: []wantErr{{index: 1, id: "malware--1", field: "name", is: ingest.ErrInvalidUTF8}},
		},
		{
			name: "invalid UTF-8 in a property name",
			in:   []byte(bundle(`{"type":"malware","id":"malware--1","x_`+"\xff"+`":1}`, ind2)),
			objs: 1,
			errs: []wantErr{{index: 0, id: "malware--1", is: ingest.ErrInvalidUTF8}},
		},
		{
			name: "UTF-8 encoded surrogate",
			in:   []byte(bundle(`{"type":"malware","id":"malware--1","name":"` + "\xed\xa0\x80" + `"}`)),
			errs: []wantErr{{index: 0, id: "malware--1", field: "name", is: ingest.ErrInvalidUTF8}},
		},
		{
			name: "lone surrogate escape",
			in:   []byte(bundle(`{"type":"malware","id":"malware--1","name":"x\ud800y"}`, ind2)),
			objs: 1,
			errs: []wantErr{{index: 0, id: "malware--1", field: "name", is: ingest.ErrInvalidUTF8}},
		},
		{
			name: "low surrogate escape first",
			in:   []byte(bundle(`{"type":"malware","id":"malware--1","name":"\udc00\ud800"}`)),
			errs: []wantErr{{index: 0, id: "malware--1", field: "name", is: ingest.ErrInvalidUTF8}},
		},
		{
			name: "duplicate property",
			in:   []byte(bundle(`{"type":"malware","id":"malware--1","name":"a","name":"b"}`, ind2)),
			objs: 1,
			errs: []wantErr{{index: 0, id: "malware--1", field: "name", is: ingest.ErrDuplicateKey}},
		},
		{
			name: "duplicate type in a single object",
			in:   []byte(`{"type":"malware","id":"malware--1","type":"tool"}`),
			errs: []wantErr{{index: 0, id: "malware--1", field: "type", is: ingest.ErrDuplicateKey, fatal: true}},
		},
		{
			name: "duplicate objects array",
			in:   []byte(`{"type":"bundle","id":"bundle--b","objects":[` + ind1 + `],"objects":[` + ind2 + `]}`),
			objs: 1,
			errs: []wantErr{{index: -1, id: "bundle--b", field: "objects", is: ingest.ErrDuplicateKey, fatal: true}},
		},
		{
			name: "nesting deeper than MaxDepth",
			in:   []byte(bundle(ind1, `{"type":"x-deep","id":"x-deep--1","x_deep":[[[[1]]]],"x_after":1}`, ind2)),
			opts: shallow,
			objs: 2,
			errs: []wantErr{{index: 1, id: "x-deep--1", field: "x_deep", is: ingest.ErrTooDeep}},
		},
		{
			name: "nesting deeper than the hard limit",
			in:   []byte(bundle(ind1, deep, ind2)),
			objs: 1,
			errs: []wantErr{{index: 1, is: ingest.ErrTooDeep, fatal: true}},
		},
		{
			name: "object larger than MaxObjectBytes",
			in:   []byte(bundle(ind1, `{"type":"note","id":"note--1","content":"`+strings.Repeat("a", 400)+`","x":[1]}`, ind2)),
			opts: small,
			objs: 2,
			errs: []wantErr{{index: 1, id: "note--1", field: "content", is: ingest.ErrTooLarge}},
		},
		{
			name: "invalid UTF-8 beyond the size limit",
			in:   []byte(bundle(`{"type":"note","id":"note--1","content":"`+strings.Repeat("a", 400)+"\xff"+`"}`, ind2)),
			opts: small,
			objs: 1,
			errs: []wantErr{{index: 0, id: "note--1", field: "content", is: ingest.ErrTooLarge}},
		},
		{
			name: "invalid UTF-8 within the size limit",
			in:   []byte(bundle(`{"type":"note","id":"note--1","abstract":"`+"\xff"+`","content":"`+strings.Repeat("a", 400)+`"}`, ind2)),
			opts: small,
			objs: 1,
			errs: []wantErr{{index: 0, id: "note--1", field: "abstract", is: ingest.ErrInvalidUTF8}},
		},
		{
			name: "single object larger than MaxObjectBytes",
			in:   []byte(`{"type":"note","id":"note--1","content":"` + strings.Repeat("a", 400) + `"}`),
			opts: small,
			errs: []wantErr{{index: 0, id: "note--1", field: "content", is: ingest.ErrTooLarge}},
		},
		{
			name: "trailing garbage",
			in:   []byte(bundle(ind1, ind2) + "\n}"),
			objs: 2,
			errs: []wantErr{{index: -1, is: ingest.ErrTrailingData, fatal: true}},
		},
		{
			name: "second top-level value",
			in:   []byte(ind1 + "\n" + ind2),
			objs: 1,
			errs: []wantErr{{index: -1, is: ingest.ErrTrailingData, fatal: true}},
		},
		{
			name: "truncated JSON",
			in:   []byte(bundle(ind1, ind2)[:len(bundle(ind1, ind2))-40]),
			objs: 1,
			errs: []wantErr{{index: 1, is: ingest.ErrTruncated, fatal: true}},
		},
		{
			name: "truncated JSON after an object",
			in:   []byte(`[` + ind1),
			objs: 1,
			errs: []wantErr{{index: -1, is: io.ErrUnexpectedEOF, fatal: true}},
		},
		{
			name: "truncated gzip",
			in:   good[:len(good)*2/3],
			objs: anyCount,
			errs: []wantErr{{index: anyIndex, is: ingest.ErrTruncated, fatal: true}},
		},
		{
			name: "gzip without its trailer",
			in:   good[:len(good)-4],
			objs: 2,
			errs: []wantErr{{index: -1, is: io.ErrUnexpectedEOF, fatal: true}},
		},
		{
			name: "gzip header only",
			in:   good[:5],
			errs: []wantErr{{index: -1, is: ingest.ErrTruncated, fatal: true}},
		},
		{
			name: "gzip with a bad checksum",
			in:   badCRC,
			objs: 2,
			errs: []wantErr{{index: -1, is: gzip.ErrChecksum, fatal: true}},
		},
		{
			name: "empty file",
			in:   nil,
			errs: []wantErr{{index: -1, is: ingest.ErrEmpty, fatal: true}},
		},
		{
			name: "whitespace only",
			in:   []byte(" \r\n\t "),
			errs: []wantErr{{index: -1, is: ingest.ErrEmpty, fatal: true}},
		},
		{
			name: "empty gzip",
			in:   gz(t, ""),
			errs: []wantErr{{index: -1, is: ingest.ErrEmpty, fatal: true}},
		},
		{
			name: "2.0 spec_version after the objects",
			in:   []byte(`{"type":"bundle","objects":[{"type":"malware","id":"malware--1","labels":["x"]}],"spec_version":"2.0"}`),
			objs: 1,
			errs: []wantErr{{index: -1, field: "spec_version", is: ingest.ErrNotUpgraded}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts == (Options{}) {
				opts = DefaultOptions()
			}
			got := decodeAll(t, "in.json", tt.in, opts)
			sameResults(t, got, decodeAllFrom(t, "in.json", iotest.OneByteReader(bytes.NewReader(tt.in)), len(tt.in), opts))
			if tt.objs != anyCount && len(got.objs) != tt.objs {
				t.Errorf("got %d objects, want %d", len(got.objs), tt.objs)
			}
			if len(got.errs) != len(tt.errs) {
				t.Fatalf("got errors %v, want %d", got.errs, len(tt.errs))
			}
			wantEOF := len(tt.errs) == 0 || !tt.errs[len(tt.errs)-1].fatal
			if got.ended != wantEOF {
				t.Errorf("reached io.EOF: %v, want %v", got.ended, wantEOF)
			}
			for i, w := range tt.errs {
				e := got.errs[i]
				t.Logf("error: %v", e)
				if e.File != "in.json" || !strings.HasPrefix(e.Error(), "in.json: ") {
					t.Errorf("error %q does not name the file", e)
				}
				if w.index != anyIndex && e.Index != w.index {
					t.Errorf("index %d, want %d", e.Index, w.index)
				}
				if e.ID != w.id {
					t.Errorf("id %q, want %q", e.ID, w.id)
				}
				if e.Field != w.field {
					t.Errorf("field %q, want %q", e.Field, w.field)
				}
				if w.field != "" && !strings.Contains(e.Error(), `field "`+w.field+`"`) {
					t.Errorf("error %q does not name field %q", e, w.field)
				}
				if w.is != nil && !errors.Is(e, w.is) {
					t.Errorf("error %v is not %v", e, w.is)
				}
				var ve *schema.ValidationError
				if w.is == nil && !errors.As(e, &ve) {
					t.Errorf("error %v wraps no *schema.ValidationError", e)
				}
				if ingest.IsFatal(e) != w.fatal || e.Fatal != w.fatal {
					t.Errorf("fatal %v, want %v", e.Fatal, w.fatal)
				}
				if w.fatal && e.Offset < 0 {
					t.Errorf("fatal error without a byte offset")
				}
			}
		})
	}
}

// TestSyntaxOffset checks that a malformed-JSON error points at the bad
// byte.
func TestSyntaxOffset(t *testing.T) {
	in := bundle(ind1, `{"type":"x","id":"x--1",]`)
	want := int64(strings.Index(in, ",]") + 1)
	got := decodeAll(t, "x.json", []byte(in), DefaultOptions())
	if len(got.errs) != 1 {
		t.Fatalf("errors %v, want one", got.errs)
	}
	e := got.errs[0]
	if e.Offset != want {
		t.Errorf("offset %d, want %d", e.Offset, want)
	}
	if !strings.Contains(e.Error(), "x.json: object 1: at byte ") {
		t.Errorf("error %q lacks file, index and offset", e)
	}
}

func TestGoodInputShapes(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		ids      []string
		bundleID string
		spec     string
	}{
		{"bundle", []byte(bundle(ind1, ind2)), []string{"indicator--1", "indicator--2"}, "bundle--b", ""},
		{"bundle with objects first", []byte(`{"objects":[` + ind1 + `],"spec_version":"2.1","id":"bundle--x","type":"bundle"}`), []string{"indicator--1"}, "bundle--x", "2.1"},
		{"bundle with custom members", []byte(`{"x_a":{"b":[1,2]},"type":"bundle","x_c":"d","objects":[` + ind2 + `],"x_e":null}`), []string{"indicator--2"}, "", ""},
		{"empty bundle", []byte(`{"type":"bundle","id":"bundle--e","objects":[]}`), nil, "bundle--e", ""},
		{"bundle without objects", []byte(`{"id":"bundle--e","type":"bundle"}`), nil, "bundle--e", ""},
		{"single object", []byte(ind1), []string{"indicator--1"}, "", ""},
		{"single object with an objects array", []byte(`{"type":"x-list","id":"x-list--1","objects":[1,2]}`), []string{"x-list--1"}, "", ""},
		{"single object with objects before type", []byte(`{"objects":{"0":{"type":"file"}},"type":"observed-data","id":"observed-data--1"}`), []string{"observed-data--1"}, "", ""},
		{"top-level array", []byte(" [\n" + ind1 + " ,\n " + ind2 + "\n] \n"), []string{"indicator--1", "indicator--2"}, "", ""},
		{"empty top-level array", []byte(`[]`), nil, "", ""},
		{"byte order mark", []byte("\xef\xbb\xbf" + bundle(ind1)), []string{"indicator--1"}, "bundle--b", ""},
		{"gzip", gz(t, bundle(ind1, ind2)), []string{"indicator--1", "indicator--2"}, "bundle--b", ""},
		{"concatenated gzip members", append(gz(t, `[`+ind1+`,`), gz(t, ind2+`]`)...), []string{"indicator--1", "indicator--2"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDecoder(bytes.NewReader(tt.in), "in.json", DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for {
				obj, err := d.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, obj.ID)
			}
			if strings.Join(ids, " ") != strings.Join(tt.ids, " ") {
				t.Errorf("ids %q, want %q", ids, tt.ids)
			}
			id, spec := d.Bundle()
			if id != tt.bundleID || spec != tt.spec {
				t.Errorf("Bundle() = %q, %q, want %q, %q", id, spec, tt.bundleID, tt.spec)
			}
		})
	}
}

// TestValuesKept checks that property values arrive compact and
// otherwise unchanged, escapes and non-ASCII text included.
func TestValuesKept(t *testing.T) {
	in := `[ {
		"type" : "malware" , "id" : "malware--1",
		"name" : "caf\u00e9 \"Zürich\" \ud83d\ude00 😀",
		"x_list" : [ 1 , -2.5e+3 , true , false , null , { "a b" : [ ] } , { } ],
		"x_\u0041" : 0
	} ]`
	got := decodeAll(t, "in.json", []byte(in), DefaultOptions())
	if len(got.objs) != 1 || len(got.errs) != 0 {
		t.Fatalf("got %d objects, errors %v", len(got.objs), got.errs)
	}
	p := got.objs[0].Props
	want := map[string]string{
		"type":   `"malware"`,
		"id":     `"malware--1"`,
		"name":   `"caf\u00e9 \"Zürich\" \ud83d\ude00 😀"`,
		"x_list": `[1,-2.5e+3,true,false,null,{"a b":[]},{}]`,
		"x_A":    `0`,
	}
	if len(p) != len(want) {
		t.Errorf("properties %v, want %v", p, want)
	}
	for k, v := range want {
		if string(p[k]) != v {
			t.Errorf("%s = %s, want %s", k, p[k], v)
		}
	}
}

func TestUpgrade20(t *testing.T) {
	in := `{"type":"bundle","id":"bundle--2","spec_version":"2.0","objects":[
		{"type":"malware","id":"malware--1","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z","name":"X","labels":["trojan"]},
		{"type":"malware","id":"malware--2","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z","name":"Y","labels":["trojan"],"is_family":false},
		{"type":"indicator","id":"indicator--1","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z","labels":["malicious-activity"],"pattern":"[file:name = 'x']"},
		{"type":"indicator","id":"indicator--2","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z","labels":["malicious-activity"],"pattern":"[file:name = 'x']","pattern_type":"sigma","valid_from":"2018-01-01T00:00:00Z"},
		{"type":"observed-data","id":"observed-data--1","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z","first_observed":"2017-01-01T00:00:00Z","last_observed":"2017-01-01T00:00:00Z","number_observed":1,"objects":{"0":{"type":"ipv4-addr","value":"192.0.2.1"}}},
		{"type":"x-mitre-tactic","id":"x-mitre-tactic--1","created":"2017-01-01T00:00:00.000Z","x_mitre_shortname":"exec"},
		{"type":"tool","id":"tool--1","spec_version":"2.1","created":"2017-01-01T00:00:00.000Z","labels":["x"]},
		{"type":"ipv4-addr","id":"ipv4-addr--1","value":"192.0.2.1"}
	]}`
	want := []map[string]string{
		{"spec_version": `"2.1"`, "is_family": `true`, "labels": `["trojan"]`},
		{"spec_version": `"2.1"`, "is_family": `false`},
		{"spec_version": `"2.1"`, "pattern_type": `"stix"`, "valid_from": `"2017-01-01T00:00:00.000Z"`, "labels": `["malicious-activity"]`},
		{"spec_version": `"2.1"`, "pattern_type": `"sigma"`, "valid_from": `"2018-01-01T00:00:00Z"`},
		{"spec_version": `"2.1"`, "objects": `{"0":{"type":"ipv4-addr","value":"192.0.2.1"}}`},
		{"spec_version": `"2.1"`},
		{"spec_version": `"2.1"`, "labels": `["x"]`},
		{"spec_version": ""},
	}
	added := []int{2, 1, 3, 1, 1, 1, 0, 0} // properties the upgrade adds
	for _, upgrade := range []bool{true, false} {
		opts := DefaultOptions()
		opts.Upgrade20 = upgrade
		got := decodeAll(t, "in.json", []byte(in), opts)
		if len(got.objs) != len(want) || len(got.errs) != 0 {
			t.Fatalf("got %d objects, errors %v", len(got.objs), got.errs)
		}
		var plain []map[string]json.RawMessage
		if err := json.Unmarshal([]byte(in[strings.Index(in, "["):len(in)-1]), &plain); err != nil {
			t.Fatal(err)
		}
		for i, obj := range got.objs {
			if !upgrade {
				if len(obj.Props) != len(plain[i]) {
					t.Errorf("without upgrade, %s has %d properties, want %d", obj.ID, len(obj.Props), len(plain[i]))
				}
				continue
			}
			for k, v := range want[i] {
				if string(obj.Props[k]) != v {
					t.Errorf("%s: %s = %s, want %s", obj.ID, k, obj.Props[k], v)
				}
			}
			if n := len(obj.Props) - len(plain[i]); n != added[i] {
				t.Errorf("%s: upgrade added %d properties, want %d", obj.ID, n, added[i])
			}
			for k, v := range plain[i] {
				var c bytes.Buffer
				json.Compact(&c, v)
				if k != "spec_version" && string(obj.Props[k]) != c.String() {
					t.Errorf("%s: upgrade changed %s from %s to %s", obj.ID, k, c.String(), obj.Props[k])
				}
			}
		}
	}
}

// TestUpgrade20Scope checks which objects count as STIX 2.0.
func TestUpgrade20Scope(t *testing.T) {
	mal := `{"type":"malware","id":"malware--1","name":"X"}`
	mal20 := `{"type":"malware","spec_version":"2.0","id":"malware--1","name":"X"}`
	tests := []struct {
		name    string
		in      string
		upgrade bool
	}{
		{"2.1 bundle style", `{"type":"bundle","id":"bundle--1","objects":[` + mal + `]}`, false},
		{"2.1 bundle", `{"type":"bundle","spec_version":"2.1","objects":[` + mal + `]}`, false},
		{"2.0 bundle", `{"type":"bundle","spec_version":"2.0","objects":[` + mal + `]}`, true},
		{"object that says 2.0", `[` + mal20 + `]`, true},
		{"single object that says 2.0", mal20, true},
		{"single object without spec_version", mal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAll(t, "in.json", []byte(tt.in), DefaultOptions())
			if len(got.objs) != 1 || len(got.errs) != 0 {
				t.Fatalf("got %d objects, errors %v", len(got.objs), got.errs)
			}
			_, family := got.objs[0].Props["is_family"]
			if family != tt.upgrade {
				t.Errorf("upgraded: %v, want %v", family, tt.upgrade)
			}
		})
	}
}

// TestObjectsIndependent checks that returned objects share no memory with
// later ones.
func TestObjectsIndependent(t *testing.T) {
	d, err := NewDecoder(strings.NewReader(bundle(ind1, ind2)), "in.json", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	first, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := first.MarshalJSON()
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	after, _ := first.MarshalJSON()
	if !bytes.Equal(before, after) {
		t.Errorf("first object changed after the second was read:\n%s\n%s", before, after)
	}
}

func TestOptions(t *testing.T) {
	if _, err := NewDecoder(strings.NewReader("[]"), "x", Options{MaxDepth: -1}); err == nil {
		t.Error("negative MaxDepth accepted")
	}
	// The zero Options mean the default limits, without the upgrade.
	got := decodeAll(t, "in.json", []byte(`{"type":"bundle","spec_version":"2.0","objects":[{"type":"malware","id":"malware--1","x":`+strings.Repeat("[", 63)+strings.Repeat("]", 63)+`}]}`), Options{})
	if len(got.objs) != 1 || got.objs[0].Props["is_family"] != nil {
		t.Errorf("zero Options: got %d objects, errors %v", len(got.objs), got.errs)
	}
	got = decodeAll(t, "in.json", []byte(`[{"type":"malware","id":"malware--1","x":`+strings.Repeat("[", 64)+strings.Repeat("]", 64)+`}]`), Options{})
	if len(got.errs) != 1 || !errors.Is(got.errs[0], ingest.ErrTooDeep) {
		t.Errorf("depth 65 with zero Options: errors %v", got.errs)
	}
}

func TestOpenFile(t *testing.T) {
	if _, _, err := OpenFile(t.TempDir()+"/missing.json", DefaultOptions()); err == nil {
		t.Error("OpenFile of a missing file succeeded")
	}
}

// TestLimitBoundaries pins what MaxObjectBytes and MaxDepth count: the
// object's bytes as they appear in the input, and nesting with the object
// itself at depth 1. Whitespace between objects counts against no object.
func TestLimitBoundaries(t *testing.T) {
	obj := `{"type":"x-a","id":"x-a--1","x":[[1]]}`
	pad := strings.Repeat(" \n", 100000)
	in := []byte(pad + "[" + pad + obj + pad + "," + pad + obj + pad + "]" + pad)
	tests := []struct {
		name  string
		opts  Options
		wantE error
	}{
		{"size at the limit", Options{MaxObjectBytes: len(obj), MaxDepth: 3}, nil},
		{"size over the limit", Options{MaxObjectBytes: len(obj) - 1, MaxDepth: 3}, ingest.ErrTooLarge},
		{"depth over the limit", Options{MaxObjectBytes: len(obj), MaxDepth: 2}, ingest.ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAll(t, "in.json", in, tt.opts)
			if !got.ended {
				t.Fatalf("did not reach io.EOF: %v", got.errs)
			}
			if tt.wantE == nil {
				if len(got.objs) != 2 || len(got.errs) != 0 {
					t.Errorf("got %d objects, errors %v", len(got.objs), got.errs)
				}
				return
			}
			if len(got.objs) != 0 || len(got.errs) != 2 {
				t.Fatalf("got %d objects, errors %v", len(got.objs), got.errs)
			}
			for i, e := range got.errs {
				if !errors.Is(e, tt.wantE) || e.Index != i || e.Field != "x" {
					t.Errorf("error %v, want %v at object %d, field x", e, tt.wantE, i)
				}
			}
		})
	}
}
