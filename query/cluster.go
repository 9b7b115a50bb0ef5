package query

import (
	"context"
	"errors"
	"strconv"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/cluster"
	"github.com/verband-cti/verband/graph/correlate"
)

// Clusters. The cluster runs (package internal/clusterjob, `verband cluster
// run`) store one snapshot per audience and run, computed over what that
// audience may see. A request reads only the snapshots of its own
// audience: its organization's, or the instance's for the System viewer.

// audience returns the audience whose snapshots the request may read.
func (r *request) audience() (string, error) {
	if r.viewer.IsSystem() {
		return cluster.InstanceAudience, nil
	}
	if r.viewer.Org == "" {
		return "", &Error{Code: CodeForbidden, Message: "clusters are computed per organization, and the caller has none"}
	}
	return r.viewer.Org, nil
}

// latestSnapshot returns the request's audience's latest snapshot, or nil
// before its first run.
func (q *queryResolver) latestSnapshot(r *request) (*cluster.Snapshot, error) {
	aud, err := r.audience()
	if err != nil {
		return nil, err
	}
	s, err := cluster.Latest(q.api.store, aud)
	if errors.Is(err, graph.ErrNotFound) {
		return nil, nil
	}
	return s, err
}

// Clusters resolves Query.clusters.
func (q *queryResolver) Clusters(ctx context.Context, args pageArgs) (*clusterConnection, error) {
	r := reqFrom(ctx)
	s, err := q.latestSnapshot(r)
	if err != nil {
		return nil, err
	}
	return clusterPage(r, s, args)
}

// Cluster resolves Query.cluster.
func (q *queryResolver) Cluster(ctx context.Context, args struct{ ID graphql.ID }) (*clusterResolver, error) {
	r := reqFrom(ctx)
	s, err := q.latestSnapshot(r)
	if err != nil || s == nil {
		return nil, err
	}
	for i := range s.Clusters {
		if s.Clusters[i].ID == string(args.ID) {
			return &clusterResolver{req: r, snap: s, c: &s.Clusters[i]}, nil
		}
	}
	return nil, nil
}

// ClusterReports resolves Query.clusterReports.
func (q *queryResolver) ClusterReports(ctx context.Context, args pageArgs) (*clusterReportConnection, error) {
	r := reqFrom(ctx)
	first, offset, err := offsetPage(q.api.limits, args.First, 10, args.After)
	if err != nil {
		return nil, err
	}
	aud, err := r.audience()
	if err != nil {
		return nil, err
	}
	ids, err := cluster.RunIDs(q.api.store, aud, "")
	if err != nil {
		return nil, err
	}
	page := ids[min(offset, len(ids)):]
	page = page[:min(first, len(page))]
	c := &clusterReportConnection{Edges: []*clusterReportEdge{}, TotalCount: clampInt32(int64(len(ids)))}
	var cursors []string
	for i, id := range page {
		s, err := cluster.Load(q.api.store, aud, id)
		if errors.Is(err, graph.ErrNotFound) {
			continue // pruned since it was listed
		}
		if err != nil {
			return nil, err
		}
		e := &clusterReportEdge{Cursor: offsetCursor(offset + i), Node: &clusterReportResolver{req: r, s: s}}
		c.Edges = append(c.Edges, e)
		cursors = append(cursors, e.Cursor)
	}
	c.PageInfo = newPageInfo(cursors, offset > 0, offset+len(page) < len(ids))
	return c, nil
}

// clusterPage pages the clusters of snapshot s (nil before the first run).
func clusterPage(r *request, s *cluster.Snapshot, args pageArgs) (*clusterConnection, error) {
	first, offset, err := offsetPage(r.api.limits, args.First, 20, args.After)
	if err != nil {
		return nil, err
	}
	c := &clusterConnection{Edges: []*clusterEdge{}}
	if s == nil {
		c.PageInfo = newPageInfo(nil, false, false)
		return c, nil
	}
	c.Report = &clusterReportResolver{req: r, s: s}
	c.TotalCount = clampInt32(int64(len(s.Clusters)))
	var cursors []string
	end := min(offset+first, len(s.Clusters))
	for i := min(offset, end); i < end; i++ {
		e := &clusterEdge{Cursor: offsetCursor(i), Node: &clusterResolver{req: r, snap: s, c: &s.Clusters[i]}}
		c.Edges = append(c.Edges, e)
		cursors = append(cursors, e.Cursor)
	}
	c.PageInfo = newPageInfo(cursors, offset > 0, end < len(s.Clusters))
	return c, nil
}

