package community

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// LouvainOptions configure Louvain. The zero value is ready to use: seed 0,
// resolution 1, levels until no more merges.
type LouvainOptions struct {
	// Seed seeds the order in which nodes are visited. The same seed on the
	// same graph always yields the same partition, whatever GOMAXPROCS is.
	Seed uint64
	// Resolution is γ in the modularity (see Modularity): above 1 it favours
	// more and smaller communities, below 1 fewer and larger ones. 0 means 1.
	Resolution float64
	// MaxLevels bounds the number of aggregation levels; 0 means no bound.
	// With 1 the result is the first level's local moves only.
	MaxLevels int
}

// Communities is the result of Louvain.
type Communities struct {
	// Partition holds the community of every node of the input graph.
	Partition
	// Modularity is the modularity of the partition at the resolution used.
	Modularity float64
	// Levels describes each level that merged nodes, first to last.
	Levels []Level
}

// Level describes one level of Louvain.
type Level struct {
	// Nodes is the number of nodes of the level's graph: the input graph's
	// nodes on the first level, the previous level's communities after.
	Nodes int `json:"nodes"`
	// Moves counts the times a node moved to another community.
	Moves int `json:"moves"`
	// Communities is the number of communities the level ended with.
	Communities int `json:"communities"`
	// Modularity is the modularity of the partition after the level.
	Modularity float64 `json:"modularity"`
}

// moveEpsilon is the relative margin by which a move must beat staying (or
// an earlier candidate) to be taken. Without it, rounding could make two
// equally good communities swap a node back and forth.
const moveEpsilon = 1e-12

// Louvain finds communities of g with the Louvain method (Blondel et al.
// 2008), maximising modularity at the given resolution.
//
// Each level moves single nodes to the neighbouring community that raises
// modularity most, until no single move raises it, and then aggregates each
// community into one node of the next level's graph (with the community's
// internal weight as a loop), until a level merges nothing. The local moves
// follow a queue, as in Traag's fast local move (Leiden): every node once,
// in an order shuffled by the seed, and then only the neighbours of nodes
// that moved, which reaches the same kind of local optimum as repeated full
// sweeps in far fewer visits. Ties go to the current community, then to the
// neighbouring community met first in neighbour order, so the run is
// deterministic; it is also single-threaded, so its result does not depend
// on GOMAXPROCS.
//
// Memory: besides the input graph, a few arrays of the node count and the
// aggregated graph of each level, which is at most as large as the input.
// It returns early with ctx's error when ctx is cancelled.
func Louvain(ctx context.Context, g *Graph, opts LouvainOptions) (Communities, error) {
	gamma := opts.Resolution
	if gamma == 0 {
		gamma = 1
	}
	if gamma < 0 || math.IsNaN(gamma) || math.IsInf(gamma, 0) {
		return Communities{}, fmt.Errorf("louvain: %w: resolution %v", ErrInvalid, opts.Resolution)
	}
	if opts.MaxLevels < 0 {
		return Communities{}, fmt.Errorf("louvain: %w: max levels %d", ErrInvalid, opts.MaxLevels)
	}
	n := g.Nodes()
	of := make([]int32, n)
	for u := range of {
		of[u] = int32(u)
	}
	res := Communities{Partition: Partition{Of: of, Count: n}}
	if g.TotalWeight() == 0 {
		return res, nil
	}

	rng := rand.New(rand.NewPCG(opts.Seed, 0x6c6f757661696e)) // "louvain"
	s := newScratch(n)
	cur := g
	for opts.MaxLevels == 0 || len(res.Levels) < opts.MaxLevels {
		comm, moves, err := s.localMove(ctx, cur, rng, gamma)
		if err != nil {
			return Communities{}, fmt.Errorf("louvain: level %d: %w", len(res.Levels)+1, err)
		}
		count := canonical(comm)
		if count == cur.Nodes() {
			break
		}
		for u, c := range of {
			of[u] = comm[c]
		}
		cur = s.aggregate(cur, comm, count)
		res.Levels = append(res.Levels, Level{
			Nodes:       len(comm),
			Moves:       moves,
			Communities: count,
			Modularity:  modularityOf(cur.self, cur.degree, cur.total, gamma),
		})
	}
	res.Count = canonical(of)
	res.Modularity = modularityOf(cur.self, cur.degree, cur.total, gamma)
	return res, nil
}

