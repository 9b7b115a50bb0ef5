package community

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph"
)

// testEdge is one edge of a test graph.
type testEdge struct {
	u, v int
	w    float64
}

// randomEdges draws m edges over n nodes with weights in [0.5, 3), some of
// them repeated and some loops, so that the builder has something to sum.
func randomEdges(seed uint64, n, m int) []testEdge {
	rng := rand.New(rand.NewPCG(seed, 1))
	edges := make([]testEdge, 0, m)
	for range m {
		u, v := rng.IntN(n), rng.IntN(n)
		if rng.IntN(20) == 0 {
			v = u
		}
		w := 0.5 + 2.5*rng.Float64()
		edges = append(edges, testEdge{u, v, w})
		if rng.IntN(10) == 0 {
			edges = append(edges, testEdge{v, u, w / 2})
		}
	}
	return edges
}

// buildGraph builds a graph of n nodes from edges, failing the test on an
// error.
func buildGraph(t testing.TB, n int, edges []testEdge) *Graph {
	t.Helper()
	b := NewBuilder(n, len(edges))
	for _, e := range edges {
		if err := b.AddEdge(e.u, e.v, e.w); err != nil {
			t.Fatalf("add edge %v: %v", e, err)
		}
	}
	return b.Build()
}

// checkGraph verifies the invariants of a Graph: sorted rows without
// duplicates or the node itself, symmetric weights, and degrees that add up.
func checkGraph(t *testing.T, g *Graph) {
	t.Helper()
	total := 0.0
	for u := range g.Nodes() {
		nb, w := g.Neighbors(u)
		k := g.SelfWeight(u)
		for i, v := range nb {
			if i > 0 && nb[i-1] >= v {
				t.Fatalf("row %d not strictly increasing: %v", u, nb)
			}
			if int(v) == u {
				t.Fatalf("row %d lists the node itself", u)
			}
			if back, ok := g.Weight(int(v), u); !ok || back != w[i] {
				t.Fatalf("A[%d][%d] = %v but A[%d][%d] = %v, %v", u, v, w[i], v, u, back, ok)
			}
			k += w[i]
		}
		if math.Abs(k-g.Degree(u)) > 1e-9*max(1, k) {
			t.Fatalf("degree of %d is %v, want %v", u, g.Degree(u), k)
		}
		total += k
	}
	if math.Abs(total-g.TotalWeight()) > 1e-9*max(1, total) {
		t.Fatalf("total weight %v, want %v", g.TotalWeight(), total)
	}
}

func TestBuilderSumsDuplicatesAndDoublesLoops(t *testing.T) {
	g := buildGraph(t, 6, []testEdge{
		{0, 1, 1}, {1, 0, 2}, // summed to 3
		{2, 2, 1.5}, {2, 2, 0.5}, // loops: A_22 = 2*(1.5+0.5)
		{1, 2, 1},
		{3, 4, 0}, // zero weight: no edge, but node 4 exists
	})
	checkGraph(t, g)
	if g.Nodes() != 6 || g.Edges() != 2 {
		t.Fatalf("nodes, edges = %d, %d; want 6, 2", g.Nodes(), g.Edges())
	}
	for _, c := range []struct {
		u, v int
		w    float64
		ok   bool
	}{
		{0, 1, 3, true}, {1, 0, 3, true}, {1, 2, 1, true}, {2, 2, 4, true},
		{0, 2, 0, false}, {3, 4, 0, false}, {5, 5, 0, false},
	} {
		if w, ok := g.Weight(c.u, c.v); w != c.w || ok != c.ok {
			t.Errorf("Weight(%d, %d) = %v, %v; want %v, %v", c.u, c.v, w, ok, c.w, c.ok)
		}
	}
	if got, want := g.Degree(2), 4.0+1; got != want {
		t.Errorf("Degree(2) = %v, want %v", got, want)
	}
	if got, want := g.TotalWeight(), 3.0+(3+1)+(4+1); got != want {
		t.Errorf("TotalWeight = %v, want %v", got, want)
	}
}

func TestBuilderMatchesIndependentSums(t *testing.T) {
	const n = 300
	edges := randomEdges(7, n, 4000)
	g := buildGraph(t, n, edges)
	checkGraph(t, g)
	want := map[[2]int]float64{}
	for _, e := range edges {
		if e.u == e.v {
			want[[2]int{e.u, e.u}] += 2 * e.w
			continue
		}
		want[[2]int{e.u, e.v}] += e.w
		want[[2]int{e.v, e.u}] += e.w
	}
	for u := range n {
		for v := range n {
			w, ok := g.Weight(u, v)
			if x := want[[2]int{u, v}]; math.Abs(w-x) > 1e-9 || ok != (x != 0) {
				t.Fatalf("Weight(%d, %d) = %v, %v; want %v", u, v, w, ok, x)
			}
		}
	}
}

