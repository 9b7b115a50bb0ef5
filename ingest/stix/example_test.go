package stix_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/stix"
)

func Example() {
	in := `{"type":"bundle","id":"bundle--1","spec_version":"2.0","objects":[
		{"type":"malware","id":"malware--1","created":"2017-01-01T00:00:00.000Z","name":"X","labels":["trojan"]},
		{"type":"indicator","id":"indicator--1","created":"yesterday"},
		{"type":"indicator","id":"indicator--2","created":"2017-01-01T00:00:00.000Z","pattern":"[file:name = 'x']"}
	]}`
	dec, err := stix.NewDecoder(strings.NewReader(in), "feed.json", stix.DefaultOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		obj, err := dec.Next()
		if err == io.EOF {
			break
		}
		if ingest.IsFatal(err) {
			fmt.Println("giving up:", err)
			return
		}
		if err != nil {
			fmt.Println("skipped:", err)
			continue
		}
		fmt.Printf("%s spec_version=%s is_family=%s pattern_type=%s\n",
			obj.ID, obj.Props["spec_version"], obj.Props["is_family"], obj.Props["pattern_type"])
	}
	id, spec := dec.Bundle()
	fmt.Println("bundle", id, spec)
	// Output:
	// malware--1 spec_version="2.1" is_family=true pattern_type=
	// skipped: feed.json: object 1 (indicator--1): field "created": not an RFC 3339 timestamp: parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"
	// indicator--2 spec_version="2.1" is_family= pattern_type="stix"
	// bundle bundle--1 2.0
}
