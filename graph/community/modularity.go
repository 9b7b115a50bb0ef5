package community

import (
	"fmt"
	"math"
)

// Modularity returns the modularity of g split into the groups of of (of[u]
// is the group of node u, a label in 0..Nodes()-1) at resolution γ:
//
//	Q = 1/2m Σ_ij [A_ij − γ k_i k_j / 2m] δ(c_i, c_j),
//
// the definition of gonum's community.Q, igraph and networkx. A graph
// without edges has modularity 0.
func Modularity(g *Graph, of []int32, resolution float64) (float64, error) {
	n := g.Nodes()
	if len(of) != n {
		return 0, fmt.Errorf("modularity: %w: partition has %d labels for %d nodes", ErrInvalid, len(of), n)
	}
	if resolution < 0 || math.IsNaN(resolution) || math.IsInf(resolution, 0) {
		return 0, fmt.Errorf("modularity: %w: resolution %v", ErrInvalid, resolution)
	}
	for u, c := range of {
		if c < 0 || int(c) >= n {
			return 0, fmt.Errorf("modularity: %w: node %d has label %d outside 0..%d", ErrInvalid, u, c, n-1)
		}
	}
	if g.TotalWeight() == 0 {
		return 0, nil
	}
	in := make([]float64, n)  // Σ A_ij over i, j in the group
	tot := make([]float64, n) // Σ k_i over i in the group
	for u, c := range of {
		tot[c] += g.degree[u]
		s := g.self[u]
		nb, w := g.Neighbors(u)
		for i, v := range nb {
			if of[v] == c {
				s += w[i]
			}
		}
		in[c] += s
	}
	return modularityOf(in, tot, g.TotalWeight(), resolution), nil
}

// modularityOf sums Q over groups from their internal weights Σ A_ij, their
// total degrees and 2m.
func modularityOf(in, tot []float64, m2, resolution float64) float64 {
	var q float64
	for c := range in {
		if tot[c] != 0 {
			q += in[c]/m2 - resolution*(tot[c]/m2)*(tot[c]/m2)
		}
	}
	return q
}
