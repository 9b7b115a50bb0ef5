package lists_test

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

// checkDecoder reads a decoder to the end and checks what every input must
// give: it ends, every object is valid and canonical, every error is an
// *ingest.ObjectError, and the counts add up.
func checkDecoder(t *testing.T, dec *lists.Decoder, input string) []error {
	var errs []error
	for n := 0; ; n++ {
		if n > 4*len(input)+16 {
			t.Fatalf("decoder returned %d results for %d bytes", n, len(input))
		}
		o, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var oe *ingest.ObjectError
			if !errors.As(err, &oe) {
				t.Fatalf("error %T %v is not an *ingest.ObjectError", err, err)
			}
			errs = append(errs, err)
			if ingest.IsFatal(err) {
				break
			}
			continue
		}
		if err := schema.Validate(o); err != nil {
			t.Fatalf("invalid object %s: %v", o.ID, err)
		}
		id := o.ID
		if changed, err := schema.Canonicalize(o); err != nil || changed || o.ID != id {
			t.Fatalf("object %s not canonical: changed %v, %v", id, changed, err)
		}
	}
	st := dec.Stats()
	if st.Entries+st.Rejected > st.Lines+1 {
		t.Fatalf("stats %+v: more entries and rejections than lines", st)
	}
	return errs
}

func FuzzListLine(f *testing.F) {
	for _, s := range []string{
		"192.0.2.1", "hxxp://evil[.]example/a # c", "evil(.)example:8080", "2001:db8::/32",
		"user[at]example[dot]com", "d41d8cd98f00b204e9800998ecf8427e", "example.com/x?y=1#z",
		"# comment\n\n// c\n1.2.3.4\r\n", "\ufeffexample.com", "bad\xff", "[2001:db8::1]:443/x",
		"xn--bcher-kva.example", "http://[::ffff:1.2.3.4]:80", "a@[192.0.2.1]", "/path/only",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		dec, err := lists.NewDecoder(strings.NewReader(input), "fuzz.txt", lists.Options{Format: lists.FormatPlain, Indicators: true, MaxLineBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		checkDecoder(t, dec, input)
		if strings.ContainsAny(input, "\r\n") {
			return
		}
		// One value: its canonical form classifies to itself.
		v, err := lists.Classify(input)
		if err != nil {
			return
		}
		again, err := lists.Classify(v.String())
		if err != nil || again.Kind != v.Kind || again.Value != v.Value || again.Port != v.Port {
			t.Fatalf("Classify(%q) = %+v, but Classify(%q) = %+v, %v", input, v, v.String(), again, err)
		}
	})
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"value,type\n192.0.2.1,ip\n", "ioc;comment\nexample.com;x\n", "a\tb\n1.2.3.4\tc\n",
		"value,first_seen,last_seen,tags,tlp\nexample.com,2024-01-01,2024-02-01,\"a,b\",amber\n",
		"\"unterminated\n", "value\n\"a\"\"b\"\n", "x,\"y\nz\",w\n", "value,type\nexample.com,md5\n",
		"# c\n,,,\n", "value\n\xff\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		dec, err := lists.NewDecoder(strings.NewReader(input), "fuzz.csv", lists.Options{Format: lists.FormatCSV, MaxLineBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		errs := checkDecoder(t, dec, input)
		// Input that encoding/csv reads without error (with the same
		// separator and comment rules) must not be reported as malformed.
		if strings.ContainsAny(input, "\r\t;|") || !utf8.ValidString(input) {
			return
		}
		r := csv.NewReader(strings.NewReader(input))
		r.Comment, r.FieldsPerRecord, r.TrimLeadingSpace = '#', -1, true
		if _, err := r.ReadAll(); err != nil {
			return
		}
		for _, e := range errs {
			if errors.Is(e, lists.ErrMalformedCSV) {
				t.Fatalf("encoding/csv reads %q, but the decoder reports %v", input, e)
			}
		}
	})
}

// defang writes a canonical value the way reports do: hxxp, [.] in the
// host, [@].
func defang(v lists.Value) string {
	s := v.String()
	switch v.Kind {
	case lists.KindURL:
		scheme, rest, _ := strings.Cut(s, "://")
		host, path, _ := strings.Cut(rest, "/")
		if scheme == "http" || scheme == "https" {
			scheme = strings.Replace(scheme, "tt", "xx", 1)
		}
		return scheme + "[:]//" + strings.ReplaceAll(host, ".", "[.]") + "/" + path
	case lists.KindEmail:
		return strings.ReplaceAll(strings.Replace(s, "@", "[@]", 1), ".", "(.)")
	}
	return strings.ReplaceAll(s, ".", "[dot]")
}

func FuzzRefang(f *testing.F) {
	for _, s := range []string{
		"hxxp://example[.]com", "hXXps[:]//a(.)b{.}c", "user[at]example[dot]com", "[2001:db8::1]",
		"fxp://x[/]y", "[[.]]", "(", "hxxp", "a[:]//b", "\xff[.]", "http://example.com/p(.)q",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := lists.Refang(s)
		if len(r) > len(s) {
			t.Fatalf("Refang(%q) = %q grew", s, r)
		}
		if utf8.ValidString(s) && !utf8.ValidString(r) {
			t.Fatalf("Refang(%q) = %q is not UTF-8", s, r)
		}
		v, err := lists.Classify(s)
		if err != nil || strings.ContainsAny(v.Value, "[({") {
			return
		}
		// Defanging the canonical value and classifying it again gives
		// the value back.
		d := defang(v)
		got, err := lists.Classify(d)
		if err != nil || got.Value != v.Value || got.Kind != v.Kind || got.Port != v.Port {
			t.Fatalf("Classify(%q) = %+v; its defanged form %q classifies to %+v, %v", s, v, d, got, err)
		}
	})
}
