package misp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// FuzzMISPEvent checks that the decoder never panics and always ends, that
// every error is an *ingest.ObjectError naming the input, that every
// object it returns validates and is canonical already, and that Encode
// turns the objects into MISP JSON that decodes again without a fatal
// error.
func FuzzMISPEvent(f *testing.F) {
	for _, s := range []string{
		wrapped(event),
		event,
		`{"response":[` + wrapped(event) + `,42]}`,
		`[{"SharingGroup":{"name":"x"},"Organisation":{"name":"o"}}]`,
		wrapped(`{"info":"a","Attribute":[{"type":"domain|ip","value":"a.example|1.2.3.4","to_ids":"1","Sighting":[{"date_sighting":"1"}]}]}`),
		wrapped(`{"info":"a","Object":[{"name":"file","Attribute":[{"type":"md5","value":"x"}],"ObjectReference":[{"referenced_uuid":"b"}]}]}`),
		wrapped(`{"info":"a","Galaxy":[{"type":"threat-actor","GalaxyCluster":[{"value":"X","uuid":"","meta":{"synonyms":"Y"}}]}],"Tag":"tlp:red"}`),
		`{"Event": {"info": "x",}}`,
		`[{"Event":{"info":"\ud800"}}]`,
		"\xef\xbb\xbf[]",
		``,
	} {
		f.Add([]byte(s))
	}
	f.Add(gz(&testing.T{}, wrapped(event)))
	small := Options{MaxEventBytes: 4096, MaxDepth: 8}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure: crash the worker so that the fuzzer keeps
		// the input.
		watchdog := time.AfterFunc(20*time.Second, func() { panic(fmt.Sprintf("input took over 20s: %q", data)) })
		defer watchdog.Stop()
		for _, opts := range []Options{{}, small} {
			s, err := NewSource(bytes.NewReader(data), "fuzz.json", opts)
			if err != nil {
				var oe *ingest.ObjectError
				if !errors.As(err, &oe) || !oe.Fatal {
					t.Fatalf("NewSource: %v", err)
				}
				continue
			}
			d := drain(t, s)
			for _, e := range d.errs {
				if e.File != "fuzz.json" || e.Err == nil || !strings.HasPrefix(e.Error(), "fuzz.json") {
					t.Fatalf("bad error %#v", e)
				}
			}
			for _, o := range d.objs {
				if err := schema.Validate(o); err != nil {
					t.Fatalf("%s does not validate: %v", o.ID, err)
				}
				before, _ := o.MarshalJSON()
				if changed, err := schema.Canonicalize(o); err != nil || changed {
					t.Fatalf("%s: Canonicalize changed %v, err %v: %s", o.ID, changed, err, before)
				}
			}
			if len(d.objs) == 0 {
				continue
			}
			var buf bytes.Buffer
			if _, err := Encode(&buf, d.objs, EncodeOptions{}); err != nil {
				t.Fatalf("Encode: %v", err)
			}
			again, err := NewSource(bytes.NewReader(buf.Bytes()), "fuzz.json", Options{})
			if err != nil {
				t.Fatalf("decode the export: %v", err)
			}
			for _, e := range drain(t, again).errs {
				if e.Fatal {
					t.Fatalf("the export does not decode: %v\n%s", e, buf.Bytes())
				}
			}
		}
	})
}
