package community

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph/community"
)

// gonumModularizeQ returns the best modularity of gonum's Louvain
// (community.Modularize) over a few seeds.
func gonumModularizeQ(g *Graph, gamma float64) float64 {
	best := math.Inf(-1)
	for seed := range uint64(3) {
		r := community.Modularize(g.Gonum(), gamma, rand.NewPCG(seed, 0))
		best = max(best, community.Q(g.Gonum(), r.Communities(), gamma))
	}
	return best
}

func TestLouvainModularityAtLeastGonums(t *testing.T) {
	const tolerance = 0.005
	cases := []struct {
		name  string
		cfg   PlantedConfig
		gamma float64
	}{
		{"planted 500/2500 mix 0.2", PlantedConfig{Nodes: 500, Edges: 2500, Mix: 0.2, MinSize: 10, MaxSize: 60, Seed: 1}, 1},
		{"planted 1000/6000 mix 0.4", PlantedConfig{Nodes: 1000, Edges: 6000, Mix: 0.4, MinSize: 20, MaxSize: 100, Seed: 2}, 1},
		{"planted 800/4000 mix 0.3 γ=2", PlantedConfig{Nodes: 800, Edges: 4000, Mix: 0.3, Seed: 3}, 2},
		{"planted 600/2400 mix 0.1 γ=0.5", PlantedConfig{Nodes: 600, Edges: 2400, Mix: 0.1, MinSize: 10, MaxSize: 30, Seed: 4}, 0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, g := plantedGraph(t, c.cfg)
			res, err := Louvain(t.Context(), g, LouvainOptions{Seed: 7, Resolution: c.gamma})
			if err != nil {
				t.Fatal(err)
			}
			checkCommunities(t, g, res, c.gamma)
			gq := gonumModularizeQ(g, c.gamma)
			truth, err := Modularity(g, p.Community, c.gamma)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("Q: ours %.4f (%d communities), gonum Modularize %.4f, planted %.4f", res.Modularity, res.Count, gq, truth)
			if res.Modularity < gq-tolerance {
				t.Errorf("Louvain Q = %.4f, below gonum's %.4f by more than %v", res.Modularity, gq, tolerance)
			}
			if res.Modularity < truth-tolerance {
				t.Errorf("Louvain Q = %.4f, below the planted partition's %.4f", res.Modularity, truth)
			}
		})
	}
	t.Run("weighted with loops", func(t *testing.T) {
		g := buildGraph(t, 300, randomEdges(21, 300, 1200))
		res, err := Louvain(t.Context(), g, LouvainOptions{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		checkCommunities(t, g, res, 1)
		if gq := gonumModularizeQ(g, 1); res.Modularity < gq-tolerance {
			t.Errorf("Louvain Q = %.4f, below gonum's %.4f by more than %v", res.Modularity, gq, tolerance)
		}
	})
}

// checkCommunities checks a Louvain result for consistency: canonical
// labels, a reported modularity that is the partition's (by this package
// and by gonum), and levels that only raise it.
func checkCommunities(t *testing.T, g *Graph, res Communities, gamma float64) {
	t.Helper()
	if len(res.Of) != g.Nodes() {
		t.Fatalf("partition has %d labels for %d nodes", len(res.Of), g.Nodes())
	}
	next := int32(0)
	for u, c := range res.Of {
		if c > next || c < 0 {
			t.Fatalf("label %d of node %d: labels are not numbered by lowest node", c, u)
		}
		if c == next {
			next++
		}
	}
	if int(next) != res.Count {
		t.Fatalf("Count = %d, labels use %d", res.Count, next)
	}
	q, err := Modularity(g, res.Of, gamma)
	if err != nil {
		t.Fatal(err)
	}
	if gq := community.Q(g.Gonum(), gonumGroups(res.Of), gamma); math.Abs(q-res.Modularity) > 1e-9 || math.Abs(gq-res.Modularity) > 1e-9 {
		t.Fatalf("reported Q = %.12f, Modularity = %.12f, gonum Q = %.12f", res.Modularity, q, gq)
	}
	prev := math.Inf(-1)
	for i, l := range res.Levels {
		if l.Modularity < prev-1e-12 || l.Communities >= l.Nodes {
			t.Fatalf("level %d = %+v after Q %v: a level must merge nodes and not lower Q", i, l, prev)
		}
		prev = l.Modularity
	}
	if len(res.Levels) > 0 && res.Levels[len(res.Levels)-1].Communities != res.Count {
		t.Fatalf("last level has %d communities, result %d", res.Levels[len(res.Levels)-1].Communities, res.Count)
	}
}

func TestLouvainIsReproducible(t *testing.T) {
	_, g := plantedGraph(t, PlantedConfig{Nodes: 20000, Edges: 100000, Mix: 0.3, Seed: 5})
	run := func(seed uint64, procs int) Communities {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		res, err := Louvain(t.Context(), g, LouvainOptions{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := run(42, 1)
	for _, procs := range []int{1, 2, 8} {
		again := run(42, procs)
		if !slices.Equal(first.Of, again.Of) || first.Modularity != again.Modularity || !slices.Equal(first.Levels, again.Levels) {
			t.Fatalf("seed 42 with GOMAXPROCS=%d: Q %v with %d communities, first run Q %v with %d",
				procs, again.Modularity, again.Count, first.Modularity, first.Count)
		}
	}
	other := run(43, 2)
	if slices.Equal(first.Of, other.Of) {
		t.Fatal("seeds 42 and 43 gave the same partition of 20000 nodes: the seed does not reach the node order")
	}
	if math.Abs(other.Modularity-first.Modularity) > 0.01 {
		t.Fatalf("seeds 42 and 43 differ in Q by more than 0.01: %v and %v", first.Modularity, other.Modularity)
	}
}

func TestLouvainKeepsCommunitiesInsideComponents(t *testing.T) {
	g := testGraphs(t)["disconnected"]
	cc, err := Components(g, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Louvain(t.Context(), g, LouvainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	component := map[int32]int32{}
	for u, c := range res.Of {
		if k, ok := component[c]; ok && k != cc.Of[u] {
			t.Fatalf("community %d spans components %d and %d", c, k, cc.Of[u])
		}
		component[c] = cc.Of[u]
	}
}

func TestLouvainResolutionSetsGranularity(t *testing.T) {
	_, g := plantedGraph(t, PlantedConfig{Nodes: 3000, Edges: 12000, Mix: 0.3, MinSize: 8, MaxSize: 12, Seed: 8})
	prev := 0
	for _, gamma := range []float64{0.25, 1, 4} {
		res, err := Louvain(t.Context(), g, LouvainOptions{Seed: 1, Resolution: gamma})
		if err != nil {
			t.Fatal(err)
		}
		checkCommunities(t, g, res, gamma)
		t.Logf("γ=%v: %d communities", gamma, res.Count)
		if res.Count <= prev {
			t.Fatalf("γ=%v gave %d communities, not more than %d at the lower γ", gamma, res.Count, prev)
		}
		prev = res.Count
	}
}

func TestLouvainMaxLevels(t *testing.T) {
	_, g := plantedGraph(t, PlantedConfig{Nodes: 3000, Edges: 15000, Mix: 0.3, Seed: 8})
	full, err := Louvain(t.Context(), g, LouvainOptions{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	one, err := Louvain(t.Context(), g, LouvainOptions{Seed: 2, MaxLevels: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkCommunities(t, g, one, 1)
	if len(full.Levels) < 2 || len(one.Levels) != 1 || one.Levels[0] != full.Levels[0] || one.Count <= full.Count {
		t.Fatalf("one level: %+v; all levels: %+v", one.Levels, full.Levels)
	}
}

func TestLouvainEdgeCases(t *testing.T) {
	for _, c := range []struct {
		name string
		g    *Graph
	}{
		{"empty", NewBuilder(0, 0).Build()},
		{"no edges", NewBuilder(5, 0).Build()},
		{"one loop", buildGraph(t, 3, []testEdge{{1, 1, 2}})},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Louvain(t.Context(), c.g, LouvainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkCommunities(t, c.g, res, 1)
			if res.Count != c.g.Nodes() {
				t.Fatalf("%d communities of %d nodes, want each node alone", res.Count, c.g.Nodes())
			}
		})
	}
	two := buildGraph(t, 4, []testEdge{{0, 1, 1}, {2, 3, 1}})
	res, err := Louvain(t.Context(), two, LouvainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{0, 0, 1, 1}; !slices.Equal(res.Of, want) || math.Abs(res.Modularity-0.5) > 1e-12 {
		t.Fatalf("two separate edges: %v with Q %v, want %v with Q 0.5", res.Of, res.Modularity, want)
	}
}

func TestLouvainRejectsBadOptionsAndStopsOnCancel(t *testing.T) {
	_, g := plantedGraph(t, PlantedConfig{Nodes: 200, Edges: 800, Mix: 0.2, MinSize: 10, MaxSize: 20, Seed: 1})
	for _, o := range []LouvainOptions{{Resolution: -1}, {Resolution: math.Inf(1)}, {MaxLevels: -1}} {
		if _, err := Louvain(t.Context(), g, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("options %+v: %v, want ErrInvalid", o, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, big := plantedGraph(t, PlantedConfig{Nodes: 100000, Edges: 200000, Mix: 0.2, Seed: 1})
	if _, err := Louvain(ctx, big, LouvainOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Louvain = %v, want context.Canceled", err)
	}
}

func ExampleLouvain() {
	// Two triangles joined by one edge.
	b := NewBuilder(6, 7)
	for _, e := range [][2]int{{0, 1}, {1, 2}, {0, 2}, {3, 4}, {4, 5}, {3, 5}, {2, 3}} {
		if err := b.AddEdge(e[0], e[1], 1); err != nil {
			fmt.Println(err)
			return
		}
	}
	res, err := Louvain(context.Background(), b.Build(), LouvainOptions{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v Q=%.4f\n", res.Of, res.Modularity)
	// Output: [0 0 0 1 1 1] Q=0.3571
}
