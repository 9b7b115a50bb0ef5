package schema_test

import (
	"fmt"

	"github.com/verband-cti/verband/schema"
)

// SCOID gives an SCO the deterministic id of STIX 2.1 section 2.9. The
// address here is the one in the specification's own example.
func ExampleSCOID() {
	o, err := schema.ParseObject([]byte(`{
		"type": "ipv4-addr",
		"spec_version": "2.1",
		"id": "ipv4-addr--1e4ffad7-0b88-41d4-ba4d-77d27490b956",
		"value": "198.51.100.3"
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := schema.SCOID(o)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id)
	// Output: ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4
}

// Canonicalize rewrites an observable's value and then its id, so that the
// same domain from two sources becomes one node.
func ExampleCanonicalize() {
	o, err := schema.ParseObject([]byte(`{"type":"domain-name","id":"domain-name--ecb120bf-2694-4902-a737-62b74539a41b","value":"EXAMPLE.com."}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	changed, err := schema.Canonicalize(o)
	if err != nil {
		fmt.Println(err)
		return
	}
	value, _ := o.String("value")
	fmt.Println(changed, value, o.ID)
	fmt.Println(schema.IndexValues(o))
	// Output:
	// true example.com domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7
	// [example.com]
}

func ExampleTLPOf() {
	o, err := schema.ParseObject([]byte(`{"type":"report","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
		"object_marking_refs":["` + schema.MarkingTLP1Green + `","` + schema.TLPAmberStrict.MarkingID() + `"]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(schema.TLPOf(o))
	// Output: TLP:AMBER+STRICT
}
