package query

import (
	"container/heap"
	"context"
	"encoding/binary"
	"slices"
	"sync"

	"github.com/verband-cti/verband/graph"
)

// path is one path: nodes[i] and nodes[i+1] are joined by edges[i].
type path struct {
	nodes []graph.ID
	edges []graph.Edge
}

// pathSearch finds k shortest simple paths (Yen's algorithm over
// bidirectional breadth-first searches, since edges are unweighted) within
// one snapshot, reading at most budget edges from the store in all. The
// edges at a node are read once per search and kept, since Yen's spur
// searches walk the same nodes again and again.
type pathSearch struct {
	ctx    context.Context
	tx     *graph.Tx
	q      graph.NeighbourQuery
	budget int
	visits int
	// ends, when set, are the query's two ends, and the search follows an
	// authorship edge only into one of them (see pathSearch.edges).
	ends *[2]graph.ID
	adj  map[adjKey][]graph.Edge
	// arena holds the edges of adj one node after the other, so that the
	// thousands of edges of a hub are not copied again and again as a
	// slice of their own grows; it comes from arenas and goes back there
	// when kShortest returns, since no edge it holds outlives the search.
	arena *[]graph.Edge
	// sides are the two ends of shortest's search (see pathSide); like
	// the arena, they come from a pool and go back when kShortest returns.
	sides *[2]pathSide
}

// sidePools recycles the search sides of path searches.
var sidePools = sync.Pool{New: func() any { return new([2]pathSide) }}

// pathSide is one end of a bidirectional search in shortest: how each
// node reached was reached, and the frontier. A pathSearch keeps two and
// reuses their memory across the spur searches of Yen's algorithm, which
// call shortest again and again.
type pathSide struct {
	parent         map[graph.ID]pathVia
	frontier, next []graph.ID
	depth          int
	backward       bool
}

// pathVia is how a search reached a node: from prev along e.
type pathVia struct {
	prev graph.ID
	e    graph.Edge
}

// pathSideKeep is the most nodes a side's last search may have reached for
// its memory to be reused. Clearing a map costs its capacity, which only
// grows, so the map of a search through a hub is dropped rather than
// cleared for every search after it in the pool.
const pathSideKeep = 1 << 12

// reset starts the side afresh at start.
func (s *pathSide) reset(start graph.ID, backward bool) {
	if s.parent == nil || len(s.parent) > pathSideKeep {
		*s = pathSide{parent: map[graph.ID]pathVia{}}
	} else {
		clear(s.parent)
	}
	s.parent[start] = pathVia{}
	s.frontier = append(s.frontier[:0], start)
	s.depth, s.backward = 0, backward
}

// arenas recycles the edge arenas of path searches.
var arenas = sync.Pool{New: func() any { return new([]graph.Edge) }}

// adjKey names the edges at a node in one direction of travel: forward
// follows q's direction, backward the reverse (the same edges when q
// takes both).
type adjKey struct {
	id       graph.ID
	backward bool
}

// errPathBudget ends a search that visited too many nodes.
var errPathBudget = limitErr("maxDepth", "the path search examined too many edges; lower maxDepth or k, or name edge types")

// edges returns the visible edges at id that a path may take leaving it
// forward (towards the destination) or, backward, arriving at it.
//
// Unless a paths query asks otherwise (ends is nil), a path takes an
// authorship edge (graph.IsAuthorship: created_by_ref and the like) only
// into the creator it asks about, as from or to, never through a creator
// to something else it created: an organization's identity is the creator
// of everything that organization wrote, so a path through it says only
// that two objects came from the same organization, which a shortest path
// would then say about nearly any two objects. Markings are no such hub,
// as object_marking_refs are never edges.
func (ps *pathSearch) edges(id graph.ID, backward bool) ([]graph.Edge, error) {
	k := adjKey{id, backward}
	if es, ok := ps.adj[k]; ok {
		return es, nil
	}
	q := ps.q
	if backward {
		switch q.Dir {
		case graph.Out:
			q.Dir = graph.In
		case graph.In:
			q.Dir = graph.Out
		}
	}
	if ps.arena == nil {
		ps.arena = arenas.Get().(*[]graph.Edge)
	}
	start := len(*ps.arena)
	var ferr error
	add := func(e graph.Edge) bool {
		ps.visits++
		if ps.visits > ps.budget {
			ferr = errPathBudget
			return false
		}
		if ps.visits%1024 == 0 {
			if ferr = ps.ctx.Err(); ferr != nil {
				return false
			}
		}
		if ps.ends == nil || e.To == ps.ends[0] || e.To == ps.ends[1] || !graph.IsAuthorship(e.Type) {
			*ps.arena = append(*ps.arena, e)
		}
		return true
	}
	// The authorship edges arriving at a node other than the ends lead
	// nowhere a path may go; the scan seeks past them, so that a creator's
	// thousands are not read.
	q.SkipAuthored = ps.ends != nil && id != ps.ends[0] && id != ps.ends[1]
	err := ps.tx.Neighbours(id, q, add)
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	if ps.adj == nil {
		ps.adj = map[adjKey][]graph.Edge{}
	}
	end := len(*ps.arena)
	es := (*ps.arena)[start:end:end]
	ps.adj[k] = es
	return es, nil
}

