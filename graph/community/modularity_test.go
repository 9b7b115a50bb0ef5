package community

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/community"
	"gonum.org/v1/gonum/graph/simple"
)

// gonumGroups converts a labelling into the community lists gonum takes.
func gonumGroups(of []int32) [][]graph.Node {
	var groups [][]graph.Node
	for u, c := range of {
		for int(c) >= len(groups) {
			groups = append(groups, nil)
		}
		groups[c] = append(groups[c], simple.Node(u))
	}
	return groups
}

// plantedGraph generates a small planted-partition graph for a test.
func plantedGraph(t testing.TB, cfg PlantedConfig) (*Planted, *Graph) {
	t.Helper()
	p, err := GeneratePlanted(cfg)
	if err != nil {
		t.Fatalf("generate planted graph: %v", err)
	}
	return p, p.Graph()
}

// testGraphs returns graphs of several shapes: planted communities,
// weighted with loops and repeated edges, disconnected, a star.
func testGraphs(t testing.TB) map[string]*Graph {
	_, planted := plantedGraph(t, PlantedConfig{Nodes: 400, Edges: 2000, Mix: 0.2, MinSize: 10, MaxSize: 40, Seed: 1})
	star := NewBuilder(0, 0)
	for v := 1; v < 30; v++ {
		if err := star.AddEdge(0, v, float64(v)); err != nil {
			t.Fatal(err)
		}
	}
	split := randomEdges(11, 50, 120)
	for _, e := range randomEdges(12, 40, 100) {
		split = append(split, testEdge{e.u + 60, e.v + 60, e.w})
	}
	return map[string]*Graph{
		"planted":              planted,
		"weighted with loops":  buildGraph(t, 150, randomEdges(2, 150, 900)),
		"disconnected":         buildGraph(t, 110, split),
		"weighted star":        star.Build(),
		"single weighted edge": buildGraph(t, 2, []testEdge{{0, 1, 2.5}}),
	}
}

func TestModularityMatchesGonumQ(t *testing.T) {
	for name, g := range testGraphs(t) {
		n := g.Nodes()
		rng := rand.New(rand.NewPCG(9, 9))
		random := make([]int32, n)
		for u := range random {
			random[u] = int32(rng.IntN(max(1, n/10)))
		}
		lv, err := Louvain(t.Context(), g, LouvainOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		cc, err := Components(g, 0)
		if err != nil {
			t.Fatal(err)
		}
		singletons := make([]int32, n)
		for u := range singletons {
			singletons[u] = int32(u)
		}
		partitions := map[string][]int32{
			"singletons": singletons,
			"one group":  make([]int32, n),
			"random":     random,
			"louvain":    lv.Of,
			"components": cc.Of,
		}
		for pname, of := range partitions {
			for _, gamma := range []float64{0.5, 1, 2} {
				got, err := Modularity(g, of, gamma)
				if err != nil {
					t.Fatal(err)
				}
				want := community.Q(g.Gonum(), gonumGroups(of), gamma)
				if math.Abs(got-want) > 1e-9 {
					t.Errorf("%s, %s partition, γ=%v: Modularity = %.12f, gonum Q = %.12f", name, pname, gamma, got, want)
				}
			}
		}
	}
}

func TestModularityRejectsBadPartitions(t *testing.T) {
	g := buildGraph(t, 4, []testEdge{{0, 1, 1}, {2, 3, 1}})
	for _, c := range []struct {
		name  string
		of    []int32
		gamma float64
	}{
		{"too short", []int32{0, 0, 1}, 1},
		{"negative label", []int32{0, 0, -1, 1}, 1},
		{"label too large", []int32{0, 0, 4, 1}, 1},
		{"negative resolution", []int32{0, 0, 1, 1}, -1},
		{"NaN resolution", []int32{0, 0, 1, 1}, math.NaN()},
	} {
		if _, err := Modularity(g, c.of, c.gamma); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Modularity = %v, want ErrInvalid", c.name, err)
		}
	}
	if q, err := Modularity(g, []int32{0, 0, 1, 1}, 1); err != nil || math.Abs(q-0.5) > 1e-12 {
		t.Errorf("two separate edges as two groups: Q = %v, %v; want 0.5", q, err)
	}
}