// clusterConnection is the ClusterConnection type.
type clusterConnection struct {
	Edges      []*clusterEdge
	PageInfo   *pageInfo
	TotalCount int32
	Report     *clusterReportResolver
}

// clusterEdge is the ClusterEdge type.
type clusterEdge struct {
	Cursor string
	Node   *clusterResolver
}

// clusterResolver is the Cluster type.
type clusterResolver struct {
	req  *request
	snap *cluster.Snapshot
	c    *cluster.Summary
}

// ID is the cluster id.
func (c *clusterResolver) ID() graphql.ID { return graphql.ID(c.c.ID) }

// Status is the cluster's status as an enum value.
func (c *clusterResolver) Status() string { return strings.ToUpper(string(c.c.Status)) }

// Run is the run id.
func (c *clusterResolver) Run() string { return c.snap.Run }

// Size is the number of members.
func (c *clusterResolver) Size() int32 { return clampInt32(int64(len(c.c.Members))) }

// Score sums the link scores.
func (c *clusterResolver) Score() float64 { return c.c.Score }

// Members lists the members, ranked.
func (c *clusterResolver) Members() []*clusterMemberResolver {
	out := make([]*clusterMemberResolver, len(c.c.Members))
	for i, m := range c.c.Members {
		out[i] = c.req.member(m, containsString(c.c.NewMembers, m.StixID))
	}
	return out
}

// Links lists the links between members.
func (c *clusterResolver) Links() []*clusterLink {
	out := make([]*clusterLink, len(c.c.Links))
	for i, l := range c.c.Links {
		out[i] = &clusterLink{A: int32(l.A), B: int32(l.B), Score: l.Score, Evidence: clusterEvidenceList(l.Evidence)}
	}
	return out
}

// Bridges lists the bridge values.
func (c *clusterResolver) Bridges() []*clusterBridge {
	out := make([]*clusterBridge, len(c.c.Bridges))
	for i, b := range c.c.Bridges {
		out[i] = &clusterBridge{Kind: b.Kind, Value: b.Value, Betweenness: b.Betweenness, Clusters: graphIDs(b.Clusters)}
	}
	return out
}

// member makes the resolver of a container a snapshot names, and records it
// for the audit log: the answer shows that the container exists.
func (r *request) member(m cluster.Member, isNew bool) *clusterMemberResolver {
	r.audit.Returned(m.StixID)
	return &clusterMemberResolver{req: r, m: m, isNew: isNew}
}

// clusterMemberResolver is the ClusterMember type.
type clusterMemberResolver struct {
	req   *request
	m     cluster.Member
	isNew bool
}

// StixID is the container's STIX id.
func (m *clusterMemberResolver) StixID() graphql.ID { return graphql.ID(m.m.StixID) }

// Type is the container's type.
func (m *clusterMemberResolver) Type() string { return m.m.Type }

// Name is the container's name.
func (m *clusterMemberResolver) Name() string { return m.m.Name }

// FirstSeen is the container's first-seen time, or null.
func (m *clusterMemberResolver) FirstSeen() *graphql.Time {
	if m.m.FirstSeen.IsZero() {
		return nil
	}
	return &graphql.Time{Time: m.m.FirstSeen}
}

// Rank is the member's PageRank.
func (m *clusterMemberResolver) Rank() float64 { return m.m.Rank }

// New says the member joined in this run.
func (m *clusterMemberResolver) New() bool { return m.isNew }

