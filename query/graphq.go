package query

import (
	"context"
	"errors"
	"slices"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// neighbourhood is the Neighbourhood type.
type neighbourhood struct {
	Root  *objectResolver
	Nodes *objectConnection
	Links *linkConnection
}

// Neighbours resolves Query.neighbours.
func (q *queryResolver) Neighbours(ctx context.Context, args struct {
	ID        graphql.ID
	Depth     int32
	EdgeTypes *[]string
	Direction string
	Since     *graphql.Time
	Until     *graphql.Time
	First     int32
	After     *string
	// ThroughCreators lets the walk go on from a creator to the rest of
	// what it created.
	ThroughCreators bool
}) (*neighbourhood, error) {
	r := reqFrom(ctx)
	lim := q.api.limits
	depth := int(args.Depth)
	if depth < 1 {
		return nil, invalid("depth", "depth must be at least 1, got %d", depth)
	}
	if depth > lim.MaxNeighbourDepth {
		return nil, limitErr("depth", "depth %d is above the limit of %d", depth, lim.MaxNeighbourDepth)
	}
	first, offset, err := offsetPage(lim, args.First, 100, args.After)
	if err != nil {
		return nil, err
	}
	if offset > lim.MaxNodes {
		return nil, limitErr("after", "the neighbourhood cannot be paged past %d objects", lim.MaxNodes)
	}
	types, err := edgeTypesArg(args.EdgeTypes)
	if err != nil {
		return nil, err
	}
	nq := edgeKey{dir: directionArg(args.Direction), types: types}.query()
	nq.SkipAuthored = !args.ThroughCreators
	var keep func(graph.ID) (bool, error)
	var hood graph.Neighbourhood
	err = r.view(ctx, func(tx *graph.Tx) error {
		start, err := r.resolveID(tx, "id", string(args.ID))
		if err != nil {
			return err
		}
		if args.Since != nil || args.Until != nil {
			keep = func(id graph.ID) (bool, error) {
				n, err := tx.Node(id)
				if errors.Is(err, graph.ErrNotFound) {
					return false, nil
				}
				if err != nil {
					return false, err
				}
				m := n.Modified
				if m.IsZero() {
					return true, nil
				}
				return (args.Since == nil || !m.Before(args.Since.Time)) && (args.Until == nil || m.Before(args.Until.Time)), nil
			}
		}
		hood, err = tx.Walk(ctx, start, graph.WalkOptions{Depth: depth, Query: nq, Limit: offset + first, Keep: keep})
		return err
	})
	if err != nil {
		return nil, err
	}
	order := hood.Nodes
	end := min(offset+first, len(order))
	page := order[min(offset, end):end]
	inSet := map[graph.ID]int{}
	for i, id := range order[:end] {
		inSet[id] = i
	}
	var links []graph.Edge
	for _, e := range hood.Edges {
		i, ok1 := inSet[e.From]
		j, ok2 := inSet[e.To]
		if ok1 && ok2 && max(i, j) >= offset {
			links = append(links, e)
		}
	}
	ids := slices.Clone(page)
	ids = append(ids, order[0])
	for _, e := range links {
		ids = append(ids, e.From, e.To)
		if e.Via != 0 {
			ids = append(ids, e.Via)
		}
	}
	objs := r.objectLoader(ctx, "root", "nodes.edges.node", "links.edges.node.from", "links.edges.node.to", "links.edges.node.via")
	objs.prefetch(ctx, ids)
	g := newGroup(page)
	root, err := objs.load(ctx, order[0])
	if err != nil {
		return nil, err
	}
	out := &neighbourhood{Root: r.resolver(root, newGroup(order[:1]))}
	var members []*objectResolver
	for _, id := range page {
		n, err := objs.load(ctx, id)
		if errors.Is(err, graph.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		members = append(members, r.resolver(n, g))
	}
	total := int64(len(order))
	out.Nodes = newObjectConnection(members, func(_ int, o *objectResolver) string { return offsetCursor(inSet[o.n.ID]) },
		offset > 0, hood.Truncated || len(order) > end, func(context.Context) (int64, error) { return total, nil })
	vias := newGroup(nil)
	lc := &linkConnection{Edges: []*linkEdge{}, TotalCount: clampInt32(int64(len(links)))}
	var cursors []string
	for i, e := range links {
		l, err := r.link(ctx, objs, e, g, vias)
		if err != nil {
			return nil, err
		}
		if l == nil {
			continue
		}
		le := &linkEdge{Cursor: offsetCursor(i), Node: l}
		lc.Edges = append(lc.Edges, le)
		cursors = append(cursors, le.Cursor)
	}
	lc.PageInfo = newPageInfo(cursors, false, false)
	out.Links = lc
	return out, nil
}

// link makes the resolver of an edge whose ends and relationship objs has
// loaded; it is nil when one of them is no longer visible.
func (r *request) link(ctx context.Context, objs *loader[graph.ID, *graph.Node], e graph.Edge, g, vias *group) (*link, error) {
	from, err := objs.load(ctx, e.From)
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	to, err := objs.load(ctx, e.To)
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	l := &link{Type: e.Type, From: r.resolver(from, g), To: r.resolver(to, g)}
	if e.Via != 0 {
		v, err := objs.load(ctx, e.Via)
		if err != nil {
			return nil, ignoreNotFound(err)
		}
		l.Via = r.resolver(v, vias)
	}
	return l, nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, graph.ErrNotFound) {
		return nil
	}
	return err
}

// pathResolver is the Path type.
type pathResolver struct {
	Length int32
	Nodes  []*objectResolver
	Links  []*link
}

// pathConnection is the PathConnection type.
type pathConnection struct {
	Edges      []*pathEdge
	PageInfo   *pageInfo
	TotalCount int32
}

// pathEdge is the PathEdge type.
type pathEdge struct {
	Cursor string
	Node   *pathResolver
}

// checkPathArgs checks the maxDepth and k of a paths query against the
// limits.
func checkPathArgs(lim Limits, maxDepth, k int) error {
	switch {
	case maxDepth < 1:
		return invalid("maxDepth", "maxDepth must be at least 1, got %d", maxDepth)
	case maxDepth > lim.MaxPathDepth:
		return limitErr("maxDepth", "maxDepth %d is above the limit of %d", maxDepth, lim.MaxPathDepth)
	case k < 1:
		return invalid("k", "k must be at least 1, got %d", k)
	case k > lim.MaxPaths:
		return limitErr("k", "k %d is above the limit of %d", k, lim.MaxPaths)
	}
	return nil
}

// Paths resolves Query.paths.
func (q *queryResolver) Paths(ctx context.Context, args struct {
	From            graphql.ID
	To              graphql.ID
	MaxDepth        int32
	K               int32
	EdgeTypes       *[]string
	Direction       string
	ThroughCreators bool
}) (*pathConnection, error) {
	r := reqFrom(ctx)
	lim := q.api.limits
	maxDepth, k := int(args.MaxDepth), int(args.K)
	if err := checkPathArgs(lim, maxDepth, k); err != nil {
		return nil, err
	}
	types, err := edgeTypesArg(args.EdgeTypes)
	if err != nil {
		return nil, err
	}
	var paths []path
	err = r.view(ctx, func(tx *graph.Tx) error {
		from, err := r.resolveID(tx, "from", string(args.From))
		if err != nil {
			return err
		}
		to, err := r.resolveID(tx, "to", string(args.To))
		if err != nil {
			return err
		}
		ps := &pathSearch{ctx: ctx, tx: tx, q: edgeKey{dir: directionArg(args.Direction), types: types}.query(), budget: lim.MaxPathVisits}
		if !args.ThroughCreators && types == "" {
			ps.ends = &[2]graph.ID{from, to}
		}
		paths, err = ps.kShortest(from, to, maxDepth, k)
		return err
	})
	if err != nil {
		return nil, err
	}
	var ids []graph.ID
	for _, p := range paths {
		ids = append(ids, p.nodes...)
		for _, e := range p.edges {
			if e.Via != 0 {
				ids = append(ids, e.Via)
			}
		}
	}
	objs := r.objectLoader(ctx, "edges.node.nodes", "edges.node.links.from", "edges.node.links.to", "edges.node.links.via")
	objs.prefetch(ctx, ids)
	g, vias := newGroup(ids), newGroup(nil)
	c := &pathConnection{Edges: []*pathEdge{}}
	var cursors []string
	for i, p := range paths {
		pr := &pathResolver{Length: int32(len(p.edges)), Nodes: []*objectResolver{}, Links: []*link{}}
		ok := true
		for _, id := range p.nodes {
			n, err := objs.load(ctx, id)
			if err != nil {
				if ignoreNotFound(err) != nil {
					return nil, err
				}
				ok = false
				break
			}
			pr.Nodes = append(pr.Nodes, r.resolver(n, g))
		}
		for _, e := range p.edges {
			l, err := r.link(ctx, objs, e, g, vias)
			if err != nil {
				return nil, err
			}
			if l == nil {
				ok = false
				break
			}
			pr.Links = append(pr.Links, l)
		}
		if !ok {
			continue
		}
		pe := &pathEdge{Cursor: offsetCursor(i), Node: pr}
		c.Edges = append(c.Edges, pe)
		cursors = append(cursors, pe.Cursor)
	}
	c.TotalCount = int32(len(c.Edges))
	c.PageInfo = newPageInfo(cursors, false, false)
	return c, nil
}

// timelineConnection is the TimelineConnection type.
type timelineConnection struct {
	Edges      []*timelineEdge
	PageInfo   *pageInfo
	TotalCount int32
}

// timelineEdge is the TimelineEdge type.
type timelineEdge struct {
	Cursor string
	Node   *timelineEntry
}

// timelineEntry is the TimelineEntry type.
type timelineEntry struct {
	At     *graphql.Time
	Basis  string
	Object *objectResolver
}

// timeProps are the properties a timeline entry's time comes from, in
// order of preference.
var timeProps = []string{"first_seen", "first_observed", "published"}

// Timeline resolves Case.timeline: every visible member, placed in time.
func (o *objectResolver) Timeline(ctx context.Context, args pageArgs) (*timelineConnection, error) {
	r := o.req
	first, offset, err := offsetPage(r.api.limits, args.First, 50, args.After)
	if err != nil {
		return nil, err
	}
	budget := r.api.limits.MaxScan
	var ids []graph.ID
	err = r.view(ctx, func(tx *graph.Tx) error {
		var over bool
		err := tx.Neighbours(o.n.ID, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"object_refs"}}, func(e graph.Edge) bool {
			if len(ids) >= budget {
				over = true
				return false
			}
			ids = append(ids, e.To)
			return true
		})
		if err == nil && over {
			err = limitErr("timeline", "the case has more than %d members; page through members instead", budget)
		}
		return err
	})
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	g, nodes, err := r.groupNodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	entries := make([]*timelineEntry, len(nodes))
	for i, n := range nodes {
		e := &timelineEntry{Object: r.unaudited(n, g)}
		p := e.Object.obj()
		for _, prop := range timeProps {
			if s, ok := p.String(prop); ok {
				if t, err := schema.ParseTimestamp(s); err == nil {
					e.At, e.Basis = gqlTime(t), prop
					break
				}
			}
		}
		if e.At == nil && !n.Created.IsZero() {
			e.At, e.Basis = gqlTime(n.Created), "created"
		}
		if e.At == nil && !n.Modified.IsZero() {
			e.At, e.Basis = gqlTime(n.Modified), "modified"
		}
		entries[i] = e
	}
	slices.SortStableFunc(entries, func(a, b *timelineEntry) int {
		switch {
		case a.At == nil && b.At == nil:
		case a.At == nil:
			return 1
		case b.At == nil:
			return -1
		default:
			if c := a.At.Time.Compare(b.At.Time); c != 0 {
				return c
			}
		}
		if a.Object.n.StixID < b.Object.n.StixID {
			return -1
		}
		if a.Object.n.StixID > b.Object.n.StixID {
			return 1
		}
		return 0
	})
	end := min(offset+first, len(entries))
	c := &timelineConnection{Edges: []*timelineEdge{}, TotalCount: clampInt32(int64(len(entries)))}
	var cursors []string
	for i := min(offset, end); i < end; i++ {
		// Only the page is returned, so only it is audited.
		r.audit.Returned(entries[i].Object.n.StixID)
		te := &timelineEdge{Cursor: offsetCursor(i), Node: entries[i]}
		c.Edges = append(c.Edges, te)
		cursors = append(cursors, te.Cursor)
	}
	c.PageInfo = newPageInfo(cursors, offset > 0, end < len(entries))
	return c, nil
}
