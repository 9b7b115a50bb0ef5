package lists_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// decoded is what a decoder returned, object by object.
type decoded struct {
	objs  []*schema.Object
	hints []ingest.Hints
	errs  []error
	stats lists.Stats
}

func (d decoded) byType(typ string) []*schema.Object {
	var out []*schema.Object
	for _, o := range d.objs {
		if o.Type == typ {
			out = append(out, o)
		}
	}
	return out
}

// decode reads input to the end (or to a fatal error), checking that every
// object validates and that its canonicalisation changes nothing.
func decode(t *testing.T, name, input string, opts lists.Options) decoded {
	t.Helper()
	if opts.Time.IsZero() {
		opts.Time = testTime
	}
	dec, err := lists.NewDecoder(strings.NewReader(input), name, opts)
	if err != nil {
		return decoded{errs: []error{err}}
	}
	var out decoded
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("decoder does not end")
		}
		o, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			out.errs = append(out.errs, err)
			if ingest.IsFatal(err) {
				if _, again := dec.Next(); again == nil || again == io.EOF {
					t.Errorf("Next after fatal error %v = %v, want the error again", err, again)
				}
				break
			}
			continue
		}
		if err := schema.Validate(o); err != nil {
			t.Errorf("object %s does not validate: %v", o.ID, err)
		}
		before := o.ID
		if changed, err := schema.Canonicalize(o); err != nil || changed || o.ID != before {
			t.Errorf("Canonicalize(%s) = %v, %v, id %s: the decoder should emit canonical objects", before, changed, err, o.ID)
		}
		out.objs = append(out.objs, o)
		out.hints = append(out.hints, dec.Hints())
	}
	out.stats = dec.Stats()
	return out
}

func values(objs []*schema.Object) []string {
	var out []string
	for _, o := range objs {
		if v, ok := o.String("value"); ok {
			out = append(out, v)
		} else if h, ok := o.Props["hashes"]; ok {
			out = append(out, string(h))
		}
	}
	return out
}

func TestPlainList(t *testing.T) {
	input := "\ufeff# a list\r\n" +
		"// another comment\r\n" +
		"\r\n" +
		"192.0.2.1\r\n" +
		"  hxxp://evil[.]example/x   # the dropper\r\n" +
		"evil[.]example\n" +
		"EVIL.example\n" + // a duplicate after canonicalisation
		"http://evil.example/a#frag\n" +
		"d41d8cd98f00b204e9800998ecf8427e\n" +
		"192.0.2.0/24\n" +
		"mail@evil.example" // no final newline
	got := decode(t, "feeds/iocs.txt", input, lists.Options{Source: "acme", TLP: schema.TLPAmber, Labels: []string{"phishing"}})
	if len(got.errs) > 0 {
		t.Fatalf("errors: %v", got.errs)
	}
	wantValues := []string{"192.0.2.1", "http://evil.example/x", "evil.example", "http://evil.example/a#frag",
		`{"MD5":"d41d8cd98f00b204e9800998ecf8427e"}`, "192.0.2.0/24", "mail@evil.example"}
	var scos []*schema.Object
	for _, o := range got.objs {
		if schema.KindOf(o.Type) == schema.KindSCO {
			scos = append(scos, o)
		}
	}
	if v := values(scos); !slices.Equal(v, wantValues) {
		t.Errorf("observables %q, want %q", v, wantValues)
	}
	for _, o := range scos {
		if _, ok := o.Props["object_marking_refs"]; ok {
			t.Errorf("observable %s carries a marking; observables carry only their value", o.ID)
		}
	}
	// The inline comment makes an indicator for that line.
	inds := got.byType("indicator")
	if len(inds) != 1 {
		t.Fatalf("%d indicators, want 1 (for the commented line)", len(inds))
	}
	if d, _ := inds[0].String("description"); d != "the dropper" {
		t.Errorf("indicator description %q", d)
	}
	if p, _ := inds[0].String("pattern"); p != "[url:value = 'http://evil.example/x']" {
		t.Errorf("indicator pattern %q", p)
	}
	if l := inds[0].Strings("labels"); !slices.Equal(l, []string{"phishing"}) {
		t.Errorf("indicator labels %q", l)
	}
	g := got.byType("grouping")
	if len(g) != 1 {
		t.Fatalf("%d groupings, want 1", len(g))
	}
	if g[0].ID != lists.DeterministicID("grouping", "acme", "iocs.txt") {
		t.Errorf("grouping id %s", g[0].ID)
	}
	if n, _ := g[0].String("name"); n != "acme: iocs.txt" {
		t.Errorf("grouping name %q", n)
	}
	refs := g[0].Strings("object_refs")
	if len(refs) != len(wantValues)+1 {
		t.Errorf("grouping holds %d refs, want %d", len(refs), len(wantValues)+1)
	}
	for _, o := range got.objs {
		if o.Type == "grouping" || o.Type == "indicator" {
			if m := o.Strings("object_marking_refs"); !slices.Equal(m, []string{schema.MarkingTLP2Amber}) {
				t.Errorf("%s markings %q, want TLP:AMBER", o.ID, m)
			}
		}
	}
	for i, h := range got.hints {
		if h.TLP != schema.TLPAmber {
			t.Errorf("object %d hint TLP %s, want amber", i, h.TLP)
		}
	}
	st := got.stats
	if st.Entries != 8 || st.Duplicates != 1 || st.Comments != 2 || st.Rejected != 0 || st.Lines != 11 {
		t.Errorf("stats %+v", st)
	}
	// Decoding again gives the same objects, byte for byte.
	again := decode(t, "other/dir/iocs.txt", input, lists.Options{Source: "acme", TLP: schema.TLPAmber, Labels: []string{"phishing"}})
	if len(again.objs) != len(got.objs) {
		t.Fatalf("second decode: %d objects, want %d", len(again.objs), len(got.objs))
	}
	for i := range got.objs {
		a, _ := json.Marshal(got.objs[i])
		b, _ := json.Marshal(again.objs[i])
		if string(a) != string(b) {
			t.Errorf("object %d differs:\n%s\n%s", i, a, b)
		}
	}
}

