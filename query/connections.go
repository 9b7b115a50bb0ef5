package query

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
)

// pageArgs are the arguments of a plain connection field.
type pageArgs struct {
	First int32
	After *string
}

// neighbourArgs are the arguments of an object's neighbours field.
type neighbourArgs struct {
	Direction string
	EdgeTypes *[]string
	First     int32
	After     *string
}

// pageInfo is the PageInfo type.
type pageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
}

func newPageInfo(cursors []string, hasPrev, hasNext bool) *pageInfo {
	p := &pageInfo{HasNextPage: hasNext, HasPreviousPage: hasPrev}
	if len(cursors) > 0 {
		p.StartCursor, p.EndCursor = &cursors[0], &cursors[len(cursors)-1]
	}
	return p
}

// Cursors are opaque to clients: base64url of "kind:part:part…". Offset
// cursors ("n:17") page through lists computed per request; position
// cursors ("o:indicator:42", "t:<ns>:42", "i:42") resume a scan.

func encodeCursor(kind string, parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strings.Join(parts, ":")))
}

// decodeCursor returns the parts of an after cursor of the given kind, or
// nil when there is none.
func decodeCursor(after *string, kind string, nparts int) ([]string, error) {
	if after == nil || *after == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*after)
	if err != nil {
		return nil, invalid("after", "after: not a cursor of this list")
	}
	parts := strings.SplitN(string(b), ":", nparts+1)
	if len(parts) != nparts+1 || parts[0] != kind {
		return nil, invalid("after", "after: not a cursor of this list")
	}
	return parts[1:], nil
}

func offsetCursor(i int) string { return encodeCursor("n", strconv.Itoa(i)) }

// offsetPage checks the paging arguments of a list computed per request:
// the page size (def when first is absent, see Limits.pageSize) and the
// position after the offset cursor after.
func offsetPage(l Limits, first int32, def int, after *string) (size, offset int, err error) {
	if size, err = l.pageSize(first, def); err != nil {
		return 0, 0, err
	}
	offset, err = decodeOffset(after)
	return size, offset, err
}

// decodeOffset returns the position after an offset cursor: 0 without one.
func decodeOffset(after *string) (int, error) {
	parts, err := decodeCursor(after, "n", 1)
	if err != nil || parts == nil {
		return 0, err
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0, invalid("after", "after: not a cursor of this list")
	}
	return n + 1, nil
}

// idCursor is a cursor of the given kind at an object, by its API id.
func (r *request) idCursor(kind string, id graph.ID) string {
	return encodeCursor(kind, r.api.ids.encode(id))
}

// parseIDPart reads the object of a cursor part that idCursor wrote.
func (r *request) parseIDPart(s string) (graph.ID, error) {
	id, ok := r.api.ids.decode(s)
	if !ok {
		return 0, invalid("after", "after: not a cursor of this list")
	}
	return id, nil
}

func clampInt32(n int64) int32 {
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(n)
}

// objectConnection is the StixObjectConnection type.
type objectConnection struct {
	Edges    []*objectEdge
	PageInfo *pageInfo
	count    func(ctx context.Context) (int64, error)
}

// objectEdge is the StixObjectEdge type.
type objectEdge struct {
	Cursor string
	Node   *objectResolver
}

// TotalCount is the size of the whole list, computed when asked.
func (c *objectConnection) TotalCount(ctx context.Context) (int32, error) {
	n, err := c.count(ctx)
	return clampInt32(n), err
}

// newObjectConnection builds a page of objects from resolvers and their
// cursors.
func newObjectConnection(objs []*objectResolver, cursor func(i int, o *objectResolver) string, hasPrev, hasNext bool, count func(ctx context.Context) (int64, error)) *objectConnection {
	c := &objectConnection{Edges: make([]*objectEdge, len(objs)), count: count}
	cursors := make([]string, len(objs))
	for i, o := range objs {
		cursors[i] = cursor(i, o)
		c.Edges[i] = &objectEdge{Cursor: cursors[i], Node: o}
	}
	c.PageInfo = newPageInfo(cursors, hasPrev, hasNext)
	return c
}

// neighbourConnection is the NeighbourConnection type.
type neighbourConnection struct {
	Edges    []*neighbourEdge
	PageInfo *pageInfo
	total    int64
}

// TotalCount is the number of matching edges.
func (c *neighbourConnection) TotalCount() int32 { return clampInt32(c.total) }

// neighbourEdge is the NeighbourEdge type.
type neighbourEdge struct {
	Cursor    string
	Node      *objectResolver
	Type      string
	Direction string
	Via       *objectResolver
}

// link is the Link type.
type link struct {
	Type string
	From *objectResolver
	To   *objectResolver
	Via  *objectResolver
}

// linkConnection is the LinkConnection type.
type linkConnection struct {
	Edges      []*linkEdge
	PageInfo   *pageInfo
	TotalCount int32
}

