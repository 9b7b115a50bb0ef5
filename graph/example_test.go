package graph_test

import (
	"fmt"
	"log"
	"os"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// Open a store, write an object in a transaction, and read it back as a
// viewer of another organization.
func Example() {
	dir, err := os.MkdirTemp("", "verband-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := graph.Open(dir, graph.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ip, err := schema.ParseObject([]byte(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`))
	if err != nil {
		log.Fatal(err)
	}
	meta := graph.Meta{Policy: graph.Policy{Owner: "cert-a", TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "example"}}
	err = s.Update(graph.System(), func(tx *graph.Tx) error {
		_, outcome, err := tx.Put(ip, meta)
		fmt.Println("put:", outcome)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	err = s.View(graph.Viewer{Org: "police-b"}, func(tx *graph.Tx) error {
		ids, err := tx.ByValue("198.51.100.3")
		if err != nil {
			return err
		}
		n, err := tx.Node(ids[0])
		if err != nil {
			return err
		}
		fmt.Println("found:", n.Type, n.StixID, "owned by", n.Policy.Owner)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// put: created
	// found: ipv4-addr ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4 owned by cert-a
}
