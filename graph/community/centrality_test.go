package community

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph/network"
)

func TestPageRankMatchesGonum(t *testing.T) {
	for name, g := range testGraphs(t) {
		for _, d := range []float64{0.85, 0.5} {
			got, err := PageRank(t.Context(), g, PageRankOptions{Damping: d, Tolerance: 1e-13})
			if err != nil {
				t.Fatal(err)
			}
			want := network.PageRank(g.Gonum(), d, 1e-13)
			sum := 0.0
			for u, r := range got {
				sum += r
				if math.Abs(r-want[int64(u)]) > 1e-9 {
					t.Errorf("%s, damping %v: rank of %d = %.12f, gonum %.12f", name, d, u, r, want[int64(u)])
					break
				}
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("%s, damping %v: ranks sum to %v", name, d, sum)
			}
		}
	}
}

func TestPageRankOptions(t *testing.T) {
	g := testGraphs(t)["planted"]
	for _, o := range []PageRankOptions{{Damping: 1}, {Damping: -0.1}, {Tolerance: -1}, {MaxIterations: -1}} {
		if _, err := PageRank(t.Context(), g, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("options %+v: %v, want ErrInvalid", o, err)
		}
	}
	// One step from the uniform vector is far from converged.
	one, err := PageRank(t.Context(), g, PageRankOptions{MaxIterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	full, err := PageRank(t.Context(), g, PageRankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(one, full) {
		t.Fatal("MaxIterations 1 gave the converged ranks")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := PageRank(ctx, g, PageRankOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled PageRank = %v, want context.Canceled", err)
	}
}

func TestBetweennessMatchesGonum(t *testing.T) {
	for name, g := range testGraphs(t) {
		got, err := Betweenness(t.Context(), g, BetweennessOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// gonum sums over ordered pairs of ends: twice our figure.
		want := network.Betweenness(g.Gonum())
		for u, b := range got {
			if w := want[int64(u)] / 2; math.Abs(b-w) > 1e-9*max(1, w) {
				t.Errorf("%s: betweenness of %d = %v, gonum/2 = %v", name, u, b, w)
				break
			}
		}
	}
}

// bridgedCliques returns two cliques of size k joined by a path of three
// nodes (k, k+1, k+2) from node 0 to node k+3.
func bridgedCliques(t testing.TB, k int) *Graph {
	b := NewBuilder(0, 0)
	add := func(u, v int) {
		if err := b.AddEdge(u, v, 1); err != nil {
			t.Fatal(err)
		}
	}
	for i := range k {
		for j := range i {
			add(i, j)
			add(k+3+i, k+3+j)
		}
	}
	add(0, k)
	add(k, k+1)
	add(k+1, k+2)
	add(k+2, k+3)
	return b.Build()
}

func TestBetweennessSampledAndParallel(t *testing.T) {
	g := bridgedCliques(t, 40)
	exact, err := Betweenness(t.Context(), g, BetweennessOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []BetweennessOptions{{Workers: 3}, {Workers: 8}, {Samples: g.Nodes(), Seed: 9}} {
		got, err := Betweenness(t.Context(), g, o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, exact) {
			t.Errorf("options %+v: not bit for bit the exact single-worker result", o)
		}
	}
	// The middle of the bridge carries every path between the cliques:
	// 41·41 pairs exactly.
	if mid := exact[41]; mid != 41*41 {
		t.Errorf("betweenness of the middle bridge node = %v, want %v", mid, 41*41)
	}

	sampled, err := Betweenness(t.Context(), g, BetweennessOptions{Samples: 20, Seed: 4, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Betweenness(t.Context(), g, BetweennessOptions{Samples: 20, Seed: 4, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sampled, again) {
		t.Error("sampled betweenness differs between runs with the same seed")
	}
	if slices.Equal(sampled, exact) {
		t.Error("20 samples of 83 nodes gave the exact result")
	}
	// The estimate ranks the bridge (nodes 0, 40..43, 43 being the far
	// clique's node 0) above every clique member.
	top := topNodes(sampled, 5)
	slices.Sort(top)
	if want := []int32{0, 40, 41, 42, 43}; !slices.Equal(top, want) {
		t.Errorf("top 5 of sampled betweenness = %v, want the bridge %v", top, want)
	}

	if _, err := Betweenness(t.Context(), g, BetweennessOptions{Samples: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative samples: %v, want ErrInvalid", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Betweenness(ctx, g, BetweennessOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Betweenness = %v, want context.Canceled", err)
	}
}

// topNodes returns the k nodes of highest score.
func topNodes(score []float64, k int) []int32 {
	nodes := make([]int32, len(score))
	for i := range nodes {
		nodes[i] = int32(i)
	}
	slices.SortStableFunc(nodes, func(a, b int32) int {
		switch {
		case score[a] > score[b]:
			return -1
		case score[a] < score[b]:
			return 1
		}
		return 0
	})
	return nodes[:k]
}
