// Package cluster groups the containers of a correlation projection
// (package correlate) into clusters, explains them, finds evidence paths
// between two containers, and keeps cluster identities from one run to the
// next. It computes over one Projection, so a result holds only what the
// projection's viewer may see; it knows no file formats and no GraphQL.
//
// The main types:
//
//   - Result (Compute): the connected components of the graph of the links
//     that score at least Options.MinScore; components larger than
//     Options.LouvainAbove split into Louvain communities (seeded, so the
//     same projection and seed give the same clusters); each member ranked
//     by its PageRank in its cluster; every link's betweenness, in hops, and
//     the values (Bridge) ranked by the betweenness of the links carrying
//     them, which show what holds a cluster together or ties it to others.
//     The algorithms are package community's.
//   - Path (Paths): the k cheapest loopless chains of links between two
//     containers, a link costing 1/score, each hop a link whose evidence
//     explains it (Yen's algorithm over hop-bounded Dijkstra runs).
//   - Identity (Identify): cluster ids matched across runs by member
//     overlap, with merges, splits, growth and dissolution resolved as
//     documented there.
//   - Snapshot (NewSnapshot): everything a run found for one audience —
//     clusters with their ids, status, ranked members, links, evidence and
//     bridges, the changes since the previous run, and the new links between
//     recent and past containers. Save, Latest, Load and RunIDs keep
//     snapshots in the store's runs namespace (graph.Store.PutRun) under
//     Kind and the audience, encoded as versioned JSON by this package.
//
// Audiences. A snapshot is computed for one audience (an organization, or an
// operator's view of the whole instance) from the projection that audience's
// viewer sees, and stored under that audience's name: readers must give each
// audience its own snapshots only.
//
// Concurrency and cost. The functions keep no state; a Result and a Snapshot
// are plain values. Compute costs about the links at or above MinScore for
// components and PageRank, Louvain's cost on large components, and one
// breadth-first search per source for betweenness (every node in components
// of up to Options.ExactBetweenness nodes, Options.BetweennessSamples drawn
// by the seed in larger ones). Paths is bounded by PathOptions.MaxVisits.
package cluster
