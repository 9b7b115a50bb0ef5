package graph_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

// TestBulkLargeContainers loads containers with many thousands of members:
// the members' degree counters, written when a chunk is finished, must not
// push a chunk over Badger's transaction limit.
func TestBulkLargeContainers(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 60,000 references")
	}
	s := graphtest.Open(t)
	b := s.NewBulk(graph.System(), graph.BulkOptions{})
	meta := graph.Meta{Policy: graph.Policy{TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "test"}}
	for c := range 4 {
		refs := make([]string, 15_000)
		for i := range refs {
			refs[i] = fmt.Sprintf("ipv4-addr--00000000-0000-4000-8000-%06d%06d", c, i)
		}
		raw, err := json.Marshal(map[string]any{
			"type": "grouping", "spec_version": "2.1", "id": fmt.Sprintf("grouping--00000000-0000-4000-8000-%012d", c),
			"created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "context": "suspicious-activity", "object_refs": refs,
		})
		if err != nil {
			t.Fatal(err)
		}
		o, err := schema.ParseObject(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Put(o, meta); err != nil {
			t.Fatalf("put container %d: %v", c, err)
		}
	}
	st, err := b.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != 4 {
		t.Errorf("stats %+v", st)
	}
	err = s.View(graph.System(), func(tx *graph.Tx) error {
		id, err := tx.Lookup("grouping--00000000-0000-4000-8000-000000000002")
		if err != nil {
			return err
		}
		n, err := tx.Degree(id, graph.Out, "object_refs")
		if n != 15_000 {
			t.Errorf("out-degree %d, want 15000", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
