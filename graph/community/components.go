package community

import (
	"fmt"
	"math"
)

// Partition assigns every node of a graph to one of Count groups
// (components or communities).
type Partition struct {
	// Of[u] is the group of node u. Groups are numbered 0..Count-1 in the
	// order of their lowest node, so equal partitions have equal labels.
	Of []int32
	// Count is the number of groups.
	Count int
}

// Sizes returns the number of nodes in each group.
func (p Partition) Sizes() []int {
	sizes := make([]int, p.Count)
	for _, c := range p.Of {
		sizes[c]++
	}
	return sizes
}

// Groups returns the nodes of each group in increasing order.
func (p Partition) Groups() [][]int32 {
	sizes := p.Sizes()
	all := make([]int32, len(p.Of))
	groups := make([][]int32, p.Count)
	at := 0
	for c, s := range sizes {
		groups[c] = all[at : at : at+s]
		at += s
	}
	for u, c := range p.Of {
		groups[c] = append(groups[c], int32(u))
	}
	return groups
}

// canonical renumbers labels in place so that groups are numbered in the
// order of their lowest node, and returns the number of groups. Labels must
// lie in [0, len(of)).
func canonical(of []int32) int {
	idx := make([]int32, len(of))
	for i := range idx {
		idx[i] = -1
	}
	count := int32(0)
	for u, c := range of {
		if idx[c] < 0 {
			idx[c] = count
			count++
		}
		of[u] = idx[c]
	}
	return int(count)
}

// Components returns the connected components of g counting only the edges
// whose weight is at least minWeight (all edges when minWeight <= 0). A node
// without such an edge is a component of its own. It uses union-find with
// union by size and path halving over the adjacency rows, so it runs in
// nearly linear time and needs two int32 arrays of the node count.
func Components(g *Graph, minWeight float64) (Partition, error) {
	if math.IsNaN(minWeight) {
		return Partition{}, fmt.Errorf("components: %w: minimum weight is NaN", ErrInvalid)
	}
	n := g.Nodes()
	parent := make([]int32, n)
	size := make([]int32, n)
	for u := range parent {
		parent[u] = int32(u)
		size[u] = 1
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for u := range n {
		nb, w := g.Neighbors(u)
		for i, v := range nb {
			if int(v) <= u || w[i] < minWeight {
				continue
			}
			a, b := find(int32(u)), find(v)
			if a == b {
				continue
			}
			if size[a] < size[b] {
				a, b = b, a
			}
			parent[b] = a
			size[a] += size[b]
		}
	}
	for u := range parent {
		parent[u] = find(int32(u))
	}
	count := canonical(parent)
	return Partition{Of: parent, Count: count}, nil
}

// Subgraph returns the subgraph of g induced by the given nodes, which must
// be distinct: node i of the subgraph is nodes[i], edges between two of the
// nodes keep their weights and loops are kept. Use it to run Louvain inside
// one large component.
func Subgraph(g *Graph, nodes []int32) (*Graph, error) {
	index := make([]int32, g.Nodes()) // position in nodes, or -1
	for u := range index {
		index[u] = -1
	}
	for i, u := range nodes {
		if u < 0 || int(u) >= g.Nodes() {
			return nil, fmt.Errorf("subgraph: %w: node %d outside 0..%d", ErrInvalid, u, g.Nodes()-1)
		}
		if index[u] >= 0 {
			return nil, fmt.Errorf("subgraph: %w: node %d given twice", ErrInvalid, u)
		}
		index[u] = int32(i)
	}
	b := NewBuilder(len(nodes), 0)
	for i, u := range nodes {
		if s := g.SelfWeight(int(u)); s != 0 {
			// A loop of weight w adds 2w to A_uu.
			if err := b.AddEdge(i, i, s/2); err != nil {
				return nil, fmt.Errorf("subgraph: %w", err)
			}
		}
		nb, w := g.Neighbors(int(u))
		for k, v := range nb {
			j := index[v]
			if j < 0 || int(j) < i {
				continue
			}
			if err := b.AddEdge(i, int(j), w[k]); err != nil {
				return nil, fmt.Errorf("subgraph: %w", err)
			}
		}
	}
	return b.Build(), nil
}
