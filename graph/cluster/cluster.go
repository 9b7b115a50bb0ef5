package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/verband-cti/verband/graph/community"
	"github.com/verband-cti/verband/graph/correlate"
)

// Cluster is one group of linked containers of a projection.
type Cluster struct {
	// Members are projection indexes, highest PageRank first (ties by
	// STIX id).
	Members []int32
	// Rank is each member's PageRank in the cluster's link graph.
	Rank []float64
	// Links are indexes into Projection.Links of the links between two
	// members that score at least Options.MinScore, heaviest first (ties
	// by index).
	Links []int
	// Score is the sum of those links' scores.
	Score float64
	// Component is the index of the connected component the cluster lies
	// in: clusters that share one were split from it by Louvain.
	Component int
	// Bridges rank the values on the links at the cluster's members by the
	// betweenness of the links that carry them, highest first, at most
	// Options.MaxBridges.
	Bridges []Bridge
}

// Bridge is a value ranked by the betweenness of the links carrying it.
type Bridge struct {
	correlate.Key
	// Betweenness is the sum of the betweenness of the links that carry
	// the value and touch the cluster.
	Betweenness float64
	// Clusters lists, by index into Result.Clusters in increasing order,
	// the clusters whose members are at an end of a link carrying the
	// value: more than one means the value ties clusters together.
	Clusters []int
}

// Result is what Compute finds in one projection.
type Result struct {
	// Clusters lists the clusters, largest first (ties by the smallest STIX
	// id among their members).
	Clusters []Cluster
	// Of is the cluster of every projection node (an index into Clusters),
	// or -1 for a container that links to nothing at or above MinScore.
	Of []int32
	// Betweenness is the betweenness of every link of the projection (by
	// index into Projection.Links) in the graph of the links at or above
	// MinScore, counted in hops over unordered pairs of containers; 0 for
	// links below MinScore.
	Betweenness []float64
	// Links is the number of links at or above MinScore; Components the
	// number of connected components of two or more containers; Singletons
	// the number of containers in no cluster.
	Links, Components, Singletons int
	// Options are the options in force.
	Options Options
}

// Compute clusters the containers of p: the connected components of the
// graph of the links that score at least opts.MinScore, each split into
// Louvain communities (seeded by opts.Seed) when it has more than
// opts.LouvainAbove containers; then the PageRank of each member in its
// cluster, the betweenness of every link, and the values that bridge
// clusters. The same projection and options always give the same result.
func Compute(ctx context.Context, p *correlate.Projection, opts Options) (*Result, error) {
	o, err := opts.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	links := p.Links()
	b := community.NewBuilder(p.Len(), len(links))
	res := &Result{Options: o, Of: make([]int32, p.Len()), Betweenness: make([]float64, len(links))}
	for _, l := range links {
		if l.Score >= o.MinScore {
			if err := b.AddEdge(int(l.A), int(l.B), l.Score); err != nil {
				return nil, fmt.Errorf("cluster: link graph: %w", err)
			}
			res.Links++
		}
	}
	g := b.Build()
	comps, err := community.Components(g, 0)
	if err != nil {
		return nil, fmt.Errorf("cluster: components: %w", err)
	}
	groups := comps.Groups()
	var clusters []Cluster
	for ci, nodes := range groups {
		if len(nodes) < 2 {
			res.Singletons++
			continue
		}
		res.Components++
		parts := [][]int32{nodes}
		if len(nodes) > o.LouvainAbove {
			if parts, err = louvainParts(ctx, g, nodes, o); err != nil {
				return nil, err
			}
		}
		for _, part := range parts {
			clusters = append(clusters, Cluster{Members: part, Component: ci})
		}
	}
	stix := func(i int32) string { return p.Container(i).StixID }
	smallest := func(c Cluster) string {
		m := stix(c.Members[0])
		for _, i := range c.Members[1:] {
			m = min(m, stix(i))
		}
		return m
	}
	slices.SortStableFunc(clusters, func(a, b Cluster) int {
		if c := cmp.Compare(len(b.Members), len(a.Members)); c != 0 {
			return c
		}
		return cmp.Compare(smallest(a), smallest(b))
	})
	for i := range res.Of {
		res.Of[i] = -1
	}
	for ci := range clusters {
		for _, m := range clusters[ci].Members {
			res.Of[m] = int32(ci)
		}
	}
	for ci := range clusters {
		if err := rankMembers(ctx, g, p, &clusters[ci]); err != nil {
			return nil, err
		}
		clusters[ci].Links, clusters[ci].Score = clusterLinks(p, res.Of, int32(ci), clusters[ci].Members, o.MinScore)
	}
	res.Clusters = clusters
	if err := linkBetweenness(ctx, p, groups, o, res.Betweenness); err != nil {
		return nil, err
	}
	bridges(p, res)
	return res, nil
}

