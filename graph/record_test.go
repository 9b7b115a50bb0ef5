package graph

import (
	"reflect"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	at := time.Date(2024, 2, 3, 4, 5, 6, 7, time.UTC)
	for _, r := range []record{
		{flags: flagStub, typ: 3, stixID: "malware--x"},
		{typ: 7, class: 300, created: -5, modified: at.UnixNano(), stixID: "ipv4-addr--y",
			contribs: []contribution{
				{class: 4, modified: at.UnixNano(), prov: []Provenance{{Source: "misp", File: "e.json", At: at, OriginalID: "ipv4-addr--z", Original: []byte(`{"value":"1.2.3.4 "}`)}, {Source: "b"}}},
				{class: 9, prov: []Provenance{{Source: "c"}}, raw: []byte(`{"id":"ipv4-addr--y","x":1}`)},
			},
			raw: []byte(`{"id":"ipv4-addr--y"}`)},
	} {
		got, err := decodeRecord(r.encode())
		if err != nil {
			t.Fatal(err)
		}
		if len(got.raw) == 0 {
			got.raw = nil
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

// TestRecordV1 reads a record in the first format, which held one
// provenance list under the node's class: it becomes one contribution.
func TestRecordV1(t *testing.T) {
	at := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	b := []byte{recordV1, 0}
	b = append(b, 7, 5)                   // type sym 7, class 5
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // created
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 9) // modified
	b = appendString(b, "ipv4-addr--y")
	b = appendProvenanceList(b, []Provenance{{Source: "misp", File: "e.json", At: at}})
	b = append(b, `{"id":"ipv4-addr--y"}`...)
	got, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []contribution{{class: 5, modified: 9, prov: []Provenance{{Source: "misp", File: "e.json", At: at}}}}
	if !reflect.DeepEqual(got.contribs, want) || string(got.raw) != `{"id":"ipv4-addr--y"}` {
		t.Errorf("v1 record decoded as %+v", got)
	}
}