// shortest returns a shortest path from src to dst of at most maxLen
// edges that avoids the nodes and edges removed, or false. It searches
// from both ends, a level at a time from the side with the smaller
// frontier, and stops at the first level where the two meet: every path
// found at that level has the same length, so the first is a shortest.
// Against a one-sided search to depth d, it reads about two
// neighbourhoods of depth d/2 instead of one of depth d.
func (ps *pathSearch) shortest(src, dst graph.ID, maxLen int, noNode map[graph.ID]bool, noEdge map[graph.Edge]bool) (path, bool, error) {
	if src == dst {
		return path{nodes: []graph.ID{src}}, true, nil
	}
	if ps.sides == nil {
		ps.sides = sidePools.Get().(*[2]pathSide)
	}
	fwd, bwd := &ps.sides[0], &ps.sides[1]
	fwd.reset(src, false)
	bwd.reset(dst, true)
	meet := graph.ID(0)
	for meet == 0 && fwd.depth+bwd.depth < maxLen && len(fwd.frontier) > 0 && len(bwd.frontier) > 0 {
		this, other := fwd, bwd
		if len(bwd.frontier) < len(fwd.frontier) {
			this, other = bwd, fwd
		}
		// On the last level the nodes reached lead nowhere further: only a
		// meeting counts, so they are neither remembered nor queued.
		last := fwd.depth+bwd.depth+1 == maxLen
		next := this.next[:0]
		for _, id := range this.frontier {
			es, err := ps.edges(id, this.backward)
			if err != nil {
				return path{}, false, err
			}
			for _, e := range es {
				o := e.Other(id)
				if noNode[o] || noEdge[e] {
					continue
				}
				if _, ok := this.parent[o]; ok {
					continue
				}
				if _, ok := other.parent[o]; ok {
					this.parent[o] = pathVia{prev: id, e: e}
					meet = o
					break
				}
				if !last {
					this.parent[o] = pathVia{prev: id, e: e}
					next = append(next, o)
				}
			}
			if meet != 0 {
				break
			}
		}
		this.frontier, this.next = next, this.frontier
		this.depth++
	}
	if meet == 0 {
		return path{}, false, nil
	}
	var p path
	for n := meet; n != src; {
		v := fwd.parent[n]
		p.nodes = append(p.nodes, n)
		p.edges = append(p.edges, v.e)
		n = v.prev
	}
	p.nodes = append(p.nodes, src)
	slices.Reverse(p.nodes)
	slices.Reverse(p.edges)
	for n := meet; n != dst; {
		v := bwd.parent[n]
		p.nodes = append(p.nodes, v.prev)
		p.edges = append(p.edges, v.e)
		n = v.prev
	}
	return p, true, nil
}

// kShortest returns up to k shortest simple paths from src to dst with at
// most maxLen edges, shortest first (ties in the order found).
func (ps *pathSearch) kShortest(src, dst graph.ID, maxLen, k int) ([]path, error) {
	defer ps.release()
	first, ok, err := ps.shortest(src, dst, maxLen, nil, nil)
	if err != nil || !ok {
		return nil, err
	}
	found := []path{first}
	if src == dst {
		return found, nil
	}
	cands := &pathHeap{}
	known := map[string]bool{pathKey(first): true}
	for len(found) < k {
		prev := found[len(found)-1]
		for i := 0; i < len(prev.nodes)-1; i++ {
			spur := prev.nodes[i]
			root := prev.nodes[:i+1]
			noEdge := map[graph.Edge]bool{}
			for _, p := range found {
				if len(p.nodes) > i && slices.Equal(p.nodes[:i+1], root) && slices.Equal(p.edges[:i], prev.edges[:i]) {
					noEdge[p.edges[i]] = true
				}
			}
			noNode := map[graph.ID]bool{}
			for _, n := range root[:i] {
				noNode[n] = true
			}
			sp, ok, err := ps.shortest(spur, dst, maxLen-i, noNode, noEdge)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			cand := path{
				nodes: append(slices.Clone(root[:i]), sp.nodes...),
				edges: append(slices.Clone(prev.edges[:i]), sp.edges...),
			}
			if key := pathKey(cand); !known[key] {
				known[key] = true
				heap.Push(cands, candidate{p: cand, seq: len(known)})
			}
		}
		if cands.Len() == 0 {
			break
		}
		found = append(found, heap.Pop(cands).(candidate).p)
	}
	return found, nil
}

// release gives the edge arena and the search sides back; the paths found
// hold copies of their edges. Neither is cleared here (the sides are when
// next used): they hold nothing but ids and edge type names, which the
// store's symbol table holds for good.
func (ps *pathSearch) release() {
	if ps.arena != nil {
		*ps.arena = (*ps.arena)[:0]
		arenas.Put(ps.arena)
		ps.arena, ps.adj = nil, nil
	}
	if ps.sides != nil {
		sidePools.Put(ps.sides)
		ps.sides = nil
	}
}

// pathKey identifies a path by its edges.
func pathKey(p path) string {
	b := make([]byte, 0, len(p.edges)*40)
	for _, e := range p.edges {
		b = binary.LittleEndian.AppendUint64(b, uint64(e.From))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.To))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.Via))
		b = append(append(b, e.Type...), 0)
	}
	return string(b)
}

// candidate is a path Yen's algorithm may return next; seq is the order it
// was found in, which breaks ties so that answers are deterministic.
type candidate struct {
	p   path
	seq int
}

// pathHeap orders candidate paths by length, then by the order found.
type pathHeap []candidate

func (h pathHeap) Len() int { return len(h) }
func (h pathHeap) Less(i, j int) bool {
	if a, b := len(h[i].p.edges), len(h[j].p.edges); a != b {
		return a < b
	}
	return h[i].seq < h[j].seq
}
func (h pathHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pathHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *pathHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
