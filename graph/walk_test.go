package graph_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
)

// TestWalkKeepAndLimit checks what Walk's Keep and Limit do on a small
// graph, a chain a–b–c beside a–d–e, with d–b and c–e: a node Keep rejects is
// left out with its edges and not walked through, and it does not count
// towards the limit; the walk says it was truncated exactly when a kept
// node was left out; and once the limit is reached, the rest of the
// frontier still gives its edges among the nodes returned.
func TestWalkKeepAndLimit(t *testing.T) {
	s := graphtest.Open(t)
	name := func(i int) string { return fmt.Sprintf("infrastructure--00000000-0000-4000-8000-%012d", i) }
	node := func(i int) map[string]any {
		return map[string]any{"type": "infrastructure", "spec_version": "2.1", "id": name(i),
			"created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": string(rune('a' + i))}
	}
	link := func(j, from, to int) map[string]any {
		return map[string]any{"type": "relationship", "spec_version": "2.1", "id": fmt.Sprintf("relationship--00000000-0000-4000-8000-%012d", j),
			"created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "relationship_type": "related-to",
			"source_ref": name(from), "target_ref": name(to)}
	}
	const a, b, c, d, e = 0, 1, 2, 3, 4
	meta := graph.Meta{Provenance: graph.Provenance{Source: "test"}}
	for i := range 5 {
		graphtest.Put(t, s, meta, graphtest.Object(t, node(i)))
	}
	for j, l := range [][2]int{{a, b}, {b, c}, {a, d}, {d, e}, {d, b}, {c, e}} {
		graphtest.Put(t, s, meta, graphtest.Object(t, link(j, l[0], l[1])))
	}

	view(t, s, graph.System(), func(tx *graph.Tx) error {
		id := make([]graph.ID, 5)
		for i := range id {
			id[i] = mustLookup(t, tx, name(i))
		}
		notB := func(n graph.ID) (bool, error) { return n != id[b], nil }
		notE := func(n graph.ID) (bool, error) { return n != id[e], nil }
		cases := []struct {
			what      string
			opts      graph.WalkOptions
			want      []int
			edges     int
			truncated bool
		}{
			{"everything", graph.WalkOptions{Depth: 2}, []int{a, b, d, c, e}, 5, false},
			{"b rejected", graph.WalkOptions{Depth: 2, Keep: notB}, []int{a, d, e}, 2, false},
			{"limit 3, b rejected", graph.WalkOptions{Depth: 2, Keep: notB, Limit: 3}, []int{a, d, e}, 2, false},
			{"limit 2, b rejected", graph.WalkOptions{Depth: 2, Keep: notB, Limit: 2}, []int{a, d}, 1, true},
			{"limit 5", graph.WalkOptions{Depth: 2, Limit: 5}, []int{a, b, d, c, e}, 5, false},
			// b's scan ends at c; d's still gives d–b before it ends at e.
			{"limit 3", graph.WalkOptions{Depth: 2, Limit: 3}, []int{a, b, d}, 3, true},
			{"limit 4", graph.WalkOptions{Depth: 2, Limit: 4}, []int{a, b, d, c}, 4, true},
			{"limit 4, e rejected", graph.WalkOptions{Depth: 2, Keep: notE, Limit: 4}, []int{a, b, d, c}, 4, false},
		}
		for _, tc := range cases {
			hood, err := tx.Walk(context.Background(), id[a], tc.opts)
			if err != nil {
				t.Fatalf("%s: %v", tc.what, err)
			}
			var want []graph.ID
			for _, i := range tc.want {
				want = append(want, id[i])
			}
			if !slices.Equal(hood.Nodes, want) || len(hood.Edges) != tc.edges || hood.Truncated != tc.truncated {
				t.Errorf("%s: nodes %v, %d edges, truncated %v; want %v, %d edges, truncated %v",
					tc.what, hood.Nodes, len(hood.Edges), hood.Truncated, want, tc.edges, tc.truncated)
			}
			for _, e := range hood.Edges {
				if !slices.Contains(hood.Nodes, e.From) || !slices.Contains(hood.Nodes, e.To) {
					t.Errorf("%s: edge %v leaves the nodes returned", tc.what, e)
				}
			}
		}

		// With a limit of 4, e is beyond it when d's scan reaches it, and
		// c's scan, on the third hop, reaches it again: Keep is asked once.
		asked := map[graph.ID]int{}
		count := func(n graph.ID) (bool, error) { asked[n]++; return true, nil }
		if _, err := tx.Walk(context.Background(), id[a], graph.WalkOptions{Depth: 3, Limit: 4, Keep: count}); err != nil {
			t.Fatal(err)
		}
		for n, k := range asked {
			if k > 1 {
				t.Errorf("Keep asked %d times about node %d", k, n)
			}
		}

		boom := errors.New("boom")
		if _, err := tx.Walk(context.Background(), id[a], graph.WalkOptions{Depth: 1, Keep: func(graph.ID) (bool, error) { return false, boom }}); !errors.Is(err, boom) {
			t.Errorf("Keep's error: got %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := tx.Walk(ctx, id[a], graph.WalkOptions{Depth: 2}); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled walk: got %v", err)
		}
		return nil
	})
}
