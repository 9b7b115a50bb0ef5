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

// TestBulkChunksReadTheChunkBefore loads in chunks of one object, so that
// each chunk is built while the one before still commits: it must find the
// ids, records and counters that chunk wrote, and a stub merge, which scans
// Badger, must wait for it. The world is the one of
// TestOriginalIDMergesEarlierReference: a relationship names an SCO by the
// random id its source gave it, and the canonical SCO, stored before, then
// arrives again with that id as its original id.
func TestBulkChunksReadTheChunkBefore(t *testing.T) {
	s := graphtest.Open(t)
	items := graphtest.Fixture(t)
	meta := items[0].Meta
	rel, ip := randomIDReference(t, items)
	b := s.NewBulk(graph.System(), graph.BulkOptions{ChunkObjects: 1})
	for _, it := range items {
		if err := b.Put(it.Object, it.Meta); err != nil {
			t.Fatal(err)
		}
	}
	// The same objects again: each chunk finds the one before unchanged.
	for _, it := range items {
		if err := b.Put(it.Object, it.Meta); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(rel, meta); err != nil {
		t.Fatal(err)
	}
	m := meta
	m.Provenance = graph.Provenance{Source: "second", OriginalID: random}
	if err := b.Put(ip, m); err != nil {
		t.Fatal(err)
	}
	total, err := b.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := len(items) + 1; total.Created != want || total.Unchanged != len(items) || total.Updated != 1 {
		t.Errorf("bulk stats %+v, want %d created, %d unchanged, 1 updated", total, want, len(items))
	}
	checkRandomIDMerged(t, s)
}

// TestBulkFindsIDsStoredBefore checks that a bulk load finds the objects
// other writers stored, before the store was reopened and after the bulk
// load's filter of stored ids was built: each is unchanged, not created a
// second time.
func TestBulkFindsIDsStoredBefore(t *testing.T) {
	dir := t.TempDir()
	opts := graph.DefaultOptions()
	s := graphtest.OpenWith(t, dir, opts)
	items := graphtest.Fixture(t)
	graphtest.Load(t, s, items[:len(items)-1])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = graphtest.OpenWith(t, dir, opts)
	if st := bulkLoad(t, s, graph.BulkOptions{}, items[:len(items)-1]); st.Unchanged != len(items)-1 {
		t.Errorf("bulk load after reopen: %+v, want all %d unchanged", st, len(items)-1)
	}
	last := items[len(items)-1:]
	graphtest.Load(t, s, last)
	if st := bulkLoad(t, s, graph.BulkOptions{}, last); st.Unchanged != 1 {
		t.Errorf("bulk load of an object stored by Update: %+v, want it unchanged", st)
	}
	graphtest.CheckStore(t, s)
}

// bulkLoad puts items through one bulk load as the system viewer and
// returns its stats.
func bulkLoad(t *testing.T, s *graph.Store, opts graph.BulkOptions, items []graphtest.Item) graph.BulkStats {
	t.Helper()
	b := s.NewBulk(graph.System(), opts)
	for _, it := range items {
		if err := b.Put(it.Object, it.Meta); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.Close()
	if err != nil {
		t.Fatal(err)
	}
	return st
}