// louvainParts splits one component into its Louvain communities.
func louvainParts(ctx context.Context, g *community.Graph, nodes []int32, o Options) ([][]int32, error) {
	sub, err := community.Subgraph(g, nodes)
	if err != nil {
		return nil, fmt.Errorf("cluster: component subgraph: %w", err)
	}
	cs, err := community.Louvain(ctx, sub, community.LouvainOptions{Seed: o.Seed, Resolution: o.Resolution})
	if err != nil {
		return nil, fmt.Errorf("cluster: louvain on a component of %d: %w", len(nodes), err)
	}
	parts := cs.Groups()
	for _, part := range parts {
		for i, local := range part {
			part[i] = nodes[local]
		}
	}
	return parts, nil
}

// rankMembers computes the PageRank of each member of c in the link graph
// of its members and orders them by it.
func rankMembers(ctx context.Context, g *community.Graph, p *correlate.Projection, c *Cluster) error {
	slices.Sort(c.Members)
	sub, err := community.Subgraph(g, c.Members)
	if err != nil {
		return fmt.Errorf("cluster: cluster subgraph: %w", err)
	}
	pr, err := community.PageRank(ctx, sub, community.PageRankOptions{})
	if err != nil {
		return fmt.Errorf("cluster: pagerank: %w", err)
	}
	order := make([]int, len(c.Members))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(pr[b], pr[a]); c != 0 {
			return c
		}
		return cmp.Compare(p.Container(c.Members[a]).StixID, p.Container(c.Members[b]).StixID)
	})
	members, rank := make([]int32, len(order)), make([]float64, len(order))
	for i, j := range order {
		members[i], rank[i] = c.Members[j], pr[j]
	}
	c.Members, c.Rank = members, rank
	return nil
}

// clusterLinks returns the links at or above minScore between two members
// of cluster ci, heaviest first, and the sum of their scores.
func clusterLinks(p *correlate.Projection, of []int32, ci int32, members []int32, minScore float64) ([]int, float64) {
	links := p.Links()
	var out []int
	var score float64
	for _, m := range members {
		for _, li := range p.LinksOf(m) {
			l := links[li]
			// Take each link once, from its A end.
			if l.A != m || of[l.B] != ci || l.Score < minScore {
				continue
			}
			out = append(out, int(li))
			score += l.Score
		}
	}
	slices.SortFunc(out, func(a, b int) int {
		if c := cmp.Compare(links[b].Score, links[a].Score); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return out, score
}

// bridges ranks, for every cluster, the values on the links at its members
// by the betweenness of the links that carry them.
func bridges(p *correlate.Projection, res *Result) {
	links := p.Links()
	per := make([]map[correlate.Key]float64, len(res.Clusters))
	held := map[correlate.Key][]int{}
	add := func(ci int32, k correlate.Key, bc float64) {
		if ci < 0 {
			return
		}
		if per[ci] == nil {
			per[ci] = map[correlate.Key]float64{}
		}
		per[ci][k] += bc
		if cs := held[k]; !slices.Contains(cs, int(ci)) {
			held[k] = append(cs, int(ci))
		}
	}
	for li, l := range links {
		bc := res.Betweenness[li]
		if l.Score < res.Options.MinScore {
			continue
		}
		ca, cb := res.Of[l.A], res.Of[l.B]
		for _, e := range l.Evidence {
			add(ca, e.Key, bc)
			if cb != ca {
				add(cb, e.Key, bc)
			}
		}
	}
	for ci := range res.Clusters {
		bs := make([]Bridge, 0, len(per[ci]))
		for k, bc := range per[ci] {
			if bc > 0 {
				bs = append(bs, Bridge{Key: k, Betweenness: bc})
			}
		}
		slices.SortFunc(bs, func(a, b Bridge) int {
			if c := cmp.Compare(b.Betweenness, a.Betweenness); c != 0 {
				return c
			}
			return cmp.Compare(a.Key.String(), b.Key.String())
		})
		bs = bs[:min(len(bs), res.Options.MaxBridges)]
		for i := range bs {
			bs[i].Clusters = slices.Sorted(slices.Values(held[bs[i].Key]))
		}
		res.Clusters[ci].Bridges = bs
	}
}
