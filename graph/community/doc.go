// Package community holds the graph algorithms behind Verband's clusters:
// connected components, Louvain communities, modularity, PageRank and
// betweenness, on a compact in-memory graph built from the weighted
// container graph (or from an edge list, for benchmarks). It knows nothing
// of the store: callers project the store into a Graph and map node indexes
// back to their own ids.
//
// The main types:
//
//   - Graph: a weighted undirected graph in compressed sparse row form, with
//     int32 node indexes and float64 weights, loops kept apart as the
//     diagonal A_uu. About 12 bytes per edge end plus 24 per node.
//   - Builder: turns a stream of edges into a Graph, summing duplicates.
//     ReadEdgeList and LoadEdgeList build one from the "a b" edge-list format
//     of shared/tools/cluster_peers.py.
//   - GonumGraph: the same Graph through gonum's graph interfaces, so that
//     gonum's algorithms (community.Q, community.Modularize, network.PageRank,
//     network.Betweenness, topo) run on it; the tests check this package's
//     results against theirs.
//   - Partition and Communities: the result of Components and of Louvain.
//
// Why not gonum's algorithms directly: they work through interfaces and
// maps keyed by int64 ids, which on a graph of a million nodes and five
// million edges costs minutes and gigabytes. The implementations here use
// dense arrays over the CSR rows instead and are tested against gonum's on
// small graphs: the same modularity to 1e-9, Louvain's modularity at least
// gonum's Modularize's, the same PageRank and betweenness.
//
// Weights are float64. On the 1M-node, 5M-edge benchmark graph, float32
// weights took 5.6 to 6.2 s of CPU for Louvain against 5.9 to 6.6 s for
// float64 (three runs each, within the noise of the shared machine) and
// saved 40 MB of 320 MB: not worth rounding real-valued evidence weights
// to 7 digits, nor losing exact agreement with gonum's float64 figures.
//
// Reproducibility: every random choice is drawn from a seed (Louvain's
// node order, betweenness samples, generated graphs), and Louvain runs on
// one goroutine, so the same input and seed give the same result on any
// machine and with any GOMAXPROCS. Betweenness runs in parallel over fixed
// batches of sources whose partial sums are added in batch order, so its
// result does not depend on the number of workers either.
//
// Concurrency and lifetime: a Graph is immutable once built and may be
// shared by any number of goroutines; the functions allocate their own
// working memory and keep nothing after they return. A Builder belongs to
// one goroutine. Long-running functions take a context and stop early with
// its error when it is cancelled.
package community
