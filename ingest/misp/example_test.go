package misp_test

import (
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/verband-cti/verband/ingest/misp"
	"github.com/verband-cti/verband/schema"
)

// Decode a MISP event and export its objects again.
func Example() {
	in := `{"Event":{"uuid":"5cccb246-0da0-4c93-a463-61fe0a016219","info":"Phishing wave","date":"2024-05-14",
	"timestamp":"1715700000","Tag":[{"name":"tlp:green"}],"Orgc":{"name":"CERT-A","uuid":"55f6ea5e-51ac-4344-bc8c-4170950d210f"},
	"Attribute":[{"uuid":"5b6464ca-e73c-4707-9b8a-d0350acd0835","type":"domain","category":"Network activity",
	"value":"Login-Bank.example","to_ids":true,"timestamp":"1715700000"}]}}`
	src, err := misp.NewSource(strings.NewReader(in), "event.json", misp.Options{})
	if err != nil {
		log.Fatal(err)
	}
	var objs []*schema.Object
	for {
		o, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		objs = append(objs, o)
		fmt.Println(o.ID, src.Hints().TLP)
	}
	if _, err := misp.Encode(io.Discard, objs, misp.EncodeOptions{}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// identity--55f6ea5e-51ac-4344-bc8c-4170950d210f unmarked
	// domain-name--25a23faa-9081-5b27-b245-f5f8705f538d TLP:GREEN
	// marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb TLP:CLEAR
	// indicator--5b6464ca-e73c-4707-9b8a-d0350acd0835 TLP:GREEN
	// report--5cccb246-0da0-4c93-a463-61fe0a016219 TLP:GREEN
}
