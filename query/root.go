package query

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// rootResolver is the schema's root: Query and Mutation return the
// resolvers of the two operation types. It holds no per-request state.
type rootResolver struct {
	q *queryResolver
	m *mutationResolver
}

// Query returns the query resolver.
func (r *rootResolver) Query() *queryResolver { return r.q }

// Mutation returns the mutation resolver.
func (r *rootResolver) Mutation() *mutationResolver { return r.m }

// queryResolver resolves the fields of Query.
type queryResolver struct{ api *API }

// resolveID finds the visible node an id argument names: an API id (see
// idCodec) or a STIX id.
func (r *request) resolveID(tx *graph.Tx, field, id string) (graph.ID, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return 0, invalid(field, "%s is empty", field)
	}
	if n, ok := r.api.ids.decode(id); ok {
		if !tx.Visible(n) {
			return 0, &Error{Code: CodeNotFound, Field: field, Object: id, Message: "no visible object has id " + id, Err: graph.ErrNotFound}
		}
		return n, nil
	}
	if len(id) > 300 || !schema.IsIdentifier(id) {
		return 0, invalid(field, "%s: %q is neither a STIX id nor an API id", field, id)
	}
	n, err := tx.Lookup(id)
	if errors.Is(err, graph.ErrNotFound) {
		return 0, &Error{Code: CodeNotFound, Field: field, Object: id, Message: "no visible object has id " + id, Err: err}
	}
	return n, err
}

// lookup resolves an id argument in its own snapshot.
func (r *request) lookup(ctx context.Context, field, id string) (graph.ID, error) {
	var n graph.ID
	err := r.view(ctx, func(tx *graph.Tx) error {
		var err error
		n, err = r.resolveID(tx, field, id)
		return err
	})
	return n, err
}

// Node resolves Query.node.
func (q *queryResolver) Node(ctx context.Context, args struct{ ID graphql.ID }) (*objectResolver, error) {
	r := reqFrom(ctx)
	id, err := r.lookup(ctx, "id", string(args.ID))
	var e *Error
	if errors.As(err, &e) && e.Code == CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The object of a root field has no siblings to wait for: it is read
	// at once, not after the loader's batch window.
	r.nodes.prefetch(ctx, []graph.ID{id})
	return r.object(ctx, id)
}

// searchConnection is the SearchConnection type.
type searchConnection struct {
	Edges      []*searchEdge
	PageInfo   *pageInfo
	TotalCount int32
	facets     map[string]uint64
}

// searchEdge is the SearchEdge type.
type searchEdge struct {
	Cursor string
	Node   *objectResolver
	Score  float64
}

// typeCount is the TypeCount type.
type typeCount struct {
	Type  string
	Count int32
}

// Facets are the per-type counts, most first.
func (c *searchConnection) Facets() []*typeCount {
	out := make([]*typeCount, 0, len(c.facets))
	for t, n := range c.facets {
		out = append(out, &typeCount{Type: t, Count: clampInt32(int64(n))})
	}
	slices.SortFunc(out, func(a, b *typeCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Type, b.Type)
	})
	return out
}

// maxSearchText bounds the search text.
const maxSearchText = 1000

