package community

import (
	"fmt"
	"math"
	"sort"
)

// MaxNodes is one more than the largest node index a Graph can hold: node
// indexes are int32 so that an adjacency entry costs four bytes.
const MaxNodes = math.MaxInt32

// Graph is a weighted undirected graph in compressed sparse row form. Nodes
// are the indexes 0..Nodes()-1. The neighbours of each node are sorted by
// index, hold no duplicates and never the node itself: a self-loop is kept
// apart as the diagonal entry A_uu of the adjacency matrix (SelfWeight).
//
// Weights follow the adjacency-matrix convention of modularity, as igraph,
// networkx and gonum do: A_uv = A_vu is the summed weight of all edges
// between u and v, a loop of weight w on u adds 2w to A_uu, and the weighted
// degree of u is k_u = A_uu + Σ_{v≠u} A_uv, so that Σ_u k_u = 2m.
//
// A Graph is immutable once built and safe for concurrent use.
type Graph struct {
	// offsets[u]..offsets[u+1] is the range of u's neighbours in adj and w.
	offsets []int
	adj     []int32
	w       []float64
	self    []float64 // A_uu
	degree  []float64 // k_u
	total   float64   // Σ_u k_u = 2m
}

// Nodes returns the number of nodes.
func (g *Graph) Nodes() int { return len(g.self) }

// Edges returns the number of distinct undirected edges between two
// different nodes; self-loops are not counted.
func (g *Graph) Edges() int { return len(g.adj) / 2 }

// Neighbors returns the neighbours of u in increasing order and the weight
// of the edge to each. The slices belong to the graph and must not be
// modified.
func (g *Graph) Neighbors(u int) ([]int32, []float64) {
	s, e := g.offsets[u], g.offsets[u+1]
	return g.adj[s:e:e], g.w[s:e:e]
}

// SelfWeight returns A_uu: twice the summed weight of the loops on u.
func (g *Graph) SelfWeight(u int) float64 { return g.self[u] }

// Degree returns the weighted degree k_u = A_uu + Σ_{v≠u} A_uv.
func (g *Graph) Degree(u int) float64 { return g.degree[u] }

// TotalWeight returns Σ_u k_u, which is twice the total edge weight (2m).
func (g *Graph) TotalWeight() float64 { return g.total }

// Weight returns A_uv and whether u and v are joined by an edge (for u == v,
// whether u has a loop). It finds v by binary search in u's neighbours.
func (g *Graph) Weight(u, v int) (float64, bool) {
	if u == v {
		return g.self[u], g.self[u] != 0
	}
	nb, w := g.Neighbors(u)
	i := sort.Search(len(nb), func(i int) bool { return int(nb[i]) >= v })
	if i < len(nb) && int(nb[i]) == v {
		return w[i], true
	}
	return 0, false
}

// Builder collects a stream of weighted edges and builds a Graph from them.
// Edges between the same two nodes are summed; a loop of weight w on u adds
// 2w to A_uu (see Graph). A weight of zero adds no edge but its nodes still
// exist. The zero Builder is ready to use; a Builder is not safe for
// concurrent use.
type Builder struct {
	nodes int
	us    []int32
	vs    []int32
	// ws is nil while every weight so far is 1, which saves a third of the
	// memory of an unweighted edge stream.
	ws []float64
}

// NewBuilder returns a Builder whose graph has at least the given number of
// nodes; nodes without edges are isolated. edgeHint, if positive, is the
// expected number of edges.
func NewBuilder(nodes, edgeHint int) *Builder {
	b := &Builder{nodes: max(nodes, 0)}
	if edgeHint > 0 {
		b.us = make([]int32, 0, edgeHint)
		b.vs = make([]int32, 0, edgeHint)
	}
	return b
}

// Grow makes the graph have at least the given number of nodes.
func (b *Builder) Grow(nodes int) error {
	if nodes < 0 || nodes > MaxNodes {
		return fmt.Errorf("grow builder to %d nodes: %w: want 0..%d", nodes, ErrInvalid, MaxNodes)
	}
	b.nodes = max(b.nodes, nodes)
	return nil
}