// linkEdge is the LinkEdge type.
type linkEdge struct {
	Cursor string
	Node   *link
}

// maxEdgeTypes caps how many edge types one argument may list.
const maxEdgeTypes = 64

// edgeTypesArg checks and normalises an edgeTypes argument: sorted, no
// duplicates, joined with commas.
func edgeTypesArg(types *[]string) (string, error) {
	if types == nil || len(*types) == 0 {
		return "", nil
	}
	if len(*types) > maxEdgeTypes {
		return "", limitErr("edgeTypes", "edgeTypes lists %d types, at most %d are allowed", len(*types), maxEdgeTypes)
	}
	ts := slices.Clone(*types)
	for _, t := range ts {
		if t == "" || len(t) > 250 || strings.ContainsAny(t, ", \t\n") {
			return "", invalid("edgeTypes", "edgeTypes: %q is not an edge type", t)
		}
	}
	slices.Sort(ts)
	return strings.Join(slices.Compact(ts), ","), nil
}

// directionArg maps the Direction enum to the store's.
func directionArg(d string) graph.Direction {
	switch d {
	case "OUT":
		return graph.Out
	case "IN":
		return graph.In
	}
	return graph.Both
}

// neighbourPage is one page of the edges at o. The edges of the whole
// sibling group are scanned in one batch, and the objects at their far ends
// loaded in one more.
func (o *objectResolver) neighbourPage(ctx context.Context, args neighbourArgs) (*neighbourConnection, error) {
	r := o.req
	first, offset, err := offsetPage(r.api.limits, args.First, 20, args.After)
	if err != nil {
		return nil, err
	}
	types, err := edgeTypesArg(args.EdgeTypes)
	if err != nil {
		return nil, err
	}
	key := edgeKey{id: o.n.ID, dir: directionArg(args.Direction), types: types, limit: offset + first,
		count: graphql.HasSelectedField(ctx, "totalCount")}
	r.edges.prefetch(ctx, o.grp.edgeKeys(key))
	l, err := r.edges.load(ctx, key)
	if err != nil {
		if errors.Is(err, graph.ErrNotFound) {
			return &neighbourConnection{Edges: []*neighbourEdge{}, PageInfo: newPageInfo(nil, false, false)}, nil
		}
		return nil, err
	}
	far, vias, err := o.grp.farEnds(ctx, r, key, offset, first)
	if err != nil {
		return nil, err
	}
	window := l.edges[min(offset, len(l.edges)):min(offset+first, len(l.edges))]
	c := &neighbourConnection{Edges: make([]*neighbourEdge, 0, len(window)), total: l.total}
	cursors := make([]string, 0, len(window))
	for i, e := range window {
		other, err := r.nodes.load(ctx, e.Other(o.n.ID))
		if errors.Is(err, graph.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ne := &neighbourEdge{Cursor: offsetCursor(offset + i), Type: e.Type, Direction: "IN",
			Node: r.resolver(other, far)}
		if e.From == o.n.ID {
			ne.Direction = "OUT"
		}
		if e.Via != 0 {
			if vn, err := r.nodes.load(ctx, e.Via); err == nil {
				ne.Via = r.resolver(vn, vias)
			}
		}
		c.Edges = append(c.Edges, ne)
		cursors = append(cursors, ne.Cursor)
	}
	c.PageInfo = newPageInfo(cursors, offset > 0, len(l.edges) > offset+first)
	return c, nil
}

// farEnds returns the groups of the objects at the far ends of the edges of
// every member for scan k (in the window [offset, offset+first)) and of the
// relationships behind them, loading all of them in one batch the first
// time a member asks.
func (g *group) farEnds(ctx context.Context, r *request, k edgeKey, offset, first int) (*group, *group, error) {
	k.id = 0
	fk := farKey{k: k, offset: offset}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.next == nil {
		g.next = map[farKey][2]*group{}
	}
	if gs, ok := g.next[fk]; ok {
		return gs[0], gs[1], nil
	}
	seen := map[graph.ID]bool{}
	var ids, vias []graph.ID
	for _, id := range g.ids {
		kk := k
		kk.id = id
		l, err := r.edges.load(ctx, kk)
		if err != nil {
			continue
		}
		for _, e := range l.edges[min(offset, len(l.edges)):min(offset+first, len(l.edges))] {
			if o := e.Other(id); !seen[o] {
				seen[o] = true
				ids = append(ids, o)
			}
			if e.Via != 0 && !seen[e.Via] {
				seen[e.Via] = true
				vias = append(vias, e.Via)
			}
		}
	}
	r.nodes.prefetch(ctx, append(slices.Clone(ids), vias...))
	far, viaGroup := newGroup(ids), newGroup(vias)
	g.next[fk] = [2]*group{far, viaGroup}
	return far, viaGroup, nil
}

// farKey names one window of one edge scan of a group's members.
type farKey struct {
	k      edgeKey
	offset int
}
