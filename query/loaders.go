package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/graph-gophers/dataloader/v7"
	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
)

// Reader is the part of the store that resolvers read through. Every read
// of a request goes through it, so a test can count them (see
// APIOptions.Reader); *graph.Store implements it.
type Reader interface {
	// View runs fn in a read-only snapshot as viewer v.
	View(v graph.Viewer, fn func(tx *graph.Tx) error) error
	// Search runs a full-text query as viewer v.
	Search(ctx context.Context, v graph.Viewer, q graph.SearchQuery) (*graph.SearchResult, error)
}

// request is the state of one GraphQL request: who asks, and the
// request-scoped loaders that batch and cache store reads. It lives in the
// request's context; the root resolvers hold no per-request state.
type request struct {
	api       *API
	viewer    graph.Viewer
	principal graph.Principal
	readOnly  bool // the request came by GET: no mutations

	// nodes loads node records by internal id; refs loads only their ids
	// and types, for objects of which nothing else is asked (see
	// namesOnly); byStix resolves STIX ids to nodes; edges loads the edges
	// at a node.
	nodes  *loader[graph.ID, *graph.Node]
	refs   *loader[graph.ID, *graph.Node]
	byStix *loader[string, *graph.Node]
	edges  *loader[edgeKey, *edgeList]

	loaded atomic.Int64 // objects loaded, against Limits.MaxNodes

	audit *AuditRecord // notes the objects returned; nil when not audited
}

type requestKey struct{}

func (a *API) newRequest(v graph.Viewer, p graph.Principal, readOnly bool) *request {
	r := &request{api: a, viewer: v, principal: p, readOnly: readOnly}
	r.nodes = newLoader(r.loadNodes)
	r.refs = newLoader(r.loadRefs)
	r.byStix = newLoader(r.loadByStix)
	r.edges = newLoader(r.loadEdges)
	return r
}

func withRequest(ctx context.Context, r *request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// reqFrom returns the request of ctx. Resolvers run only under Exec, which
// always sets it.
func reqFrom(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey{}).(*request)
	if r == nil {
		panic("query: resolver called without a request in its context")
	}
	return r
}

