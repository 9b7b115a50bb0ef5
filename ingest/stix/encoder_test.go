package stix_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/verband-cti/verband/ingest/stix"
	"github.com/verband-cti/verband/schema"
)

func TestBundleWriterRoundTrip(t *testing.T) {
	objs := []string{
		`{"type":"identity","spec_version":"2.1","id":"identity--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d01","created":"2024-03-01T10:00:00.000Z","modified":"2024-03-01T10:00:00.000Z","name":"ACME \u00e9 <CERT>","x_custom":{"b":1,"a":[1.50,"x"]}}`,
		`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`,
	}
	var buf bytes.Buffer
	const id = "bundle--11111111-2222-4333-8444-555555555555"
	bw, err := stix.NewBundleWriter(&buf, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range objs {
		o, err := schema.ParseObject([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if err := bw.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	if bw.Count() != 2 {
		t.Errorf("Count = %d", bw.Count())
	}
	dec, err := stix.NewDecoder(bytes.NewReader(buf.Bytes()), "out.json", stix.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		o, err := dec.Next()
		if err == io.EOF {
			if i != len(objs) {
				t.Fatalf("read %d objects back, want %d", i, len(objs))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := o.MarshalJSON()
		var a, b any
		json.Unmarshal(got, &a)
		json.Unmarshal([]byte(objs[i]), &b)
		ga, _ := json.Marshal(a)
		gb, _ := json.Marshal(b)
		if !bytes.Equal(ga, gb) {
			t.Errorf("object %d: got %s, want %s", i, got, objs[i])
		}
	}
	if bid, _ := dec.Bundle(); bid != id {
		t.Errorf("bundle id %q", bid)
	}
	// An empty bundle is valid JSON.
	var empty bytes.Buffer
	bw, _ = stix.NewBundleWriter(&empty, "")
	if err := bw.Close(); err != nil || !json.Valid(empty.Bytes()) || !strings.Contains(empty.String(), `"bundle--`) {
		t.Errorf("empty bundle %q (%v)", empty.String(), err)
	}
	if _, err := stix.NewBundleWriter(&empty, "report--11111111-2222-4333-8444-555555555555"); err == nil {
		t.Error("a non-bundle id was accepted")
	}
}
