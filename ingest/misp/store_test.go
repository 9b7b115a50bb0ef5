package misp

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/schema"
)

// load writes a source's objects into the store the way the pipeline
// does: canonicalise, validate, and put with the TLP of the object's
// marking or of the source's hints.
func load(t *testing.T, s *graph.Store, path string) graph.BulkStats {
	t.Helper()
	d := decodeFile(t, path)
	for _, e := range d.errs {
		t.Fatalf("decode: %v", e)
	}
	b := s.NewBulk(graph.System(), graph.BulkOptions{})
	for i, o := range d.objs {
		if _, err := schema.Canonicalize(o); err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(o); err != nil {
			t.Fatal(err)
		}
		h := d.hints[i]
		tlp := schema.TLPOf(o)
		if tlp == schema.TLPUnmarked {
			tlp = h.TLP
		}
		m := graph.Meta{
			Policy:     graph.Policy{Owner: "cert-a", TLP: tlp, Sharing: h.Sharing},
			Provenance: graph.Provenance{Source: "misp", File: filepath.Base(path)},
		}
		if err := b.Put(o, m); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.Close()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStoreReportMembersAndIdempotence loads an ESET event (there is no
// MISP event for gamaredon in the ESET folder; Ebury is the largest
// gzipped one, with objects, references and galaxies) into a real store,
// checks that every member of the report is its object_refs neighbour, and
// that loading the file again changes nothing.
func TestStoreReportMembersAndIdempotence(t *testing.T) {
	path := shareddata.Dir(t, "eset", "windigo", "ebury.misp.json.gz")
	s := graphtest.Open(t)
	first := load(t, s, path)
	if first.Created == 0 || first.Updated+first.Unchanged+first.Older != 0 {
		t.Fatalf("first load: %+v, want only created objects", first)
	}
	committed := s.IndexStatus().Committed

	d := decodeFile(t, path)
	reports := d.byType("report")
	if len(reports) != 1 {
		t.Fatalf("%d reports", len(reports))
	}
	want := reports[0].Strings("object_refs")
	var got []string
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		id, err := tx.Lookup(reports[0].ID)
		if err != nil {
			return err
		}
		var nerr error
		err = tx.Neighbours(id, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"object_refs"}}, func(e graph.Edge) bool {
			n, err := tx.Node(e.To)
			if err != nil {
				nerr = err
				return false
			}
			got = append(got, n.StixID)
			return true
		})
		if nerr != nil {
			return nerr
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("report has %d object_refs neighbours, want its %d members", len(got), len(want))
	}

	second := load(t, s, path)
	if second.Unchanged != second.Objects || second.Created+second.Updated+second.Older != 0 {
		t.Errorf("second load: %+v, want every object unchanged", second)
	}
	if c := s.IndexStatus().Committed; c != committed {
		t.Errorf("second load moved the outbox from %d to %d", committed, c)
	}
}
