package bench

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// writeEdges writes an edge list as cluster_peers.py gen does (numpy
// savetxt with "%d": one "a b" pair per line, lo < hi).
func writeEdges(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "g.txt")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEdgeList(t *testing.T) {
	// Nodes 0..6; node 4 is isolated, and 6 appears only as a target.
	path := writeEdges(t, "0 1\n0 2\n1 2\n2 3\n\n# comment\n3 5\n5 6\n")
	for _, typ := range []string{"", "infrastructure"} {
		el, err := OpenEdgeList(path, EdgeListOptions{NodeType: typ, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if el.Nodes() != 7 || el.Edges() != 6 || el.Len() != 13 {
			t.Fatalf("nodes %d, edges %d, len %d; want 7, 6, 13", el.Nodes(), el.Edges(), el.Len())
		}
		var rels []*schema.Object
		types := map[string]int{}
		for {
			it, err := el.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(it.Object); err != nil {
				t.Fatal(err)
			}
			if schema.KindOf(it.Object.Type) == schema.KindSCO {
				if id, err := schema.SCOID(it.Object); err != nil || id != it.Object.ID {
					t.Fatalf("%s: SCOID %s (%v)", it.Object.ID, id, err)
				}
			}
			types[it.Object.Type]++
			if it.Object.Type == "relationship" {
				rels = append(rels, it.Object)
			}
		}
		want := "ipv4-addr"
		if typ != "" {
			want = typ
		}
		if types[want] != 7 || types["relationship"] != 6 {
			t.Fatalf("types %v", types)
		}
		if src, _ := rels[5].String("source_ref"); src != el.NodeID(5) {
			t.Errorf("last edge starts at %s, want node 5 %s", src, el.NodeID(5))
		}
		if err := el.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEdgeListLoad(t *testing.T) {
	path := writeEdges(t, "0 1\n0 2\n1 2\n2 3\n3 5\n5 6\n")
	el, err := OpenEdgeList(path, EdgeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	s, err := graph.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, samples, err := Load(context.Background(), s, el, LoadOptions{Viewer: viewer})
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != 13 || len(samples.Starts) != 7 || len(samples.Keywords) != 7 {
		t.Fatalf("stats %+v, %d starts, %d keywords", st, len(samples.Starts), len(samples.Keywords))
	}
	err = s.View(viewer, func(tx *graph.Tx) error {
		id, err := tx.Lookup(el.NodeID(2))
		if err != nil {
			return err
		}
		nodes, _, err := tx.Expand(id, 1, graph.NeighbourQuery{}, 0)
		if len(nodes) != 4 { // 2 and its neighbours 0, 1, 3
			t.Errorf("node 2 has %d nodes within one hop, want 4", len(nodes))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Search(context.Background(), viewer, graph.SearchQuery{Text: "10.0.0.5"})
	if err != nil || r.Total != 1 {
		t.Errorf("search for node 5's address: %+v, %v", r, err)
	}
}

func TestEdgeListErrors(t *testing.T) {
	for _, text := range []string{"0 1\n2\n", "0 x\n", "-1 2\n", "1 2 3\n"} {
		_, err := OpenEdgeList(writeEdges(t, text), EdgeListOptions{})
		if err == nil || !strings.Contains(err.Error(), "g.txt:") {
			t.Errorf("%q: error %v, want one naming file and line", text, err)
		}
	}
	if _, err := OpenEdgeList(writeEdges(t, "0 1\n"), EdgeListOptions{NodeType: "malware"}); err == nil {
		t.Error("node type malware accepted")
	}
}
