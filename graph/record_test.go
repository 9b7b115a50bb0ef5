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
			prov: []Provenance{{Source: "misp", File: "e.json", At: at, OriginalID: "ipv4-addr--z", Original: []byte(`{"value":"1.2.3.4 "}`)}, {Source: "b"}},
			raw:  []byte(`{"id":"ipv4-addr--y"}`)},
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
