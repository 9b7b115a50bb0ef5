package cluster

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"

	"github.com/verband-cti/verband/graph/correlate"
)

// PathOptions configure Paths.
type PathOptions struct {
	// K is how many paths to return; 0 means 3.
	K int
	// MaxDepth is the most links a path may have; 0 means 4.
	MaxDepth int
	// MinScore leaves out links that score less; 0 keeps every link.
	MinScore float64
	// MaxVisits bounds the links the search may examine over all its
	// shortest-path runs; 0 means 1,000,000. Past it Paths fails with
	// ErrLimit.
	MaxVisits int
}

// Path is a chain of links between two containers.
type Path struct {
	// Nodes are projection indexes, from the start to the end.
	Nodes []int32
	// Links are indexes into Projection.Links: Links[i] joins Nodes[i] and
	// Nodes[i+1] (in either order of the link's A and B), so its evidence
	// explains that hop.
	Links []int
	// Cost is the sum over the links of 1/score: strong links are short.
	Cost float64
}

// Paths returns up to K loopless paths between containers from and to, with
// at most MaxDepth links each, cheapest first, where a link costs 1/score
// (Yen's k shortest paths over hop-bounded Dijkstra runs). Ties go to fewer
// links, then to the lower sequence of projection indexes, so the answer is
// deterministic. It returns no path when the two are not linked within
// MaxDepth.
func Paths(ctx context.Context, p *correlate.Projection, from, to int32, opts PathOptions) ([]Path, error) {
	switch {
	case from < 0 || int(from) >= p.Len() || to < 0 || int(to) >= p.Len():
		return nil, fmt.Errorf("paths: node %d or %d outside the projection of %d: %w", from, to, p.Len(), ErrInvalid)
	case from == to:
		return nil, fmt.Errorf("paths: from and to are the same container: %w", ErrInvalid)
	case opts.K < 0 || opts.MaxDepth < 0 || opts.MaxVisits < 0 || opts.MinScore < 0:
		return nil, fmt.Errorf("paths: k, max depth, max visits and min score must not be negative: %w", ErrInvalid)
	}
	return yen(ctx, projectionGraph{p, opts.MinScore}, from, to, opts)
}

// pathGraph is what the path search walks: the neighbours of a node, with
// the link to each and its cost.
type pathGraph interface {
	neighbours(u int32, fn func(v int32, link int, cost float64))
}

// projectionGraph walks the links of a projection at or above minScore.
type projectionGraph struct {
	p        *correlate.Projection
	minScore float64
}

func (g projectionGraph) neighbours(u int32, fn func(v int32, link int, cost float64)) {
	links := g.p.Links()
	for _, li := range g.p.LinksOf(u) {
		l := links[li]
		if l.Score < g.minScore || l.Score <= 0 {
			continue
		}
		v := l.A
		if v == u {
			v = l.B
		}
		fn(v, int(li), 1/l.Score)
	}
}

// yen runs Yen's algorithm over g.
func yen(ctx context.Context, g pathGraph, from, to int32, opts PathOptions) ([]Path, error) {
	k, depth, visits := opts.K, opts.MaxDepth, opts.MaxVisits
	if k == 0 {
		k = 3
	}
	if depth == 0 {
		depth = 4
	}
	if visits == 0 {
		visits = 1_000_000
	}
	s := &search{g: g, budget: visits}
	first, ok, err := s.shortest(ctx, from, to, depth, nil, nil)
	if err != nil || !ok {
		return nil, err
	}
	found := []Path{first}
	var candidates []Path
	for len(found) < k {
		last := found[len(found)-1]
		for i := 0; i < len(last.Links); i++ {
			root := last.Nodes[:i+1]
			bannedLinks := map[int]bool{}
			for _, q := range found {
				if len(q.Nodes) > i && slices.Equal(q.Nodes[:i+1], root) {
					bannedLinks[q.Links[i]] = true
				}
			}
			bannedNodes := map[int32]bool{}
			for _, n := range root[:i] {
				bannedNodes[n] = true
			}
			spur, ok, err := s.shortest(ctx, root[i], to, depth-i, bannedNodes, bannedLinks)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			cand := Path{Nodes: slices.Concat(root[:i], spur.Nodes), Links: slices.Concat(last.Links[:i], spur.Links)}
			cand.Cost = spur.Cost + s.sum(last.Links[:i])
			if !slices.ContainsFunc(candidates, func(c Path) bool { return slices.Equal(c.Links, cand.Links) }) &&
				!slices.ContainsFunc(found, func(c Path) bool { return slices.Equal(c.Links, cand.Links) }) {
				candidates = append(candidates, cand)
			}
		}
		if len(candidates) == 0 {
			break
		}
		best := 0
		for i := range candidates {
			if comparePaths(candidates[i], candidates[best]) < 0 {
				best = i
			}
		}
		found = append(found, candidates[best])
		candidates = slices.Delete(candidates, best, best+1)
	}
	return found, nil
}