func TestIndicatorsOption(t *testing.T) {
	got := decode(t, "x.txt", "192.0.2.1\nexample.com:8080\n", lists.Options{Indicators: true, IndicatorTypes: []string{"malicious-activity"}})
	inds := got.byType("indicator")
	if len(inds) != 2 {
		t.Fatalf("%d indicators, want 2", len(inds))
	}
	p, _ := inds[1].String("pattern")
	if p != "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com' AND network-traffic:dst_port = 8080]" {
		t.Errorf("pattern %s", p)
	}
	if vf, _ := inds[0].String("valid_from"); vf != "2026-01-02T03:04:05.000Z" {
		t.Errorf("valid_from %s", vf)
	}
	if it := inds[0].Strings("indicator_types"); !slices.Equal(it, []string{"malicious-activity"}) {
		t.Errorf("indicator_types %q", it)
	}
	// Indicators of another source are other objects.
	other := decode(t, "x.txt", "192.0.2.1\n", lists.Options{Indicators: true, Source: "other"})
	if other.byType("indicator")[0].ID == inds[0].ID {
		t.Error("two sources share an indicator id")
	}
	if other.objs[0].ID != got.objs[0].ID {
		t.Error("two sources disagree on an observable's id")
	}
}

func TestContainerOptions(t *testing.T) {
	got := decode(t, "x.txt", "192.0.2.1\n", lists.Options{Container: lists.ContainerReport})
	r := got.byType("report")
	if len(r) != 1 {
		t.Fatalf("%d reports", len(r))
	}
	if p, _ := r[0].String("published"); p != "2026-01-02T03:04:05.000Z" {
		t.Errorf("published %q", p)
	}
	none := decode(t, "x.txt", "192.0.2.1\n", lists.Options{Container: lists.ContainerNone})
	if len(none.objs) != 1 {
		t.Errorf("%d objects without container, want 1", len(none.objs))
	}
	// A list longer than MaxContainerRefs gets parts that refer to part 1.
	var b strings.Builder
	for i := range 25 {
		fmt.Fprintf(&b, "192.0.2.%d\n", i)
	}
	split := decode(t, "big.txt", b.String(), lists.Options{MaxContainerRefs: 10})
	gs := split.byType("grouping")
	if len(gs) != 3 {
		t.Fatalf("%d groupings, want 3", len(gs))
	}
	first := lists.DeterministicID("grouping", lists.DefaultSource, "big.txt")
	if gs[0].ID != first {
		t.Errorf("part 1 id %s, want %s", gs[0].ID, first)
	}
	members := map[string]bool{}
	for i, g := range gs {
		refs := g.Strings("object_refs")
		if len(refs) > 10 {
			t.Errorf("part %d has %d refs", i+1, len(refs))
		}
		if i > 0 && refs[0] != first {
			t.Errorf("part %d does not refer to part 1", i+1)
		}
		for _, r := range refs {
			members[r] = true
		}
	}
	if len(members) != 26 { // 25 observables and part 1
		t.Errorf("%d distinct members, want 26", len(members))
	}
}

