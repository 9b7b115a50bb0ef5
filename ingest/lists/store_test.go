package lists_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/schema"
)

// loadList loads one list through the pipeline.
func loadList(t *testing.T, s *graph.Store, dec *lists.Decoder, source string) pipeline.Stats {
	t.Helper()
	st, err := pipeline.New(s, pipeline.Options{Source: source}).LoadSource(context.Background(), dec)
	if err != nil {
		t.Fatalf("load %s: %v", dec.Name(), err)
	}
	if st.Rejected != 0 {
		t.Fatalf("load %s: %d rejected: %v", dec.Name(), st.Rejected, st.Errors)
	}
	return st
}

// TestStoreIdempotent loads maltrail files, a plain list and a CSV file
// through the pipeline twice: the second load changes nothing (no created
// or updated object, no outbox entry), and each trail's observable is one
// edge from its family in the store.
func TestStoreIdempotent(t *testing.T) {
	dir := shareddata.Dir(t, "maltrail")
	s := graphtest.Open(t)
	plain := "# watchlist\n192.0.2.1\nhxxp://evil[.]example/x\n203.0.113.0/24\nd41d8cd98f00b204e9800998ecf8427e\n"
	csvIn := "value,type,tags,tlp\nevil.example,domain,c2,amber\nmail@evil.example,email,,\n"
	load := func() []pipeline.Stats {
		var out []pipeline.Stats
		for _, f := range []string{"hacked_3cx.txt", "njrat-1.txt", "apt_bisonal.txt"} {
			dec, err := lists.Open(filepath.Join(dir, f), lists.Options{})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, loadList(t, s, dec, "maltrail"))
			dec.Close()
		}
		for _, in := range []struct{ name, body string }{{"watch.txt", plain}, {"feed.csv", csvIn}} {
			dec, err := lists.NewDecoder(strings.NewReader(in.body), in.name, lists.Options{Source: "acme", TLP: schema.TLPGreen, Time: testTime})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, loadList(t, s, dec, "acme"))
		}
		return out
	}
	first := load()
	for i, st := range first {
		if st.Created == 0 {
			t.Errorf("first load %d created nothing: %+v", i, st)
		}
	}
	seq := s.IndexStatus().Committed
	second := load()
	for i, st := range second {
		if st.Created != 0 || st.Updated != 0 || st.Unchanged != first[i].Committed() {
			t.Errorf("second load %d: %+v, want everything unchanged (first %+v)", i, st, first[i])
		}
	}
	if got := s.IndexStatus().Committed; got != seq {
		t.Errorf("second load wrote %d outbox entries", got-seq)
	}

	// In the store, every njrat trail observable has a communicates-with
	// edge to the family.
	family := lists.DeterministicID("malware", "maltrail", "njrat")
	trails := trailLines(t, filepath.Join(dir, "njrat-1.txt"))
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		fam, err := tx.Lookup(family)
		if err != nil {
			return err
		}
		for _, trail := range trails {
			id, err := tx.Lookup(trailID(t, "njrat-1.txt", trail))
			if err != nil {
				t.Errorf("trail %q: %v", trail, err)
				continue
			}
			found := false
			err = tx.Neighbours(id, graph.NeighbourQuery{EdgeTypes: []string{"communicates-with", "indicates"}}, func(e graph.Edge) bool {
				found = e.Other(id) == fam
				return !found
			})
			if err != nil || !found {
				t.Errorf("trail %q: no edge to the family (%v)", trail, err)
			}
		}
		// The plain list's observables are in its grouping, and the
		// grouping is GREEN from the hints and markings.
		g, err := tx.NodeByStixID(lists.DeterministicID("grouping", "acme", "watch.txt"))
		if err != nil {
			return err
		}
		if g.Policy.TLP != schema.TLPGreen {
			t.Errorf("grouping TLP %s", g.Policy.TLP)
		}
		deg, err := tx.Degree(g.ID, graph.Out, "object_refs")
		if err != nil {
			return err
		}
		if deg != 4 {
			t.Errorf("grouping has %d object_refs edges, want 4", deg)
		}
		ip, err := tx.NodeByStixID(trailID(t, "watch.txt", "192.0.2.1"))
		if err != nil {
			return err
		}
		if ip.Policy.TLP != schema.TLPGreen {
			t.Errorf("observable TLP %s, want GREEN from the hints", ip.Policy.TLP)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