// view runs fn in a snapshot as the request's viewer, failing early when
// the request's time is up.
func (r *request) view(ctx context.Context, fn func(tx *graph.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.api.reader.View(r.viewer, fn)
}

// charge counts n more objects against Limits.MaxNodes.
func (r *request) charge(n int) error {
	if got := r.loaded.Add(int64(n)); got > int64(r.api.limits.MaxNodes) {
		return limitErr("", "the request loads more than %d objects; ask for smaller pages or fewer nested connections", r.api.limits.MaxNodes)
	}
	return nil
}

// loadNodes is the batch function of the node loader: one snapshot for the
// whole batch.
func (r *request) loadNodes(ctx context.Context, ids []graph.ID) []*dataloader.Result[*graph.Node] {
	return r.loadEach(ctx, ids, (*graph.Tx).Node)
}

// loadRefs is the batch function of the ref loader. Its nodes hold only
// ID, StixID and Type: the resolvers of objects of which nothing else is
// asked need no more, and the store then reads no record.
func (r *request) loadRefs(ctx context.Context, ids []graph.ID) []*dataloader.Result[*graph.Node] {
	return r.loadEach(ctx, ids, func(tx *graph.Tx, id graph.ID) (*graph.Node, error) {
		ref, err := tx.Ref(id)
		if err != nil {
			return nil, err
		}
		return &graph.Node{ID: ref.ID, StixID: ref.StixID, Type: ref.Type}, nil
	})
}

// loadEach reads each of ids with read in one snapshot, charging them
// against Limits.MaxNodes.
func (r *request) loadEach(ctx context.Context, ids []graph.ID, read func(*graph.Tx, graph.ID) (*graph.Node, error)) []*dataloader.Result[*graph.Node] {
	out := make([]*dataloader.Result[*graph.Node], len(ids))
	if err := r.charge(len(ids)); err != nil {
		return fill(out, err)
	}
	err := r.view(ctx, func(tx *graph.Tx) error {
		for i, id := range ids {
			n, err := read(tx, id)
			out[i] = &dataloader.Result[*graph.Node]{Data: n, Error: err}
		}
		return nil
	})
	if err != nil {
		return fill(out, err)
	}
	return out
}

// refFields are the fields of a StixObject that a ref loader's node
// answers.
var refFields = map[string]bool{"id": true, "stixId": true, "type": true}

// namesOnly reports whether the objects at each of paths (selection paths
// under the field being resolved, such as "nodes.edges.node") are asked
// for nothing but id, stixId, type and __typename, so that the ref loader
// may load them instead of the node loader.
func namesOnly(ctx context.Context, paths ...string) bool {
	for _, f := range graphql.SelectedFieldNames(ctx) {
		for _, p := range paths {
			if rest, ok := strings.CutPrefix(f, p+"."); ok && !refFields[rest] {
				return false
			}
		}
	}
	return true
}

// objectLoader returns the loader for the objects at paths: the ref loader
// when namesOnly allows it, else the node loader.
func (r *request) objectLoader(ctx context.Context, paths ...string) *loader[graph.ID, *graph.Node] {
	if namesOnly(ctx, paths...) {
		return r.refs
	}
	return r.nodes
}

// loadByStix resolves STIX ids to nodes in one snapshot.
func (r *request) loadByStix(ctx context.Context, ids []string) []*dataloader.Result[*graph.Node] {
	out := make([]*dataloader.Result[*graph.Node], len(ids))
	if err := r.charge(len(ids)); err != nil {
		return fill(out, err)
	}
	err := r.view(ctx, func(tx *graph.Tx) error {
		for i, id := range ids {
			n, err := tx.NodeByStixID(id)
			out[i] = &dataloader.Result[*graph.Node]{Data: n, Error: err}
		}
		return nil
	})
	if err != nil {
		return fill(out, err)
	}
	for _, res := range out {
		if res.Error == nil {
			r.nodes.prime(res.Data.ID, res.Data)
		}
	}
	return out
}

// edgeKey names one edge scan: the edges at id in direction dir of the
// types in types (joined by commas; empty for all), the first limit of
// them, and whether to count them all.
type edgeKey struct {
	id    graph.ID
	dir   graph.Direction
	types string
	limit int
	count bool
}

// edgeList is what an edge scan found: up to limit edges (one more when
// there are more), and the total when asked.
type edgeList struct {
	edges []graph.Edge
	total int64
}

func (k edgeKey) query() graph.NeighbourQuery {
	q := graph.NeighbourQuery{Dir: k.dir}
	if k.types != "" {
		q.EdgeTypes = strings.Split(k.types, ",")
	}
	return q
}

// loadEdges scans the edges of a batch of nodes in one snapshot.
func (r *request) loadEdges(ctx context.Context, keys []edgeKey) []*dataloader.Result[*edgeList] {
	out := make([]*dataloader.Result[*edgeList], len(keys))
	err := r.view(ctx, func(tx *graph.Tx) error {
		for i, k := range keys {
			if i%64 == 63 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			l := &edgeList{}
			err := tx.Neighbours(k.id, k.query(), func(e graph.Edge) bool {
				l.edges = append(l.edges, e)
				return len(l.edges) <= k.limit
			})
			if err == nil && k.count {
				l.total, err = degree(tx, k)
			}
			out[i] = &dataloader.Result[*edgeList]{Data: l, Error: err}
		}
		return nil
	})
	if err != nil {
		return fill(out, err)
	}
	return out
}

// degree counts the visible edges an edge key covers.
func degree(tx *graph.Tx, k edgeKey) (int64, error) {
	dir := k.dir
	if dir == 0 {
		dir = graph.Both
	}
	if k.types == "" {
		return tx.Degree(k.id, dir, "")
	}
	var total int64
	for _, t := range strings.Split(k.types, ",") {
		n, err := tx.Degree(k.id, dir, t)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func fill[V any](out []*dataloader.Result[V], err error) []*dataloader.Result[V] {
	for i := range out {
		out[i] = &dataloader.Result[V]{Error: err}
	}
	return out
}

// loader is a request-scoped dataloader with one addition: prefetch, which
// loads a whole group of keys (the siblings of a page) in one batch at
// once, instead of waiting for a batch window to collect them. Resolvers
// call prefetch with their group's keys and then load their own key, which
// the first sibling's prefetch has put in the cache.
type loader[K comparable, V any] struct {
	dl    *dataloader.Loader[K, V]
	cache *thunkCache[K, V]
	batch dataloader.BatchFunc[K, V]
}

// batchWait is how long the dataloader collects single loads into a batch.
const batchWait = 500 * time.Microsecond

func newLoader[K comparable, V any](batch dataloader.BatchFunc[K, V]) *loader[K, V] {
	c := &thunkCache[K, V]{m: map[K]dataloader.Thunk[V]{}}
	return &loader[K, V]{
		dl: dataloader.NewBatchedLoader(batch,
			dataloader.WithCache[K, V](c),
			dataloader.WithWait[K, V](batchWait),
			dataloader.WithBatchCapacity[K, V](1000)),
		cache: c,
		batch: batch,
	}
}

// load returns the value of key, batched with other loads.
func (l *loader[K, V]) load(ctx context.Context, key K) (V, error) {
	return l.dl.Load(ctx, key)()
}

// prime stores a value already read.
func (l *loader[K, V]) prime(key K, v V) {
	l.cache.setIfAbsent(key, func() (V, error) { return v, nil })
}

// prefetch loads every key of keys not yet loaded or loading, in one batch,
// and returns when it is done.
func (l *loader[K, V]) prefetch(ctx context.Context, keys []K) {
	var (
		todo []K
		res  []*dataloader.Result[V]
		done = make(chan struct{})
	)
	l.cache.mu.Lock()
	for _, k := range keys {
		if _, ok := l.cache.m[k]; ok {
			continue
		}
		i := len(todo)
		todo = append(todo, k)
		l.cache.m[k] = func() (V, error) {
			<-done
			return res[i].Data, res[i].Error
		}
	}
	l.cache.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	defer close(done)
	defer func() {
		if p := recover(); p != nil {
			res = fill(make([]*dataloader.Result[V], len(todo)), fmt.Errorf("panic in batch: %v", p))
		}
	}()
	res = l.batch(ctx, todo)
	if len(res) != len(todo) {
		res = fill(make([]*dataloader.Result[V], len(todo)), errors.New("batch returned the wrong number of results"))
	}
}

// thunkCache is the loaders' cache: a map guarded by a mutex, which
// prefetch fills with pending thunks.
type thunkCache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]dataloader.Thunk[V]
}

func (c *thunkCache[K, V]) Get(_ context.Context, k K) (dataloader.Thunk[V], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[k]
	return t, ok
}

func (c *thunkCache[K, V]) Set(_ context.Context, k K, t dataloader.Thunk[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = t
}

func (c *thunkCache[K, V]) setIfAbsent(k K, t dataloader.Thunk[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok {
		c.m[k] = t
	}
}

func (c *thunkCache[K, V]) Delete(_ context.Context, k K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[k]
	delete(c.m, k)
	return ok
}

func (c *thunkCache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// group is a set of sibling objects: the nodes of one page or one list.
// Their loads are batched together: when one sibling needs its edges or
// its references, the whole group's are read in one batch.
type group struct {
	ids []graph.ID

	mu      sync.Mutex
	next    map[farKey][2]*group  // the groups of the far ends and of the relationships, per scan window
	refsFor map[string]*sync.Once // prefetches of reference properties' targets
}

// onceFor returns the Once that guards the prefetch of prop's targets for
// the group: the first sibling runs it, the others wait for it.
func (g *group) onceFor(prop string) *sync.Once {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refsFor == nil {
		g.refsFor = map[string]*sync.Once{}
	}
	o := g.refsFor[prop]
	if o == nil {
		o = new(sync.Once)
		g.refsFor[prop] = o
	}
	return o
}

func newGroup(ids []graph.ID) *group {
	return &group{ids: slices.Clone(ids)}
}

// edgeKeys returns the scan key of every member, for the scan k of one of
// them.
func (g *group) edgeKeys(k edgeKey) []edgeKey {
	keys := make([]edgeKey, len(g.ids))
	for i, id := range g.ids {
		keys[i] = k
		keys[i].id = id
	}
	return keys
}

// groupNodes loads the records of ids as one group and returns them in
// order, leaving out those not visible; it prefetches them in one batch.
func (r *request) groupNodes(ctx context.Context, ids []graph.ID) (*group, []*graph.Node, error) {
	return r.groupWith(ctx, r.nodes, ids)
}

// groupWith is groupNodes loading through objs: the node loader or the
// ref loader.
func (r *request) groupWith(ctx context.Context, objs *loader[graph.ID, *graph.Node], ids []graph.ID) (*group, []*graph.Node, error) {
	g := newGroup(ids)
	objs.prefetch(ctx, g.ids)
	out := make([]*graph.Node, 0, len(ids))
	for _, id := range ids {
		n, err := objs.load(ctx, id)
		if errors.Is(err, graph.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, n)
	}
	return g, out, nil
}

// nodesByID files nodes under their ids, for answers that pair loaded
// nodes with what they were loaded for (search hits, correlations).
func nodesByID(nodes []*graph.Node) map[graph.ID]*graph.Node {
	m := make(map[graph.ID]*graph.Node, len(nodes))
	for _, n := range nodes {
		m[n.ID] = n
	}
	return m
}

// resolver makes the resolver of a node that the answer returns, a member
// of group g, and records its STIX id for the audit log. Every object
// resolver is made here or by unaudited, so the audit entry lists every
// object returned.
func (r *request) resolver(n *graph.Node, g *group) *objectResolver {
	r.audit.Returned(n.StixID)
	return r.unaudited(n, g)
}

// unaudited makes the resolver of a node without recording it, for a
// resolver that builds more objects than it returns (the whole timeline of
// a case, of which one page is returned) and records those it returns.
func (r *request) unaudited(n *graph.Node, g *group) *objectResolver {
	return &objectResolver{req: r, n: n, grp: g,
		ID: objectID(r.api.ids.encode(n.ID)), StixID: n.StixID, Type: n.Type}
}

// objects makes the resolvers of a group's nodes.
func (r *request) objects(g *group, nodes []*graph.Node) []*objectResolver {
	out := make([]*objectResolver, len(nodes))
	for i, n := range nodes {
		out[i] = r.resolver(n, g)
	}
	return out
}

// object returns the resolver of one node by internal id, or nil when it
// is not visible.
func (r *request) object(ctx context.Context, id graph.ID) (*objectResolver, error) {
	n, err := r.nodes.load(ctx, id)
	if errors.Is(err, graph.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return r.resolver(n, newGroup([]graph.ID{id})), nil
}