// typesArg checks a list of STIX type names.
func typesArg(field string, types *[]string) ([]string, error) {
	if types == nil {
		return nil, nil
	}
	if len(*types) > 100 {
		return nil, limitErr(field, "%s lists %d types, at most 100 are allowed", field, len(*types))
	}
	for _, t := range *types {
		if len(t) == 0 || len(t) > 250 {
			return nil, invalid(field, "%s: %q is not a STIX type", field, t)
		}
	}
	out := slices.Clone(*types)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Search resolves Query.search.
func (q *queryResolver) Search(ctx context.Context, args struct {
	Query string
	Types *[]string
	First int32
	After *string
}) (*searchConnection, error) {
	r := reqFrom(ctx)
	first, offset, err := offsetPage(q.api.limits, args.First, 20, args.After)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(args.Query)
	if text == "" {
		return nil, invalid("query", "query is empty")
	}
	if len(text) > maxSearchText {
		return nil, limitErr("query", "query is %d bytes, at most %d are allowed", len(text), maxSearchText)
	}
	types, err := typesArg("types", args.Types)
	if err != nil {
		return nil, err
	}
	if offset > math.MaxInt32-first {
		return nil, invalid("after", "after: not a cursor of this list")
	}
	size := max(first, 1)
	res, err := q.api.reader.Search(ctx, r.viewer, graph.SearchQuery{Text: text, Types: types, From: offset, Size: size,
		Facets: graphql.HasSelectedField(ctx, "facets")})
	if err != nil {
		if errors.Is(err, graph.ErrInvalid) {
			return nil, invalid("query", "%v", err)
		}
		return nil, err
	}
	hits := res.Hits
	if first == 0 {
		hits = nil
	}
	ids := make([]graph.ID, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	g, nodes, err := r.groupWith(ctx, r.objectLoader(ctx, "edges.node"), ids)
	if err != nil {
		return nil, err
	}
	byID := nodesByID(nodes)
	c := &searchConnection{Edges: []*searchEdge{}, TotalCount: clampInt32(int64(res.Total)), facets: res.Facets}
	var cursors []string
	for i, h := range hits {
		n, ok := byID[h.ID]
		if !ok {
			continue
		}
		e := &searchEdge{Cursor: offsetCursor(offset + i), Node: r.resolver(n, g), Score: h.Score}
		c.Edges = append(c.Edges, e)
		cursors = append(cursors, e.Cursor)
	}
	c.PageInfo = newPageInfo(cursors, offset > 0, uint64(offset+len(hits)) < res.Total)
	return c, nil
}

// objectFilter is the ObjectFilter input.
type objectFilter struct {
	Types          *[]string
	Labels         *[]string
	Markings       *[]string
	CreatedBy      *graphql.ID
	ModifiedAfter  *graphql.Time
	ModifiedBefore *graphql.Time
}

// Objects resolves Query.objects.
func (q *queryResolver) Objects(ctx context.Context, args struct {
	Filter *objectFilter
	First  int32
	After  *string
}) (*objectConnection, error) {
	r := reqFrom(ctx)
	first, err := q.api.limits.pageSize(args.First, 20)
	if err != nil {
		return nil, err
	}
	f := args.Filter
	if f == nil {
		f = &objectFilter{}
	}
	spec, err := r.objectScan(ctx, f)
	if err != nil {
		return nil, err
	}
	return r.scanConnection(ctx, spec, args.After, first)
}

// objectScan turns an object filter into a scan: over the objects created
// by one identity, over a time window, or over types.
func (r *request) objectScan(ctx context.Context, f *objectFilter) (*scanSpec, error) {
	types, err := typesArg("filter.types", f.Types)
	if err != nil {
		return nil, err
	}
	var labels []string
	if f.Labels != nil {
		labels = *f.Labels
	}
	var tlps []schema.TLP
	if f.Markings != nil {
		for _, m := range *f.Markings {
			tlps = append(tlps, parseTLPEnum(m))
		}
	}
	var creator graph.ID
	if f.CreatedBy != nil {
		creator, err = r.lookup(ctx, "filter.createdBy", string(*f.CreatedBy))
		var e *Error
		if errors.As(err, &e) && e.Code == CodeNotFound {
			return &scanSpec{kind: "e", nparts: 1, source: func(*graph.Tx, []string, func(graph.ID, string) bool) error { return nil }}, nil
		}
		if err != nil {
			return nil, err
		}
	}
	var from, to time.Time
	timed := f.ModifiedAfter != nil || f.ModifiedBefore != nil
	if f.ModifiedAfter != nil {
		from = f.ModifiedAfter.Time
	}
	if f.ModifiedBefore != nil {
		to = f.ModifiedBefore.Time
		if !from.IsZero() && !to.After(from) {
			return nil, invalid("filter.modifiedBefore", "modifiedBefore must be after modifiedAfter")
		}
	}
	spec := &scanSpec{}
	// Conditions the scan's source does not ensure are checked on records.
	checkType, checkTime, checkCreator := len(types) > 0, timed, creator != 0
	switch {
	case creator != 0:
		checkCreator = false
		spec.kind, spec.nparts = "c", 1
		spec.source = r.inEdgeSource("c", creator, "created_by_ref")
	case timed:
		checkTime = false
		spec.kind, spec.nparts = "t", 2
		spec.source = func(tx *graph.Tx, after []string, yield func(graph.ID, string) bool) error {
			start := from
			if start.IsZero() {
				start = time.Unix(0, math.MinInt64+1)
			}
			var afterNS int64
			var afterID graph.ID
			if after != nil {
				ns, err := strconv.ParseInt(after[0], 10, 64)
				if err != nil {
					return invalid("after", "after: not a cursor of this list")
				}
				if afterID, err = r.parseIDPart(after[1]); err != nil {
					return err
				}
				afterNS = ns
				start = time.Unix(0, ns)
			}
			return tx.ByTime(start, to, func(id graph.ID, t time.Time) bool {
				ns := t.UnixNano()
				if after != nil && ns == afterNS && id <= afterID {
					return true
				}
				return yield(id, encodeCursor("t", strconv.FormatInt(ns, 10), r.api.ids.encode(id)))
			})
		}
	default:
		checkType = false
		spec.kind, spec.nparts = "o", 2
		spec.source = func(tx *graph.Tx, after []string, yield func(graph.ID, string) bool) error {
			ts := types
			if len(ts) == 0 {
				// TODO(graph): a cheap list of type names; Types counts.
				counts, err := tx.Types()
				if err != nil {
					return err
				}
				for _, c := range counts {
					ts = append(ts, c.Type)
				}
			}
			start, afterID := 0, graph.ID(0)
			if after != nil {
				i, _ := slices.BinarySearch(ts, after[0])
				start = i
				if i < len(ts) && ts[i] == after[0] {
					var err error
					if afterID, err = r.parseIDPart(after[1]); err != nil {
						return err
					}
				}
			}
			stopped := false
			for _, t := range ts[start:] {
				err := tx.ByType(t, afterID, func(id graph.ID) bool {
					if !yield(id, encodeCursor("o", t, r.api.ids.encode(id))) {
						stopped = true
						return false
					}
					return true
				})
				if err != nil || stopped {
					return err
				}
				afterID = 0
			}
			return nil
		}
		if len(labels) == 0 && len(tlps) == 0 {
			// Counting needs no scan: the per-type counts answer it.
			spec.count = func(tx *graph.Tx) (int64, error) {
				counts, err := tx.Types()
				var n int64
				for _, c := range counts {
					if len(types) == 0 || slices.Contains(types, c.Type) {
						n += c.Count
					}
				}
				return n, err
			}
		}
	}
	if checkType || checkTime || checkCreator || len(labels) > 0 || len(tlps) > 0 {
		creatorStix := ""
		spec.keep = func(tx *graph.Tx, n *graph.Node) (bool, error) {
			if checkType && !slices.Contains(types, n.Type) {
				return false, nil
			}
			if checkTime && (n.Modified.IsZero() || n.Modified.Before(from) || (!to.IsZero() && !n.Modified.Before(to))) {
				return false, nil
			}
			if len(tlps) > 0 && !slices.Contains(tlps, n.Policy.TLP) {
				return false, nil
			}
			if !checkCreator && len(labels) == 0 {
				return true, nil
			}
			o, err := n.Object()
			if err != nil {
				return false, nil
			}
			if checkCreator {
				if creatorStix == "" {
					cn, err := tx.Node(creator)
					if err != nil {
						return false, err
					}
					creatorStix = cn.StixID
				}
				if s, _ := o.String("created_by_ref"); s != creatorStix {
					return false, nil
				}
			}
			if len(labels) > 0 && !slices.ContainsFunc(o.Strings("labels"), func(l string) bool { return slices.Contains(labels, l) }) {
				return false, nil
			}
			return true, nil
		}
	}
	return spec, nil
}

// Cases resolves Query.cases.
func (q *queryResolver) Cases(ctx context.Context, args struct {
	Filter *struct {
		Status   *[]string
		Severity *[]string
	}
	First int32
	After *string
}) (*objectConnection, error) {
	r := reqFrom(ctx)
	first, err := q.api.limits.pageSize(args.First, 20)
	if err != nil {
		return nil, err
	}
	var statuses, severities []string
	if args.Filter != nil {
		if args.Filter.Status != nil {
			for _, s := range *args.Filter.Status {
				statuses = append(statuses, enumValue(s))
			}
		}
		if args.Filter.Severity != nil {
			for _, s := range *args.Filter.Severity {
				severities = append(severities, enumValue(s))
			}
		}
	}
	spec := r.typeScan(schema.TypeCase)
	if len(statuses) > 0 || len(severities) > 0 {
		spec.keep = func(_ *graph.Tx, n *graph.Node) (bool, error) {
			o, err := n.Object()
			if err != nil {
				return false, nil
			}
			st, _ := o.String("status")
			sv, _ := o.String("severity")
			return (len(statuses) == 0 || slices.Contains(statuses, st)) && (len(severities) == 0 || slices.Contains(severities, sv)), nil
		}
	}
	return r.scanConnection(ctx, spec, args.After, first)
}

// typeScan scans the objects of one type by internal id.
func (r *request) typeScan(typ string) *scanSpec {
	return &scanSpec{kind: "i", nparts: 1, source: func(tx *graph.Tx, after []string, yield func(graph.ID, string) bool) error {
		var afterID graph.ID
		if after != nil {
			var err error
			if afterID, err = r.parseIDPart(after[0]); err != nil {
				return err
			}
		}
		return tx.ByType(typ, afterID, func(id graph.ID) bool { return yield(id, r.idCursor("i", id)) })
	}}
}

// Case resolves Query.case.
func (q *queryResolver) Case(ctx context.Context, args struct{ ID graphql.ID }) (*objectResolver, error) {
	o, err := q.Node(ctx, args)
	if err != nil || o == nil || o.n.Type != schema.TypeCase {
		return nil, err
	}
	return o, nil
}

// Sightings resolves Query.sightings.
func (q *queryResolver) Sightings(ctx context.Context, args struct {
	Filter *struct {
		SightingOf *graphql.ID
		Since      *graphql.Time
		Until      *graphql.Time
	}
	First int32
	After *string
}) (*objectConnection, error) {
	r := reqFrom(ctx)
	first, err := q.api.limits.pageSize(args.First, 20)
	if err != nil {
		return nil, err
	}
	spec := r.typeScan("sighting")
	var since, until time.Time
	if f := args.Filter; f != nil {
		if f.SightingOf != nil {
			target, err := r.lookup(ctx, "filter.sightingOf", string(*f.SightingOf))
			var e *Error
			if errors.As(err, &e) && e.Code == CodeNotFound {
				return newObjectConnection(nil, nil, false, false, func(context.Context) (int64, error) { return 0, nil }), nil
			}
			if err != nil {
				return nil, err
			}
			spec = &scanSpec{kind: "i", nparts: 1, source: r.inEdgeSource("i", target, "sighting_of_ref")}
		}
		if f.Since != nil {
			since = f.Since.Time
		}
		if f.Until != nil {
			until = f.Until.Time
		}
	}
	if !since.IsZero() || !until.IsZero() {
		spec.keep = func(_ *graph.Tx, n *graph.Node) (bool, error) {
			t := n.Modified
			if o, err := n.Object(); err == nil {
				if s, ok := o.String("first_seen"); ok {
					if ft, err := schema.ParseTimestamp(s); err == nil {
						t = ft
					}
				}
			}
			return !t.IsZero() && !t.Before(since) && (until.IsZero() || t.Before(until)), nil
		}
	}
	return r.scanConnection(ctx, spec, args.After, first)
}

// ingestStatus is the IngestStatus type.
type ingestStatus struct {
	IndexLag      int32
	Committed     float64
	Indexed       float64
	IndexDocs     float64
	IndexError    *string
	IndexSegments int32
	IndexOptimize *indexOptimize
	TotalObjects  int32
	Counts        []*typeCount
}

// indexOptimize is the IndexOptimize type.
type indexOptimize struct {
	Running        bool
	Started        graphql.Time
	Finished       *graphql.Time
	SegmentsBefore int32
	SegmentsAfter  *int32
	Error          *string
}

// newIndexOptimize is the IndexOptimize of a merge, nil for none.
func newIndexOptimize(o *graph.OptimizeState) *indexOptimize {
	if o == nil {
		return nil
	}
	out := &indexOptimize{Running: o.Running(), Started: graphql.Time{Time: o.Started},
		SegmentsBefore: clampInt32(int64(o.Segments.Before))}
	switch {
	case out.Running:
	case o.Err != nil:
		out.Finished, out.Error = gqlTime(o.Finished), optString(o.Err.Error())
	default:
		after := clampInt32(int64(o.Segments.After))
		out.Finished, out.SegmentsAfter = gqlTime(o.Finished), &after
	}
	return out
}

// IngestStatus resolves Query.ingestStatus.
func (q *queryResolver) IngestStatus(ctx context.Context) (*ingestStatus, error) {
	return reqFrom(ctx).ingestStatus(ctx)
}

// ingestStatus reads the ingest status as the request's caller may see it.
func (r *request) ingestStatus(ctx context.Context) (*ingestStatus, error) {
	out := &ingestStatus{Counts: []*typeCount{}}
	// The store-wide figures count every organization's writes and
	// documents, so they go to the operator only: anyone else could watch
	// them move when another agency stores what it may not see.
	if r.operator() {
		st := r.api.store.IndexStatus()
		out.IndexLag, out.Committed = clampInt32(int64(min(st.Lag, math.MaxInt32))), float64(st.Committed)
		out.Indexed, out.IndexDocs = float64(st.Indexed), float64(st.Docs)
		out.IndexSegments = clampInt32(int64(st.Segments))
		if st.Err != nil {
			out.IndexError = optString(st.Err.Error())
		}
		out.IndexOptimize = newIndexOptimize(st.Optimize)
	}
	var total int64
	err := r.view(ctx, func(tx *graph.Tx) error {
		counts, err := tx.Types()
		for _, c := range counts {
			out.Counts = append(out.Counts, &typeCount{Type: c.Type, Count: clampInt32(c.Count)})
			total += c.Count
		}
		return err
	})
	out.TotalObjects = clampInt32(total)
	return out, err
}

// viewerInfo is the ViewerInfo type.
type viewerInfo struct {
	User, Organization, Role string
	System                   bool
}

// Viewer resolves Query.viewer.
func (q *queryResolver) Viewer(ctx context.Context) *viewerInfo {
	r := reqFrom(ctx)
	return &viewerInfo{User: r.principal.User, Organization: r.principal.Org, Role: string(r.principal.Role), System: r.viewer.IsSystem()}
}

// scanSpec is a listing: a source of ids in a stable order, each with the
// cursor that resumes after it, and a condition on their records.
type scanSpec struct {
	kind   string
	nparts int
	source func(tx *graph.Tx, after []string, yield func(graph.ID, string) bool) error
	// keep, when set, decides on the record whether a node is listed.
	keep func(tx *graph.Tx, n *graph.Node) (bool, error)
	// count, when set, counts the whole listing without a scan.
	count func(tx *graph.Tx) (int64, error)
}

// scanPage is what one scan found.
type scanPage struct {
	ids     []graph.ID
	cursors []string
	nodes   []*graph.Node // when keep read them
	hasNext bool
	end     string // where the scan stopped, when the budget ended it
}

// scan runs a listing in one snapshot: up to limit matches after the
// cursor, whether more follow, and where it stopped when it had to examine
// more than Limits.MaxScan objects.
func (r *request) scan(ctx context.Context, spec *scanSpec, after *string, limit int) (*scanPage, error) {
	parts, err := decodeCursor(after, spec.kind, spec.nparts)
	if err != nil {
		return nil, err
	}
	p := &scanPage{}
	budget := r.api.limits.MaxScan
	err = r.view(ctx, func(tx *graph.Tx) error {
		examined := 0
		var ferr error
		err := spec.source(tx, parts, func(id graph.ID, cursor string) bool {
			examined++
			if examined%256 == 0 {
				if ferr = ctx.Err(); ferr != nil {
					return false
				}
			}
			if examined > budget {
				p.hasNext = true
				return false
			}
			var n *graph.Node
			if spec.keep != nil {
				var err error
				if n, err = tx.Node(id); err != nil {
					if errors.Is(err, graph.ErrNotFound) {
						return true
					}
					ferr = err
					return false
				}
				ok, err := spec.keep(tx, n)
				if err != nil {
					ferr = err
					return false
				}
				if !ok {
					p.end = cursor
					return true
				}
			}
			if len(p.ids) == limit {
				p.hasNext = true
				return false
			}
			p.ids = append(p.ids, id)
			p.cursors = append(p.cursors, cursor)
			if n != nil {
				p.nodes = append(p.nodes, n)
			}
			p.end = cursor
			return true
		})
		if err == nil {
			err = ferr
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// scanConnection runs a listing and makes a page of objects of it. The
// page's end cursor is where the scan stopped, so a page that the scan
// budget cut short (fewer than first objects, hasNextPage set) still lets
// the client go on.
func (r *request) scanConnection(ctx context.Context, spec *scanSpec, after *string, first int) (*objectConnection, error) {
	p, err := r.scan(ctx, spec, after, first)
	if err != nil {
		return nil, err
	}
	var nodes []*graph.Node
	var g *group
	if p.nodes != nil {
		if err := r.charge(len(p.nodes)); err != nil {
			return nil, err
		}
		for _, n := range p.nodes {
			r.nodes.prime(n.ID, n)
		}
		g, nodes = newGroup(p.ids), p.nodes
	} else if g, nodes, err = r.groupNodes(ctx, p.ids); err != nil {
		return nil, err
	}
	cursorOf := map[graph.ID]string{}
	for i, id := range p.ids {
		cursorOf[id] = p.cursors[i]
	}
	count := func(ctx context.Context) (int64, error) { return r.count(ctx, spec) }
	c := newObjectConnection(r.objects(g, nodes), func(_ int, o *objectResolver) string { return cursorOf[o.n.ID] }, after != nil && *after != "", p.hasNext, count)
	if p.hasNext && p.end != "" {
		c.PageInfo.EndCursor = &p.end
	}
	return c, nil
}

// count counts a whole listing, within the scan budget.
func (r *request) count(ctx context.Context, spec *scanSpec) (int64, error) {
	if spec.count != nil {
		var n int64
		err := r.view(ctx, func(tx *graph.Tx) error {
			var err error
			n, err = spec.count(tx)
			return err
		})
		return n, err
	}
	var n int64
	budget := r.api.limits.MaxScan
	err := r.view(ctx, func(tx *graph.Tx) error {
		examined := 0
		var ferr error
		err := spec.source(tx, nil, func(id graph.ID, _ string) bool {
			examined++
			if examined > budget {
				ferr = limitErr("totalCount", "counting needs to examine more than %d objects; narrow the filter or page without totalCount", budget)
				return false
			}
			if examined%256 == 0 {
				if ferr = ctx.Err(); ferr != nil {
					return false
				}
			}
			if spec.keep != nil {
				node, err := tx.Node(id)
				if errors.Is(err, graph.ErrNotFound) {
					return true
				}
				if err != nil {
					ferr = err
					return false
				}
				ok, err := spec.keep(tx, node)
				if err != nil {
					ferr = err
					return false
				}
				if !ok {
					return true
				}
			}
			n++
			return true
		})
		if err == nil {
			err = ferr
		}
		return err
	})
	return n, err
}

// inEdgeSource is a scan source over the nodes with an edge of edgeType to
// node (the objects a creator made, the sightings of an object), in id
// order, with cursors of the given kind.
func (r *request) inEdgeSource(kind string, node graph.ID, edgeType string) func(tx *graph.Tx, after []string, yield func(graph.ID, string) bool) error {
	return func(tx *graph.Tx, after []string, yield func(graph.ID, string) bool) error {
		var afterID graph.ID
		if after != nil {
			var err error
			if afterID, err = r.parseIDPart(after[0]); err != nil {
				return err
			}
		}
		return tx.Neighbours(node, graph.NeighbourQuery{Dir: graph.In, EdgeTypes: []string{edgeType}}, func(e graph.Edge) bool {
			if e.From <= afterID {
				return true
			}
			return yield(e.From, r.idCursor(kind, e.From))
		})
	}
}
