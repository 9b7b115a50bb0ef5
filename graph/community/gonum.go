package community

import (
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/iterator"
	"gonum.org/v1/gonum/graph/simple"
)

// GonumGraph presents a Graph through gonum's graph interfaces, so that
// gonum's algorithms run on the same graph as this package's: node IDs are
// the node indexes, edges are simple.WeightedEdge values and weights are the
// entries A_uv of the adjacency matrix.
//
// It implements graph.WeightedUndirected and, for algorithms that take
// directed graphs (network.PageRank), graph.WeightedDirected, with every
// undirected edge seen as two arcs. As gonum's simple graphs do, From never
// lists a node itself and Weight(u, u) returns (A_uu, true), which is how
// gonum's community.Q reads self-loops. Like the Graph, a GonumGraph is
// read-only and safe for concurrent use.
type GonumGraph struct {
	g *Graph
}

// Gonum returns the view of g through gonum's graph interfaces.
func (g *Graph) Gonum() GonumGraph { return GonumGraph{g} }

var (
	_ graph.WeightedUndirected = GonumGraph{}
	_ graph.WeightedDirected   = GonumGraph{}
)

func (v GonumGraph) has(id int64) bool { return id >= 0 && id < int64(v.g.Nodes()) }

// Node returns the node with the given ID, or nil if there is none.
func (v GonumGraph) Node(id int64) graph.Node {
	if !v.has(id) {
		return nil
	}
	return simple.Node(id)
}

// Nodes returns all nodes in increasing ID order.
func (v GonumGraph) Nodes() graph.Nodes {
	return iterator.NewImplicitNodes(0, v.g.Nodes(), func(id int) graph.Node { return simple.Node(id) })
}

// From returns the neighbours of the node with the given ID.
func (v GonumGraph) From(id int64) graph.Nodes {
	if !v.has(id) {
		return graph.Empty
	}
	nb, _ := v.g.Neighbors(int(id))
	return &neighbourNodes{nb: nb, pos: -1}
}

// To returns the neighbours of the node with the given ID; in an undirected
// graph they are the nodes From returns.
func (v GonumGraph) To(id int64) graph.Nodes { return v.From(id) }

// HasEdgeBetween returns whether x and y, two different nodes, are joined.
func (v GonumGraph) HasEdgeBetween(xid, yid int64) bool {
	if xid == yid || !v.has(xid) || !v.has(yid) {
		return false
	}
	_, ok := v.g.Weight(int(xid), int(yid))
	return ok
}

// HasEdgeFromTo returns whether u and v, two different nodes, are joined.
func (v GonumGraph) HasEdgeFromTo(uid, vid int64) bool { return v.HasEdgeBetween(uid, vid) }

// Edge returns the edge from u to v, or nil if there is none.
func (v GonumGraph) Edge(uid, vid int64) graph.Edge {
	if e := v.WeightedEdgeBetween(uid, vid); e != nil {
		return e
	}
	return nil
}

// EdgeBetween returns the edge between x and y, or nil if there is none.
func (v GonumGraph) EdgeBetween(xid, yid int64) graph.Edge { return v.Edge(xid, yid) }

// WeightedEdge returns the weighted edge from u to v, or nil if there is none.
func (v GonumGraph) WeightedEdge(uid, vid int64) graph.WeightedEdge {
	return v.WeightedEdgeBetween(uid, vid)
}

// WeightedEdgeBetween returns the weighted edge between x and y, or nil if
// there is none.
func (v GonumGraph) WeightedEdgeBetween(xid, yid int64) graph.WeightedEdge {
	if !v.HasEdgeBetween(xid, yid) {
		return nil
	}
	w, _ := v.g.Weight(int(xid), int(yid))
	return simple.WeightedEdge{F: simple.Node(xid), T: simple.Node(yid), W: w}
}

// Weight returns A_xy and whether x and y are joined. For x == y it returns
// A_xx and true, the convention of gonum's simple graphs.
func (v GonumGraph) Weight(xid, yid int64) (float64, bool) {
	if !v.has(xid) || !v.has(yid) {
		return 0, false
	}
	if xid == yid {
		return v.g.SelfWeight(int(xid)), true
	}
	return v.g.Weight(int(xid), int(yid))
}

// neighbourNodes iterates over one adjacency row as gonum nodes.
type neighbourNodes struct {
	nb  []int32
	pos int
}

func (it *neighbourNodes) Next() bool {
	if it.pos+1 >= len(it.nb) {
		it.pos = len(it.nb)
		return false
	}
	it.pos++
	return true
}

func (it *neighbourNodes) Len() int { return max(0, len(it.nb)-it.pos-1) }

func (it *neighbourNodes) Node() graph.Node {
	if it.pos < 0 || it.pos >= len(it.nb) {
		return nil
	}
	return simple.Node(it.nb[it.pos])
}

func (it *neighbourNodes) Reset() { it.pos = -1 }
