package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

// TestKShortestAgainstEnumeration checks the path search on random graphs
// against an enumeration of every simple path: for each pair of nodes, the
// k paths found are valid, simple and distinct, and their lengths are the
// k smallest of all simple paths of at most maxLen edges, in both
// directions of travel and in one.
func TestKShortestAgainstEnumeration(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		s := graphtest.Open(t)
		rng := rand.New(rand.NewPCG(seed, 7))
		const n = 12
		ids := make([]string, n)
		err := s.Update(graph.System(), func(tx *graph.Tx) error {
			put := func(props map[string]any) error {
				raw := map[string]json.RawMessage{}
				for k, v := range props {
					b, _ := json.Marshal(v)
					raw[k] = b
				}
				o, err := schema.NewObject(raw)
				if err != nil {
					return err
				}
				_, _, err = tx.Put(o, graph.Meta{Provenance: graph.Provenance{Source: "test"}})
				return err
			}
			for i := range ids {
				ids[i] = fmt.Sprintf("infrastructure--00000000-0000-4000-8000-%012d", i)
				if err := put(map[string]any{"type": "infrastructure", "spec_version": "2.1", "id": ids[i],
					"created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": fmt.Sprint("i", i)}); err != nil {
					return err
				}
			}
			for j := range 22 {
				a, b := rng.IntN(n), rng.IntN(n)
				if a == b {
					continue
				}
				if err := put(map[string]any{"type": "relationship", "spec_version": "2.1",
					"id": fmt.Sprintf("relationship--00000000-0000-4000-8000-%012d", j), "created": "2026-01-01T00:00:00Z",
					"modified": "2026-01-01T00:00:00Z", "relationship_type": "related-to", "source_ref": ids[a], "target_ref": ids[b]}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.View(graph.System(), func(tx *graph.Tx) error {
			nodes := make([]graph.ID, n)
			for i, sid := range ids {
				var err error
				if nodes[i], err = tx.Lookup(sid); err != nil {
					return err
				}
			}
			for _, dir := range []graph.Direction{graph.Both, graph.Out} {
				q := graph.NeighbourQuery{Dir: dir, EdgeTypes: []string{"related-to"}}
				for _, src := range nodes {
					for _, dst := range nodes {
						if src == dst {
							continue
						}
						checkPaths(t, tx, q, src, dst, 4, 3)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkPaths compares kShortest with every simple path from src to dst.
func checkPaths(t *testing.T, tx *graph.Tx, q graph.NeighbourQuery, src, dst graph.ID, maxLen, k int) {
	t.Helper()
	var all []int
	var walk func(at graph.ID, onPath []graph.ID)
	walk = func(at graph.ID, onPath []graph.ID) {
		if at == dst {
			all = append(all, len(onPath)-1)
			return
		}
		if len(onPath)-1 == maxLen {
			return
		}
		var next []graph.ID
		if err := tx.Neighbours(at, q, func(e graph.Edge) bool { next = append(next, e.Other(at)); return true }); err != nil {
			t.Fatal(err)
		}
		for _, o := range next {
			if !slices.Contains(onPath, o) {
				walk(o, append(slices.Clone(onPath), o))
			}
		}
	}
	walk(src, []graph.ID{src})
	slices.Sort(all)
	want := all[:min(k, len(all))]

	ps := &pathSearch{ctx: context.Background(), tx: tx, q: q, budget: 1 << 20}
	got, err := ps.kShortest(src, dst, maxLen, k)
	if err != nil {
		t.Fatal(err)
	}
	var lengths []int
	seen := map[string]bool{}
	for _, p := range got {
		lengths = append(lengths, len(p.edges))
		if key := pathKey(p); seen[key] {
			t.Errorf("%d→%d (dir %v): a path found twice", src, dst, q.Dir)
		} else {
			seen[key] = true
		}
		if p.nodes[0] != src || p.nodes[len(p.nodes)-1] != dst || len(p.nodes) != len(p.edges)+1 {
			t.Fatalf("%d→%d: malformed path %+v", src, dst, p)
		}
		for i, e := range p.edges {
			from, to := p.nodes[i], p.nodes[i+1]
			if e.Other(from) != to || (q.Dir == graph.Out && (e.From != from || e.To != to)) {
				t.Errorf("%d→%d (dir %v): edge %+v does not lead from %d to %d", src, dst, q.Dir, e, from, to)
			}
		}
		uniq := slices.Clone(p.nodes)
		slices.Sort(uniq)
		if len(slices.Compact(uniq)) != len(p.nodes) {
			t.Errorf("%d→%d: path %v is not simple", src, dst, p.nodes)
		}
	}
	// Parallel relationships make distinct paths: the enumeration walks
	// each edge, so it counts them as the search does.
	if !slices.Equal(lengths, want) {
		t.Errorf("%d→%d (dir %v): path lengths %v, want the %d smallest of %v", src, dst, q.Dir, lengths, k, all)
	}
}