// TestBadInput checks that each kind of bad input is reported with a clear
// error naming the file, the line (Index is the line number minus one) and
// the cause, and that good lines around it still load.
func TestBadInput(t *testing.T) {
	huge := strings.Repeat("a", lists.DefaultMaxLineBytes+10)
	tests := []struct {
		name    string
		file    string
		input   string
		opts    lists.Options
		want    error
		index   int  // Index of the first error
		fatal   bool // the first error is fatal
		entries int  // entries accepted
		msg     string
	}{
		{name: "unknown value", input: "192.0.2.1\nfoo\n198.51.100.1\n", want: lists.ErrUnknownType, index: 1, entries: 2, msg: "line 2"},
		{name: "invalid domain", input: "a..b.com\nexample.com\n", want: schema.ErrInvalidValue, index: 0, entries: 1, msg: "line 1"},
		{name: "hosts file line", input: "0.0.0.0 ads.example\n", want: lists.ErrUnknownType, index: 0, msg: "white space"},
		{name: "invalid UTF-8", input: "example.com\nbad\xff.example\n", want: ingest.ErrInvalidUTF8, index: 1, entries: 1},
		{name: "huge line", input: "example.com\n" + huge + "\nexample.org\n", want: ingest.ErrTooLarge, index: 1, entries: 2, msg: "longer than 65536 bytes"},
		{name: "huge last line", input: "example.com\n" + huge, want: lists.ErrLineTooLong, index: 1, entries: 1},
		{name: "empty file", input: "", want: ingest.ErrEmpty, index: -1, fatal: true},
		{name: "only comments", input: "# nothing\n\n// here\n", want: ingest.ErrEmpty, index: -1, fatal: true},
		{name: "NUL bytes", input: "\x00\x00\x00\n", want: lists.ErrUnknownType, index: 0},
		{name: "CSV stray quote", file: "x.csv", input: "value,comment\nexample.com,ok\nexample.org,\"bad\"quote\nexample.net,ok\n", want: lists.ErrMalformedCSV, index: 2, entries: 2, msg: "line 3"},
		{name: "CSV unterminated quote", file: "x.csv", input: "value\nexample.com\n\"example.org\n", want: lists.ErrMalformedCSV, index: 2, entries: 1},
		{name: "CSV invalid UTF-8", file: "x.csv", input: "value,comment\nexample.com,\xfe\n", want: ingest.ErrInvalidUTF8, index: 1},
		{name: "CSV empty value", file: "x.csv", input: "value,comment\n,nothing\nexample.com,x\n", want: lists.ErrEmptyValue, index: 1, entries: 1},
		{name: "CSV short record", file: "x.csv", input: "comment,value\nonly\n", want: lists.ErrBadColumns, index: 1},
		{name: "CSV type mismatch", file: "x.csv", input: "value,type\nexample.com,ip\n", want: lists.ErrTypeMismatch, index: 1},
		{name: "CSV unknown type", file: "x.csv", input: "value,type\nexample.com,mutex\n", want: lists.ErrUnknownType, index: 1},
		{name: "CSV bad time", file: "x.csv", input: "value,first_seen\nexample.com,yesterday\n", want: lists.ErrBadTime, index: 1},
		{name: "CSV times reversed", file: "x.csv", input: "value,first_seen,last_seen\nexample.com,2024-02-01,2024-01-01\n", want: lists.ErrBadTime, index: 1},
		{name: "CSV bad TLP", file: "x.csv", input: "value,tlp\nexample.com,purple\n", want: lists.ErrBadTLP, index: 1},
		{name: "CSV missing column", file: "x.csv", input: "ioc,comment\nexample.com,x\n", opts: lists.Options{Columns: lists.Columns{Value: "indicator"}}, want: lists.ErrBadColumns, index: -1, fatal: true},
		{name: "CSV no value column", file: "x.csv", input: "comment,type\nx,domain\n", want: lists.ErrBadColumns, index: -1, fatal: true},
		{name: "CSV huge line", file: "x.csv", input: "value\nexample.com\n" + huge + "\nexample.org\n", want: lists.ErrLineTooLong, index: 2, entries: 2},
		{name: "CSV huge line in quotes", file: "x.csv", input: "value,comment\nexample.com,\"a\n" + huge + "\nb\"\nexample.org,x\n", want: lists.ErrLineTooLong, index: 2, entries: 1},
		{name: "CSV empty", file: "x.csv", input: "", want: ingest.ErrEmpty, index: -1, fatal: true},
		{name: "CSV header only", file: "x.csv", input: "value,type\n", want: ingest.ErrEmpty, index: -1, fatal: true},
		{name: "maltrail invalid trail", file: "fam.txt", input: "# Maltrail developers\n\nexample.com\nnot valid\n/ok/path\n", want: lists.ErrUnknownType, index: 3, entries: 2},
		{name: "maltrail too big", file: "fam.txt", input: "# Maltrail developers\n" + strings.Repeat("example.com\n", 100), opts: lists.Options{MaxFileBytes: 100}, want: lists.ErrTooBig, index: -1, fatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "iocs.txt"
			}
			got := decode(t, file, tt.input, tt.opts)
			if len(got.errs) == 0 {
				t.Fatalf("no error; objects %q", values(got.objs))
			}
			err := got.errs[0]
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			var oe *ingest.ObjectError
			if !errors.As(err, &oe) {
				t.Fatalf("error %T is not an *ingest.ObjectError", err)
			}
			if oe.File != file || oe.Index != tt.index || oe.Fatal != tt.fatal {
				t.Errorf("error file %q index %d fatal %v, want %q %d %v: %v", oe.File, oe.Index, oe.Fatal, file, tt.index, tt.fatal, err)
			}
			if !strings.HasPrefix(err.Error(), file+": ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q should name the file and contain %q", err, tt.msg)
			}
			if len(err.Error()) > 600 {
				t.Errorf("message of %d bytes is too long", len(err.Error()))
			}
			if got.stats.Entries != tt.entries {
				t.Errorf("%d entries, want %d", got.stats.Entries, tt.entries)
			}
		})
	}
}
