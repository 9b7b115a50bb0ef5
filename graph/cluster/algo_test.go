package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph/network"
	"gonum.org/v1/gonum/graph/path"
	"gonum.org/v1/gonum/graph/simple"
)

// randomGraph draws a connected-ish undirected graph of n nodes and about m
// edges with weights in (0.5, 5], as an edge list and as gonum's graph.
type testEdge struct {
	u, v int32
	w    float64
}

func randomGraph(seed uint64, n, m int) ([]testEdge, *simple.WeightedUndirectedGraph) {
	rng := rand.New(rand.NewPCG(seed, 1))
	g := simple.NewWeightedUndirectedGraph(0, math.Inf(1))
	for i := range n {
		g.AddNode(simple.Node(i))
	}
	var edges []testEdge
	for len(edges) < m {
		u, v := int32(rng.IntN(n)), int32(rng.IntN(n))
		if u == v || g.HasEdgeBetween(int64(u), int64(v)) {
			continue
		}
		w := 0.5 + 4.5*rng.Float64()
		edges = append(edges, testEdge{u, v, w})
		g.SetWeightedEdge(simple.WeightedEdge{F: simple.Node(u), T: simple.Node(v), W: 1 / w})
	}
	return edges, g
}

// adjacencyOf builds the betweenness adjacency of an edge list, link i
// being edges[i].
func adjacencyOf(n int, edges []testEdge) adjacency {
	rows := make([][][2]int32, n)
	for i, e := range edges {
		rows[e.u] = append(rows[e.u], [2]int32{e.v, int32(i)})
		rows[e.v] = append(rows[e.v], [2]int32{e.u, int32(i)})
	}
	a := adjacency{off: make([]int32, n+1)}
	for u, r := range rows {
		for _, x := range r {
			a.nbr, a.lnk = append(a.nbr, x[0]), append(a.lnk, x[1])
		}
		a.off[u+1] = int32(len(a.nbr))
	}
	return a
}

// TestLinkBetweennessMatchesGonum checks Brandes' edge betweenness over
// unordered pairs against gonum's network.EdgeBetweenness, which sums over
// ordered pairs (twice as much on an undirected graph).
func TestLinkBetweennessMatchesGonum(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		n := 40
		edges, g := randomGraph(seed, n, 70)
		want := network.EdgeBetweenness(g)
		sources := make([]int32, n)
		for i := range sources {
			sources[i] = int32(i)
		}
		bc := make([]float64, len(edges))
		var b brandes
		if err := b.run(context.Background(), adjacencyOf(n, edges), sources, 0.5, bc); err != nil {
			t.Fatal(err)
		}
		for i, e := range edges {
			key := [2]int64{int64(min(e.u, e.v)), int64(max(e.u, e.v))}
			if got := 2 * bc[i]; math.Abs(got-want[key]) > 1e-9 {
				t.Errorf("seed %d: edge %d-%d: betweenness %v, gonum %v", seed, e.u, e.v, got, want[key])
			}
		}
	}
}

// edgeListGraph walks an edge list as a pathGraph, a link costing 1/w.
type edgeListGraph struct {
	a     adjacency
	edges []testEdge
}

func (g edgeListGraph) neighbours(u int32, fn func(v int32, link int, cost float64)) {
	for k := g.a.off[u]; k < g.a.off[u+1]; k++ {
		fn(g.a.nbr[k], int(g.a.lnk[k]), 1/g.edges[g.a.lnk[k]].w)
	}
}

// TestPathsMatchGonumYen checks the k cheapest paths, without a depth
// bound that matters, against gonum's YenKShortestPaths: the same costs in
// the same order.
func TestPathsMatchGonumYen(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		n := 30
		edges, g := randomGraph(seed, n, 60)
		pg := edgeListGraph{adjacencyOf(n, edges), edges}
		from, to := int32(0), int32(n-1)
		const k = 6
		got, err := yen(context.Background(), pg, from, to, PathOptions{K: k, MaxDepth: n})
		if err != nil {
			t.Fatal(err)
		}
		want := path.YenKShortestPaths(g, k, math.Inf(1), simple.Node(from), simple.Node(to))
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d paths, gonum %d", seed, len(got), len(want))
		}
		for i := range got {
			var wc float64
			for j := 1; j < len(want[i]); j++ {
				w, _ := g.Weight(want[i][j-1].ID(), want[i][j].ID())
				wc += w
			}
			if math.Abs(got[i].Cost-wc) > 1e-9 {
				t.Errorf("seed %d: path %d costs %v, gonum's %v", seed, i, got[i].Cost, wc)
			}
			if len(got[i].Nodes) != len(got[i].Links)+1 || got[i].Nodes[0] != from || got[i].Nodes[len(got[i].Nodes)-1] != to {
				t.Errorf("seed %d: path %d malformed: %v %v", seed, i, got[i].Nodes, got[i].Links)
			}
			seen := map[int32]bool{}
			for j, nd := range got[i].Nodes {
				if seen[nd] {
					t.Errorf("seed %d: path %d visits %d twice", seed, i, nd)
				}
				seen[nd] = true
				if j > 0 {
					e := edges[got[i].Links[j-1]]
					if !(e.u == got[i].Nodes[j-1] && e.v == nd || e.v == got[i].Nodes[j-1] && e.u == nd) {
						t.Errorf("seed %d: path %d hop %d uses link %d-%d", seed, i, j, e.u, e.v)
					}
				}
			}
		}
		if !slices.IsSortedFunc(got, comparePaths) {
			t.Errorf("seed %d: paths not cheapest first", seed)
		}
	}
}

// TestPathsRespectDepth checks that a depth bound finds the cheapest path
// within it, not the cheapest path cut short: on a square with a cheap
// three-link way round and a dear direct link, depth 1 gives the direct link.
func TestPathsRespectDepth(t *testing.T) {
	edges := []testEdge{{0, 1, 10}, {1, 2, 10}, {2, 3, 10}, {0, 3, 0.5}}
	pg := edgeListGraph{adjacencyOf(4, edges), edges}
	all, err := yen(context.Background(), pg, 0, 3, PathOptions{K: 2, MaxDepth: 3})
	if err != nil || len(all) != 2 || len(all[0].Links) != 3 || len(all[1].Links) != 1 {
		t.Fatalf("depth 3: %+v %v", all, err)
	}
	one, err := yen(context.Background(), pg, 0, 3, PathOptions{K: 2, MaxDepth: 1})
	if err != nil || len(one) != 1 || !slices.Equal(one[0].Links, []int{3}) {
		t.Fatalf("depth 1: %+v %v", one, err)
	}
	if _, err := yen(context.Background(), pg, 0, 3, PathOptions{K: 2, MaxDepth: 3, MaxVisits: 2}); err == nil {
		t.Error("a search over its visit limit did not fail")
	}
}