// scratch holds the working arrays of Louvain, sized for the input graph
// and reused by every level, whose graphs are smaller.
type scratch struct {
	neighW  []float64 // weight from the current node to each community, 0 if none
	touched []int32   // communities with neighW > 0
	tot     []float64 // Σ k over each community
	queue   []int32   // ring buffer of nodes to visit
	inQueue []bool
}

func newScratch(n int) *scratch {
	return &scratch{
		neighW:  make([]float64, n),
		touched: make([]int32, 0, 64),
		tot:     make([]float64, n),
		queue:   make([]int32, n),
		inQueue: make([]bool, n),
	}
}

// localMove returns the communities (labels of nodes of g) that the local
// moves end with, and the number of moves. All weights of g are positive,
// so neighW[c] == 0 means that c has not been seen yet.
func (s *scratch) localMove(ctx context.Context, g *Graph, rng *rand.Rand, gamma float64) ([]int32, int, error) {
	n := g.Nodes()
	comm := make([]int32, n)
	tot, queue, inQueue := s.tot[:n], s.queue[:n], s.inQueue[:n]
	for u := range n {
		comm[u] = int32(u)
		queue[u] = int32(u)
		inQueue[u] = true
	}
	copy(tot, g.degree)
	rng.Shuffle(n, func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	neighW, touched := s.neighW, s.touched[:0]
	perDegree := gamma / g.total
	head, size, moves, visits := 0, n, 0, 0
	for size > 0 {
		if visits++; visits&(1<<16-1) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		u := queue[head]
		if head++; head == n {
			head = 0
		}
		size--
		inQueue[u] = false

		nb, w := g.Neighbors(int(u))
		for i, v := range nb {
			c := comm[v]
			if neighW[c] == 0 {
				touched = append(touched, c)
			}
			neighW[c] += w[i]
		}
		cu, ku := comm[u], g.degree[u]
		tot[cu] -= ku
		scale := ku * perDegree
		eps := moveEpsilon * ku
		best, bestGain := cu, neighW[cu]-tot[cu]*scale
		for _, c := range touched {
			if gain := neighW[c] - tot[c]*scale; gain > bestGain+eps {
				best, bestGain = c, gain
			}
			neighW[c] = 0
		}
		touched = touched[:0]
		tot[best] += ku
		if best == cu {
			continue
		}
		comm[u] = best
		moves++
		for _, v := range nb {
			if !inQueue[v] && comm[v] != best {
				inQueue[v] = true
				tail := head + size
				if tail >= n {
					tail -= n
				}
				queue[tail] = v
				size++
			}
		}
	}
	s.touched = touched
	return comm, moves, nil
}

// aggregate returns the graph whose nodes are the count communities of g
// (comm labels each node of g with one of 0..count-1): the weight between
// two communities is the sum of the weights between their members, and a
// community's loop A_cc is the sum of A_uv over its members u and v, so that
// degrees, 2m and modularity carry over unchanged.
func (s *scratch) aggregate(g *Graph, comm []int32, count int) *Graph {
	n := g.Nodes()
	start := make([]int, count+1)
	for _, c := range comm {
		start[c+1]++
	}
	for c := range count {
		start[c+1] += start[c]
	}
	members := make([]int32, n)
	next := slices.Clone(start[:count])
	for u, c := range comm {
		members[next[c]] = int32(u)
		next[c]++
	}
	next = nil

	ng := &Graph{
		offsets: make([]int, count+1),
		self:    make([]float64, count),
		degree:  make([]float64, count),
	}
	adj := make([]int32, 0, len(g.adj)/4)
	ws := make([]float64, 0, len(g.adj)/4)
	neighW, touched := s.neighW, s.touched[:0]
	for c := range count {
		ng.offsets[c] = len(adj)
		self := 0.0
		for _, u := range members[start[c]:start[c+1]] {
			self += g.self[u]
			nb, w := g.Neighbors(int(u))
			for i, v := range nb {
				d := comm[v]
				if int(d) == c {
					self += w[i]
					continue
				}
				if neighW[d] == 0 {
					touched = append(touched, d)
				}
				neighW[d] += w[i]
			}
		}
		slices.Sort(touched)
		k := self
		for _, d := range touched {
			adj = append(adj, d)
			ws = append(ws, neighW[d])
			k += neighW[d]
			neighW[d] = 0
		}
		touched = touched[:0]
		ng.self[c] = self
		ng.degree[c] = k
		ng.total += k
	}
	ng.offsets[count] = len(adj)
	ng.adj = slices.Clip(adj)
	ng.w = slices.Clip(ws)
	s.touched = touched
	return ng
}