func TestBuilderRejectsBadEdges(t *testing.T) {
	for _, c := range []struct {
		name string
		u, v int
		w    float64
	}{
		{"negative node", -1, 2, 1},
		{"node too large", 0, MaxNodes, 1},
		{"negative weight", 0, 1, -0.5},
		{"NaN weight", 0, 1, math.NaN()},
		{"infinite weight", 0, 1, math.Inf(1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := NewBuilder(0, 0)
			if err := b.AddEdge(c.u, c.v, c.w); !errors.Is(err, ErrInvalid) {
				t.Fatalf("AddEdge(%d, %d, %v) = %v, want ErrInvalid", c.u, c.v, c.w, err)
			}
		})
	}
	if err := NewBuilder(0, 0).Grow(-1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Grow(-1) = %v, want ErrInvalid", err)
	}
}

func TestBuilderIsReusableAfterBuild(t *testing.T) {
	b := NewBuilder(3, 0)
	if err := b.AddEdge(0, 1, 2); err != nil {
		t.Fatal(err)
	}
	first := b.Build()
	if err := b.AddEdge(4, 5, 1); err != nil {
		t.Fatal(err)
	}
	second := b.Build()
	if first.Nodes() != 3 || first.Edges() != 1 || second.Nodes() != 6 || second.Edges() != 1 {
		t.Fatalf("first %d nodes %d edges, second %d nodes %d edges; want 3/1 and 6/1",
			first.Nodes(), first.Edges(), second.Nodes(), second.Edges())
	}
	if _, ok := second.Weight(0, 1); ok {
		t.Fatal("the second graph kept an edge of the first")
	}
}

func TestGonumViewMatchesGraph(t *testing.T) {
	const n = 80
	g := buildGraph(t, n, randomEdges(3, n, 300))
	v := g.Gonum()
	if got := graph.NodesOf(v.Nodes()); len(got) != n {
		t.Fatalf("Nodes lists %d nodes, want %d", len(got), n)
	}
	if v.Node(n) != nil || v.Node(-1) != nil || v.Node(5).ID() != 5 {
		t.Fatal("Node does not map ids to indexes 0..n-1")
	}
	for u := range int64(n) {
		var from []int32
		it := v.From(u)
		if it.Len() != len(mustNeighbors(g, int(u))) {
			t.Fatalf("From(%d).Len() = %d, want %d", u, it.Len(), len(mustNeighbors(g, int(u))))
		}
		for it.Next() {
			from = append(from, int32(it.Node().ID()))
		}
		if !slices.Equal(from, mustNeighbors(g, int(u))) {
			t.Fatalf("From(%d) = %v, want %v", u, from, mustNeighbors(g, int(u)))
		}
		if self, ok := v.Weight(u, u); !ok || self != g.SelfWeight(int(u)) {
			t.Fatalf("Weight(%d, %d) = %v, %v; want A_uu = %v", u, u, self, ok, g.SelfWeight(int(u)))
		}
		if v.HasEdgeBetween(u, u) {
			t.Fatalf("HasEdgeBetween(%d, %d) is true; gonum graphs have no loop edges", u, u)
		}
		for x := range int64(n) {
			w, ok := g.Weight(int(u), int(x))
			e := v.WeightedEdgeBetween(u, x)
			if u != x && ok != (e != nil) || ok && u != x && (e.Weight() != w || e.From().ID() != u || e.To().ID() != x) {
				t.Fatalf("WeightedEdgeBetween(%d, %d) = %v, want weight %v present %v", u, x, e, w, ok)
			}
			if u != x && v.HasEdgeFromTo(u, x) != ok {
				t.Fatalf("HasEdgeFromTo(%d, %d) = %v, want %v", u, x, !ok, ok)
			}
		}
	}
}

func mustNeighbors(g *Graph, u int) []int32 {
	nb, _ := g.Neighbors(u)
	return nb
}

func TestSubgraphKeepsInducedEdgesAndLoops(t *testing.T) {
	const n = 60
	g := buildGraph(t, n, randomEdges(5, n, 400))
	nodes := []int32{17, 3, 42, 8, 59, 0}
	sub, err := Subgraph(g, nodes)
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, sub)
	for i, u := range nodes {
		for j, v := range nodes {
			want, wok := g.Weight(int(u), int(v))
			got, gok := sub.Weight(i, j)
			if math.Abs(want-got) > 1e-12 || wok != gok {
				t.Fatalf("sub A[%d][%d] = %v, %v; want A[%d][%d] = %v, %v", i, j, got, gok, u, v, want, wok)
			}
		}
	}
	if _, err := Subgraph(g, []int32{1, 1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Subgraph with a repeated node = %v, want ErrInvalid", err)
	}
	if _, err := Subgraph(g, []int32{n}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Subgraph with a node outside the graph = %v, want ErrInvalid", err)
	}
}
