package community

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
)

// PlantedConfig describes a planted-partition graph, the model of
// shared/tools/cluster_peers.py gen.
type PlantedConfig struct {
	// Nodes and Edges are the exact node and edge counts.
	Nodes, Edges int
	// Mix is the share of edges placed uniformly at random; the others join
	// two nodes of the same community. cluster_peers.py uses 0.2.
	Mix float64
	// MinSize and MaxSize bound the community sizes, drawn uniformly; 0
	// means the script's 20 and 200.
	MinSize, MaxSize int
	// Seed seeds everything; the same config always yields the same graph.
	Seed uint64
}

// Planted is a generated planted-partition graph.
type Planted struct {
	// Nodes is the node count; node ids are 0..Nodes-1.
	Nodes int
	// Edges holds each undirected edge once as (lo, hi), lo < hi, sorted.
	Edges [][2]int32
	// Community is the planted community of every node.
	Community []int32
}

// GeneratePlanted draws a planted-partition graph the way cluster_peers.py
// gen does: communities of uniform random size in [MinSize, MaxSize] until
// the nodes are used up, node ids permuted so that ids hide communities,
// then edges from a uniform random node to a random member of its own
// community, or with probability Mix to any node, without loops or
// duplicates, until there are exactly Edges. It uses Go's PCG generator, so
// the graph follows the same model as the script's for the same
// parameters, not the same bytes.
func GeneratePlanted(cfg PlantedConfig) (*Planted, error) {
	if cfg.MinSize == 0 {
		cfg.MinSize = 20
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 200
	}
	n, m := cfg.Nodes, cfg.Edges
	switch {
	case n < 2 || n > MaxNodes:
		return nil, fmt.Errorf("generate planted graph: %w: %d nodes, want 2..%d", ErrInvalid, n, MaxNodes)
	case m < 0 || m > n*(n-1)/4:
		return nil, fmt.Errorf("generate planted graph: %w: %d edges, want 0..%d for %d nodes", ErrInvalid, m, n*(n-1)/4, n)
	case !(cfg.Mix >= 0 && cfg.Mix <= 1):
		return nil, fmt.Errorf("generate planted graph: %w: mix %v outside [0, 1]", ErrInvalid, cfg.Mix)
	case cfg.MinSize < 2 || cfg.MaxSize < cfg.MinSize:
		return nil, fmt.Errorf("generate planted graph: %w: community sizes %d..%d", ErrInvalid, cfg.MinSize, cfg.MaxSize)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x706c616e746564)) // "planted"

	// Communities of consecutive indexes 0..n-1 before the permutation.
	var starts, sizes []int
	for total := 0; total < n; {
		s := min(cfg.MinSize+rng.IntN(cfg.MaxSize-cfg.MinSize+1), n-total)
		starts = append(starts, total)
		sizes = append(sizes, s)
		total += s
	}
	if cfg.Mix == 0 {
		// Every edge must fit inside a community; allow half of the pairs
		// so that drawing distinct ones stays quick.
		pairs := 0
		for _, s := range sizes {
			pairs += s * (s - 1) / 2
		}
		if m > pairs/2 {
			return nil, fmt.Errorf("generate planted graph: %w: %d edges do not fit in communities with %d pairs and mix 0", ErrInvalid, m, pairs)
		}
	}
	of := make([]int32, n) // community of each index
	for c, s := range starts {
		for i := s; i < s+sizes[c]; i++ {
			of[i] = int32(c)
		}
	}
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })

	// Draw candidate edges as keys lo*n+hi, deduplicate by sorting, and
	// draw more until there are enough.
	keys := make([]uint64, 0, m+m/8+16)
	for len(keys) < m {
		need := m - len(keys)
		for range need + need/10 + 16 {
			u := rng.IntN(n)
			var v int
			if rng.Float64() >= cfg.Mix {
				c := of[u]
				v = starts[c] + rng.IntN(sizes[c])
			} else {
				v = rng.IntN(n)
			}
			a, b := uint64(perm[u]), uint64(perm[v])
			if a == b {
				continue
			}
			keys = append(keys, min(a, b)*uint64(n)+max(a, b))
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
	}
	if len(keys) > m {
		// Keep a random m of them, as the script does.
		for i := range m {
			j := i + rng.IntN(len(keys)-i)
			keys[i], keys[j] = keys[j], keys[i]
		}
		keys = keys[:m]
		slices.Sort(keys)
	}
	p := &Planted{Nodes: n, Edges: make([][2]int32, len(keys)), Community: make([]int32, n)}
	for i, k := range keys {
		p.Edges[i] = [2]int32{int32(k / uint64(n)), int32(k % uint64(n))}
	}
	for i, c := range of {
		p.Community[perm[i]] = c
	}
	return p, nil
}

// Graph builds the Graph of p, with all weights 1.
func (p *Planted) Graph() *Graph {
	b := NewBuilder(p.Nodes, len(p.Edges))
	for _, e := range p.Edges {
		// Planted edges are valid by construction.
		_ = b.AddEdge(int(e[0]), int(e[1]), 1)
	}
	return b.Build()
}

// WriteEdgeList writes p in the edge-list format of cluster_peers.py (see
// ReadEdgeList). Like the script, it does not add a line for the highest
// node id if that node is isolated, so readers see max id + 1 nodes.
func (p *Planted) WriteEdgeList(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	for _, e := range p.Edges {
		buf = strconv.AppendInt(buf[:0], int64(e[0]), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(e[1]), 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write edge list: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write edge list: %w", err)
	}
	return nil
}
