package graph

import (
	"context"
	"fmt"
)

// WalkOptions tune Walk.
type WalkOptions struct {
	// Depth is the most hops walked from the start.
	Depth int
	// Query selects the edges followed. Its SkipAuthored applies to every
	// node but the start (see NeighbourQuery.SkipAuthored).
	Query NeighbourQuery
	// Limit is the most nodes returned, the start included; 0 means no
	// limit. Once the walk holds Limit nodes, the scan of a node's edges
	// stops at the first edge to a node beyond it, so that a hub with
	// thousands of edges costs no more than its first few; the nodes left
	// in the frontier are still scanned up to that point, so that the
	// links among the nodes returned are not only those of the nodes
	// walked before the limit was reached.
	Limit int
	// Keep, when set, is asked about each node reached, once: a node it
	// rejects is neither returned nor walked through, and the edges to it
	// are left out. The start is always kept.
	Keep func(ID) (bool, error)
}

// Neighbourhood is what a Walk reached.
type Neighbourhood struct {
	// Nodes are the nodes reached, the start first, then in the order
	// found: every node at one hop before any at two.
	Nodes []ID
	// Edges are the edges walked between returned nodes, once each.
	Edges []Edge
	// Truncated reports that Limit cut the walk: at least one more node
	// within Depth was reached and left out, and so were the edges after
	// it in the scans it ended.
	Truncated bool
}

// Walk walks the visible neighbourhood of start breadth-first, up to
// opts.Depth hops over the edges that match opts.Query. Every walk of the
// store (the CLI's, the API's neighbourhood query, the benchmarks') is
// this one, so a rule about which edges a walk takes is written once.
// It checks ctx before each hop and every thousand or so edges.
func (tx *Tx) Walk(ctx context.Context, start ID, opts WalkOptions) (Neighbourhood, error) {
	if !tx.visible(start) {
		return Neighbourhood{}, fmt.Errorf("node %d: %w", start, ErrNotFound)
	}
	// seen says what became of each node reached: kept, rejected by Keep,
	// or kept but left out by the limit (so Keep is asked once).
	const (
		kept = iota + 1
		rejected
		beyond
	)
	seen := map[ID]int8{start: kept}
	out := Neighbourhood{Nodes: []ID{start}}
	walked := map[Edge]struct{}{}
	frontier := []ID{start}
	var ferr error
	steps := 0
	for d := 0; d < opts.Depth && len(frontier) > 0; d++ {
		if err := ctx.Err(); err != nil {
			return Neighbourhood{}, err
		}
		var next []ID
		for _, id := range frontier {
			q := opts.Query
			q.SkipAuthored = q.SkipAuthored && id != start
			err := tx.Neighbours(id, q, func(e Edge) bool {
				if steps++; steps%1024 == 0 {
					if ferr = ctx.Err(); ferr != nil {
						return false
					}
				}
				o := e.Other(id)
				state, ok := seen[o]
				if !ok {
					state = kept
					if opts.Keep != nil {
						ok, err := opts.Keep(o)
						if err != nil {
							ferr = err
							return false
						}
						if !ok {
							state = rejected
						}
					}
					if state == kept && opts.Limit > 0 && len(out.Nodes) >= opts.Limit {
						state = beyond
					}
					seen[o] = state
					if state == kept {
						out.Nodes = append(out.Nodes, o)
						next = append(next, o)
					}
				}
				switch state {
				case rejected:
					return true
				case beyond:
					out.Truncated = true
					return false
				}
				if _, ok := walked[e]; !ok {
					walked[e] = struct{}{}
					out.Edges = append(out.Edges, e)
				}
				return true
			})
			if err == nil {
				err = ferr
			}
			if err != nil {
				// Neighbours names the step already; Keep's errors and
				// ctx's are the caller's own.
				return Neighbourhood{}, err
			}
		}
		frontier = next
	}
	return out, nil
}

// Expand is Walk without a context or Keep, for callers that need only the
// nodes and edges: the visible neighbourhood of start within depth hops
// over the edges that match q, at most limit nodes (0: no limit).
func (tx *Tx) Expand(start ID, depth int, q NeighbourQuery, limit int) ([]ID, []Edge, error) {
	n, err := tx.Walk(context.Background(), start, WalkOptions{Depth: depth, Query: q, Limit: limit})
	return n.Nodes, n.Edges, err
}
