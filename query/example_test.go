package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/query"
	"github.com/verband-cti/verband/schema"
)

// Run a GraphQL query against a store, as a viewer of one organization.
func ExampleAPI_Exec() {
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
	err = s.Update(graph.System(), func(tx *graph.Tx) error {
		_, _, err := tx.Put(ip, graph.Meta{Policy: graph.Policy{Owner: "cert-a", TLP: schema.TLPGreen}})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	api, err := query.NewAPI(s, query.APIOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	who := graph.Principal{User: "ana", Org: "police-b", Role: graph.RoleReader}
	resp := api.Exec(context.Background(), who.Viewer(), who, query.Request{
		Query:     `query IP($id: ID!) { node(id: $id) { type owner markings { tlp } ... on IPv4Address { value } } }`,
		Variables: map[string]any{"id": ip.ID},
	})
	out, _ := json.Marshal(resp)
	fmt.Println(string(out))
	// Output:
	// {"data":{"node":{"type":"ipv4-addr","owner":"cert-a","markings":{"tlp":"GREEN"},"value":"198.51.100.3"}}}
}