// Object is the container as the caller sees it now, or null.
func (m *clusterMemberResolver) Object(ctx context.Context) (*objectResolver, error) {
	n, err := m.req.byStix.load(ctx, m.m.StixID)
	if errors.Is(err, graph.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return m.req.resolver(n, newGroup([]graph.ID{n.ID})), nil
}

// clusterLink is the ClusterLink type.
type clusterLink struct {
	A, B     int32
	Score    float64
	Evidence []*clusterEvidence
}

// clusterEvidence is the ClusterEvidence type.
type clusterEvidence struct {
	Kind, Value, Rule string
	Weight            float64
}

func clusterEvidenceList(ev []cluster.Evidence) []*clusterEvidence {
	out := make([]*clusterEvidence, len(ev))
	for i, e := range ev {
		out[i] = &clusterEvidence{Kind: e.Kind, Value: e.Value, Rule: e.Rule, Weight: e.Weight}
	}
	return out
}

// clusterBridge is the ClusterBridge type.
type clusterBridge struct {
	Kind, Value string
	Betweenness float64
	Clusters    []graphql.ID
}

func graphIDs(ss []string) []graphql.ID {
	out := make([]graphql.ID, len(ss))
	for i, s := range ss {
		out[i] = graphql.ID(s)
	}
	return out
}

// clusterReportConnection is the ClusterReportConnection type.
type clusterReportConnection struct {
	Edges      []*clusterReportEdge
	PageInfo   *pageInfo
	TotalCount int32
}

// clusterReportEdge is the ClusterReportEdge type.
type clusterReportEdge struct {
	Cursor string
	Node   *clusterReportResolver
}

// clusterReportResolver is the ClusterReport type.
type clusterReportResolver struct {
	req *request
	s   *cluster.Snapshot
}

// Run is the run id.
func (c *clusterReportResolver) Run() string { return c.s.Run }

// Previous is the run compared with, or null.
func (c *clusterReportResolver) Previous() *string {
	if c.s.Previous == "" {
		return nil
	}
	return &c.s.Previous
}

// Started is when the run started.
func (c *clusterReportResolver) Started() graphql.Time { return graphql.Time{Time: c.s.Started} }

// Finished is when its snapshot was made.
func (c *clusterReportResolver) Finished() graphql.Time { return graphql.Time{Time: c.s.Finished} }

// Params are the run's settings.
func (c *clusterReportResolver) Params() *clusterParams {
	p := c.s.Params
	return &clusterParams{MinScore: p.MinScore, LouvainAbove: int32(p.LouvainAbove), Resolution: p.Resolution,
		Seed: strconv.FormatUint(p.Seed, 10), MinOverlap: p.MinOverlap, RecentDays: int32(p.RecentDays),
		PastDays: int32(p.PastDays), MaxDf: int32(p.MaxDF)}
}

// Totals count what the run saw.
func (c *clusterReportResolver) Totals() *clusterTotals {
	t := c.s.Totals
	return &clusterTotals{Containers: int32(t.Containers), Links: int32(t.Links), Clusters: int32(t.Clusters), Singletons: int32(t.Singletons)}
}

// Changes is what changed since the previous run.
func (c *clusterReportResolver) Changes() *clusterChanges {
	ch := c.s.Changes
	out := &clusterChanges{New: graphIDs(ch.New), Dissolved: graphIDs(ch.Dissolved),
		Grown: []*clusterGrowth{}, Merged: []*clusterMerge{}, Split: []*clusterSplit{}, NewLinks: []*clusterNewLink{}}
	for _, g := range ch.Grown {
		out.Grown = append(out.Grown, &clusterGrowth{ID: graphql.ID(g.ID), NewMembers: graphIDs(g.NewMembers)})
	}
	for _, m := range ch.Merged {
		out.Merged = append(out.Merged, &clusterMerge{ID: graphql.ID(m.ID), From: graphIDs(m.From)})
	}
	for _, s := range ch.Split {
		out.Split = append(out.Split, &clusterSplit{From: graphql.ID(s.From), Into: graphIDs(s.Into)})
	}
	for _, nl := range ch.NewLinks {
		l := &clusterNewLink{Recent: c.req.member(nl.Recent, false), Past: c.req.member(nl.Past, false), Score: nl.Score,
			Evidence: clusterEvidenceList(nl.Evidence)}
		if nl.Cluster != "" {
			id := graphql.ID(nl.Cluster)
			l.Cluster = &id
		}
		out.NewLinks = append(out.NewLinks, l)
	}
	return out
}

// Clusters pages the run's clusters.
func (c *clusterReportResolver) Clusters(args pageArgs) (*clusterConnection, error) {
	return clusterPage(c.req, c.s, args)
}

// clusterParams is the ClusterParams type.
type clusterParams struct {
	MinScore                    float64
	LouvainAbove                int32
	Resolution                  float64
	Seed                        string
	MinOverlap                  float64
	RecentDays, PastDays, MaxDf int32
}

// clusterTotals is the ClusterTotals type.
type clusterTotals struct {
	Containers, Links, Clusters, Singletons int32
}

// clusterChanges is the ClusterChanges type.
type clusterChanges struct {
	New, Dissolved []graphql.ID
	Grown          []*clusterGrowth
	Merged         []*clusterMerge
	Split          []*clusterSplit
	NewLinks       []*clusterNewLink
}

// clusterGrowth is the ClusterGrowth type.
type clusterGrowth struct {
	ID         graphql.ID
	NewMembers []graphql.ID
}

// clusterMerge is the ClusterMerge type.
type clusterMerge struct {
	ID   graphql.ID
	From []graphql.ID
}

// clusterSplit is the ClusterSplit type.
type clusterSplit struct {
	From graphql.ID
	Into []graphql.ID
}

// clusterNewLink is the ClusterNewLink type.
type clusterNewLink struct {
	Recent, Past *clusterMemberResolver
	Score        float64
	Evidence     []*clusterEvidence
	Cluster      *graphql.ID
}

// CorrelationPaths resolves Query.correlationPaths: the k cheapest chains of
// links between two containers in the projection the caller sees.
func (q *queryResolver) CorrelationPaths(ctx context.Context, args struct {
	From, To    graphql.ID
	K, MaxDepth int32
	MinScore    float64
}) (*correlationPathConnection, error) {
	r := reqFrom(ctx)
	lim := q.api.limits
	k, maxDepth := int(args.K), int(args.MaxDepth)
	if err := checkPathArgs(lim, maxDepth, k); err != nil {
		return nil, err
	}
	if args.MinScore < 0 {
		return nil, invalid("minScore", "minScore must not be negative, got %v", args.MinScore)
	}
	from, err := r.lookup(ctx, "from", string(args.From))
	if err != nil {
		return nil, err
	}
	to, err := r.lookup(ctx, "to", string(args.To))
	if err != nil {
		return nil, err
	}
	p, err := q.api.corr.Projection(ctx, r.viewer)
	if err != nil {
		return nil, err
	}
	index := func(field string, id graph.ID, arg graphql.ID) (int32, error) {
		i, ok := p.Index(id)
		if !ok {
			return 0, invalid(field, "%s is not a container (%s) of the correlation graph", arg, strings.Join(correlate.ContainerTypes, ", "))
		}
		return i, nil
	}
	fi, err := index("from", from, args.From)
	if err != nil {
		return nil, err
	}
	ti, err := index("to", to, args.To)
	if err != nil {
		return nil, err
	}
	if fi == ti {
		return nil, invalid("to", "from and to are the same container")
	}
	paths, err := cluster.Paths(ctx, p, fi, ti, cluster.PathOptions{K: k, MaxDepth: maxDepth, MinScore: args.MinScore, MaxVisits: lim.MaxPathVisits})
	if errors.Is(err, cluster.ErrLimit) {
		return nil, limitErr("maxDepth", "the search examined more than %d links; ask for fewer or shorter paths, or raise minScore", lim.MaxPathVisits)
	}
	if err != nil {
		return nil, err
	}
	var ids []graph.ID
	for _, path := range paths {
		for _, n := range path.Nodes {
			ids = append(ids, p.Container(n).ID)
		}
	}
	g, nodes, err := r.groupNodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := nodesByID(nodes)
	c := &correlationPathConnection{Edges: []*correlationPathEdge{}}
	var cursors []string
	links := p.Links()
	for _, path := range paths {
		pr := &correlationPath{Cost: path.Cost}
		for _, n := range path.Nodes {
			node, ok := byID[p.Container(n).ID]
			if !ok {
				pr = nil // hidden since the projection was built
				break
			}
			pr.Containers = append(pr.Containers, r.resolver(node, g))
		}
		if pr == nil {
			continue
		}
		for h, li := range path.Links {
			l := links[li]
			hop := &correlationHop{Score: l.Score}
			for i := range l.Evidence {
				ev := l.Evidence[i]
				if l.A != path.Nodes[h] { // seen from B: swap the sides
					ev.Here, ev.There, ev.HereRule, ev.ThereRule = ev.There, ev.Here, ev.ThereRule, ev.HereRule
				}
				hop.Evidence = append(hop.Evidence, &evidenceResolver{req: r, ev: &ev})
			}
			pr.Hops = append(pr.Hops, hop)
		}
		e := &correlationPathEdge{Cursor: offsetCursor(len(c.Edges)), Node: pr}
		c.Edges = append(c.Edges, e)
		cursors = append(cursors, e.Cursor)
	}
	c.TotalCount = clampInt32(int64(len(c.Edges)))
	c.PageInfo = newPageInfo(cursors, false, false)
	return c, nil
}

// correlationPathConnection is the CorrelationPathConnection type.
type correlationPathConnection struct {
	Edges      []*correlationPathEdge
	PageInfo   *pageInfo
	TotalCount int32
}

// correlationPathEdge is the CorrelationPathEdge type.
type correlationPathEdge struct {
	Cursor string
	Node   *correlationPath
}

// correlationPath is the CorrelationPath type.
type correlationPath struct {
	Cost       float64
	Containers []*objectResolver
	Hops       []*correlationHop
}

// correlationHop is the CorrelationHop type.
type correlationHop struct {
	Score    float64
	Evidence []*evidenceResolver
}