// comparePaths orders paths by cost, then length, then node sequence.
func comparePaths(a, b Path) int {
	if c := cmp.Compare(a.Cost, b.Cost); c != 0 {
		return c
	}
	if c := cmp.Compare(len(a.Links), len(b.Links)); c != 0 {
		return c
	}
	return slices.Compare(a.Nodes, b.Nodes)
}

// search runs the hop-bounded shortest-path searches of one Yen run and
// counts the links they examine against the budget.
type search struct {
	g      pathGraph
	budget int
	costs  map[int]float64 // link → cost, of the links seen
}

// sum returns the cost of links, which earlier searches examined.
func (s *search) sum(links []int) float64 {
	var c float64
	for _, li := range links {
		c += s.costs[li]
	}
	return c
}

// state is a node reached with a number of hops.
type state struct {
	node int32
	hops int32
}

// label is how a state was reached: its cost and the state and link
// before it.
type label struct {
	cost float64
	prev state
	link int
}

// shortest returns the cheapest path from s to t of at most depth links
// that avoids the banned nodes and links: Dijkstra over (node, hops)
// states, so that a cheaper path with too many links does not hide a
// dearer one within the bound.
func (s *search) shortest(ctx context.Context, from, to int32, depth int, bannedNodes map[int32]bool, bannedLinks map[int]bool) (Path, bool, error) {
	if s.costs == nil {
		s.costs = map[int]float64{}
	}
	if err := ctx.Err(); err != nil {
		return Path{}, false, fmt.Errorf("paths: %w", err)
	}
	start := state{from, 0}
	labels := map[state]label{start: {cost: 0, link: -1}}
	done := map[state]bool{}
	q := &stateHeap{}
	heap.Push(q, queued{start, 0})
	for q.Len() > 0 {
		cur := heap.Pop(q).(queued)
		if done[cur.s] {
			continue
		}
		done[cur.s] = true
		if cur.s.node == to {
			return s.trace(labels, cur.s), true, nil
		}
		if int(cur.s.hops) == depth {
			continue
		}
		var err error
		s.g.neighbours(cur.s.node, func(v int32, link int, cost float64) {
			if err != nil {
				return
			}
			if s.budget--; s.budget < 0 {
				err = fmt.Errorf("paths: examined more links than the limit allows: %w", ErrLimit)
				return
			}
			s.costs[link] = cost
			if bannedNodes[v] || bannedLinks[link] || v == from {
				return
			}
			next := state{v, cur.s.hops + 1}
			c := cur.cost + cost
			if l, ok := labels[next]; ok && (l.cost < c || l.cost == c && l.prev.node <= cur.s.node) {
				return
			}
			labels[next] = label{cost: c, prev: cur.s, link: link}
			heap.Push(q, queued{next, c})
		})
		if err != nil {
			return Path{}, false, err
		}
	}
	return Path{}, false, nil
}

// trace walks the labels back from the state that reached the end.
func (s *search) trace(labels map[state]label, end state) Path {
	p := Path{Cost: labels[end].cost}
	for st := end; ; {
		p.Nodes = append(p.Nodes, st.node)
		l := labels[st]
		if l.link < 0 {
			break
		}
		p.Links = append(p.Links, l.link)
		st = l.prev
	}
	slices.Reverse(p.Nodes)
	slices.Reverse(p.Links)
	return p
}

// queued is a state in the priority queue with its cost.
type queued struct {
	s    state
	cost float64
}

// stateHeap orders states by cost, then fewer hops, then node index, so
// that the search is deterministic.
type stateHeap []queued

func (h stateHeap) Len() int { return len(h) }
func (h stateHeap) Less(i, j int) bool {
	if h[i].cost != h[j].cost {
		return h[i].cost < h[j].cost
	}
	if h[i].s.hops != h[j].s.hops {
		return h[i].s.hops < h[j].s.hops
	}
	return h[i].s.node < h[j].s.node
}
func (h stateHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *stateHeap) Push(x any)   { *h = append(*h, x.(queued)) }
func (h *stateHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