// AddEdge adds an undirected edge of weight w between nodes u and v, which
// may be equal. The graph grows to hold both. It rejects a node index outside
// [0, MaxNodes) and a negative, NaN or infinite weight.
func (b *Builder) AddEdge(u, v int, w float64) error {
	if u < 0 || v < 0 || u >= MaxNodes || v >= MaxNodes {
		return fmt.Errorf("add edge %d-%d: %w: node index outside 0..%d", u, v, ErrInvalid, MaxNodes-1)
	}
	if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
		return fmt.Errorf("add edge %d-%d: %w: weight %v is not a finite non-negative number", u, v, ErrInvalid, w)
	}
	b.nodes = max(b.nodes, u+1, v+1)
	if w == 0 {
		return nil
	}
	if w != 1 && b.ws == nil {
		b.ws = make([]float64, len(b.us), cap(b.us))
		for i := range b.ws {
			b.ws[i] = 1
		}
	}
	b.us = append(b.us, int32(u))
	b.vs = append(b.vs, int32(v))
	if b.ws != nil {
		b.ws = append(b.ws, w)
	}
	return nil
}

// Build returns the graph of the edges added so far and empties the Builder,
// releasing its memory, so that it can be reused.
func (b *Builder) Build() *Graph {
	n := b.nodes
	us, vs, ws := b.us, b.vs, b.ws
	*b = Builder{}
	weight := func(i int) float64 {
		if ws == nil {
			return 1
		}
		return ws[i]
	}

	g := &Graph{
		offsets: make([]int, n+1),
		self:    make([]float64, n),
		degree:  make([]float64, n),
	}
	// Count the entries of each row: one per end of every edge that is not
	// a loop.
	for i, u := range us {
		if v := vs[i]; u != v {
			g.offsets[u+1]++
			g.offsets[v+1]++
		}
	}
	for u := range n {
		g.offsets[u+1] += g.offsets[u]
	}
	entries := g.offsets[n]
	g.adj = make([]int32, entries)
	g.w = make([]float64, entries)
	next := make([]int, n)
	copy(next, g.offsets[:n])
	for i, u := range us {
		v := vs[i]
		w := weight(i)
		if u == v {
			g.self[u] += 2 * w
			continue
		}
		g.adj[next[u]], g.w[next[u]] = v, w
		next[u]++
		g.adj[next[v]], g.w[next[v]] = u, w
		next[v]++
	}
	us, vs, ws, next = nil, nil, nil, nil

	// Sort every row and sum the duplicates, compacting the rows in place.
	out := 0
	for u := range n {
		s, e := g.offsets[u], g.offsets[u+1]
		g.offsets[u] = out
		sortRow(g.adj[s:e], g.w[s:e])
		k := g.self[u]
		for i := s; i < e; i++ {
			if out > g.offsets[u] && g.adj[out-1] == g.adj[i] {
				g.w[out-1] += g.w[i]
			} else {
				g.adj[out], g.w[out] = g.adj[i], g.w[i]
				out++
			}
			k += g.w[i]
		}
		g.degree[u] = k
		g.total += k
	}
	g.offsets[n] = out
	if out < entries-entries/8 {
		// Many duplicates: give the memory of the summed entries back.
		g.adj = append([]int32(nil), g.adj[:out]...)
		g.w = append([]float64(nil), g.w[:out]...)
	} else {
		g.adj, g.w = g.adj[:out:out], g.w[:out:out]
	}
	return g
}

// sortRow sorts one adjacency row by neighbour index, carrying the weights
// along. The sort is stable: both rows of an edge then list its repeats in
// the order they were added, so their sums round alike and A_uv == A_vu
// exactly. Rows are short on average, so short ones use insertion sort.
func sortRow(adj []int32, w []float64) {
	if len(adj) > 24 {
		sort.Stable(row{adj, w})
		return
	}
	for i := 1; i < len(adj); i++ {
		a, x := adj[i], w[i]
		j := i
		for ; j > 0 && adj[j-1] > a; j-- {
			adj[j], w[j] = adj[j-1], w[j-1]
		}
		adj[j], w[j] = a, x
	}
}

// row sorts an adjacency row with its weights.
type row struct {
	adj []int32
	w   []float64
}

func (r row) Len() int           { return len(r.adj) }
func (r row) Less(i, j int) bool { return r.adj[i] < r.adj[j] }
func (r row) Swap(i, j int) {
	r.adj[i], r.adj[j] = r.adj[j], r.adj[i]
	r.w[i], r.w[j] = r.w[j], r.w[i]
}
