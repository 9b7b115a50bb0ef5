package community

import (
	"context"
	"fmt"
	"math"
)

// PageRankOptions configure PageRank. The zero value is ready to use.
type PageRankOptions struct {
	// Damping is the probability of following an edge rather than jumping
	// to a random node; 0 means 0.85.
	Damping float64
	// Tolerance ends the iteration once the Euclidean norm of the change of
	// the rank vector in one step is below it (gonum's criterion); 0 means
	// 1e-10.
	Tolerance float64
	// MaxIterations bounds the number of steps; 0 means 1000. Reaching it is
	// not an error: the ranks of the last step are returned.
	MaxIterations int
}

// PageRank returns the weighted PageRank of every node of g, summing to 1.
// A random walker at u follows the edge to a neighbour v with probability
// Damping·A_uv / Σ_{x≠u} A_ux and jumps to a uniformly random node
// otherwise; from a node without neighbours it always jumps. Loops are
// ignored, as in gonum's network.PageRank on the same graph (GonumGraph
// lists no node among its own neighbours). The power iteration starts from
// the uniform vector and is single-threaded, so results are reproducible.
// It returns early with ctx's error when ctx is cancelled.
func PageRank(ctx context.Context, g *Graph, opts PageRankOptions) ([]float64, error) {
	d := opts.Damping
	if d == 0 {
		d = 0.85
	}
	tol := opts.Tolerance
	if tol == 0 {
		tol = 1e-10
	}
	iters := opts.MaxIterations
	if iters == 0 {
		iters = 1000
	}
	if !(d > 0 && d < 1) {
		return nil, fmt.Errorf("pagerank: %w: damping %v outside (0, 1)", ErrInvalid, opts.Damping)
	}
	if !(tol > 0) || math.IsInf(tol, 0) || iters < 0 {
		return nil, fmt.Errorf("pagerank: %w: tolerance %v, max iterations %d", ErrInvalid, opts.Tolerance, opts.MaxIterations)
	}
	n := g.Nodes()
	if n == 0 {
		return nil, nil
	}
	rank := make([]float64, n)
	next := make([]float64, n)
	share := make([]float64, n) // rank[u] / Σ_{x≠u} A_ux, or 0 for a dangling node
	out := make([]float64, n)   // Σ_{x≠u} A_ux
	for u := range n {
		rank[u] = 1 / float64(n)
		_, w := g.Neighbors(u)
		for _, x := range w {
			out[u] += x
		}
	}
	for range iters {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pagerank: %w", err)
		}
		dangling := 0.0
		for u, r := range rank {
			if out[u] > 0 {
				share[u] = r / out[u]
			} else {
				share[u] = 0
				dangling += r
			}
		}
		base := (1-d)/float64(n) + d*dangling/float64(n)
		diff := 0.0
		for v := range n {
			nb, w := g.Neighbors(v)
			s := 0.0
			for i, u := range nb {
				s += share[u] * w[i]
			}
			x := base + d*s
			diff += (x - rank[v]) * (x - rank[v])
			next[v] = x
		}
		rank, next = next, rank
		if math.Sqrt(diff) < tol {
			break
		}
	}
	return rank, nil
}
